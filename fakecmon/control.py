"""The control API on ``/_fakecmon/``: what tests and tools change besides the RPC API.

Plain JSON in and out (usable with curl), never reachable through ``/v2``:

    GET    /_fakecmon/health                        is it up, which world
    POST   /_fakecmon/reset                         startup world; no journal, faults, sessions
    GET    /_fakecmon/world                         the loaded world files
    POST   /_fakecmon/world                         {"files": [...]} or {"yaml": "..."}, "replace"
    POST   /_fakecmon/world/reload                  read the startup world files again
    GET    /_fakecmon/world/export?format=yaml|json everything the world holds, as a world file
    GET    /_fakecmon/snapshots                     names of saved worlds
    POST   /_fakecmon/snapshots/{name}              save the world under a name
    POST   /_fakecmon/snapshots/{name}/restore      bring it back
    DELETE /_fakecmon/snapshots/{name}
    GET    /_fakecmon/requests?operation=&path=&user=&status=&limit=&after=ID
    GET    /_fakecmon/requests/{id}                 one request with its reply (secrets masked)
    DELETE /_fakecmon/requests                      clear the journal
    PUT    /_fakecmon/requests                      {"size": N}: resize the ring buffer
    GET    /_fakecmon/faults  POST /_fakecmon/faults {...}  DELETE /_fakecmon/faults[/{id}]
    GET    /_fakecmon/clock   POST /_fakecmon/clock/{advance,set,freeze,unfreeze}
    POST   /_fakecmon/sessions/expire               {"user": NAME} or {} for everybody
    GET    /_fakecmon/password-reset/{user}         the user's live passwordReset token
    GET    /_fakecmon/ca.pem                        the local CA certificate (public: no guard)

Guard (on every route but the public ca.pem): without a configured token only
loopback peers are served; with one (``--control-token`` or ``FAKECMON_CONTROL_TOKEN``)
every request must carry it as ``Authorization: Bearer <token>`` or
``X-Fakecmon-Token``. Requests that carry an ``Origin`` header (a web page's fetch)
are refused whatever the peer, unless it is the origin of the server itself (the
dashboard, ``fakecmon/dashboard.py``).

The functions above the handlers (``full_reset``, ``load_world``...) are what
``FakeCmon`` calls too, on the server's own thread.
"""

from __future__ import annotations

import copy
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakecmon.faults import FaultError
from fakecmon.journal import Filter
from fakecmon.rpc import catch_up
from fakecmon.timefmt import parse_time, rfc3339
from fakecmon.world import accounts
from fakecmon.world.export import export_world, to_json, to_yaml
from fakecmon.world.yamlfile import Node, WorldError, parse_yaml, read_yaml

if TYPE_CHECKING:
    from fakecmon.controller import Controller

log = logging.getLogger("fakecmon")

PREFIX = "/_fakecmon"
STARTED = time.time()


class ControlError(Exception):
    """A refused control request: HTTP status and a sentence saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---- what the control API (and FakeCmon) does to a controller

def full_reset(controller: "Controller", *, world: bool = True, journal: bool = True,
               faults: bool = True, clock: bool = True, sessions: bool = True) -> None:
    """Back to how the server started: world files, empty journal, no faults, real time
    and nobody logged in. Each part can be kept; named snapshots always stay.
    """
    if clock:
        controller.clock.reset()
    if world:
        if controller.files is controller.startup_files:
            controller.reset()
        else:
            controller.replace_files(controller.startup_files)
    if journal:
        controller.journal.clear()
    if faults:
        controller.faults.clear()
    if sessions:
        controller.sessions.drop_user(None)


def parse_files(paths: list[str | Path]) -> list[tuple[Path, Node]]:
    """Read world files; a WorldError names the file, line and cause."""
    return [(Path(p), read_yaml(Path(p))) for p in paths]


def load_world(controller: "Controller", files: list[tuple[Path, Node]], *,
               replace: bool = False) -> None:
    """Add world files to the loaded ones (later files extend earlier ones), or replace them.

    Atomic: if the resulting world is invalid, the old one stays and WorldError says why.
    A full reset goes back to the startup files.
    """
    controller.replace_files(files if replace else [*controller.files, *files])


def reload_startup(controller: "Controller") -> list[tuple[Path, Node]]:
    """Read the startup world files from disk again and serve them (hot reload).

    Sessions are kept; an invalid file raises WorldError and the old world stays.
    """
    files = parse_files([p for p, _ in controller.startup_files])
    controller.replace_files(files)
    controller.startup_files = controller.files
    return files


def save_snapshot(controller: "Controller", name: str) -> None:
    """Keep a copy of the world; at most ``config.max_snapshots`` names (a full store
    answers 409: delete one first)."""
    limit = controller.config.max_snapshots
    if name not in controller.snapshots and len(controller.snapshots) >= limit:
        raise ControlError(409, f"There are already {limit} snapshots (the most kept); "
                                "delete one first.")
    controller.snapshots[name] = copy.deepcopy(controller.world)


def restore_snapshot(controller: "Controller", name: str) -> None:
    snap = controller.snapshots.get(name)
    if snap is None:
        known = ", ".join(sorted(controller.snapshots)) or "none"
        raise KeyError(f"No snapshot named '{name}' (known: {known}).")
    controller.world = copy.deepcopy(snap)  # the snapshot itself stays reusable


def export_now(controller: "Controller") -> dict[str, Any]:
    """The world as a world file document, as of now: areas that follow the clock (jobs,
    alarms, maintenance) catch up first, as they do before every RPC call."""
    catch_up(controller.world, controller.clock.now())
    return export_world(controller.world)


def expire_sessions(controller: "Controller", user: str | None = None) -> int:
    """End the sessions of ``user`` (or everybody's): the next call gets AuthRequired."""
    if user is None:
        return controller.sessions.drop_user(None)
    found = controller.world.user_by_name(user)
    if found is None:
        raise KeyError(f"User '{user}' is not found.")
    return controller.sessions.drop_user(found.user_id)


def clock_json(controller: "Controller") -> dict[str, Any]:
    now = controller.clock.now()
    return {"now": now, "time": rfc3339(now), "frozen": controller.clock.frozen}


def to_epoch(value: Any) -> float:
    """Epoch seconds from a number or an RFC 3339 / Go time string."""
    if isinstance(value, bool):
        raise ValueError("'time' must be epoch seconds or an RFC 3339 time.")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return parse_time(value)
    raise ValueError("'time' must be epoch seconds or an RFC 3339 time.")


# ---- the guard

def is_loopback(peer: str | None) -> bool:
    if not peer:
        return False  # a Unix socket or an unknown peer is not trusted
    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def presented_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("X-Fakecmon-Token")


def same_origin(request: web.Request, token: str | None) -> bool:
    """The dashboard's own page (``/_fakecmon/ui/``, same scheme, host and port): its
    fetches carry an Origin header. Without a token the host must also be a loopback
    name, so a DNS name rebound to 127.0.0.1 does not pass for it."""
    origin = request.headers.get("Origin", "")
    if origin != f"{request.scheme}://{request.host}":
        return False
    if token:
        return True
    host = request.url.host or ""
    return host == "localhost" or is_loopback(host.strip("[]"))


def check_guard(request: web.Request, token: str | None) -> None:
    """Raise ControlError unless this request may use the control API."""
    if "Origin" in request.headers and not same_origin(request, token):
        raise ControlError(403, "The control API does not answer other web pages "
                                "(an Origin header that is not this server's).")
    if token:
        got = presented_token(request)
        if got is None:
            raise ControlError(401, "The control API needs its token: send "
                                    "'Authorization: Bearer <token>'.")
        if not hmac.compare_digest(got.encode(), token.encode()):
            raise ControlError(401, "Wrong control API token.")
        return
    if not is_loopback(request.remote):
        raise ControlError(403, f"The control API answers loopback clients only, not "
                                f"{request.remote}; start fakecmon with --control-token "
                                f"(or FAKECMON_CONTROL_TOKEN) to reach it from elsewhere.")


# ---- HTTP handlers

Handler = Callable[[web.Request, "Controller"], Awaitable[Any]]


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ControlError(400, f"The body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ControlError(400, "The body must be a JSON object.")
    return value


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ControlError(400, f"'{name}' must be true or false.")
    return value


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if not name or len(name) > 200:
        raise ControlError(400, "A snapshot name is 1 to 200 characters.")
    return name


def _world_json(controller: "Controller") -> dict[str, Any]:
    w = controller.world
    return {"files": [str(p) for p, _ in controller.files],
            "startup_files": [str(p) for p, _ in controller.startup_files],
            "controller_id": w.controller_id, "users": w.count("users"),
            "groups": w.count("groups"), "clusters": w.count("clusters"),
            "snapshots": sorted(controller.snapshots)}


async def health(request: web.Request, c: "Controller") -> Any:
    return {"status": "ok", "controller_id": c.world.controller_id, "version": c.world.version,
            "uptime": round(time.time() - STARTED, 3), "world_files":
            [str(p) for p, _ in c.files], "journal": {"size": c.journal.size,
                                                      "entries": len(c.journal)},
            "faults": len(list(c.faults)), "clock": clock_json(c)}


async def reset(request: web.Request, c: "Controller") -> Any:
    body = await _body(request)
    flags = {k: _bool(body, k, d) for k, d in (("world", True), ("journal", True),
                                               ("faults", True), ("clock", True),
                                               ("sessions", True))}
    full_reset(c, **flags)
    return {"reset": [k for k, v in flags.items() if v], "world": _world_json(c)}


async def get_world(request: web.Request, c: "Controller") -> Any:
    return _world_json(c)


async def post_world(request: web.Request, c: "Controller") -> Any:
    body = await _body(request)
    replace = _bool(body, "replace", False)
    files_field, text = body.get("files"), body.get("yaml")
    if (files_field is None) == (text is None):
        raise ControlError(400, "Give either 'files' (paths on the server) or 'yaml' (text).")
    if text is not None:
        if not isinstance(text, str):
            raise ControlError(400, "'yaml' must be a string.")
        name = body.get("name", "inline.yaml")
        files = [(Path(str(name)), parse_yaml(text, Path(str(name))))]
    else:
        if isinstance(files_field, str):
            files_field = [files_field]
        if not isinstance(files_field, list) or not all(isinstance(f, str) for f in files_field):
            raise ControlError(400, "'files' must be a list of paths.")
        files = parse_files(files_field)
    load_world(c, files, replace=replace)
    return _world_json(c)


async def export(request: web.Request, c: "Controller") -> Any:
    """The whole world as a world file (YAML, or JSON with ``?format=json``)."""
    fmt = request.query.get("format", "yaml")
    if fmt not in ("yaml", "json"):
        raise ControlError(400, f"Unknown format '{fmt}' (yaml or json).")
    doc = export_now(c)
    if fmt == "json":
        return web.Response(body=to_json(doc) + b"\n", content_type="application/json")
    return web.Response(text=to_yaml(doc), content_type="application/yaml", charset="utf-8")


async def reload_world(request: web.Request, c: "Controller") -> Any:
    reload_startup(c)
    return _world_json(c)


async def list_snapshots(request: web.Request, c: "Controller") -> Any:
    return {"snapshots": sorted(c.snapshots)}


async def post_snapshot(request: web.Request, c: "Controller") -> Any:
    name = _name(request)
    save_snapshot(c, name)
    return {"saved": name, "snapshots": sorted(c.snapshots)}


async def restore(request: web.Request, c: "Controller") -> Any:
    name = _name(request)
    try:
        restore_snapshot(c, name)
    except KeyError as exc:
        raise ControlError(404, exc.args[0]) from None
    return {"restored": name, "world": _world_json(c)}


async def delete_snapshot(request: web.Request, c: "Controller") -> Any:
    name = _name(request)
    if c.snapshots.pop(name, None) is None:
        raise ControlError(404, f"No snapshot named '{name}'.")
    return {"deleted": name, "snapshots": sorted(c.snapshots)}


async def get_requests(request: web.Request, c: "Controller") -> Any:
    q = request.query
    limit = q.get("limit")
    if limit is not None and not (limit.isascii() and limit.isdigit()):
        raise ControlError(400, "'limit' must be a number.")
    after = q.get("after")
    if after is not None and not (after.isascii() and after.isdigit()):
        raise ControlError(400, "'after' must be a request id (a number).")
    flt = Filter(path=q.get("path"), operation=q.get("operation"), user=q.get("user"),
                 status=q.get("status"))
    found = c.journal.select(flt, int(limit) if limit else None)
    if after is not None:
        found = [e for e in found if e.id > int(after)]
    return {"size": c.journal.size, "received": c.journal.total, "total": len(found),
            "requests": [e.to_json() for e in found]}


async def get_request(request: web.Request, c: "Controller") -> Any:
    """One journal entry with the reply it got (both with secrets masked)."""
    rid = request.match_info["id"]
    entry = next((e for e in c.journal if str(e.id) == rid), None)
    if entry is None:
        raise ControlError(404, f"No request {rid} in the journal (it keeps the last "
                                f"{c.journal.size}).")
    return {**entry.to_json(), "reply": entry.reply_json()}


async def delete_requests(request: web.Request, c: "Controller") -> Any:
    dropped = len(c.journal)
    c.journal.clear()
    return {"cleared": dropped}


async def put_requests(request: web.Request, c: "Controller") -> Any:
    size = (await _body(request)).get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 10_000_000:
        raise ControlError(400, "'size' must be a number of requests (0 to 10000000).")
    c.journal.resize(size)
    return {"size": c.journal.size, "entries": len(c.journal)}


async def get_report(request: web.Request, c: "Controller") -> Any:
    """The coverage report: calls, statuses and contract findings per operation used."""
    return c.usage.report()


async def delete_report(request: web.Request, c: "Controller") -> Any:
    c.usage.clear()
    return {"cleared": True}


async def get_faults(request: web.Request, c: "Controller") -> Any:
    return {"faults": [f.to_json() for f in c.faults]}


async def post_fault(request: web.Request, c: "Controller") -> Any:
    try:
        fault = c.faults.add(await _body(request))
    except FaultError as exc:
        raise ControlError(400, str(exc)) from None
    return fault.to_json()


async def delete_faults(request: web.Request, c: "Controller") -> Any:
    n = len(list(c.faults))
    c.faults.clear()
    return {"cleared": n}


async def delete_fault(request: web.Request, c: "Controller") -> Any:
    fid = request.match_info["id"]
    if not (fid.isascii() and fid.isdigit()) or not c.faults.remove(int(fid)):
        raise ControlError(404, f"No active fault {fid}.")
    return {"deleted": int(fid)}


async def get_clock(request: web.Request, c: "Controller") -> Any:
    return clock_json(c)


async def clock_action(request: web.Request, c: "Controller") -> Any:
    action = request.match_info["action"]
    body = await _body(request)
    try:
        if action == "advance":
            seconds = body.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValueError("'seconds' must be a number.")
            c.clock.advance(float(seconds))
        elif action == "set":
            if "time" not in body:
                raise ValueError("'time' is missing (epoch seconds or RFC 3339).")
            c.clock.set(to_epoch(body["time"]))
        elif action == "freeze":
            c.clock.freeze()
        elif action == "unfreeze":
            c.clock.unfreeze()
        else:
            raise ControlError(404, f"No clock action '{action}' (advance, set, freeze, "
                                    f"unfreeze).")
    except ValueError as exc:
        raise ControlError(400, str(exc)) from None
    return clock_json(c)


async def post_expire(request: web.Request, c: "Controller") -> Any:
    user = (await _body(request)).get("user")
    if user is not None and not isinstance(user, str):
        raise ControlError(400, "'user' must be a user name.")
    try:
        return {"expired": expire_sessions(c, user)}
    except KeyError as exc:
        raise ControlError(404, exc.args[0]) from None


async def get_reset_token(request: web.Request, c: "Controller") -> Any:
    """The token a ``passwordReset`` request made (the mail CMON would send), for tools
    that drive the reset flow from outside the test process."""
    name = request.match_info["user"]
    if c.world.user_by_name(name) is None:
        raise ControlError(404, f"User '{name}' is not found.")
    token = accounts.reset_token(c.world, name)
    if token is None:
        raise ControlError(404, f"User '{name}' has no password reset token: "
                                "send /v2/auth passwordReset first.")
    return {"user": name, "token": token}


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/health", health),
    ("POST", "/reset", reset),
    ("GET", "/world", get_world),
    ("POST", "/world", post_world),
    ("POST", "/world/reload", reload_world),
    ("GET", "/world/export", export),
    ("GET", "/snapshots", list_snapshots),
    ("POST", "/snapshots/{name}", post_snapshot),
    ("POST", "/snapshots/{name}/restore", restore),
    ("DELETE", "/snapshots/{name}", delete_snapshot),
    ("GET", "/requests", get_requests),
    ("GET", "/requests/{id}", get_request),
    ("DELETE", "/requests", delete_requests),
    ("PUT", "/requests", put_requests),
    ("GET", "/report", get_report),
    ("DELETE", "/report", delete_report),
    ("GET", "/faults", get_faults),
    ("POST", "/faults", post_fault),
    ("DELETE", "/faults", delete_faults),
    ("DELETE", "/faults/{id}", delete_fault),
    ("GET", "/clock", get_clock),
    ("POST", "/clock/{action}", clock_action),
    ("POST", "/sessions/expire", post_expire),
    ("GET", "/password-reset/{user}", get_reset_token),
]


def _json(doc: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(doc, indent=1) + "\n", status=status,
                        content_type="application/json")


async def ca_pem(request: web.Request, controller: "Controller") -> web.Response:
    """The CA certificate, to anyone: it is public, and fetching it (``curl -k``) is the
    one step a client on another host or container needs to verify the server."""
    path = controller.config.ca_cert
    if path is None:
        return _json({"error": "This server runs on a certificate of its own (--cert): "
                               "it has no local CA."}, 404)
    try:
        pem = path.read_bytes()
    except OSError as exc:
        return _json({"error": f"Cannot read the CA certificate: {exc.strerror}."}, 500)
    return web.Response(body=pem, content_type="application/x-pem-file")


def add_control_routes(app: web.Application, controller: "Controller") -> None:
    """Mount the control API on ``/_fakecmon/`` (before the catch-all route)."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            try:
                check_guard(request, controller.config.control_token)
                try:
                    result = await handler(request, controller)
                finally:
                    if request.method != "GET":
                        controller.world.changed()   # cached views are stale
                return result if isinstance(result, web.StreamResponse) else _json(result)
            except ControlError as exc:
                return _json({"error": exc.message}, exc.status)
            except WorldError as exc:
                return _json({"error": f"The world was not changed: {exc}"}, 400)
            except Exception as exc:  # noqa: BLE001 - still a JSON answer
                log.exception("control API error on %s", request.path)
                return _json({"error": f"Internal error in fakecmon: {exc}"}, 500)
        return serve

    async def index(request: web.Request) -> web.Response:
        try:
            check_guard(request, controller.config.control_token)
        except ControlError as exc:
            return _json({"error": exc.message}, exc.status)
        return _json({"routes": [f"{m} {PREFIX}{p}" for m, p, _ in ROUTES]})

    for method, path, handler in ROUTES:
        app.router.add_route(method, PREFIX + path, wrap(handler))

    async def public_ca(request: web.Request) -> web.Response:
        return await ca_pem(request, controller)

    app.router.add_route("GET", PREFIX + "/ca.pem", public_ca)
    from fakecmon.dashboard import add_dashboard_routes  # it uses this module
    add_dashboard_routes(app, controller, wrap)
    app.router.add_route("GET", PREFIX, index)
    app.router.add_route("GET", PREFIX + "/", index)

    async def not_found(request: web.Request) -> web.Response:
        try:
            check_guard(request, controller.config.control_token)
        except ControlError as exc:
            return _json({"error": exc.message}, exc.status)
        return _json({"error": f"No control route {request.method} {request.path}; "
                               f"GET {PREFIX}/ lists them."}, 404)

    app.router.add_route("*", PREFIX + r"/{tail:[\s\S]*}", not_found)
