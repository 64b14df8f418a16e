"""Bounded connections: a cap, a TLS handshake timeout and an idle keep-alive timeout.

asyncio's TLS server sets up a TLS machine (with a 256 KiB read buffer) for every
connection the moment it is accepted, so thousands of TCP connections that never
say a word cost hundreds of megabytes that the allocator rarely gives back. The
``ConnectionGate`` accepts connections itself instead: a connection costs a socket
and a timer until its first byte arrives, and only then gets TLS (with what is
left of the handshake timeout). At most ``max_connections`` are open at once:

* past the cap, the oldest connection that has not sent a byte yet is closed to
  make room (it cost the server nothing and a real client speaks at once), so a
  flood of silent connections never locks real clients out;
* when every open connection is a real one, accepting pauses: new connections wait
  in the kernel's backlog until one closes.

``Tracked`` wraps each connection's protocol: it gives the slot back when the
connection ends, and the gate closes it once it has had no request in progress for
``idle_timeout`` seconds: an idle keep-alive connection, or a client that sends its
request head a byte a second, holds a slot for that long at most.

Both deadlines are kept by one timer each for the whole gate, armed at the earliest
deadline, not by a timer per connection: s9s opens a connection per request, and
asyncio's timers cost more than the rest of the gate together.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import socket
import ssl
from asyncio import sslproto
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("fakecmon")

#: Defaults of ``fakecmon serve`` (and ``Config``).
MAX_CONNECTIONS = 1024
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
#: Read buffer of a TLS connection (asyncio's default is 256 KiB).
TLS_READ_BUFFER = 32 * 1024
#: When the open connections fall to this share of their peak, free memory is released.
_TRIM_AT = 0.25
#: After accept() fails with "too many open files", wait this long before trying again.
_ACCEPT_RETRY = 0.1


class Tracked(asyncio.Protocol):
    """An accepted connection's protocol wrapper: slot release and idle timeout."""

    def __init__(self, gate: "ConnectionGate", inner: Any) -> None:
        self.gate = gate
        self.inner = inner
        self.transport: asyncio.BaseTransport | None = None
        self.busy = 0                  # requests in progress (see request_started)
        self.last_done = gate.loop.time()
        self._released = False
        if hasattr(inner, "step_aside"):   # a filter that is only needed at first
            inner.step_aside = self._pass_to

    # ---- the slot

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.gate.forget(self)
            self.gate.release()

    # ---- idle timeout

    def request_started(self) -> None:
        self.busy += 1

    def request_done(self) -> None:
        self.busy = max(0, self.busy - 1)
        self.last_done = self.gate.loop.time()

    def idle_due(self, now: float) -> float:
        """When the connection is to be closed if nothing happens until then (a
        request in progress postpones it by a whole ``idle_timeout``)."""
        return (now if self.busy else self.last_done) + self.gate.idle_timeout

    def _pass_to(self, protocol: Any) -> None:
        """Pass data to ``protocol`` from now on (the filter between is done)."""
        self.inner = protocol

    # ---- asyncio.Protocol, passed on

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.last_done = self.gate.loop.time()
        self.gate.watch(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.release()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class _TLSProtocol(sslproto.SSLProtocol):
    """asyncio's TLS machine with a smaller read buffer. asyncio allocates (and zeroes)
    256 KiB per TLS connection and keeps it for the connection's life; a TLS record is
    at most 16 KiB, so a smaller one reads as fast, a thousand idle keep-alive
    connections cost an eighth of the memory, and a new connection costs no page
    faults (s9s opens one per request)."""

    max_size = TLS_READ_BUFFER


def _release_free_memory() -> None:
    """Give freed heap pages back to the system (glibc), so a flood's memory does not
    stay resident after it is gone."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def tracked_of(transport: Any) -> Tracked | None:
    """The ``Tracked`` wrapper of a request's connection, if it has one."""
    protocol = transport.get_protocol() if transport is not None else None
    for _ in range(3):   # the event stream wraps the protocol once more
        if isinstance(protocol, Tracked):
            return protocol
        protocol = getattr(protocol, "_inner", None)
    return None


class ConnectionGate:
    """Accepts on listening sockets, holds silent connections cheaply, then starts TLS."""

    def __init__(self, protocol_factory: Callable[[], Any], ssl_context: ssl.SSLContext, *,
                 max_connections: int = MAX_CONNECTIONS,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.loop = asyncio.get_running_loop()
        self.protocol_factory = protocol_factory
        self.ssl_context = ssl_context
        self.max_connections = max(1, max_connections)
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.open = 0                 # connections holding a slot
        self.evicted = 0              # silent connections closed to make room
        self.peak = 0
        self._trim_mark = -1
        self._listeners: list[socket.socket] = []
        self._paused = False
        #: accepted, no byte yet: socket -> its handshake deadline (oldest first, so the
        #: earliest deadline first too)
        self._silent: OrderedDict[socket.socket, float] = OrderedDict()
        self._silent_timer: asyncio.TimerHandle | None = None
        #: connections past their first byte, and the timer of the earliest idle deadline
        self._live: set[Tracked] = set()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # ---- listening

    def listen(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._listeners.append(sock)
        if not self._paused:
            self.loop.add_reader(sock.fileno(), self._accept, sock)

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            for sock in self._listeners:
                self.loop.remove_reader(sock.fileno())

    def _resume(self) -> None:
        if self._paused and not self._closed:
            self._paused = False
            for sock in self._listeners:
                self.loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(128):   # a burst per wake-up, as asyncio's own server does
            if self.open >= self.max_connections and not self._silent:
                self._pause()       # every slot holds a real connection: wait in the backlog
                return
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:   # EMFILE, ENFILE, ENOBUFS: back off, try again soon
                log.warning("cannot accept a connection: %s", exc)
                self._pause()
                self.loop.call_later(_ACCEPT_RETRY, self._resume)
                return
            self._hold(conn)
            if self.open > self.max_connections:
                self._evict_one()   # the oldest that never spoke (maybe this one)

    def _evict_one(self) -> None:
        """Close the oldest connection that has not sent a byte."""
        conn, _ = self._silent.popitem(last=False)
        self._drop_silent(conn)
        self.evicted += 1

    # ---- a connection before its first byte

    def _hold(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        self.open += 1
        if self.open > self.peak:
            self.peak = self.open
        if self.open >= 64:   # a flood is building: release memory once it has gone
            self._trim_mark = max(self._trim_mark, int(self.open * _TRIM_AT))
        deadline = self.loop.time() + self.handshake_timeout
        try:   # a client speaks at once: its first bytes are often here already
            first = conn.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            first = None
        except OSError:
            first = b""
        if first:
            self._begin(conn, deadline)
        elif first is not None:   # closed (or failed) before saying a word
            conn.close()
            self.release()
        else:
            self._silent[conn] = deadline
            if self._silent_timer is None:
                self._silent_timer = self.loop.call_at(deadline, self._expire_silent)
            self.loop.add_reader(conn.fileno(), self._first_byte, conn, deadline)

    def _drop_silent(self, conn: socket.socket) -> None:
        self.loop.remove_reader(conn.fileno())
        conn.close()
        self.release()

    def _expire_silent(self) -> None:
        """Close the silent connections whose handshake deadline has passed (the oldest
        first), and wait for the next deadline."""
        self._silent_timer = None
        now = self.loop.time()
        while self._silent:
            conn, deadline = next(iter(self._silent.items()))
            if deadline > now:
                self._silent_timer = self.loop.call_at(deadline, self._expire_silent)
                return
            del self._silent[conn]
            self._drop_silent(conn)

    def _first_byte(self, conn: socket.socket, deadline: float) -> None:
        if self._silent.pop(conn, None) is None:
            return
        self.loop.remove_reader(conn.fileno())
        self._begin(conn, deadline)

    def _begin(self, conn: socket.socket, deadline: float) -> None:
        task = self.loop.create_task(self._start_tls(conn, deadline))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_tls(self, conn: socket.socket, deadline: float) -> None:
        tracked = Tracked(self, self.protocol_factory())
        remaining = max(0.05, deadline - self.loop.time())
        try:
            # What connect_accepted_socket(ssl=...) does, with the smaller buffer.
            handshake = self.loop.create_future()
            tls = _TLSProtocol(self.loop, tracked, self.ssl_context, handshake,
                               server_side=True, ssl_handshake_timeout=remaining)
            transport, _ = await self.loop.connect_accepted_socket(lambda: tls, conn)
            try:
                await handshake
            except BaseException:
                transport.close()
                raise
        except (OSError, ssl.SSLError, ConnectionError, asyncio.TimeoutError) as exc:
            log.info("TLS connection refused: %s", exc or type(exc).__name__)
            conn.close()
            tracked.release()
        except asyncio.CancelledError:
            conn.close()
            tracked.release()
            raise

    # ---- the idle timeout of connections past their first byte

    def watch(self, tracked: Tracked) -> None:
        self._live.add(tracked)
        if self._idle_timer is None and not self._closed:
            self._idle_timer = self.loop.call_at(tracked.idle_due(self.loop.time()),
                                                 self._expire_idle)

    def forget(self, tracked: Tracked) -> None:
        self._live.discard(tracked)

    def _expire_idle(self) -> None:
        """Close the connections idle for ``idle_timeout``; wait for the next deadline."""
        self._idle_timer = None
        now = self.loop.time()
        soonest: float | None = None
        for tracked in list(self._live):
            due = tracked.idle_due(now)
            if due <= now:
                self._live.discard(tracked)
                if tracked.transport is not None:
                    tracked.transport.close()
            elif soonest is None or due < soonest:
                soonest = due
        if soonest is not None and not self._closed:
            self._idle_timer = self.loop.call_at(soonest, self._expire_idle)

    # ---- slots

    def release(self) -> None:
        self.open -= 1
        if self.open <= self._trim_mark:
            self._trim_mark = -1
            self.loop.call_soon(_release_free_memory)
        if self._paused and self.open < self.max_connections:
            self._resume()

    def stats(self) -> dict[str, int | float]:
        return {"open": self.open, "silent": len(self._silent), "peak": self.peak,
                "evicted": self.evicted, "max_connections": self.max_connections,
                "handshake_timeout": self.handshake_timeout, "idle_timeout": self.idle_timeout}

    async def close(self) -> None:
        """Stop accepting and drop connections that never got past their first byte."""
        self._closed = True
        self._pause()
        for sock in self._listeners:
            sock.close()
        self._listeners.clear()
        for timer in (self._silent_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        self._silent_timer = self._idle_timer = None
        while self._silent:
            conn, _ = self._silent.popitem(last=False)
            self._drop_silent(conn)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
