"""The request journal: what the server received and answered, for tests to check.

A bounded ring buffer (oldest entries fall out), one entry per ``/v2`` request,
added in O(1) by the request handler. Secrets never reach it: passwords,
signatures, keys and tokens in request bodies are masked when recorded.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from fakecmon.faults import request_user
from fakecmon.timefmt import rfc3339

from fakecmon.contract import check

if TYPE_CHECKING:
    from fakecmon.controller import Controller
    from fakecmon.rpc import Call

log = logging.getLogger("fakecmon")

MASK = "********"
_SECRET = re.compile(r"password|passwd|secret|signature|token|private|(^|_)key$|^response$",
                     re.IGNORECASE)
#: Bodies deeper than this are cut: the journal must not choke on a hostile request.
_MAX_DEPTH = 32
#: Bytes of a reply the journal keeps (1000 entries of big replies stay bounded).
REPLY_KEPT = 64 * 1024
#: Request bodies up to this size are kept as received, as the contract check's key.
_WIRE_KEPT = 4096
#: A secret-looking field of a reply that is not whole JSON any more (a cut reply).
_SECRET_VALUE = re.compile(
    r'("[^"]*(?:password|passwd|secret|signature|token|private)[^"]*"\s*:\s*)"[^"]*"',
    re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _secret(key: str) -> bool:
    """(Clients send the same few field names again and again: matched once each.)"""
    return _SECRET.search(key) is not None


def mask(value: Any, depth: int = 0) -> Any:
    """A copy of a request body with secret-looking fields replaced by ``MASK``."""
    if depth > _MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _secret(k) and v not in (None, "")
                    else mask(v, depth + 1) if depth >= _MAX_DEPTH or isinstance(v, (dict, list))
                    else v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, depth + 1) for v in value]
    return value


class Entry(NamedTuple):
    """One request as the server saw it.

    Recorded as received (a tuple: recording is the hot path, every request pays
    it); the body is masked and checked against the contract when someone looks."""

    id: int
    time: str                 # controller clock, RFC 3339
    client: str               # peer address
    path: str
    operation: str
    #: The request as received, secrets too: shown only masked (``body``).
    raw: dict[str, Any]
    user: str | None          # the authenticated user's name, if any
    status: str | None        # request_status answered (None: no envelope was sent)
    http_status: int | None
    latency_ms: float
    fault: str | None = None  # the injected fault's kind, when one applied
    #: The fields the handler read (the contract check needs them).
    read: frozenset[str] = frozenset()
    #: The reply body as sent (at most ``REPLY_KEPT`` bytes): kept by reference, so
    #: recording costs nothing; parsed and masked only when someone looks (``reply_json``).
    reply: bytes | None = None
    #: The request body's bytes as received (small ones only): the contract check's key.
    wire: bytes | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The request body, secret-looking fields masked."""
        return mask(self.raw)  # type: ignore[no-any-return]

    @property
    def contract(self) -> list[str]:
        """What the request did that CMON silently ignores: unknown fields, wrong types,
        unknown job commands and job_data keys (fakecmon/contract.py). The reply is the
        same either way; strict mode turns these into test failures."""
        return contract_findings(self.path, self.operation, self.raw, self.read, self.wire)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "client": self.client, "path": self.path,
                "operation": self.operation, "body": self.body, "user": self.user,
                "status": self.status, "http_status": self.http_status,
                "latency_ms": self.latency_ms, "fault": self.fault, "contract": self.contract}

    def reply_json(self) -> Any:
        """The reply, secrets masked: JSON when it parses, else its text (cut or damaged)."""
        if self.reply is None:
            return None
        try:
            return mask(orjson.loads(self.reply))
        except orjson.JSONDecodeError:
            text = self.reply.decode("utf-8", "replace")
            return _SECRET_VALUE.sub(lambda m: m.group(1) + f'"{MASK}"', text)

    def line(self) -> str:
        """One readable line, as failure messages list it."""
        body = orjson.dumps(self.body).decode()
        if len(body) > 300:
            body = body[:297] + "..."
        extra = f" fault={self.fault}" if self.fault else ""
        if self.contract:
            extra += f" contract={len(self.contract)}"
        return (f"#{self.id} {self.path} {self.operation or '-'} user={self.user or '-'} "
                f"status={self.status or '-'} http={self.http_status or '-'}{extra} body={body}")


@dataclass
class Filter:
    """Which entries to list: every given criterion holds (names compared case-insensitively)."""

    path: str | None = None
    operation: str | None = None
    user: str | None = None
    status: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def matches(self, e: Entry) -> bool:
        if self.path is not None and e.path != _norm_path(self.path):
            return False
        if self.operation is not None and e.operation.lower() != self.operation.lower():
            return False
        if self.user is not None and (e.user or "") != self.user:
            return False
        if self.status is not None and (e.status or "").lower() != self.status.lower():
            return False
        return not self.fields or contains(e.body, self.fields)


def _norm_path(path: str) -> str:
    path = "/" + "/".join(p for p in path.split("/") if p)
    return path if path.startswith("/v2") else "/v2" + path


def contains(have: Any, want: Any) -> bool:
    """``want`` is a subset of ``have``: dicts by key (recursively), everything else equal."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and contains(have[k], v)
                                              for k, v in want.items())
    return have == want


_new_entry = tuple.__new__


class Journal:
    """The last ``size`` requests, oldest first."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[Entry] = deque(maxlen=max(0, size))
        self._seq = 0

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def resize(self, size: int) -> None:
        self._entries = deque(self._entries, maxlen=max(0, size))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    @property
    def total(self) -> int:
        """Requests recorded since the last clear, including those that fell out."""
        return self._seq

    def add(self, *fields: Any) -> Entry:
        """Record a request: ``Entry``'s fields after its ``id``, which is the next one."""
        self._seq += 1
        entry = _new_entry(Entry, (self._seq, *fields))   # (Entry's __new__, without a frame)
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()
        self._seq = 0

    def select(self, flt: Filter | None = None, limit: int | None = None) -> list[Entry]:
        found = [e for e in self._entries if flt is None or flt.matches(e)]
        return found[-limit:] if limit else found


def closest(entries: Iterable[Entry], operation: str | None, path: str | None,
            fields: dict[str, Any] | None, n: int = 5) -> list[tuple[Entry, list[str]]]:
    """The ``n`` entries most like what was expected, each with what differs."""
    scored: list[tuple[float, int, Entry, list[str]]] = []
    for e in entries:
        score = 0.0
        diffs: list[str] = []
        if operation is not None:
            if e.operation.lower() == operation.lower():
                score += 4
            else:
                diffs.append(f"operation {e.operation or '-'!r}")
        if path is not None:
            if e.path == _norm_path(path):
                score += 2
            else:
                diffs.append(f"path {e.path}")
        for key, want in (fields or {}).items():
            if key not in e.body:
                diffs.append(f"no {key}")
            elif contains(e.body[key], want):
                score += 1
            else:
                diffs.append(f"{key}={orjson.dumps(e.body[key]).decode()[:80]}")
        scored.append((score, e.id, e, diffs))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return [(e, diffs) for _, _, e, diffs in scored[:n]]


def record(controller: "Controller", call: "Call", status: str | None, http_status: int | None,
           started: float, fault: str | None = None, reply: bytes | None = None) -> None:
    """Journal one answered request and log its line: O(size of its body), not of the world."""
    latency = (time.perf_counter() - started) * 1000.0
    if type(reply) is not bytes:
        reply = None  # a streamed or damaged reply has no body to keep
    elif len(reply) > REPLY_KEPT:
        reply = reply[:REPLY_KEPT]
    user = call.user.user_name if call.user is not None else request_user(call)
    wire = call.wire
    entry = controller.journal.add(
        call.processed or rfc3339(call.now), call.peer, call.path, call.operation, call.body,
        user, status, http_status, round(latency, 3), fault,
        frozenset(getattr(call.body, "read", ())), reply,
        wire if wire is not None and len(wire) <= _WIRE_KEPT else None)
    if controller.config.strict:
        for finding in entry.contract:
            log.warning("contract: %s %s: %s", call.path, call.operation or "-", finding)
    if controller.usage is not None:
        controller.usage.add(entry)
    if log.isEnabledFor(logging.INFO):   # (DEBUG is enabled only where INFO is)
        extra = f" fault={fault}" if fault else ""
        log.info("%s %s user=%s %s %.1fms%s", call.path, call.operation or "-", user or "-",
                 status or f"(no reply, HTTP {http_status or '-'})", latency, extra)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request body: %s", orjson.dumps(mask(call.body)).decode()[:2000])


def contract_findings(path: str, operation: str, body: dict[str, Any],
                      read: frozenset[str], wire: bytes | None = None) -> list[str]:
    """The contract findings of a request (never an exception: a bug in the check
    must not cost the client its reply or the test its journal).

    The findings follow from the path, the body and what the handler read, and clients
    send the same requests again and again (a poller, a benchmark): given the body's
    bytes, a request already checked is not checked again."""
    key = (path, operation, wire, read) if wire is not None else None
    if key is not None:
        known = _FINDINGS.get(key)
        if known is not None:
            return list(known)
    try:
        findings = check(path, operation, body, read)
    except Exception:  # noqa: BLE001
        log.exception("contract check of %s %r failed", path, operation)
        return []
    if key is not None:
        if len(_FINDINGS) >= _FINDINGS_KEPT:
            _FINDINGS.clear()
        _FINDINGS[key] = tuple(findings)
    return findings


#: Contract findings of recent request bodies (see contract_findings), at most this many.
_FINDINGS: dict[tuple[str, str, bytes, frozenset[str]], tuple[str, ...]] = {}
_FINDINGS_KEPT = 4096
