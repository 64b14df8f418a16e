"""The ``/v2/subscribe_events`` stream: what happens in the world, pushed as CmonEvent records.

CMON answers ``subscribe`` without an HTTP status line or headers: the connection
carries ``\\x1e{json}\\n\\n`` records until one side closes it (s9s enters stream
mode only when the first byte is ``\\x1e``). A listener on ``fakecmon.events``
turns job, host, cluster, alarm, maintenance and user events into ``CmonEvent``
documents and queues them for every live subscriber of the controller whose
world they happened in; each subscriber's handler writes its queue to the raw
transport. Queues are bounded: a subscriber that falls behind is disconnected
(s9s subscribes again after a second) rather than buffered without limit.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from fakecmon import permissions
from fakecmon.events import LISTENERS, Event
from fakecmon.world.views import cluster_json, user_json

if TYPE_CHECKING:
    from fakecmon.controller import Controller
    from fakecmon.world.models import Cluster, User
    from fakecmon.world.state import World

log = logging.getLogger("fakecmon")

RECORD_START = b"\x1e"
RECORD_END = b"\n\n"
#: Records waiting for one subscriber before it counts as stuck and is dropped.
QUEUE_LIMIT = 1000
#: Bytes the transport may hold unsent for one subscriber before it is dropped.
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024
#: How often an idle stream checks its connection besides being told of its loss (seconds).
IDLE_CHECK = 5.0

EVENT_CLASSES = {
    "job": "EventJob",
    "host": "EventHost",
    "cluster": "EventCluster",
    "alarm": "EventAlarm",
    "maintenance": "EventMaintenance",
    "user": "EventUser",
}

EVENT_NAMES = {
    "created": "Created", "raised": "Created", "added": "Created", "registered": "Created",
    "removed": "Destroyed", "deleted": "Destroyed", "destroyed": "Destroyed",
    "unregistered": "Destroyed",
    "started": "Started",
    "ended": "Ended", "finished": "Ended", "failed": "Ended", "aborted": "Ended",
    "cleared": "Ended",
    "state": "StateChanged", "status": "StateChanged", "state_changed": "StateChanged",
    "message": "UserMessage", "log": "UserMessage",
}

_SCALARS = (str, int, float, bool, type(None))


@dataclass(eq=False)
class Subscriber:
    """One open stream: who listens, to which cluster, and what is still to be written."""

    controller: "Controller"
    user_id: int
    cluster_id: int | None
    queue: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT))
    overflowed: bool = False
    stopping: bool = False      # the server stops: cut the connection, no TLS goodbye

    def push(self, record: bytes | None) -> None:
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.overflowed = True


_LOCK = threading.Lock()          # several servers (threads) may share this process
_SUBSCRIBERS: list[Subscriber] = []


def subscribers(controller: "Controller") -> list[Subscriber]:
    with _LOCK:
        return [s for s in _SUBSCRIBERS if s.controller is controller]


def _add(sub: Subscriber) -> None:
    with _LOCK:
        _SUBSCRIBERS.append(sub)


def _remove(sub: Subscriber) -> None:
    with _LOCK:
        if sub in _SUBSCRIBERS:
            _SUBSCRIBERS.remove(sub)


# ---- events -> CmonEvent documents

def _jsonable(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


def cmon_event(world: "World", event: Event, user: "User", now: float) -> dict[str, Any] | None:
    """The CmonEvent record of ``event`` as ``user`` sees it; None for kinds not streamed."""
    prefix, _, action = event.kind.partition(".")
    event_class = EVENT_CLASSES.get(prefix)
    if event_class is None:
        return None
    specifics: dict[str, Any] = {"cluster_id": event.cluster_id}
    specifics.update({k: v for k, v in event.data.items() if _jsonable(v)})
    if event.message:
        specifics.setdefault("reason", event.message)
    cluster = world.clusters.get(event.cluster_id)
    if event_class == "EventHost":
        _host_specifics(specifics, cluster, now)
    elif event_class == "EventCluster" and cluster is not None:
        specifics.setdefault("cluster_state", cluster.state)
        specifics.setdefault("cluster", cluster_json(
            world, cluster, now, privileges=permissions.privileges(world, user, cluster),
            with_hosts=False))
    elif event_class == "EventUser":
        name = subject_of(event)
        if name:
            specifics["user_name"] = name
            subject = world.user_by_name(name)
            if subject is not None:
                specifics["user"] = user_json(world, subject)
            else:
                specifics.pop("user", None)
    seconds = int(event.time)
    return {
        "class_name": "CmonEvent",
        "event_class": event_class,
        "event_name": EVENT_NAMES.get(action, "Changed"),
        "event_origins": {"sender_file": "fakecmon", "sender_line": 0,
                          "tv_nsec": int((event.time - seconds) * 1e9), "tv_sec": seconds},
        "event_specifics": specifics,
    }


def subject_of(event: Event) -> str | None:
    """The user a ``user.*`` event is about: ``data["user"]`` when another user acted."""
    named = event.data.get("user")
    return named if isinstance(named, str) and named else event.user_name


def _host_specifics(specifics: dict[str, Any], cluster: "Cluster | None", now: float) -> None:
    """s9s reads ``host_name``, ``hoststatus`` and ``reason`` of host events, ``host`` too."""
    name = specifics.get("host_name") or specifics.get("hostname")
    if isinstance(specifics.get("host"), dict):
        name = name or specifics["host"].get("hostname")
    if not isinstance(name, str) or cluster is None:
        return
    port = specifics.get("port")
    host = cluster.host(name, port if isinstance(port, int) else None)
    specifics.setdefault("host_name", name)
    if host is not None:
        specifics.setdefault("hoststatus", host.hoststatus)
        if not isinstance(specifics.get("host"), dict):
            specifics["host"] = host.to_json(cluster, now)


def _visible(world: "World", sub: Subscriber, user: "User", event: Event) -> bool:
    if sub.cluster_id is not None and event.cluster_id != sub.cluster_id:
        return False
    cluster = world.clusters.get(event.cluster_id)
    if cluster is not None:
        return permissions.can(world, user, cluster, permissions.READ)
    if event.kind.startswith("user.") and user.user_name in (event.user_name, subject_of(event)):
        return True
    return permissions.can(world, user, permissions.controller_object(world), permissions.READ)


def _listener(world: "World", event: Event) -> None:
    if event.kind.partition(".")[0] not in EVENT_CLASSES:
        return
    with _LOCK:
        subs = [s for s in _SUBSCRIBERS if s.controller.world is world]
    for sub in subs:
        user = world.users.get(sub.user_id)
        if user is None or not _visible(world, sub, user, event):
            continue
        doc = cmon_event(world, event, user, sub.controller.clock.now())
        if doc is not None:
            sub.push(RECORD_START + orjson.dumps(doc) + RECORD_END)


LISTENERS.append(_listener)


# ---- the stream itself

class LossWatcher(asyncio.Protocol):
    """Sits between the transport and the HTTP protocol to tell the stream at once when
    the client goes away (the HTTP protocol itself only notices on its next write)."""

    def __init__(self, inner: asyncio.BaseProtocol, lost: asyncio.Event) -> None:
        self._inner = inner
        self._lost = lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)  # type: ignore[attr-defined]

    def eof_received(self) -> bool | None:
        self._lost.set()
        return self._inner.eof_received()  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost.set()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


async def stream(controller: "Controller", user: "User", cluster_id: int | None,
                 transport_of: Callable[[], asyncio.Transport | None]) -> None:
    """Write records to the client until it disconnects, falls behind or the server stops.

    ``transport_of`` returns the connection's current transport (None once lost).
    """
    lost = asyncio.Event()
    first = transport_of()
    if first is None:
        return
    first.set_protocol(LossWatcher(first.get_protocol(), lost))
    sub = Subscriber(controller, user.user_id, cluster_id)
    _add(sub)
    gone = asyncio.ensure_future(lost.wait())
    try:
        while True:
            getter = asyncio.ensure_future(sub.queue.get())
            done, _ = await asyncio.wait({getter, gone}, timeout=IDLE_CHECK,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                record = getter.result()
            else:
                getter.cancel()
                record = b""
            transport = transport_of()
            if record is None or lost.is_set() or transport is None or transport.is_closing():
                return
            if sub.overflowed or transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                log.info("event subscriber of user %s fell behind; disconnected", user.user_name)
                return
            if record:
                transport.write(record)
    finally:
        gone.cancel()
        _remove(sub)
        transport = transport_of()
        if transport is not None and sub.stopping:
            transport.abort()
        elif transport is not None and not transport.is_closing():
            transport.close()


async def close_streams(controller: "Controller") -> None:
    """End every stream of ``controller`` (server stop); returns once they are closed."""
    subs = subscribers(controller)
    for sub in subs:
        sub.stopping = True
        sub.push(None)
    for _ in range(100):
        if not subscribers(controller):
            return
        await asyncio.sleep(0.01)
