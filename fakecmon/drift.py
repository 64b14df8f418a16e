"""``fakecmon diff DIR``: where fakecmon answers differently from a recorded controller.

The recorded request/reply pairs (``fakecmon record``, or captures in the same
``*-req.json`` / ``*-rep.json`` form) are replayed in order against a fakecmon
started in this process on loopback, each as the user who sent it, and each
reply is compared with the recorded one: ``request_status``, ``error_string``
and the reply's shape (fakecmon/shapes.py: missing and extra keys, JSON type
changes, at every depth). Exit code 0: every pair matches; 3: some differ;
1: the pairs cannot be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fakecmon.contract import contract_for, request_contracts
from fakecmon.shapes import shape_diff

INDEX = "index.json"
_USER_LINE = re.compile(r"RPC V2 authenticated user is '([^']*)'")
_INDEXED = re.compile(r"\[\d+\]")
#: Logins whose secrets are masked in a recording: replayed with the world's password.
PASSWORD_LOGIN = "authenticatewithpassword"
KEY_LOGIN = ("authenticate", "authenticateresponse")


class PairError(Exception):
    """A recording that cannot be read; the message names the file and the cause."""


@dataclass
class Pair:
    name: str                      # the file name without -req.json
    request: dict[str, Any]
    reply: dict[str, Any]
    path: str | None = None        # /v2/... as recorded (index.json) or inferred
    user: str | None = None
    failed: str | None = None      # the recording failed: the upstream did not answer


@dataclass
class Result:
    pair: Pair
    path: str | None
    differences: list[str] = field(default_factory=list)
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"pair": self.pair.name, "path": self.path,
                "operation": self.pair.request.get("operation"), "user": self.pair.user,
                "same": not self.differences and not self.skipped,
                "differences": self.differences, "skipped": self.skipped}


# ---- reading a recording

def _read_json(file: Path) -> Any:
    try:
        return orjson.loads(file.read_bytes())
    except OSError as exc:
        raise PairError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise PairError(f"{file}: not valid JSON: {exc}") from None


def load_pairs(directory: Path) -> list[Pair]:
    """Every pair of ``directory`` in file-name order (``NNNN-`` numbers sort)."""
    if not directory.is_dir():
        raise PairError(f"{directory}: not a directory")
    index: dict[str, dict[str, Any]] = {}
    if (directory / INDEX).exists():
        doc = _read_json(directory / INDEX)
        rows = doc.get("pairs") if isinstance(doc, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(
                r.get("name"), str) for r in rows):
            raise PairError(f"{directory / INDEX}: not a fakecmon recording index")
        index = {r["name"]: r for r in rows}
    files = sorted(directory.glob("*-req.json"))
    if not files:
        raise PairError(f"{directory}: no request/reply pairs (*-req.json) in it")
    pairs = []
    for req_file in files:
        name = req_file.name[:-len("-req.json")]
        rep_file = directory / f"{name}-rep.json"
        if not rep_file.exists():
            raise PairError(f"{rep_file}: missing (the reply of {req_file.name})")
        request, reply = _read_json(req_file), _read_json(rep_file)
        for file, doc in ((req_file, request), (rep_file, reply)):
            if not isinstance(doc, dict):
                raise PairError(f"{file}: not a JSON object")
        row = index.get(name, {})
        pairs.append(Pair(name, request, reply, row.get("path"), row.get("user"),
                          row.get("failed")))
    return pairs


def infer_path(request: dict[str, Any]) -> str | None:
    """The path of a request recorded without one: where its operation is answered; of
    several, the one whose contract knows most of its fields (``/v2/clusters`` on a tie)."""
    op = request.get("operation")
    if not isinstance(op, str) or not op:
        return None
    lower = op.lower()
    candidates = [path for path, name in request_contracts() if name == lower]
    if not candidates:
        return None

    def score(path: str) -> tuple[int, int, str]:
        contract = contract_for(path, op)
        known = contract.names if contract is not None else frozenset()
        return (-len(known & request.keys()), 0 if path == "clusters" else 1, path)

    return "/v2/" + min(candidates, key=score)


def recorded_user(pair: Pair) -> str | None:
    """Who sent it: the recording's index, else the reply's debug message, else the login."""
    if pair.user:
        return pair.user
    for line in pair.reply.get("debug_messages") or []:
        match = _USER_LINE.search(line) if isinstance(line, str) else None
        if match:
            return match.group(1)
    name = pair.request.get("user_name", pair.request.get("username"))
    return name if isinstance(name, str) else None


# ---- comparing

def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Status, error_string and shape differences of our reply from the recorded one."""
    out = []
    if ours.get("request_status") != theirs.get("request_status"):
        out.append(f"request_status: recorded {theirs.get('request_status')!r}, "
                   f"fakecmon {ours.get('request_status')!r}")
    if ours.get("error_string") != theirs.get("error_string"):
        out.append(f"error_string: recorded {theirs.get('error_string')!r}, "
                   f"fakecmon {ours.get('error_string')!r}")
    seen: set[str] = set()
    for line in shape_diff(ours, theirs):
        line = _INDEXED.sub("[]", line)      # one line for a difference every item shares
        if line not in seen:
            seen.add(line)
            out.append(f"shape: {line}")
    return out


# ---- replaying

def replay(pairs: list[Pair], world: list[Path] | None = None) -> list[Result]:
    """Replay every pair against a fresh in-process fakecmon serving ``world``."""
    from fakecmon.testing import FakeCmon
    results = []
    with FakeCmon(world=world or None) as cmon:
        sessions = _Sessions(cmon)
        for pair in pairs:
            results.append(_replay_one(cmon, sessions, pair))
    return results


class _Sessions:
    """One logged-in client per recorded user (sessions made directly: secrets are masked)."""

    def __init__(self, cmon: Any) -> None:
        self.cmon = cmon
        self.clients: dict[str | None, Any] = {}

    def client(self, user: str | None) -> Any:
        if user not in self.clients:
            client = self.cmon.client()
            client.sid = self.cmon.run(lambda c: _session_for(c, user)) if user else None
            self.clients[user] = client
        return self.clients[user]

    def known(self, user: str | None) -> bool:
        return user is None or self.clients.get(user) is None or \
            self.clients[user].sid is not None

    def password_of(self, user: str) -> str | None:
        return self.cmon.run(lambda c: getattr(c.world.user_by_name(user), "password", None))


def _session_for(controller: Any, name: str) -> str | None:
    user = controller.world.user_by_name(name)
    if user is None:
        return None
    session = controller.sessions.create()
    session.user_id = user.user_id
    return session.sid


def _replay_one(cmon: Any, sessions: _Sessions, pair: Pair) -> Result:
    path = pair.path or infer_path(pair.request)
    pair.user = recorded_user(pair)
    if pair.failed:
        return Result(pair, path, skipped=f"the recording failed: {pair.failed}")
    if path is None:
        return Result(pair, path, skipped="no path recorded and no operation fakecmon knows")
    op = str(pair.request.get("operation", "")).lower()
    body = dict(pair.request)
    if path == "/v2/auth" and op in KEY_LOGIN:
        sessions.client(pair.user)           # later requests run as that user
        return Result(pair, path, skipped="key login: a recorded signature cannot be replayed")
    client = sessions.client(pair.user)
    if path == "/v2/auth" and op == PASSWORD_LOGIN and pair.user:
        password = sessions.password_of(pair.user)
        if password is not None and pair.reply.get("request_status") == "Ok":
            body["password"] = password      # the recorded one is masked
        client = cmon.client()
        sessions.clients[pair.user] = client
    ours = client.post(path, body).json
    differences = compare(ours, pair.reply)
    if differences and not sessions.known(pair.user):
        differences.insert(0, f"user: '{pair.user}' is not in fakecmon's world "
                              "(replayed without a login)")
    return Result(pair, path, differences)


def report_text(results: list[Result]) -> str:
    lines = []
    for r in results:
        where = f"{r.pair.name} {r.path or '-'} {r.pair.request.get('operation', '-')}"
        if r.skipped:
            lines.append(f"{where}: skipped ({r.skipped})")
        elif not r.differences:
            lines.append(f"{where}: same")
        else:
            lines.append(f"{where}: {len(r.differences)} difference(s)")
            lines.extend(f"    {d}" for d in r.differences)
    same = sum(1 for r in results if not r.skipped and not r.differences)
    skipped = sum(1 for r in results if r.skipped)
    differ = len(results) - same - skipped
    lines.append(f"{len(results)} pair(s): {same} same, {differ} differ, {skipped} skipped")
    return "\n".join(lines) + "\n"


def exit_code(results: list[Result]) -> int:
    return 3 if any(r.differences for r in results) else 0
