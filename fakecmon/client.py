"""A small RPC v2 client, as the real clients talk: one TLS connection per request, cookie kept.

Used by fakecmon's own tests and handy in yours::

    client = RpcClient("https://127.0.0.1:9501", ssl_context)
    client.login("system", "secret")
    reply = client.call("/v2/clusters", "getAllClusterInfo")
    assert reply["request_status"] == "Ok"
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass
class RawReply:
    """What came back: HTTP status, headers (lower-case names, repeated ones joined) and JSON."""

    status: int
    headers: dict[str, list[str]]
    body: bytes
    json: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


class RpcClient:
    def __init__(self, base_url: str, ssl_context: ssl.SSLContext | None = None,
                 timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 9501
        self.prefix = parts.path.rstrip("/")
        if self.prefix.endswith("/v2"):
            self.prefix = self.prefix[:-3]
        self.ssl_context = ssl_context or _insecure_context()
        self.timeout = timeout
        self.sid: str | None = None
        self.request_id = 0

    def post(self, path: str, body: dict[str, Any] | bytes,
             headers: dict[str, str] | None = None) -> RawReply:
        """POST ``body`` to ``path`` (``/v2/...``) with the session cookie, if any."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        hdrs = {"Content-Type": "application/json"}
        if self.sid:
            hdrs["Cookie"] = f"cmon-sid={self.sid}"
        hdrs.update(headers or {})
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                           context=self.ssl_context)
        try:
            conn.request("POST", self.prefix + path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            got: dict[str, list[str]] = {}
            for name, value in resp.getheaders():
                got.setdefault(name.lower(), []).append(value)
        finally:
            conn.close()
        reply = RawReply(resp.status, got, raw)
        try:
            reply.json = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            reply.json = {}
        for cookie in got.get("set-cookie", []):
            name, _, rest = cookie.partition("=")
            if name.strip() == "cmon-sid":
                self.sid = rest.split(";", 1)[0]
        return reply

    def call(self, path: str, operation: str, **fields: Any) -> dict[str, Any]:
        """Send one operation the way s9s does (with request_id / request_created) and return the reply JSON."""
        self.request_id += 1
        body = {"operation": operation, "request_id": self.request_id, **fields}
        return self.post(path, body).json

    def login(self, user_name: str, password: str) -> dict[str, Any]:
        return self.call("/v2/auth", "authenticateWithPassword", user_name=user_name,
                         password=password)


def _insecure_context() -> ssl.SSLContext:
    """Like every real CMON client: TLS without certificate checks."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
