"""Faults on demand: what a test asks the server to get wrong, and for which requests.

A fault applies to one operation, one path, one user's requests or all of them;
for the next N matching requests (``times``), a seeded fraction of them
(``fraction`` + ``seed``: the same requests fail on every run), or until cleared.

Kinds, as a client sees them:

``latency``     the reply comes ``seconds`` later (combines with any other fault)
``status``      an envelope with ``request_status`` and ``message`` (TryAgain, AccessDenied...)
``http``        HTTP ``http_status`` (500, 502, 503...) with an UnknownError/TryAgain envelope
``drop``        the connection is cut without a reply (a connection error)
``empty``       HTTP 200 with an empty body
``truncate``    the reply's Content-Length promises more than is sent before the close
``malformed``   a complete HTTP reply whose JSON body is cut short
``expire``      the sessions of ``target_user`` (or all) end first: AuthRequired, HTTP 401
``redirect``    ``Redirect`` as a CMON HA follower, naming the leader ``hostname:port``

``drop`` and ``empty`` answer without running the request unless ``process`` is
true (then the state changes and only the reply is lost); ``truncate`` and
``malformed`` always damage the real reply.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakecmon.errors import REDIRECT, TRY_AGAIN, UNKNOWN_ERROR, RpcError

if TYPE_CHECKING:
    from fakecmon.rpc import Call

KINDS = ("latency", "status", "http", "drop", "empty", "truncate", "malformed", "expire",
         "redirect")

_HTTP_TEXT = {500: "Internal server error.", 502: "Bad gateway.", 503: "Service unavailable.",
              504: "Gateway timeout."}


@dataclass
class Fault:
    id: int
    kind: str
    operation: str | None = None
    path: str | None = None
    user: str | None = None
    times: int | None = None          # matching requests still to fail; None: until cleared
    fraction: float | None = None
    seed: int | None = None
    seconds: float = 0.0              # latency
    request_status: str | None = None
    message: str | None = None
    http_status: int | None = None
    target_user: str | None = None    # expire: whose sessions (None: everybody's)
    hostname: str = "127.0.0.1"       # redirect: the leader
    port: int = 9501
    process: bool = False             # drop / empty: run the request first
    fired: int = 0
    _rng: random.Random | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.fraction is not None:
            self._rng = random.Random(self.seed)

    def applies(self, path: str, operation: str, user: str | None) -> bool:
        """True when this request matches and the fault fires for it (counts it)."""
        if self.path is not None and self.path != path:
            return False
        if self.operation is not None and self.operation.lower() != operation.lower():
            return False
        if self.user is not None and self.user != user:
            return False
        if self._rng is not None and self._rng.random() >= (self.fraction or 0.0):
            return False
        self.fired += 1
        if self.times is not None:
            self.times -= 1
        return True

    @property
    def replaces_reply(self) -> bool:
        """An envelope fault: the request is not run, a made-up envelope answers."""
        return self.kind in ("status", "http", "redirect")

    @property
    def spent(self) -> bool:
        return self.times is not None and self.times <= 0

    def error(self) -> tuple[str, str | None, int]:
        """(request_status, error_string, HTTP status) of an envelope fault."""
        if self.kind == "http":
            code = self.http_status or 500
            status = self.request_status or (TRY_AGAIN if code == 503 else UNKNOWN_ERROR)
            return status, self.message or _HTTP_TEXT.get(code, f"HTTP error {code}."), code
        if self.kind == "redirect":
            return REDIRECT, self.message or "Redirect notification.", 200
        assert self.request_status is not None
        return self.request_status, self.message, self.http_status or 200

    def to_json(self) -> dict[str, Any]:
        keep = ("id", "kind", "operation", "path", "user", "times", "fraction", "seed",
                "fired")
        doc = {k: getattr(self, k) for k in keep}
        doc.update(self._kind_fields())
        return doc

    def _kind_fields(self) -> dict[str, Any]:
        return {
            "latency": {"seconds": self.seconds},
            "status": {"request_status": self.request_status, "message": self.message,
                       "http_status": self.http_status or 200},
            "http": {"http_status": self.http_status, "request_status": self.request_status,
                     "message": self.message},
            "drop": {"process": self.process},
            "empty": {"process": self.process},
            "expire": {"target_user": self.target_user},
            "redirect": {"hostname": self.hostname, "port": self.port},
        }.get(self.kind, {})


class FaultError(ValueError):
    """A fault specification that cannot work; the message says which field and why."""


def _num(spec: dict[str, Any], name: str, kind: type, low: float | None = None,
         high: float | None = None) -> Any:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind is int and isinstance(value, float) and not value.is_integer()):
        raise FaultError(f"'{name}' must be {'an integer' if kind is int else 'a number'}.")
    value = kind(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise FaultError(f"'{name}' must be between {low} and {high}." if high is not None
                         else f"'{name}' must be at least {low}.")
    return value


def _str(spec: dict[str, Any], name: str) -> str | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FaultError(f"'{name}' must be a non-empty string.")
    return value


class Faults:
    """The active faults, checked in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._seq = 0

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._faults))

    def add(self, spec: dict[str, Any]) -> Fault:
        """Validate a fault specification (as JSON would carry it) and activate it."""
        known = {"kind", "operation", "path", "user", "times", "fraction", "seed", "seconds",
                 "request_status", "message", "http_status", "target_user", "hostname",
                 "port", "process"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise FaultError(f"Unknown fault field(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}.")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}.")
        path = _str(spec, "path")
        if path is not None:
            path = "/" + "/".join(p for p in path.split("/") if p)
            if not path.startswith("/v2"):
                path = "/v2" + path
        fault = Fault(
            id=self._seq + 1, kind=kind, operation=_str(spec, "operation"), path=path,
            user=_str(spec, "user"), times=_num(spec, "times", int, 1),
            fraction=_num(spec, "fraction", float, 0.0, 1.0), seed=_num(spec, "seed", int),
            seconds=_num(spec, "seconds", float, 0.0, 600.0) or 0.0,
            request_status=_str(spec, "request_status"), message=_str(spec, "message"),
            http_status=_num(spec, "http_status", int, 100, 599),
            target_user=_str(spec, "target_user"),
            hostname=_str(spec, "hostname") or "127.0.0.1",
            port=_num(spec, "port", int, 1, 65535) or 9501,
            process=bool(spec.get("process", False)))
        if kind == "latency" and not fault.seconds:
            raise FaultError("A latency fault needs 'seconds' (at most 600).")
        if kind == "status":
            if fault.request_status is None:
                raise FaultError("A status fault needs 'request_status' (TryAgain, "
                                 "UnknownError, AccessDenied...).")
            if fault.request_status.lower() == "ok":
                raise FaultError("'Ok' is not a fault.")
        if kind == "http" and (fault.http_status is None or fault.http_status < 400):
            raise FaultError("An http fault needs 'http_status' of 400 or more (500, 502, 503...).")
        if fault.seed is not None and fault.fraction is None:
            raise FaultError("'seed' goes with 'fraction'.")
        self._seq += 1
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        self._faults.clear()

    def pick(self, path: str, operation: str, user: str | None) -> tuple[float, Fault | None]:
        """(added latency, the first other fault) that fire for this request."""
        delay = 0.0
        chosen: Fault | None = None
        for fault in self._faults:
            if fault.kind != "latency" and chosen is not None:
                continue
            if fault.applies(path, operation, user):
                if fault.kind == "latency":
                    delay += fault.seconds
                else:
                    chosen = fault
        self._faults = [f for f in self._faults if not f.spent]
        return delay, chosen


# ---- applying a fault to one request (called by fakecmon.server.handle_rpc)

def request_user(call: "Call") -> str | None:
    """Who sends this request: the session's user, else the name a login names."""
    if call.user is not None:
        return call.user.user_name
    if call.session is not None and call.session.user_id is not None:
        user = call.world.users.get(call.session.user_id)
        if user is not None:
            return user.user_name
    if call.path == "/v2/auth":
        name = call.body.get("user_name") or call.body.get("username")
        return name if isinstance(name, str) else None
    return None


async def before_dispatch(call: "Call", request: web.Request) -> Fault | None:
    """Pick the faults for this request and apply what comes before running it.

    Sleeps for latency and ends sessions for ``expire``; returns the fault that
    still shapes the reply (or None).
    """
    controller = call.controller
    delay, fault = controller.faults.pick(call.path, call.operation, request_user(call))
    if delay:
        await asyncio.sleep(delay)
    if fault is None:
        return None
    if fault.kind == "expire":
        if fault.target_user is None:
            controller.sessions.drop_user(None)
        else:
            user = call.world.user_by_name(fault.target_user)
            if user is not None:
                controller.sessions.drop_user(user.user_id)
        if call.session is not None:
            call.session = controller.sessions.get(call.session.sid)
    return fault


def fault_reply(fault: Fault, call: "Call",
                request: web.Request) -> tuple[str, dict[str, Any], RpcError]:
    """(status, payload, error) of an envelope fault (status, http, redirect)."""
    status, message, http_status = fault.error()
    call.http_status = http_status
    if status == "AuthRequired" and fault.http_status is None:
        call.http_status = call.controller.config.auth_required_http_status
    extra = redirect_fields(fault, _local_address(request)) if fault.kind == "redirect" else {}
    error = RpcError(status, message)
    error.extra = extra  # set after: Redirect's own "status" field is one of them
    return status, {}, error


def _local_address(request: web.Request) -> tuple[str, int]:
    """The address the client reached: this follower's entry in the controller list."""
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    return (str(sock[0]), int(sock[1])) if sock else ("127.0.0.1", 9501)


def runs_request(fault: Fault | None) -> bool:
    """False when the fault replaces the request entirely (drop / empty without ``process``)."""
    return fault is None or fault.kind not in ("drop", "empty") or fault.process


def redirect_fields(fault: Fault, me_at: tuple[str, int]) -> dict[str, Any]:
    """What a CMON HA follower adds to its Redirect reply: every controller, and the leader."""
    def controller(host: str, port: int, role: str) -> dict[str, Any]:
        return {"class_name": "CmonController", "hostname": host, "ip": host, "port": port,
                "role": role}

    leader = controller(fault.hostname, fault.port, "leader")
    me = controller(me_at[0], me_at[1], "follower")
    return {
        "controllers": {f"{fault.hostname}:{fault.port}": leader,
                        f"{me['hostname']}:{me['port']}": me},
        "follower_controllers": {f"{me['hostname']}:{me['port']}": me},
        "failed_controllers": {},
        "leader_controller": leader,
        "status": "CmonControllerFollower",
    }


async def damage_reply(fault: Fault, request: web.Request,
                       resp: web.Response) -> web.StreamResponse:
    """The reply as the fault spoils it (drop, empty, truncate, malformed)."""
    transport = request.transport
    if fault.kind == "drop":
        if transport is not None:
            transport.abort()
        return resp
    if fault.kind == "empty":
        empty = web.Response(status=200, body=b"")
        if "Server" in resp.headers:
            empty.headers["Server"] = resp.headers["Server"]
        return empty
    body = resp.body if isinstance(resp.body, bytes) else b""
    if fault.kind == "malformed":
        resp.body = body[: max(1, len(body) // 2)]
        return resp
    if fault.kind == "truncate":
        stream = web.StreamResponse(status=resp.status, headers=resp.headers)
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        if transport is not None:
            transport.close()
        return stream
    return resp
