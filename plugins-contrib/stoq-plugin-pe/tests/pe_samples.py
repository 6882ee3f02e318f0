"""Real PE files, taken by name out of pinned distributions on the package index."""

from __future__ import annotations

from pathlib import Path

from stoq.testing import pinned_sample

PIP_WHEEL = "pip-24.0-py3-none-any.whl"
MSVC_WHEEL = "msvc_runtime-14.51.36231-cp313-cp313-win_amd64.whl"
PYTHONNET_WHEEL = "pythonnet-3.2.1-cp311.cp312.cp313.cp314.cp315-none-any.whl"


def launcher() -> Path:
    """distlib's 64-bit console launcher: unsigned, ten resources, a version block."""
    return pinned_sample(
        PIP_WHEEL,
        "pip/_vendor/distlib/t64.exe",
        "81a618f21cb87db9076134e70388b6e9cb7c2106739011b6a51772d22cae06b7",
    )


def signed_dll() -> Path:
    """msvcp140_1.dll, Authenticode-signed by Microsoft, with exports."""
    return pinned_sample(
        MSVC_WHEEL,
        "msvc_runtime-14.51.36231.data/data/msvcp140_1.dll",
        "206c931bf90fdad8816de3b5e2ef80b2bcaa9406c89ecc05fe6fddffe251e982",
    )


def dotnet_dll() -> Path:
    """pythonnet's Python.Runtime.dll: a .NET assembly (CLR header present)."""
    return pinned_sample(
        PYTHONNET_WHEEL,
        "pythonnet/runtime/Python.Runtime.dll",
        "2ebd4492e28442ef1f1af587afe5b3a090c2ebfa220758ded4f1450f2a27f13a",
    )


def tls_dll() -> Path:
    """vcamp140.dll: a TLS directory whose callback array is empty (zero-terminated at once)."""
    return pinned_sample(
        MSVC_WHEEL,
        "msvc_runtime-14.51.36231.data/data/vcamp140.dll",
        "dc283ffb87e9b82e687ed4e899ae062a209aa338207abfc9a89d61407d678bd4",
    )
