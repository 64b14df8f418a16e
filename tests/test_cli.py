"""``fakecmon serve`` and ``fakecmon certs`` as a user runs them: real processes, port 0."""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rawtls import exchange, parse_reply, post_bytes

FAKECMON = [sys.executable, "-m", "fakecmon"]
LISTENING = re.compile(r"listening on https://(\[[0-9a-f:]+\]|[0-9.]+):(\d+)$")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RPC_BIND_ADDRESSES"}
    env.update(extra)
    return env


class Served:
    def __init__(self, proc: subprocess.Popen[str], lines: list[str]) -> None:
        self.proc = proc
        self.lines = lines
        self.urls = [(m.group(1).strip("[]"), int(m.group(2)))
                     for m in map(LISTENING.match, lines) if m]
        ca = [ln.split(": ", 1)[1] for ln in lines if ln.startswith("CA certificate: ")]
        self.ca = Path(ca[0]) if ca else None

    def ping(self, host: str, port: int, ctx: ssl.SSLContext | None = None,
             server_hostname: str | None = None) -> dict:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as sock:
            sock.settimeout(5)
            sock.connect((host, port))
            ctx = ctx or _insecure()
            with ctx.wrap_socket(sock, server_hostname=server_hostname or host) as tls:
                tls.sendall(post_bytes("/v2/info", b'{"operation": "ping"}'))
                out = b""
                while chunk := tls.recv(65536):
                    out += chunk
                self.peer_cert = tls.getpeercert(binary_form=True)
        return parse_reply(out).json


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@contextmanager
def serving(args: list[str], *, listening: int = 1, ca_line: bool = True,
            env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start ``fakecmon serve --port 0 ARGS``, wait for its start lines, stop it with SIGTERM."""
    proc = subprocess.Popen([*FAKECMON, "serve", "--port", "0", "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or clean_env())
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    got: list[str] = []
    try:
        wanted = listening + (1 if ca_line else 0)
        while len(got) < wanted:
            line = lines.get(timeout=20)
            if line is None:
                pytest.fail(f"fakecmon serve ended: {got} {proc.stderr.read() if proc.stderr else ''}")
            got.append(line)
        yield Served(proc, got)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_serve_prints_urls_and_ca_and_serves(tmp_path):
    with serving(["--certs-dir", str(tmp_path)]) as s:
        assert len(s.urls) == 1 and s.urls[0][0] == "127.0.0.1" and s.urls[0][1] > 0
        assert s.lines[0] == f"listening on https://127.0.0.1:{s.urls[0][1]}"
        assert s.ca == tmp_path / "ca.pem" and s.ca.is_file()
        verified = ssl.create_default_context(cafile=str(s.ca))
        for name in ("127.0.0.1", "localhost"):
            doc = s.ping("127.0.0.1", s.urls[0][1], verified, server_hostname=name)
            assert doc["request_status"] == "Ok"


def test_rpc_bind_addresses(tmp_path):
    env = clean_env(RPC_BIND_ADDRESSES="127.0.0.1, ::1")
    with serving(["--certs-dir", str(tmp_path)], listening=2, env=env) as s:
        assert [h for h, _ in s.urls] == ["127.0.0.1", "::1"]
        assert s.lines[1] == f"listening on https://[::1]:{s.urls[0][1]}"
        assert len({p for _, p in s.urls}) == 1
        verified = ssl.create_default_context(cafile=str(s.ca))
        for host, port in s.urls:
            assert s.ping(host, port, verified)["request_status"] == "Ok"


def can_bind(addr: str) -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((addr, 0))
    except OSError:
        return False
    return True


def test_the_certificate_names_every_bind_address(tmp_path):
    """A client that verifies (with the CA) reaches each bind address by that address."""
    if not can_bind("127.0.0.2"):
        pytest.skip("127.0.0.2 cannot be bound here")
    with serving(["--certs-dir", str(tmp_path), "--bind", "127.0.0.2", "--bind", "127.0.0.1"],
                 listening=2) as s:
        verified = ssl.create_default_context(cafile=str(s.ca))
        for host, port in s.urls:
            assert s.ping(host, port, verified)["request_status"] == "Ok"
    cert = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(v) for v in san.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1", "::1", "127.0.0.2"}


def test_bind_option_wins_over_the_environment(tmp_path):
    env = clean_env(RPC_BIND_ADDRESSES="::1")
    with serving(["--certs-dir", str(tmp_path), "--bind", "127.0.0.1"], env=env) as s:
        assert [h for h, _ in s.urls] == ["127.0.0.1"]


def test_options_reach_the_controller(tmp_path):
    with serving(["--certs-dir", str(tmp_path), "--controller-id", "cafe-0001",
                  "--auth-required-status", "200", "--max-body-size", "100"]) as s:
        host, port = s.urls[0]
        assert s.ping(host, port)["controller_id"] == "cafe-0001"
        body = b'{"operation": "whoAmI"}'
        reply = parse_reply(exchange(port, post_bytes("/v2/users", body)))
        assert reply.status == 200 and reply.json["request_status"] == "AuthRequired"
        reply = parse_reply(exchange(port, post_bytes("/v2/info", b'{"operation": "ping", "x": "'
                                                      + b"y" * 200 + b'"}')))
        assert reply.status == 413 and reply.json["request_status"] == "InvalidRequest"


def own_certificate(directory: Path) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "my-own-cmon")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "mine.pem", directory / "mine.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


def test_own_certificate(tmp_path):
    cert, key, der = own_certificate(tmp_path)
    certs_dir = tmp_path / "unused"
    with serving(["--cert", str(cert), "--key", str(key), "--certs-dir", str(certs_dir)],
                 ca_line=False) as s:
        host, port = s.urls[0]
        assert s.ping(host, port)["request_status"] == "Ok"
        assert s.peer_cert == der
    assert not certs_dir.exists()


def test_cert_without_key_is_refused(tmp_path):
    cert, _, _ = own_certificate(tmp_path)
    run = subprocess.run([*FAKECMON, "serve", "--port", "0", "--cert", str(cert)],
                         capture_output=True, text=True, timeout=30, env=clean_env())
    assert run.returncode == 2 and "--cert and --key go together" in run.stderr


def test_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run([*FAKECMON, "serve", "--port", str(port), "--certs-dir",
                              str(tmp_path)], capture_output=True, text=True, timeout=30,
                             env=clean_env())
    assert run.returncode == 1
    assert "cannot listen" in run.stderr and "Traceback" not in run.stderr


def test_certs_command(tmp_path):
    run = subprocess.run([*FAKECMON, "certs", "--certs-dir", str(tmp_path), "--bind", "10.1.2.3"],
                         capture_output=True, text=True, timeout=30, env=clean_env())
    assert run.returncode == 0, run.stderr
    assert f"CA certificate: {tmp_path / 'ca.pem'}" in run.stdout
    cert = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(v) for v in san.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1", "::1", "10.1.2.3"}
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    before = (tmp_path / "server.pem").read_bytes()
    # serve with the same bind reuses the files made by `fakecmon certs`
    env = clean_env(RPC_BIND_ADDRESSES="127.0.0.1")
    with serving(["--certs-dir", str(tmp_path)], env=env):
        pass
    assert (tmp_path / "server.pem").read_bytes() == before


def test_help_lists_the_options():
    run = subprocess.run([*FAKECMON, "serve", "--help"], capture_output=True, text=True,
                         timeout=30)
    for option in ("--port", "--bind", "--world", "--certs-dir", "--cert", "--key",
                   "--controller-id"):
        assert option in run.stdout


def test_log_file_gets_the_controller_log(tmp_path):
    """``--log-file``: what /v2/log lists also lands in the file, one line an entry
    (s9s's functional tests grep CMON's log file for such messages)."""
    log_file = tmp_path / "logs" / "cmon.log"
    with serving(["--certs-dir", str(tmp_path), "--log-file", str(log_file)]) as s:
        _, port = s.urls[0]
        for password in ("secret", "wrong"):
            body = orjson.dumps({"operation": "authenticateWithPassword",
                                 "user_name": "system", "password": password})
            exchange(port, post_bytes("/v2/auth", body))
        lines = log_file.read_text().splitlines()
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z : \(INFO\) "
                            r"User system logged in\.", line) for line in lines), lines
    assert any(line.endswith("(WARNING) User system failed to log in with password.")
               for line in lines), lines


def test_a_log_file_that_cannot_be_opened_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = subprocess.run([*FAKECMON, "serve", "--port", "0", "--certs-dir", str(tmp_path),
                          "--log-file", str(blocker / "cmon.log")],
                         capture_output=True, text=True, timeout=30, env=clean_env())
    assert run.returncode == 1 and "cannot open the log file" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
