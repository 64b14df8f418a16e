"""The local CA and the ECDSA P-256 server certificate: made once, reused, remade for new hosts."""

from __future__ import annotations

import socket
import ssl
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from fakecmon.certs import ensure_certificates


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def sans(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def test_certificates_are_made(tmp_path):
    p = ensure_certificates(tmp_path / "certs", ["192.168.20.10"])
    ca, cert = load(p.ca_cert), load(p.cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    cert.verify_directly_issued_by(ca)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    assert sans(cert) == {"localhost", "127.0.0.1", "::1", "192.168.20.10"}
    for secret in (p.key, p.ca_key):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_certificates_are_reused(tmp_path):
    first = ensure_certificates(tmp_path, ["127.0.0.1"])
    before = {f: f.read_bytes() for f in (first.ca_cert, first.ca_key, first.cert, first.key)}
    again = ensure_certificates(tmp_path, ["127.0.0.1", "localhost"])
    assert {f: f.read_bytes() for f in (again.ca_cert, again.ca_key, again.cert, again.key)} == before


def test_new_bind_address_remakes_only_the_server_certificate(tmp_path):
    first = ensure_certificates(tmp_path)
    ca_before, cert_before = first.ca_cert.read_bytes(), first.cert.read_bytes()
    again = ensure_certificates(tmp_path, ["10.1.2.3", "cmon.example.com"])
    assert again.ca_cert.read_bytes() == ca_before
    assert again.cert.read_bytes() != cert_before
    assert {"10.1.2.3", "cmon.example.com"} <= sans(load(again.cert))
    load(again.cert).verify_directly_issued_by(load(again.ca_cert))


def test_wildcard_binds_name_the_machine(tmp_path):
    """0.0.0.0 / :: are no names: the certificate names the machine instead (how a
    container or another host reaches a server bound to every address)."""
    p = ensure_certificates(tmp_path, ["0.0.0.0", "::"])
    assert sans(load(p.cert)) == {"localhost", "127.0.0.1", "::1", socket.gethostname()}


def test_a_server_certificate_from_another_ca_is_replaced(tmp_path):
    p = ensure_certificates(tmp_path / "a")
    other = ensure_certificates(tmp_path / "b")
    p.cert.write_bytes(other.cert.read_bytes())
    p.key.write_bytes(other.key.read_bytes())
    ensure_certificates(tmp_path / "a")
    load(p.cert).verify_directly_issued_by(load(p.ca_cert))


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_server_verifies_against_its_ca(cmon, name):
    ctx = cmon.ssl_context()       # checks the chain and the host name
    with socket.create_connection(("127.0.0.1", cmon.port), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_the_server_does_not_verify_for_other_names(cmon):
    ctx = cmon.ssl_context()
    with socket.create_connection(("127.0.0.1", cmon.port), timeout=5) as sock:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(sock, server_hostname="cmon.example.com")


def test_a_server_key_that_does_not_match_is_replaced(tmp_path):
    p = ensure_certificates(tmp_path / "a")
    other = ensure_certificates(tmp_path / "b")
    p.key.write_bytes(other.key.read_bytes())
    ensure_certificates(tmp_path / "a")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(p.cert, p.key)        # raises if key and certificate differ


def test_a_lost_ca_key_makes_a_new_ca_and_certificate(tmp_path):
    p = ensure_certificates(tmp_path)
    old_ca = p.ca_cert.read_bytes()
    p.ca_key.unlink()
    ensure_certificates(tmp_path)
    assert p.ca_cert.read_bytes() != old_ca
    load(p.cert).verify_directly_issued_by(load(p.ca_cert))
