"""Generated requests for every operation: hypothesis strategies built from each
operation's request contract, and the oracle every reply must pass.

The contract comes from ``fakecmon.contract.request_contracts()`` (the fields each
handler reads, their JSON types, which are required). Where that module is absent,
the same shape is read from the handlers' own ``call.arg("name", kind)`` and
``call.body.get("name")`` calls, plus the field names clients were seen sending
(``../shared/contract/operations.tsv``, when present).

Values per field: valid ones taken from the world (ids, names, paths of what
exists), boundary ones (0, -1, 2**31, 2**63, huge, empty, long, control and
non-ASCII characters, path tricks) and wrong ones (every other JSON type), plus
unknown fields. The oracle (``check_reply``): a JSON CMON envelope whose
``request_status`` is one CMON uses, HTTP 401 exactly for AuthRequired and 200
otherwise, never a 500, a traceback or plain text.
"""

from __future__ import annotations

import http.client
import json
import inspect
import os
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

from fakecmon.errors import STATUSES
from fakecmon.rpc import OPERATIONS

SHARED_OPS = Path(__file__).resolve().parents[2] / "shared" / "contract" / "operations.tsv"

#: Operations that take the connection over (the event stream): driven in their own tests.
STREAMING = {("/v2/subscribe_events", "subscribe")}

#: Requests per run in CI (one suite per Python); ``FAKECMON_FUZZ_BUDGET`` asks for more.
DEFAULT_BUDGET = 6000


def budget() -> int:
    return max(len(OPERATIONS), int(os.environ.get("FAKECMON_FUZZ_BUDGET", DEFAULT_BUDGET)))


def fuzz_seed() -> int:
    return int(os.environ.get("FAKECMON_FUZZ_SEED", "14"))


@dataclass
class FieldSpec:
    name: str
    type: str = "any"                       # a JSON type, or "any"
    required: bool = False
    fields: list["FieldSpec"] = field(default_factory=list)
    open: bool = False


@dataclass
class OpSpec:
    path: str                               # "/v2/clusters"
    name: str                               # "getAllClusterInfo"
    fields: list[FieldSpec]
    source: str                             # "contract" or "scan"

    @property
    def id(self) -> str:
        return f"{self.path.removeprefix('/v2/')}.{self.name}"


# ---- where the contract comes from

def _from_contract(f: Any) -> FieldSpec:
    return FieldSpec(f.name, f.type, bool(f.required), [_from_contract(c) for c in f.fields],
                     bool(getattr(f, "open", False)))


def operation_specs() -> list[OpSpec]:
    """Every registered operation but the streaming ones, with the fields it reads."""
    contracts: dict[tuple[str, str], Any] = {}
    try:
        from fakecmon.contract import request_contracts  # type: ignore[import-not-found]
        contracts = dict(request_contracts())
    except ImportError:
        pass
    seen = _client_fields()
    specs = []
    for path, ops in sorted(OPERATIONS.items()):
        for key, op in sorted(ops.items()):
            if (path, op.name) in STREAMING:
                continue
            contract = contracts.get((path.removeprefix("/v2/"), key))
            if contract is not None:
                fields = [_from_contract(f) for f in contract.fields]
                source = "contract"
            else:
                fields = _scanned_fields(op.handler)
                source = "scan"
            have = {f.name for f in fields}
            for name in ("cluster_id", "cluster_name"):
                if name not in have:
                    fields.append(FieldSpec(name, "integer" if name == "cluster_id" else "string"))
            for name in sorted(seen.get((path, key), set()) - have - {"cluster_id", "cluster_name"}):
                fields.append(FieldSpec(name))
            specs.append(OpSpec(path, op.name, fields, source))
    return specs


_ARG = re.compile(r"""\.arg\(\s*["'](\w+)["']\s*,\s*(\w+)""")
_GET = re.compile(r"""body(?:\.get\(|\[)\s*["'](\w+)["']""")
_KINDS = {"int": "integer", "str": "string", "bool": "boolean", "dict": "object",
          "list": "array", "float": "number"}


def _scanned_fields(handler: Any) -> list[FieldSpec]:
    """Fields a handler reads, from its source and the module helpers it names."""
    try:
        source = inspect.getsource(handler)
        module = inspect.getmodule(handler)
    except (OSError, TypeError):
        return []
    texts = [source]
    if module is not None:
        for name, fn in vars(module).items():
            if inspect.isfunction(fn) and fn is not handler and re.search(
                    rf"\b{re.escape(name)}\(", source) and fn.__module__ == module.__name__:
                try:
                    texts.append(inspect.getsource(fn))
                except (OSError, TypeError):
                    pass
    found: dict[str, FieldSpec] = {}
    for text in texts:
        for name, kind in _ARG.findall(text):
            found.setdefault(name, FieldSpec(name, _KINDS.get(kind, "any")))
        for name in _GET.findall(text):
            found.setdefault(name, FieldSpec(name))
    return sorted(found.values(), key=lambda f: f.name)


def _client_fields() -> dict[tuple[str, str], set[str]]:
    """``(path, lower-case operation) -> field names`` clients send (operations.tsv)."""
    out: dict[tuple[str, str], set[str]] = {}
    if not SHARED_OPS.is_file():
        return out
    for line in SHARED_OPS.read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 4:
            continue
        names = set(re.findall(r"\b([a-z][a-z0-9_]{1,40})\b", re.sub(r"\([^)]*\)", "", cols[3])))
        out.setdefault((cols[0], cols[1].lower()), set()).update(names)
    return out


# ---- values

@dataclass
class Pools:
    """Valid values taken from the world the fuzz runs against, by kind."""

    ints: list[int]
    names: list[str]
    paths: list[str]
    by_kind: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, world: Any) -> "Pools":
        from fakecmon.world.alarms import book
        from fakecmon.world.backups import backups_of
        from fakecmon.world.cdt import cdt_of
        from fakecmon.world.jobs import jobs_of
        hosts = [h for c in world.clusters.values() for h in c.hosts]
        kinds: dict[str, list[Any]] = {
            "cluster_id": sorted(world.clusters) + [0],
            "cluster_name": sorted(c.cluster_name for c in world.clusters.values()),
            "user_id": sorted(world.users),
            "user_name": sorted(u.user_name for u in world.users.values()),
            "group_id": sorted(world.groups),
            "group_name": sorted(g.group_name for g in world.groups.values()),
            "job_id": sorted(jobs_of(world).jobs) or [1],
            "backup_id": sorted(backups_of(world).records) or [1],
            "alarm_id": sorted(book(world).alarms) or [1],
            "host_id": sorted({h.host_id for h in hosts}) or [1],
            "hostname": sorted({h.hostname for h in hosts}) or ["127.0.0.1"],
            "port": sorted({h.port for h in hosts}) or [3306],
            "privileges": ["r", "rw", "rwx", "r--", "-w-", "x", ""],
            "acl": ["user::rwx", "group:admins:rwx", "user:readeruser:r--", "other::r--",
                    "group:users:rw-"],
            "password": ["secret", "admin", "n3w-P4ssw0rd", ""],
        }
        tree = cdt_of(world)
        paths = sorted({n.path for n in tree.walk(tree.root_node())})[:200]
        kinds["path"] = paths or ["/"]
        ints = sorted({*kinds["cluster_id"], *kinds["user_id"], *kinds["group_id"],
                       *kinds["job_id"], *kinds["host_id"]})
        names = sorted({*kinds["user_name"], *kinds["group_name"], *kinds["cluster_name"],
                        *kinds["hostname"]})
        return cls(ints or [1], names or ["system"], paths or ["/"], kinds)

    def hint(self, name: str) -> list[Any] | None:
        """Values that fit a field by its name (``cluster_id``, ``new_path``...)."""
        lname = name.lower()
        for kind, values in self.by_kind.items():
            if lname == kind or lname.endswith("_" + kind) or lname.endswith(kind):
                return values
        if lname in ("username", "owner", "user"):
            return self.by_kind.get("user_name")
        if lname in ("group", "groupname"):
            return self.by_kind.get("group_name")
        if "path" in lname or lname in ("folder", "target"):
            return self.by_kind.get("path")
        return None


BOUNDARY_INTS = [0, -1, 1, 2, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, 2**63, -2**63,
                 2**64, 10**30]
ODD_STRINGS = ["", " ", "0", "-1", "null", "true", "[]", "{}", "../../etc/passwd", "/",
               "//", "/.", "a" * 5000, "\x00", "\u202e\u0000\ud7ff", "é漢字🙂", "%s%n", "'; --",
               "\n\r\t", "CmonHost", "*", "?", "NaN", "1e309", "0x10", " 12 "]
WRONG = [None, True, False, 0, -1, 1.5, float(2**64), "x", "", [], [1, "a"], {}, {"a": 1},
         [[[]]], {"": {"": None}}]


def scalar_json() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=40))


any_json = st.recursive(scalar_json(), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)


def good_value(f: FieldSpec, pools: Pools, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values a client would send: of the right type, naming what exists."""
    hinted = pools.hint(f.name)
    ints = st.sampled_from(pools.ints)
    names = st.sampled_from(pools.names)
    if hinted:
        pick = st.sampled_from(hinted)
        if f.type == "array":
            return st.lists(pick, min_size=1, max_size=3)
        if f.type == "string":
            return pick.map(str)
        if f.type == "integer":
            return pick.filter(lambda v: isinstance(v, int)) if any(
                isinstance(v, int) for v in hinted) else st.integers(0, 10)
        return pick
    return {
        "integer": st.one_of(ints, st.integers(0, 100)),
        "number": st.one_of(st.integers(0, 1000), st.floats(0, 1e6)),
        "string": st.one_of(names, st.sampled_from(pools.paths), st.text(
            st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=20)),
        "boolean": st.booleans(),
        "array": st.lists(st.one_of(names, ints), max_size=4),
        "object": _object_of(f, pools, depth, valid=True),
        "any": st.one_of(names, ints, st.booleans()),
    }.get(f.type, st.one_of(names, ints))


def edge_value(f: FieldSpec, pools: Pools, depth: int = 0) -> st.SearchStrategy[Any]:
    """Boundary values of the right type, and values of every wrong type."""
    typed: dict[str, st.SearchStrategy[Any]] = {
        "integer": st.one_of(st.sampled_from(BOUNDARY_INTS), st.integers(-2**70, 2**70),
                             st.sampled_from(pools.ints).map(str)),
        "number": st.one_of(st.floats(), st.sampled_from(BOUNDARY_INTS)),
        "string": st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=60)),
        "boolean": st.sampled_from(["true", "false", "yes", 0, 1, 2]),
        "array": st.lists(any_json, max_size=6),
        "object": _object_of(f, pools, depth, valid=False),
        "any": any_json,
    }
    return st.one_of(typed.get(f.type, any_json), st.sampled_from(WRONG), any_json)


def value_of(f: FieldSpec, pools: Pools, depth: int = 0) -> st.SearchStrategy[Any]:
    return st.one_of(good_value(f, pools, depth), edge_value(f, pools, depth))


def _object_of(f: FieldSpec, pools: Pools, depth: int, valid: bool
               ) -> st.SearchStrategy[Any]:
    if depth >= 2 or not f.fields:
        return st.dictionaries(st.one_of(st.sampled_from(
            ["class_name", "command", "job_data", "name", "hostname", "port", "cluster_id",
             "user_name", "group_name", "acl", "path", "tags"]), st.text(max_size=10)),
            st.one_of(st.sampled_from(pools.names), st.sampled_from(pools.ints), any_json),
            max_size=5)
    return request_body(f.fields, pools, depth + 1, mode="valid" if valid else None)


MODES = ["valid"] * 6 + ["edge"] * 3 + ["wrong"]


def request_body(fields: list[FieldSpec], pools: Pools, depth: int = 0,
                 mode: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """A body: "valid" (every required field and some optional ones, right types, names
    of what exists), "edge" (some fields get boundary or wrong values) or "wrong"
    (required fields missing too); now and then with an unknown field."""
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        how = mode or draw(st.sampled_from(MODES))
        body: dict[str, Any] = {}
        for f in fields:
            keep = draw(st.integers(0, 9))
            if how == "wrong" and keep < 3:
                continue
            if not f.required and keep >= 5:
                continue
            edgy = how != "valid" and draw(st.integers(0, 2)) == 0
            body[f.name] = draw(edge_value(f, pools, depth) if edgy
                                else good_value(f, pools, depth))
        if how != "valid" and draw(st.integers(0, 4)) == 0:
            body[draw(st.text(min_size=1, max_size=16))] = draw(any_json)
        return body
    return build()


# ---- sending and the oracle

class Wire:
    """One keep-alive TLS connection per identity; a dropped one is opened again."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self._conns: dict[str, http.client.HTTPSConnection] = {}
        self.sent = 0

    def post(self, who: str, path: str, body: dict[str, Any], cookie: str | None
             ) -> tuple[int, str, bytes]:
        data = json.dumps(body).encode()   # stdlib: integers past 64 bits too
        headers = {"Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = f"cmon-sid={cookie}"
        for attempt in range(2):
            conn = self._conns.get(who)
            if conn is None:
                conn = self._conns[who] = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, timeout=self.timeout, context=self.ctx)
            try:
                conn.request("POST", path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                self.sent += 1
                if resp.getheader("Connection", "").lower() == "close":
                    self.drop(who)
                return resp.status, resp.getheader("Content-Type", ""), raw
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.drop(who)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def drop(self, who: str) -> None:
        conn = self._conns.pop(who, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for who in list(self._conns):
            self.drop(who)


def check_reply(status: int, content_type: str, raw: bytes, body: dict[str, Any],
                auth_required_status: int = 401) -> dict[str, Any]:
    """The oracle: raises AssertionError with what is wrong; returns the envelope."""
    assert status != 500, f"HTTP 500: {raw[:500]!r}"
    assert content_type.startswith("application/json"), f"{content_type}: {raw[:200]!r}"
    assert b"Traceback" not in raw, raw[:500]
    doc = orjson.loads(raw)
    assert isinstance(doc, dict), raw[:200]
    rs = doc.get("request_status")
    assert rs in STATUSES, f"request_status {rs!r}"
    assert "Internal error" not in str(doc.get("error_string", "")), doc
    assert isinstance(doc.get("controller_id"), str) and doc["controller_id"], doc
    assert isinstance(doc.get("request_processed"), str), doc
    if "request_id" in body:
        assert doc.get("request_id") == body["request_id"], doc
    if rs != "Ok":
        assert isinstance(doc.get("error_string", ""), str), doc
    expected = auth_required_status if rs == "AuthRequired" else 200
    assert status == expected, f"HTTP {status} for {rs}: {doc}"
    return doc
