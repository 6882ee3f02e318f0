"""Tests for the ``x509`` worker on certifi's CA bundle and on certificates openssl makes here."""

from __future__ import annotations

import random
import re
import shutil
import ssl
import subprocess

import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

#: Mozilla's root store as certifi ships it: 151 PEM certificates, each after comments that
#: state its subject, serial and fingerprints (an independent reference for the parser).
BUNDLE = pinned_sample(
    "certifi-2024.8.30-py3-none-any.whl",
    "certifi/cacert.pem",
    "94edeb66e91774fcae93a05650914e29096259a5c7e871a1f65d461ab5201b47",
)


def scan(data: bytes, **options: object):
    return run_plugin("x509", "scan", data, plugin_opts=options or None)


def openssl(*args: object) -> None:
    tool = shutil.which("openssl")
    assert tool, "the openssl command is needed by these tests"
    subprocess.run([tool, *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A self-signed EC leaf with SANs, a leaf signed by it, and DER / PKCS#7 forms."""
    folder = tmp_path_factory.mktemp("x509")
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", folder / "ca.key", "-out", folder / "ca.pem", "-days", "30",
        "-subj", "/CN=stoQ Test CA/O=stoQ", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "subjectAltName=DNS:ca.example.org,IP:192.0.2.7,email:ca@example.org",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", folder / "leaf.key",
        "-out", folder / "leaf.csr", "-subj", "/CN=leaf.example.org",
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", folder / "leaf.csr", "-CA", folder / "ca.pem",
        "-CAkey", folder / "ca.key", "-out", folder / "leaf.pem", "-days", "10", "-set_serial", "0x1234",
    )  # fmt: skip
    openssl("x509", "-in", folder / "leaf.pem", "-outform", "DER", "-out", folder / "leaf.der")
    chain = folder / "chain.pem"
    chain.write_bytes((folder / "leaf.pem").read_bytes() + (folder / "ca.pem").read_bytes())
    for form in ("DER", "PEM"):
        openssl(
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            chain,
            "-outform",
            form,
            "-out",
            folder / f"chain.p7{form[0]}",
        )
    names = ("ca.pem", "leaf.pem", "leaf.der", "chain.pem", "chain.p7D", "chain.p7P")
    return {name: (folder / name).read_bytes() for name in names}


class TestX509PluginConformance(WorkerConformance):
    plugin_name = "x509"
    samples = (BUNDLE,)


def test_every_certificate_of_the_bundle_matches_its_comment() -> None:
    """Count, SHA-256 fingerprints and serials agree with what certifi wrote beside each one."""
    text = BUNDLE.read_text()
    results = scan(BUNDLE.read_bytes()).results
    fingerprints = [
        f.replace(":", "").lower() for f in re.findall(r"SHA256 Fingerprint: (\S+)", text)
    ]
    serials = [int(s) for s in re.findall(r"# Serial: (\d+)", text)]
    assert results["count"] == len(fingerprints) == text.count("-----BEGIN CERTIFICATE-----")
    assert [c["sha256"] for c in results["certificates"]] == fingerprints
    assert [int(c["serial"], 16) for c in results["certificates"]] == serials


def test_roots_are_self_signed_cas() -> None:
    """Every root in the store is a CA whose signature checks out with its own key."""
    certificates = scan(BUNDLE.read_bytes()).results["certificates"]
    assert all(c["self_signed"] and c["subject"] == c["issuer"] for c in certificates)
    first = certificates[0]
    assert first["subject"] == "CN=GlobalSign Root CA,OU=Root CA,O=GlobalSign nv-sa,C=BE"
    assert first["key"] == {"type": "RSA", "size": 2048}
    assert first["not_before"] == "1998-09-01T12:00:00+00:00"


def test_ca_with_sans_and_an_ec_key(made: dict) -> None:
    [ca] = scan(made["ca.pem"]).results["certificates"]
    assert ca["subject"] == "O=stoQ,CN=stoQ Test CA"
    assert ca["key"] == {"type": "EC", "size": 256, "curve": "secp256r1"}
    assert ca["sans"] == {
        "dns": ["ca.example.org"],
        "ip": ["192.0.2.7"],
        "email": ["ca@example.org"],
    }
    assert ca["is_ca"] is True and ca["self_signed"] is True


def test_leaf_is_not_self_signed(made: dict) -> None:
    [leaf] = scan(made["leaf.pem"]).results["certificates"]
    assert leaf["issuer"] == "O=stoQ,CN=stoQ Test CA"
    assert leaf["serial"] == "1234"
    assert leaf["key"]["type"] == "RSA" and leaf["key"]["size"] == 2048
    assert leaf["self_signed"] is False and leaf["is_ca"] is False
    assert leaf["sans"] == {}


@pytest.mark.parametrize(
    ("name", "origins"),
    [
        ("leaf.der", ["der"]),
        ("chain.pem", ["pem", "pem"]),
        ("chain.p7D", ["der pkcs7", "der pkcs7"]),
        ("chain.p7P", ["pem pkcs7", "pem pkcs7"]),
    ],
)
def test_every_container_form(made: dict, name: str, origins: list) -> None:
    """DER, PEM chains and PKCS#7 bundles (DER and PEM) give the same leaf certificate."""
    [leaf] = scan(made["leaf.pem"]).results["certificates"]
    results = scan(made[name]).results
    assert [c["origin"] for c in results["certificates"]] == origins
    assert leaf["sha256"] in [c["sha256"] for c in results["certificates"]]


def test_certificate_limit_is_reported() -> None:
    results = scan(BUNDLE.read_bytes(), max_certificates=10).results
    assert len(results["certificates"]) == 10
    assert results["not_listed"] == results["count"] - 10


def test_no_certificate_gives_nothing() -> None:
    assert scan(b"just some text, no certificate") is None


def test_damaged_pem_block_is_an_error_and_the_others_still_count(made: dict) -> None:
    """One block with its base64 broken: an error names it; the intact one is reported."""
    leaf, ca = made["leaf.pem"], made["ca.pem"]
    broken = leaf.replace(leaf.splitlines()[5], b"!!!! not base64 !!!!")
    response = scan(broken + ca)
    assert [c["subject"] for c in response.results["certificates"]] == ["O=stoQ,CN=stoQ Test CA"]
    assert len(response.errors) == 1 and "PEM block 1" in str(response.errors[0])


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_der_is_one_error(made: dict, fraction: float) -> None:
    data = made["leaf.der"]
    response = scan(data[: int(len(data) * fraction)])
    assert response.results["certificates"] == []
    assert len(response.errors) == 1


def test_corrupted_der_never_raises(made: dict) -> None:
    """Random bytes changed: a description or an error, every time."""
    rng = random.Random(14)
    for _ in range(200):
        data = bytearray(made["leaf.der"])
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        response = scan(bytes(data))
        assert response is None or response.results["certificates"] or response.errors


def test_full_scan(stoq_factory, made: dict) -> None:
    stoq = stoq_factory()
    response = stoq.scan(made["chain.pem"], add_start_dispatch=["x509"])
    assert response.errors == []
    [(_depth, result)] = list(walk(response))
    assert result.workers[0]["x509"]["count"] == 2


def _first_certificate() -> tuple:
    """The bundle's first certificate, as PEM and as DER."""
    text = BUNDLE.read_text()
    start = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    pem = text[start:end] + "\n"
    return pem.encode(), ssl.PEM_cert_to_DER_cert(pem)


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real certificates (PEM and DER) end in a result or an Error, in budget and memory."""
    check_hostile_corpus("x509", list(_first_certificate()))
