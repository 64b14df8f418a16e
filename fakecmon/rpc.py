"""The RPC v2 layer: operation registry, the per-request Call, login and the envelope.

Handlers live in ``fakecmon/api/<path>.py``, are named after their operation and
registered with ``@operation("/v2/clusters", "getAllClusterInfo")``. They get a
Call, return the reply's payload fields, and raise RpcError to answer an error.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from fakecmon.contract import TrackedBody
from fakecmon.errors import AUTH_REQUIRED, INVALID_REQUEST, OK, RpcError, denied, invalid
from fakecmon.timefmt import rfc3339
from fakecmon.world.models import Cluster, User

if TYPE_CHECKING:
    from fakecmon.controller import Controller
    from fakecmon.sessions import Session
    from fakecmon.world.state import World

Payload = dict[str, Any]
Handler = Callable[["Call"], Payload | Awaitable[Payload]]
T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    path: str
    name: str
    handler: Handler
    login: bool
    #: "stateful" (reads and changes the world) or "world-data" (values derived from
    #: the world, e.g. statistics); shown by ``fakecmon operations``.
    kind: str = "stateful"
    #: True only for handlers that never change the world: every other call makes
    #: the world's cached views stale (``World.changed``), so a new handler that
    #: changes something is safe without doing anything.
    readonly: bool = False


#: path -> lower-cased operation name -> Operation
OPERATIONS: dict[str, dict[str, Operation]] = {}


def operation(path: str, name: str, *, login: bool = True, kind: str = "stateful",
              readonly: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for ``name`` on ``path`` (matched case-insensitively).

    ``readonly=True`` promises that the handler changes nothing a view shows; only
    plain reads that clients repeat (and the benchmark measures) carry it.
    """
    def register(fn: Handler) -> Handler:
        OPERATIONS.setdefault(path, {})[name.lower()] = Operation(path, name, fn, login, kind,
                                                                  readonly)
        return fn
    return register


def find_operation(path: str, name: str) -> Operation | None:
    return OPERATIONS.get(path, {}).get(name.lower())


_MISSING: Any = object()
#: Types whose values ``coerce`` returns unchanged.
_AS_IS = frozenset({str, bool, float, dict, list})


def tracked(body: dict[str, Any]) -> TrackedBody:
    """``body`` as a ``TrackedBody`` (the same one if it is one)."""
    return body if isinstance(body, TrackedBody) else TrackedBody(body)
_TYPE_WORDS = {int: "an integer", str: "a string", bool: "a boolean", dict: "an object",
               list: "a list", float: "a number"}


class Call:
    """One RPC request in the making: what was asked, by whom, and the reply extras."""

    __slots__ = ("controller", "path", "body", "peer", "operation", "session", "user",
                 "new_session", "http_status", "reply_user_id", "request", "wire", "processed")

    def __init__(self, controller: "Controller", path: str, body: dict[str, Any],
                 peer: str = "") -> None:
        self.controller = controller
        self.path = path
        #: The request document; a ``TrackedBody`` remembers what the handler read
        #: (fakecmon/contract.py reports the fields the client sent that nothing read).
        self.body: TrackedBody = tracked(body)
        self.peer = peer
        self.body.read.add("operation")
        operation = dict.get(body, "operation")
        self.operation = operation if isinstance(operation, str) else ""
        self.session: Session | None = None
        self.user: User | None = None
        self.new_session: Session | None = None   # sent as Set-Cookie when set
        self.http_status = 200
        self.reply_user_id = True     # CMON leaves request_user_id out of login replies
        #: The aiohttp request, for the rare operation that takes over the connection
        #: (the event stream); set by the server, None elsewhere.
        self.request: Any = None
        #: The body's bytes as received (the journal's contract check keys on them).
        self.wire: bytes | None = None
        #: ``request_processed`` as the envelope wrote it (the journal's time too).
        self.processed = ""

    @property
    def world(self) -> "World":
        return self.controller.world

    @property
    def now(self) -> float:
        return self.controller.clock.now()

    # ---- typed request fields: a wrong type is InvalidRequest, never a traceback

    def arg(self, name: str, kind: type[T], default: Any = _MISSING) -> T:
        """Field ``name`` of the request as ``kind``; missing -> default or InvalidRequest."""
        body = self.body
        body.read.add(name)     # (TrackedBody.get, inline: every request reads several)
        value = dict.get(body, name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise invalid(f"Missing '{name}' field in the request.")
            return default
        if type(value) is kind and kind in _AS_IS:
            return value  # type: ignore[no-any-return]
        return coerce(value, kind, name)

    def takes(self, *names: str, kind: type = object) -> None:
        """Fields CMON reads here whose effect fakecmon does not model (s9s sends them):
        typed like any other field (``kind``), so they belong to the request contract
        (fakecmon/contract.py) and a client that sends them gets no finding."""
        for name in names:
            if kind is not object:
                self.arg(name, kind, None)
            else:
                self.body.get(name)

    def login_user(self) -> User:
        """The authenticated user (handlers with ``login=True`` always have one)."""
        if self.user is None:
            raise RpcError(AUTH_REQUIRED, "Authentication required.")
        return self.user

    def cluster(self, *, required: bool = True) -> Cluster | None:
        """The cluster named by ``cluster_id`` or ``cluster_name``.

        Unknown ids answer InvalidRequest "Cluster was not found." and unknown
        names ObjectNotFound, as CMON does for getClusterInfo.
        """
        if self.body.get("cluster_id") is not None:
            cid = self.arg("cluster_id", int)
            if cid == 0 and not required:
                return None
            cluster = self.world.clusters.get(cid)
            if cluster is None:
                raise invalid("Cluster was not found.")
            return cluster
        if self.body.get("cluster_name") not in (None, ""):
            name = self.arg("cluster_name", str)
            cluster = self.world.cluster_by_name(name)
            if cluster is None:
                raise RpcError("ObjectNotFound",
                               f"No CmonCluster instance is available for cluster {name}.")
            return cluster
        if required:
            raise invalid("The request has no 'cluster_id' or 'cluster_name'.")
        return None


INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
_INT_STRING = re.compile(r"-?[0-9]{1,20}")  # ASCII digits only: int() rejects "²", huge strings


def coerce(value: Any, kind: type[T], name: str) -> T:
    """Check a JSON value's type the way CMON is lenient: numeric strings are numbers."""
    if kind is bool:
        if isinstance(value, bool):
            return value  # type: ignore[return-value]
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return (value.lower() == "true")  # type: ignore[return-value]
        if isinstance(value, int) and value in (0, 1):
            return bool(value)  # type: ignore[return-value]
    elif kind is int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _INT_STRING.fullmatch(value.strip()):
            number = int(value)
        if number is not None:
            if not INT64_MIN <= number <= INT64_MAX:   # CMON's integers are 64-bit
                raise invalid(f"The '{name}' field is out of range ({INT64_MIN} to {INT64_MAX}).")
            return number  # type: ignore[return-value]
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
    elif isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
        return value
    raise invalid(f"The '{name}' field must be {_TYPE_WORDS.get(kind, kind.__name__)}, "
                  f"not {_json_type(value)}.")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def display_path(path: str) -> str:
    """CMON names the bare ``/v2`` path ``/v2/info`` in its messages."""
    return "/v2/info" if path == "/v2" else path


def unknown_operation(call: Call, parts: list[str]) -> RpcError:
    """What CMON answers for an empty or unknown operation name."""
    if call.path == "/v2/auth":
        return RpcError(INVALID_REQUEST, f"Unexpected request '{call.operation}' in state ''")
    return RpcError(INVALID_REQUEST,
                    f"Invalid operation '{call.operation}' on '{display_path(call.path)}'.",
                    request_operation=call.operation, request_path=list(parts))


def authenticate_nested(call: Call) -> None:
    """The doc's method 1: ``"authenticate": {"username", "password"}`` inside any request."""
    spec = call.body.get("authenticate")
    if not isinstance(spec, dict):
        raise invalid("The 'authenticate' field must be an object.")
    name = spec.get("username", spec.get("user_name"))
    password = spec.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise invalid("The 'authenticate' object needs 'username' and 'password' strings.")
    user = call.controller.check_password(name, password)
    if user is None:
        raise denied("Username or password is incorrect.")
    call.user = user


#: Areas whose state follows the clock (jobs, maintenance windows, alarms) catch up
#: here, cheaply: before every handler, and on the server's tick so that event
#: stream subscribers see changes while no request comes in. A hook returns False
#: when it changed nothing; anything else (None too) makes cached views stale.
CATCH_UP: list[Callable[["World", float], bool | None]] = []


def catch_up(world: "World", now: float) -> None:
    moved = False
    for hook in CATCH_UP:
        if hook(world, now) is not False:
            moved = True
    if moved:
        world.changed()


async def dispatch(call: Call, parts: list[str]) -> tuple[str, Payload, RpcError | None]:
    """Run one call; returns (status, payload, error)."""
    try:
        op = find_operation(call.path, call.operation)
        if op is None:
            raise unknown_operation(call, parts)
        controller = call.controller
        if "authenticate" in call.body:
            try:
                authenticate_nested(call)
            finally:
                controller.world.changed()   # a login, even a failed one, changes the user
        elif call.session is not None and call.session.user_id is not None:
            call.user = controller.world.users.get(call.session.user_id)
        if op.login and call.user is None:
            call.http_status = controller.config.auth_required_http_status
            raise RpcError(AUTH_REQUIRED, "Authentication required.")
        catch_up(controller.world, controller.clock.now())
        writes = not op.readonly
        if writes:
            controller.world.changed()
        try:
            result = op.handler(call)
            if type(result) is not dict and inspect.isawaitable(result):
                result = await result
        finally:
            if writes:
                controller.world.changed()
        return OK, result or {}, None
    except RpcError as exc:
        return exc.status, {}, exc


def envelope(call: Call, status: str, payload: Payload, error: RpcError | None) -> Payload:
    """The reply document: CMON's envelope fields around the payload."""
    doc: Payload = {"controller_id": call.world.controller_id}
    if error is not None and error.message is not None:
        doc["error_string"] = error.message
    if "request_created" in call.body:
        doc["request_created"] = call.body["request_created"]
    if "request_id" in call.body:
        doc["request_id"] = call.body["request_id"]
    doc["request_processed"] = call.processed = rfc3339(call.controller.clock.now())
    doc["request_status"] = status
    if call.user is not None and call.reply_user_id:
        doc["request_user_id"] = call.user.user_id
    doc.update(payload)
    if error is not None:
        doc.update(error.extra)
    if call.user is not None:
        doc["debug_messages"] = _debug_messages(call.user.user_name)
    return doc


@functools.lru_cache(maxsize=256)
def _debug_messages(user_name: str) -> tuple[str, ...]:
    """What CMON tells an authenticated caller (a tuple, written as a JSON list: one
    for every reply to the same user, never changed)."""
    return (f"RPC V2 authenticated user is '{user_name}'.",)
