"""``fakecmon record``: a TLS proxy in front of a real controller that records every pair.

It listens like ``fakecmon serve`` and forwards each ``/v2`` request to the
upstream controller (cookies pass through both ways), answers with the upstream's
reply and writes the pair as ``NNNN-<operation>-req.json`` / ``-rep.json`` (the
captures' form) with passwords, keys, signatures, tokens and session ids masked,
plus ``index.json`` (path, user, HTTP status of each pair) for ``fakecmon diff``.
When the upstream cannot be reached the client gets the envelope CMON sends when
it cannot do what was asked (``UnknownError`` with the cause) and the pair is
recorded as failed. Every file is written under a temporary name and renamed
when whole.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp import web

from fakecmon.journal import MASK, mask
from fakecmon.timefmt import rfc3339

_OP_NAME = re.compile(r"[^A-Za-z0-9_]+")
_SESSION = re.compile(r"^(sid|session_id|session|cookie|cmon-sid)$", re.IGNORECASE)
_USER_LINE = re.compile(r"RPC V2 authenticated user is '([^']*)'")
#: Request headers that belong to one hop, not to the request.
_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect",
        "accept-encoding"}
TIMEOUT = 60.0


class RecordError(Exception):
    """Why recording cannot start; one line."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary name, then rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def scrub(doc: Any) -> Any:
    """A document with secrets (journal.mask) and session ids masked."""
    doc = mask(doc)
    return _scrub_sessions(doc)


def _scrub_sessions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _SESSION.match(k) and v not in (None, "")
                    else _scrub_sessions(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_sessions(v) for v in value]
    return value


def upstream_ssl(ca: Path | None, insecure: bool) -> ssl.SSLContext:
    if insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        return ssl.create_default_context(cafile=str(ca) if ca else None)
    except (OSError, ssl.SSLError) as exc:
        raise RecordError(f"cannot read the CA file {ca}: {getattr(exc, 'strerror', None) or exc}") \
            from None


def describe(exc: BaseException, url: str) -> str:
    """One line for a failed connection to ``url``: TLS problems and refusals say so."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS error with {url}: {exc.certificate_error}"
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return f"TLS error with {url}: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot reach {url}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, asyncio.TimeoutError):
        return f"{url} did not answer within {TIMEOUT:.0f} seconds"
    return f"connection to {url} failed: {exc}"


class Recorder:
    """The pairs written so far and the users behind the session cookies."""

    def __init__(self, upstream: str, out: Path, ctx: ssl.SSLContext) -> None:
        self.upstream = upstream.rstrip("/")
        if self.upstream.endswith("/v2"):
            self.upstream = self.upstream[:-3]
        self.out = out
        self.ctx = ctx
        self.count = 0
        self.index: list[dict[str, Any]] = []
        self.users: dict[str, str] = {}       # session cookie -> user name
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
            connector=aiohttp.TCPConnector(ssl=self.ctx), cookie_jar=aiohttp.DummyCookieJar())

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def probe(self) -> None:
        """Reach the upstream once before listening: a wrong URL or CA fails at start."""
        assert self.http is not None
        try:
            async with self.http.post(self.upstream + "/v2/clusters",
                                      data=b'{"operation": "ping"}') as resp:
                await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError, OSError) as exc:
            raise RecordError(describe(exc, self.upstream)) from None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.http is not None
        raw = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        url = self.upstream + request.path_qs
        failed = None
        try:
            async with self.http.request(request.method, url, data=raw, headers=headers) as up:
                body = await up.read()
                status = up.status
                back = [(k, v) for k, v in up.headers.items()
                        if k.lower() in ("set-cookie", "content-type", "server")]
        except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError, OSError) as exc:
            failed = describe(exc, self.upstream)
            status = 200
            body = orjson.dumps({"controller_id": "", "error_string": failed,
                                 "request_processed": rfc3339(time.time()),
                                 "request_status": "UnknownError"})
            back = [("Content-Type", "application/json")]
        resp = web.Response(body=body, status=status)
        for name, value in back:
            if name.lower() == "content-type":
                resp.content_type = value.split(";")[0]
            else:
                resp.headers.add(name, value)
        if request.path.startswith("/v2"):
            self.save(request, raw, body, status, back, failed)
        return resp

    def save(self, request: web.Request, raw: bytes, body: bytes, status: int,
             back: list[tuple[str, str]], failed: str | None) -> None:
        req = _json_or_text(raw)
        rep = _json_or_text(body)
        self.count += 1
        op = req.get("operation") if isinstance(req, dict) else None
        name = f"{self.count:04d}-{_OP_NAME.sub('_', op) if isinstance(op, str) and op else 'noOperation'}"
        user = self._user(request, req, rep, back)
        write_atomic(self.out / f"{name}-req.json", _pretty(scrub(req)))
        write_atomic(self.out / f"{name}-rep.json", _pretty(scrub(rep)))
        row: dict[str, Any] = {"name": name, "path": request.path.rstrip("/") or "/",
                               "operation": op, "user": user, "http_status": status}
        if failed:
            row["failed"] = failed
        self.index.append(row)
        write_atomic(self.out / "index.json", _pretty({"upstream": self.upstream,
                                                       "pairs": self.index}))

    def _user(self, request: web.Request, req: Any, rep: Any,
              back: list[tuple[str, str]]) -> str | None:
        cookie = request.cookies.get("cmon-sid")
        user = None
        for line in (rep.get("debug_messages") or []) if isinstance(rep, dict) else []:
            match = _USER_LINE.search(line) if isinstance(line, str) else None
            if match:
                user = match.group(1)
        if user is None and isinstance(req, dict):
            named = req.get("user_name", req.get("username"))
            user = named if isinstance(named, str) else None
        if user is None and cookie:
            user = self.users.get(cookie)
        for name, value in back:
            if name.lower() == "set-cookie" and value.startswith("cmon-sid=") and user:
                self.users[value.split("=", 1)[1].split(";", 1)[0]] = user
        if cookie and user:
            self.users.setdefault(cookie, user)
        return user


def _json_or_text(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return {"raw": raw.decode("utf-8", errors="replace")}


def _pretty(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def check_out_dir(out: Path) -> None:
    """Make ``out`` if needed and prove it writable, before anything is recorded."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / ".fakecmon-write-test", b"")
        (out / ".fakecmon-write-test").unlink()
    except OSError as exc:
        raise RecordError(f"cannot write to {out}: {exc.strerror or exc}") from None


async def _record(recorder: Recorder, ssl_ctx: ssl.SSLContext, binds: list[str],
                  port: int) -> None:
    from fakecmon.cli import stop_on_signals
    stop = stop_on_signals()
    await recorder.start()
    runner: web.AppRunner | None = None
    try:
        await recorder.probe()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", recorder.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for bind in binds:
            site = web.TCPSite(runner, bind, port, ssl_context=ssl_ctx)
            await site.start()
            for sock in site._server.sockets:  # type: ignore[union-attr]
                host, real = sock.getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                print(f"listening on https://{shown}:{real}", flush=True)
        print(f"recording {recorder.upstream} to {recorder.out}", flush=True)
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await recorder.close()


def cmd_record(args: argparse.Namespace) -> int:
    from fakecmon.certs import ensure_certificates
    from fakecmon.contract_cli import fail
    from fakecmon.server import server_ssl_context
    parts = urlsplit(args.upstream)
    if parts.scheme != "https" or not parts.hostname:
        return fail("record", f"--upstream must be an https:// URL, not {args.upstream!r}")
    try:
        check_out_dir(args.out)
        ctx = upstream_ssl(args.upstream_ca, args.insecure)
        binds = args.bind or ["127.0.0.1"]
        paths = ensure_certificates(args.certs_dir, binds)
        recorder = Recorder(args.upstream, args.out, ctx)
        asyncio.run(_record(recorder, server_ssl_context(str(paths.cert), str(paths.key)),
                            binds, args.port))
    except RecordError as exc:
        return fail("record", str(exc))
    except OSError as exc:
        return fail("record", f"cannot listen: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    return 0
