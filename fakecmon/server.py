"""The HTTPS server: aiohttp application, TLS listeners and the /v2 request handler."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import ssl
import time
from typing import Any

import orjson
from aiohttp import ClientConnectionError, HttpVersion11, web
from aiohttp.hdrs import EXPECT
from aiohttp.web_protocol import RequestHandler


from fakecmon.connections import ConnectionGate, tracked_of
from fakecmon.control import add_control_routes
from fakecmon.controller import Controller
from fakecmon.eventstream import close_streams
from fakecmon.errors import INVALID_REQUEST, UNKNOWN_ERROR, RpcError
from fakecmon.faults import Fault, before_dispatch, damage_reply, fault_reply, runs_request
from fakecmon.journal import record
from fakecmon.rpc import Call, catch_up, dispatch, envelope, tracked
from fakecmon.wire import compat_factory

log = logging.getLogger("fakecmon")

#: How often (real seconds) clock-driven state catches up without requests.
TICK_SECONDS = 0.25

#: Connections the kernel queues while fakecmon is at its connection cap.
LISTEN_BACKLOG = 1024

CONTROLLER = web.AppKey("controller", Controller)
COOKIE = "cmon-sid"


def session_id(request: web.Request) -> str | None:
    """The ``cmon-sid`` value from a Cookie header, bare or with attributes."""
    for header in request.headers.getall("Cookie", ()):
        sid = _cookie_sid(header)
        if sid is not None:
            return sid
    return None


@functools.lru_cache(maxsize=1024)
def _cookie_sid(header: str) -> str | None:
    """(A client sends the same Cookie header with every request: parsed once.)"""
    for part in header.replace(",", ";").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value.strip().strip('"')
    return None


def reply(controller: Controller, doc: dict[str, Any], status: int = 200,
          sid: str | None = None) -> web.Response:
    """Raw UTF-8 JSON with a Content-Length, ``Server: cmon/<version>`` and at most one cookie."""
    headers = _headers(controller.world.version)
    if sid is not None:
        headers = {**headers, "Set-Cookie": f"{COOKIE}={sid}; Path=/; HttpOnly; Secure"}
    return web.Response(body=dumps(doc), status=status, headers=headers)


@functools.lru_cache(maxsize=16)
def _headers(version: str) -> dict[str, str]:
    """The headers of every reply, in their order (aiohttp copies them into each
    response: never changed here)."""
    return {"Content-Type": "application/json", "Server": f"cmon/{version}"}


def dumps(doc: dict[str, Any]) -> bytes:
    """orjson, and the standard library for what orjson refuses (an integer past 64
    bits that a lenient handler kept): a reply is never lost to its serialiser.

    A reply built around a pre-serialised view (an ``orjson.Fragment``, often tens of
    kilobytes) is the same bytes as the last one whenever its envelope is too (a
    poller within the same millisecond): those bytes are given again, not written
    again, so the reply is not copied and the journal keeps one copy of it."""
    key = _memo_key(doc)
    if key is not None:
        last = _LAST_REPLY[0]
        if last is not None and last[0] == key:
            return last[1]
    try:
        data = orjson.dumps(doc)
    except TypeError:
        return json.dumps(doc, ensure_ascii=False, default=str).encode()
    if key is not None:
        _LAST_REPLY[0] = (key, data)
    return data


#: The last reply with a pre-serialised view: (its ``_memo_key``, its bytes).
_LAST_REPLY: list[tuple[tuple[Any, ...], bytes] | None] = [None]
#: The types of the values of a document ``dumps`` may give the last bytes for.
#: (No floats: -0.0 == 0.0 in Python, not in JSON.)
_MEMO_TYPES = frozenset({orjson.Fragment, str, int, bool, type(None), list, tuple})
_SEQUENCES = (list, tuple)


def _memo_key(doc: dict[str, Any]) -> tuple[Any, ...] | None:
    """What decides the bytes of ``doc`` when it holds a Fragment (equal only to itself)
    and otherwise only strings, integers, booleans, nulls and lists (or tuples) of
    strings, types included (``1`` and ``True`` are equal in Python, not in JSON); None
    for any other document."""
    values = tuple(doc.values())
    types = tuple(map(type, values))
    if orjson.Fragment not in types or not _MEMO_TYPES.issuperset(types):
        return None
    if (list in types or tuple in types) and not all(
            type(item) is str for value in values if type(value) in _SEQUENCES for item in value):
        return None
    return tuple(doc), values, types


def parse_body(raw: bytes) -> dict[str, Any]:
    """Lenient JSON, as CMON reads it: NaN, Infinity and raw control characters pass."""
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as first:
        if str(first).startswith("depth limit"):   # the same limit on every Python
            raise RpcError(INVALID_REQUEST, "The request is not valid JSON: "
                           "it is nested too deeply.") from None
        try:
            value = json.loads(raw.decode("utf-8", errors="replace"), strict=False)
        except json.JSONDecodeError as exc:
            raise RpcError(INVALID_REQUEST, f"The request is not valid JSON: {exc.msg} "
                           f"at line {exc.lineno} column {exc.colno}.") from None
        except RecursionError:
            raise RpcError(INVALID_REQUEST, "The request is not valid JSON: "
                           "it is nested too deeply.") from None
        except ValueError as exc:  # e.g. an integer with more digits than Python converts
            raise RpcError(INVALID_REQUEST, f"The request is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", int: "a number",
                float: "a number", type(None): "null"}.get(type(value), "not an object")
        raise RpcError(INVALID_REQUEST, f"The request must be a JSON object, not {kind}.")
    return value


def path_parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


@functools.lru_cache(maxsize=256)
def rpc_path(request_path: str) -> tuple[str, list[str]]:
    """(the RPC path, its parts) of a request path: ``//v2//clusters/`` is
    ``/v2/clusters``, and CMON serves the bare ``/v2`` as ``/v2/info``. (Clients
    use a few paths: worked out once each; the parts are never changed.)"""
    parts = path_parts(request_path)
    path = "/" + "/".join(parts)
    return ("/v2/info" if path == "/v2" else path), parts


async def handle_rpc(request: web.Request) -> web.StreamResponse:
    """Every ``/v2/...`` request: parse, log in, dispatch, wrap in the envelope."""
    return await rpc_request(request.app[CONTROLLER], request)


async def rpc_request(controller: Controller, request: web.BaseRequest) -> web.StreamResponse:
    """``handle_rpc``, given the controller (``served`` calls it without the router)."""
    started = time.perf_counter()
    path, parts = rpc_path(request.path)
    call = Call(controller, path, _NO_BODY, peer=request.remote or "")
    call.request = request
    fault: Fault | None = None
    try:
        size = request.content_length
        if size is not None and size > controller.config.max_body_size:
            call.http_status = 413
            raise RpcError(INVALID_REQUEST, _too_large(size, controller))
        raw = call.wire = await read_body(request, call)
        call.body = tracked(parse_body(raw))
        op = call.body.get("operation", "")
        if op is not None and not isinstance(op, str):
            raise RpcError(INVALID_REQUEST, "The 'operation' field must be a string.")
        call.operation = op or ""
        call.session = controller.sessions.get(session_id(request))
        if controller.faults:
            fault = await before_dispatch(call, request)
        if fault is not None and fault.replaces_reply:
            status, payload, error = fault_reply(fault, call, request)
        elif not runs_request(fault):
            assert fault is not None
            resp = await damage_reply(fault, request, reply(controller, {}, 200))
            record(controller, call, None, None if fault.kind == "drop" else 200, started,
                   fault.kind)
            return resp
        else:
            status, payload, error = await dispatch(call, parts)
    except RpcError as exc:
        status, payload, error = exc.status, {}, exc
    except Exception:  # noqa: BLE001 - a bug must still answer with an envelope
        log.exception("internal error on %s %r", path, call.operation)
        call.http_status = 500
        status, payload = UNKNOWN_ERROR, {}
        error = RpcError(UNKNOWN_ERROR, "Internal error in fakecmon; see its log.")
    doc = envelope(call, status, payload, error)
    sid = call.new_session.sid if call.new_session is not None else None
    resp = reply(controller, doc, call.http_status, sid)
    if call.http_status == 408:
        resp.force_close()     # the rest of the body may still come: not another request
    if fault is not None:
        resp = await damage_reply(fault, request, resp)
    record(controller, call, status, None if fault and fault.kind == "drop" else resp.status,
           started, fault.kind if fault else None, reply=getattr(resp, "body", None))
    return resp


_NO_BODY: dict[str, Any] = {}


async def read_body(request: web.Request, call: Call) -> bytes:
    """The whole body, within the idle timeout: a body that stops short of its
    Content-Length (or trickles in) must not hold the connection for ever."""
    controller = call.controller
    timeout = controller.config.idle_timeout
    try:
        if request.content.is_eof():   # all of it is here (as a rule): no timer, no loop
            raw = bytes(request.content.read_nowait())
            if len(raw) > controller.config.max_body_size + 1:   # as aiohttp's own limit
                raise web.HTTPRequestEntityTooLarge(max_size=controller.config.max_body_size + 1,
                                                    actual_size=len(raw))
            return raw
        async with asyncio.timeout(timeout):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        call.http_status = 413
        raise RpcError(INVALID_REQUEST, _too_large(None, controller)) from None
    except asyncio.TimeoutError:
        call.http_status = 408
        raise RpcError(INVALID_REQUEST, f"The request body did not arrive within "
                       f"{timeout:g} seconds.") from None
    except (ConnectionError, ClientConnectionError) as exc:   # the client went away
        call.http_status = 400
        raise RpcError(INVALID_REQUEST, f"The request body was cut short: {exc}.") from None


def _too_large(size: int | None, controller: Controller) -> str:
    limit = controller.config.max_body_size
    got = f" ({size} bytes)" if size is not None else ""
    return f"The request body is too large{got}; the limit is {limit} bytes."


async def handle_other(request: web.Request) -> web.Response:
    """Paths outside /v2 are not part of the RPC API."""
    controller = request.app[CONTROLLER]
    call = Call(controller, request.path, {})
    doc = envelope(call, INVALID_REQUEST, {}, RpcError(
        INVALID_REQUEST, f"The path '{request.path}' is not served; RPC v2 requests go to /v2/<area>."))
    return reply(controller, doc, 404)


def is_rpc_request(request: web.BaseRequest) -> bool:
    """The application's router would give ``request`` to ``handle_rpc`` (the routes
    ``/v2`` and ``/v2/{tail}``, matched on the same decoded path), and aiohttp has
    nothing to do first (an ``Expect: 100-continue`` is answered by the router's match)."""
    path = request.rel_url.path_safe
    return (path == "/v2" or path.startswith("/v2/")) and EXPECT not in request.headers


def routes_only_rpc(app: web.Application) -> bool:
    """``app`` sends every ``/v2`` path to ``handle_rpc`` with nothing around it (no
    middleware, no response hook, no other route under ``/v2``), as ``make_app`` makes
    it: only then may ``served`` skip the router (an embedder may add to ``CmonServer.app``
    before ``start()``)."""
    if app.middlewares or app.on_response_prepare:
        return False
    for resource in app.router.resources():
        canonical = resource.canonical
        if canonical == "/v2" or canonical.startswith("/v2/"):
            if any(route.handler is not handle_rpc for route in resource):
                return False
    return True


def served(handle: Any, controller: Controller | None = None) -> Any:
    """aiohttp's request handler (the application's), wrapped in what every request of
    every path needs. A plain wrapper, not middlewares: aiohttp runs those through
    two more layers a request.

    * Given the controller, RPC requests go straight to ``rpc_request``: the router
      has nothing to choose for them (``CmonServer.start`` passes it only while
      ``routes_only_rpc``, and ``handle_rpc`` reads nothing of the match), and every
      request would pay for walking it.

    * The connection is marked busy while a request is handled, so the idle timeout
      (``fakecmon.connections``) never cuts a request, however long it takes.
    * CMON closes the connection after answering an HTTP/1.0 client, even one that
      asks for keep-alive (aiohttp would keep that one open).
    """
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        tracked = tracked_of(request.transport)
        if tracked is not None:
            tracked.request_started()
        try:
            resp: web.StreamResponse = await (
                rpc_request(controller, request)
                if controller is not None and is_rpc_request(request) else handle(request))
        finally:
            if tracked is not None:
                tracked.request_done()
        if request.version < HttpVersion11 and not resp.prepared:
            resp.force_close()
        return resp
    return handler


def listening_socket(bind: str, port: int) -> socket.socket:
    """A listening TCP socket on ``bind``:``port`` (IPv6 ones serve IPv6 only, as asyncio's)."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((bind, port))
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


class CmonRequestHandler(RequestHandler):
    """aiohttp's HTTP protocol, answering what is not valid HTTP (an HTTP/2 preface,
    binary garbage, a bad Content-Length or chunk size) with a CMON envelope and a
    one-line log entry, not aiohttp's plain text and a traceback in the log."""

    __slots__ = ("cmon_controller",)

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        controller: Controller | None = getattr(self, "cmon_controller", None)
        if controller is None or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        summary = (message or str(exc or "") or "bad request").strip().splitlines()[0]
        summary = summary.rstrip(":")[:120]
        if summary.startswith("Pause on PRI"):    # llhttp's words for the HTTP/2 preface
            summary = "HTTP/2 is not served, use HTTP/1.1"
        call = Call(controller, "", {}, peer=request.remote or "")
        if status >= 500:
            log.error("error on a request from %s", request.remote, exc_info=exc)
            error = RpcError(UNKNOWN_ERROR, "Internal error in fakecmon; see its log.")
        else:
            log.info("not valid HTTP from %s: %s", request.remote, summary)
            error = RpcError(INVALID_REQUEST, f"The request is not valid HTTP: {summary}.")
        resp = reply(controller, envelope(call, error.status, {}, error), status)
        resp.force_close()
        return resp


def handler_factory(server: Any, controller: Controller) -> Any:
    """Makes ``CmonRequestHandler``s the way aiohttp's ``Server`` makes its own
    (falls back to aiohttp's if its internals ever move)."""
    kwargs = getattr(server, "_kwargs", None)
    loop = getattr(server, "_loop", None)
    if not isinstance(kwargs, dict) or loop is None:
        return server

    def make() -> CmonRequestHandler:
        handler = CmonRequestHandler(server, loop=loop, **kwargs)
        handler.cmon_controller = controller
        return handler
    return make


def make_app(controller: Controller) -> web.Application:
    # The body limit is checked by handle_rpc to answer with an envelope; aiohttp's
    # own limit is a backstop just above it.
    app = web.Application(client_max_size=controller.config.max_body_size + 1)
    app[CONTROLLER] = controller
    # (A tail is anything, a decoded line break too: aiohttp's ``.*`` would leave such
    # a path to its plain-text 404.)
    app.router.add_route("*", "/v2", handle_rpc)
    app.router.add_route("*", r"/v2/{tail:[\s\S]*}", handle_rpc)
    add_control_routes(app, controller)  # /_fakecmon/: tests and tools, never under /v2
    app.router.add_route("*", r"/{tail:[\s\S]*}", handle_other)
    return app


def server_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class CmonServer:
    """One fakecmon server: an aiohttp app behind TLS listeners on one port.

    ``await start()`` binds every address (port 0 picks a free port, shared by all
    addresses) and returns the port; ``await stop()`` closes everything.
    """

    def __init__(self, controller: Controller, ssl_context: ssl.SSLContext,
                 binds: list[str] | None = None, port: int = 9501) -> None:
        self.controller = controller
        self.ssl_context = ssl_context
        self.binds = binds or ["127.0.0.1"]
        self.port = port
        self.app = make_app(controller)
        self._runner: web.AppRunner | None = None
        self.gate: ConnectionGate | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def urls(self) -> list[str]:
        return [f"https://{'[' + b + ']' if ':' in b else b}:{self.port}" for b in self.binds]

    async def start(self) -> int:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                     keepalive_timeout=self.controller.config.idle_timeout)
        await self._runner.setup()
        assert self._runner.server is not None
        self._runner.server.request_handler = served(
            self._runner.server.request_handler,
            self.controller if routes_only_rpc(self.app) else None)
        factory = compat_factory(handler_factory(self._runner.server, self.controller))
        loop = asyncio.get_running_loop()
        _quiet_handshake_errors(loop)
        config = self.controller.config
        self.gate = ConnectionGate(factory, self.ssl_context,
                                   max_connections=config.max_connections,
                                   handshake_timeout=config.handshake_timeout,
                                   idle_timeout=config.idle_timeout)
        try:
            for bind in self.binds:
                sock = listening_socket(bind, self.port)
                self.gate.listen(sock)
                if self.port == 0:
                    self.port = sock.getsockname()[1]
        except BaseException:
            await self.stop()
            raise
        self._ticker = asyncio.create_task(self._tick())
        return self.port

    async def _tick(self) -> None:
        """Let clock-driven state (jobs, maintenance, alarms) move while no request
        comes in, so event stream subscribers see a job end without polling."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                catch_up(self.controller.world, self.controller.clock.now())
            except Exception:  # noqa: BLE001 - the next request reports it with an envelope
                log.exception("clock tick failed")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await close_streams(self.controller)  # open event streams would keep wait_closed() waiting
        if self.gate is not None:
            await self.gate.close()
            self.gate = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _quiet_handshake_errors(loop: asyncio.AbstractEventLoop) -> None:
    """A plain-HTTP client on the TLS port fails its handshake; log it in one line."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, (ssl.SSLError, ConnectionError)):
            log.info("TLS connection refused: %s", exc)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
