"""The shipped dispatch rules for Mach-O, images and certificates, on real files of each kind."""

from __future__ import annotations

import shutil
import subprocess
from typing import Dict

import pytest

from stoq import Payload, RequestMeta
from stoq.testing import make_stoq, pinned_sample

PINNED = {
    "jpeg": (
        "olefile-0.47.zip",
        "olefile-0.47/tests/images/flower.jpg",
        "8a9d04b92d0de5836c59ede8ae421235488e4031e893e07b1fe7e4b78f6a9901",
    ),
    "macho": (
        "delocate-0.13.0.tar.gz",
        "delocate-0.13.0/delocate/tests/data/libb.dylib",
        "e63f071c0cffcce9b77ac4827a24bc9c7e6724089a50f5a39cdb2158c0b2fbe9",
    ),
    "pem bundle": (
        "certifi-2024.8.30-py3-none-any.whl",
        "certifi/cacert.pem",
        "94edeb66e91774fcae93a05650914e29096259a5c7e871a1f65d461ab5201b47",
    ),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, bytes]:
    """The pinned files, plus DER and PKCS#7 forms of the bundle's first certificate (openssl)."""
    found = {kind: pinned_sample(*where).read_bytes() for kind, where in PINNED.items()}
    tool = shutil.which("openssl")
    assert tool, "the openssl command is needed by these tests"
    folder = tmp_path_factory.mktemp("certs")
    first = found["pem bundle"].split(b"-----END CERTIFICATE-----")[0]
    (folder / "one.pem").write_bytes(first + b"-----END CERTIFICATE-----\n")
    commands = {
        "der": ["x509", "-in", "one.pem", "-outform", "DER", "-out", "der"],
        "pkcs7 der": ["crl2pkcs7", "-nocrl", "-certfile", "one.pem", "-outform", "DER", "-out", "pkcs7 der"],
    }  # fmt: skip
    for kind, args in commands.items():
        subprocess.run([tool, *args], cwd=folder, check=True, capture_output=True)
        found[kind] = (folder / kind).read_bytes()
    return found


def dispatch(content: bytes):
    with make_stoq() as stoq:
        return stoq.load_plugin("yara").get_dispatches(Payload(content), RequestMeta())


@pytest.mark.parametrize(
    ("kind", "rule", "worker"),
    [
        ("jpeg", "image_with_metadata", "exif"),
        ("macho", "macho_executable", "macho"),
        ("pem bundle", "x509_certificate_pem", "x509"),
        ("der", "x509_certificate_der", "x509"),
        ("pkcs7 der", "x509_certificate_der", "x509"),
    ],
)
def test_each_format_goes_to_its_worker(
    samples: Dict[str, bytes], kind: str, rule: str, worker: str
) -> None:
    """The rule matches the real file and names the worker as default (optional) routing."""
    response = dispatch(samples[kind])
    assert rule in response.meta
    assert worker in response.if_installed


def test_java_class_and_text_are_not_claimed(samples: Dict[str, bytes]) -> None:
    """A Java class file (CAFEBABE, then its version) and prose are none of these formats."""
    java_class = bytes.fromhex("CAFEBABE00000041") + b"\0" * 64
    for content in (java_class, b"a line of text about certificates\n" * 20):
        meta = dispatch(content).meta
        assert not {"image_with_metadata", "macho_executable", "x509_certificate_pem"} & set(meta)


def test_certificate_pasted_after_text_is_found(samples: Dict[str, bytes]) -> None:
    first = samples["pem bundle"].split(b"-----END CERTIFICATE-----")[0].split(b"\n\n", 1)[-1]
    content = b"Here is the certificate you asked for:\n\n" + first + b"-----END CERTIFICATE-----\n"
    assert "x509_certificate_pem" in dispatch(content).meta
