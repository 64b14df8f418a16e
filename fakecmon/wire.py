"""Wire compatibility with the real clients, kept in one place.

The s9s CLI sends ``Transfer-Encoding: identity`` together with ``Content-Length``
on HTTP/1.0. aiohttp's parser (like h11, llhttp and Node's) rejects that pair, so
the header is dropped from a connection's first request head before the parser
sees it. s9s opens one connection per request, and clients that keep connections
alive (Go, Python) never send the header, so only the first head is examined.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

_IDENTITY = re.compile(rb"\r\nTransfer-Encoding:[ \t]*identity[ \t]*(?=\r\n)", re.IGNORECASE)
_MAX_HEAD = 64 * 1024


def strip_identity_encoding(head: bytes) -> bytes:
    """Remove ``Transfer-Encoding: identity`` lines from a request head."""
    return _IDENTITY.sub(b"", head)


class IdentityEncodingFilter(asyncio.Protocol):
    """Wraps aiohttp's protocol; rewrites the first request head, then steps aside."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._head = b""
        self._done = False
        #: Called with the wrapped protocol once the first head is through: a wrapper
        #: of this filter may then pass data to that protocol directly.
        self.step_aside: Callable[[Any], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._done:
            self._inner.data_received(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0 and len(self._head) < _MAX_HEAD:
            return  # wait for the whole head
        self._done = True
        buffered, self._head = self._head, b""
        if end >= 0:
            buffered = strip_identity_encoding(buffered[:end + 2]) + buffered[end + 2:]
        if self.step_aside is not None:
            self.step_aside(self._inner)
        self._inner.data_received(buffered)

    def eof_received(self) -> bool | None:
        if not self._done and self._head:
            self._done = True
            self._inner.data_received(self._head)
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def compat_factory(protocol_factory: Callable[[], Any]) -> Callable[[], IdentityEncodingFilter]:
    return lambda: IdentityEncodingFilter(protocol_factory())
