"""Compiles the ssdeep extension (src/stoq_plugin_fuzzyhash/_spamsum.c) into the wheel.

Every package of this repository builds with hatchling, which compiles no C itself: this
hook runs the compiler and flags Python was built with (``CC`` in the environment overrides
the compiler, as it does for setuptools). Without a compiler, or when compiling fails, the
wheel is built without the extension and a warning says so: the plugin then runs spamsum.py
(numpy), the same hashes 5-40x slower. An editable install gets the module beside its source.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from typing import Any, Dict, List

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "stoq_plugin_fuzzyhash"
SOURCE = os.path.join("src", PACKAGE, "_spamsum.c")


def compile_command(source: str, target: str) -> List[str]:
    """The link-and-compile command of this Python's build for one C file."""
    linker = shlex.split(sysconfig.get_config_var("LDSHARED") or "cc -shared")
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    if os.environ.get("CC") and linker[: len(compiler)] == compiler:
        linker[: len(compiler)] = shlex.split(os.environ["CC"])
    shared = shlex.split(sysconfig.get_config_var("CCSHARED") or "")
    include = sysconfig.get_paths()["include"]
    return [*linker, *shared, "-O2", "-DNDEBUG", "-I", include, source, "-o", target]


class SpamsumHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: Dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        name = "_spamsum" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        if version == "editable":
            target = os.path.join(self.root, "src", PACKAGE, name)
        else:
            target = os.path.join(tempfile.mkdtemp(prefix="spamsum-"), name)
        command = compile_command(os.path.join(self.root, SOURCE), target)
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except OSError as exc:
            failure = str(exc)
        else:
            failure = done.stderr.strip()[-2000:] or f"exit status {done.returncode}"
            if done.returncode == 0 and os.path.isfile(target):
                failure = ""
        if failure:
            print(
                f"warning: the compiled ssdeep was not built ({' '.join(command)}: {failure});"
                " stoq-plugin-fuzzyhash will use its numpy version",
                file=sys.stderr,
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][target] = f"{PACKAGE}/{name}"
