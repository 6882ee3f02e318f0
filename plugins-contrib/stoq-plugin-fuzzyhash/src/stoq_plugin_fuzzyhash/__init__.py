"""stoQ plugin ``fuzzyhash``: ssdeep and TLSH similarity hashes of each payload."""

from .plugin import FuzzyhashPlugin

__all__ = ["FuzzyhashPlugin"]
