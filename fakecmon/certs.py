"""A local certificate authority and the server certificate it signs, made on demand.

``ensure_certificates(dir, hosts)`` returns the paths of the CA certificate and of
an ECDSA P-256 server certificate whose subject alternative names cover
localhost, 127.0.0.1, ::1 and the given hosts (bind addresses and the names of
``--cert-hostname``). Existing files are reused: the CA lives as long as its
directory (a container's volume), and the server certificate is issued again by
the same CA when a host is missing from it or it expires soon.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class CertPaths:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def paths_in(directory: Path) -> CertPaths:
    return CertPaths(directory / "ca.pem", directory / "ca.key",
                     directory / "server.pem", directory / "server.key")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakecmon"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def check_hostname(name: str) -> str:
    """``name`` as a certificate can carry it (an IP address, a DNS name, ``*.`` + a DNS
    name), stripped; ValueError says why it cannot."""
    name = name.strip().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"'{name}' is not a host name or IP address (letters, digits, "
                         f"hyphens and dots, or '*.' and a domain)")
    return name.lower()


def split_hostnames(text: str) -> list[str]:
    """The names of a comma-separated list (``FAKECMON_CERT_HOSTNAMES``), blanks dropped."""
    return [n.strip() for n in text.split(",") if n.strip()]


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def make_ca(p: CertPaths) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(_name("fakecmon local CA")).issuer_name(_name("fakecmon local CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write_key(p.ca_key, key)
    p.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_server_cert(p: CertPaths, hosts: list[str]) -> None:
    ca_key = serialization.load_pem_private_key(p.ca_key.read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(p.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    _write_key(p.key, key)
    p.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _covers(p: CertPaths, hosts: list[str]) -> bool:
    """True when the server certificate exists, comes from the CA, names every host and
    lives 30 more days."""
    try:
        cert = x509.load_pem_x509_certificate(p.cert.read_bytes())
        ca = x509.load_pem_x509_certificate(p.ca_cert.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    try:  # signed by this CA (a CA made again has the same name) and matching its key
        cert.verify_directly_issued_by(ca)
        key = serialization.load_pem_private_key(p.key.read_bytes(), None)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    if key.public_key() != cert.public_key():
        return False
    if cert.not_valid_after_utc < _now() + dt.timedelta(days=30):
        return False
    have = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    have |= set(san.get_values_for_type(x509.DNSName))
    return all(str(_san(h).value) in have for h in hosts)


WILDCARDS = ("0.0.0.0", "::")


def _names_of_bind(host: str) -> str:
    """A wildcard bind (all addresses, as in the Docker image) is reached by the
    machine's name; any other bind address names itself."""
    return socket.gethostname() if host in WILDCARDS else host


def ensure_certificates(directory: Path, hosts: list[str] | tuple[str, ...] = ()) -> CertPaths:
    """Make (or reuse) the CA and a server certificate covering the default hosts and ``hosts``."""
    directory.mkdir(parents=True, exist_ok=True)
    p = paths_in(directory)
    wanted = list(dict.fromkeys([*DEFAULT_HOSTS, *(_names_of_bind(h) for h in hosts)]))
    if not (p.ca_cert.exists() and p.ca_key.exists()):
        make_ca(p)
    if not _covers(p, wanted):
        make_server_cert(p, wanted)
    return p
