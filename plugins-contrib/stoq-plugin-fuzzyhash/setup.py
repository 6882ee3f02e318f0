"""The compiled ssdeep (src/stoq_plugin_fuzzyhash/_spamsum.c); everything else is in pyproject.

``optional=True``: without a C compiler the extension is skipped with a warning and the plugin
runs spamsum.py (numpy) instead, the same hashes 5-40x slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "stoq_plugin_fuzzyhash._spamsum",
            ["src/stoq_plugin_fuzzyhash/_spamsum.c"],
            optional=True,
        )
    ]
)
