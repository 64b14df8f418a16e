"""Raw TLS exchanges for wire tests: the exact bytes a client sends, all the server answers.

``exchange()`` reads until the server closes the connection, as s9s does; a server
that keeps the connection open makes it raise ``socket.timeout`` (the test fails).
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import orjson


def insecure_context() -> ssl.SSLContext:
    """What every real CMON client does: TLS without certificate checks (and without
    loading the system's CA store, which costs ~20 ms per connection)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def exchange(port: int, data: bytes | list[bytes], *, host: str = "127.0.0.1",
             timeout: float = 5.0) -> bytes:
    """Send ``data`` (a list: one TLS write per item) and return everything up to EOF."""
    parts = data if isinstance(data, list) else [data]
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with insecure_context().wrap_socket(sock, server_hostname=host) as tls:
            for part in parts:
                tls.sendall(part)
            out = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    return out
                out += chunk


@dataclass
class HttpReply:
    status_line: str
    status: int
    headers: list[tuple[str, str]]
    head: bytes           # the raw final head, for header regexps as s9s applies them
    body: bytes
    interim: list[str] = field(default_factory=list)   # 1xx status lines before the reply

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self) -> dict[str, Any]:
        return orjson.loads(self.body)


def parse_reply(raw: bytes) -> HttpReply:
    """Split a raw HTTP reply (skipping ``100 Continue``) into status, headers and body."""
    interim = []
    while True:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, f"no complete HTTP head in {raw[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if 100 <= status < 200:
            interim.append(lines[0])
            raw = rest
            continue
        headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
        return HttpReply(lines[0], status, headers, head + sep, rest, interim)


def s9s_request(path: str, body: dict[str, Any], cookie: str | None = None,
                host: str = "127.0.0.1:9501") -> bytes:
    """The bytes s9s sends (s9s.md §3): HTTP/1.0, identity + Content-Length, sorted 4-space JSON."""
    data = json.dumps(body, indent=4, sort_keys=True, ensure_ascii=False).encode()
    lines = [f"POST {path} HTTP/1.0", f"Host: {host}", "User-Agent: s9s-tools/1.0",
             "Connection: close", "Accept: application/json", "Transfer-Encoding: identity"]
    if cookie is not None:
        lines.append(f"Cookie: cmon-sid={cookie}")
    lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def post_bytes(path: str, data: bytes, headers: dict[str, str] | None = None,
               version: str = "1.0") -> bytes:
    """A POST with exactly the given headers plus Content-Length (and Host on HTTP/1.1)."""
    hdrs = dict(headers or {})
    if version == "1.1":
        hdrs.setdefault("Host", "127.0.0.1")
        hdrs.setdefault("Connection", "close")
    hdrs["Content-Length"] = str(len(data))
    head = f"POST {path} HTTP/{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    return (head + "\r\n").encode() + data


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True once the server closes ``sock`` (EOF or reset) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (TimeoutError, socket.timeout):
        return False
    except (ConnectionError, ssl.SSLError, OSError):
        return True
