"""Reaching fakecmon by another name: ``--cert-hostname`` / ``FAKECMON_CERT_HOSTNAMES`` add
names to the server certificate (issued again by the same CA when one is missing), and
the CA certificate is public at ``GET /_fakecmon/ca.pem``, so one ``curl -k`` is all a
client on another host or container needs before it verifies."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess

import pytest
from cryptography import x509

from fakecmon import FakeCmon
from fakecmon.certs import check_hostname, split_hostnames
from test_cli import FAKECMON, clean_env, own_certificate, serving


def get(port: int, path: str, ctx: ssl.SSLContext, server_hostname: str = "127.0.0.1",
        headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body) of one GET to 127.0.0.1:port, TLS checked by ``ctx``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.sock = tls
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type", ""), resp.read()


def unverified() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


def names(cert_file) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


# ---- GET /_fakecmon/ca.pem

def test_ca_pem_is_served_to_anyone_and_verifies_the_server(cmon):
    status, ctype, body = get(cmon.port, "/_fakecmon/ca.pem", unverified())
    assert status == 200 and ctype == "application/x-pem-file"
    assert body == cmon.ca_path.read_bytes()
    fetched = ssl.create_default_context(cadata=body.decode())   # curl -k ... > ca.pem
    assert get(cmon.port, "/_fakecmon/health", fetched, "localhost")[0] == 200


def test_ca_pem_needs_no_control_token():
    """The control API's guard keeps everything else; the CA certificate is public."""
    with FakeCmon(control_token="s3cret") as server:
        status, _, body = get(server.port, "/_fakecmon/ca.pem", unverified())
        assert status == 200 and body.startswith(b"-----BEGIN CERTIFICATE-----")
        assert get(server.port, "/_fakecmon/health", unverified())[0] == 401


def test_ca_pem_with_an_own_certificate_is_a_clear_404(tmp_path):
    cert, key, _ = own_certificate(tmp_path)
    with serving(["--cert", str(cert), "--key", str(key)], ca_line=False) as s:
        status, ctype, body = get(s.urls[0][1], "/_fakecmon/ca.pem", unverified())
        assert status == 404 and ctype.startswith("application/json")
        assert b"no local CA" in body


# ---- --cert-hostname and FAKECMON_CERT_HOSTNAMES

def test_names_are_added_and_the_same_ca_issues_the_new_certificate(tmp_path):
    with serving(["--certs-dir", str(tmp_path)]) as s:
        pass
    ca_before = (tmp_path / "ca.pem").read_bytes()
    cert_before = (tmp_path / "server.pem").read_bytes()
    assert "cmon.example.test" not in names(tmp_path / "server.pem")

    env = clean_env(FAKECMON_CERT_HOSTNAMES=" ci-runner , 10.20.30.40,")
    with serving(["--certs-dir", str(tmp_path), "--cert-hostname", "cmon.example.test",
                  "--cert-hostname", "*.svc.example.test"], env=env) as s:
        port = s.urls[0][1]
        assert (tmp_path / "ca.pem").read_bytes() == ca_before       # the CA stays
        assert (tmp_path / "server.pem").read_bytes() != cert_before  # issued again
        _, _, pem = get(port, "/_fakecmon/ca.pem", unverified())
        assert pem == ca_before
        verified = ssl.create_default_context(cadata=pem.decode())
        for name in ("cmon.example.test", "ci-runner", "10.20.30.40", "db.svc.example.test",
                     "localhost", "127.0.0.1"):
            assert s.ping("127.0.0.1", port, verified, server_hostname=name)[
                "request_status"] == "Ok", name
        with pytest.raises(ssl.SSLCertVerificationError):
            s.ping("127.0.0.1", port, verified, server_hostname="other.example.test")
    assert {"cmon.example.test", "*.svc.example.test", "ci-runner", "10.20.30.40"} <= names(
        tmp_path / "server.pem")

    # the same names again: nothing is issued again
    cert_now = (tmp_path / "server.pem").read_bytes()
    with serving(["--certs-dir", str(tmp_path), "--cert-hostname", "CMON.example.test"],
                 env=env):
        pass
    assert (tmp_path / "server.pem").read_bytes() == cert_now


def test_certs_command_takes_cert_hostnames(tmp_path):
    run = subprocess.run([*FAKECMON, "certs", "--certs-dir", str(tmp_path), "--cert-hostname",
                          "build-host.lan"], capture_output=True, text=True, timeout=30,
                         env=clean_env(FAKECMON_CERT_HOSTNAMES="192.168.7.7"))
    assert run.returncode == 0, run.stderr
    assert {"build-host.lan", "192.168.7.7", "localhost"} <= names(tmp_path / "server.pem")


@pytest.mark.parametrize("bad", ["two words", "under_score.example", "-lead.example", "a..b",
                                 "*", "x" * 64 + ".example"])
def test_a_name_a_certificate_cannot_carry_is_a_clear_error(tmp_path, bad):
    run = subprocess.run([*FAKECMON, "serve", "--port", "0", "--certs-dir", str(tmp_path),
                          f"--cert-hostname={bad}"], capture_output=True, text=True, timeout=30,
                         env=clean_env())
    assert run.returncode == 2
    assert "--cert-hostname" in run.stderr and "is not a host name or IP address" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "server.pem").exists()


def test_check_hostname_normalises():
    assert check_hostname(" Host.Example. ") == "host.example"
    assert check_hostname("::0001") == "::1"
    assert check_hostname("*.apps.example") == "*.apps.example"
    assert split_hostnames(" a, ,b ,") == ["a", "b"]


def test_an_unwritable_certs_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    run = subprocess.run([*FAKECMON, "serve", "--port", "0", "--certs-dir",
                          str(blocker / "certs")], capture_output=True, text=True, timeout=30,
                         env=clean_env())
    assert run.returncode == 2
    assert "cannot make the certificates in" in run.stderr and "Traceback" not in run.stderr


def test_certs_dir_from_the_environment(tmp_path):
    """The image points FAKECMON_CERTS_DIR at its volume."""
    env = clean_env(FAKECMON_CERTS_DIR=str(tmp_path / "vol"))
    with serving([], env=env) as s:
        assert s.ca == tmp_path / "vol" / "ca.pem"
