"""Comparing fakecmon's replies with the captured CMON replies: status, field names, JSON types.

One implementation for every test that replays ``../shared/contract/captures``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon


def load_capture(contract: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``<name>-req.json`` and ``<name>-rep.json``, without s9s's own ``reply_received``."""
    base = contract / "captures" / name
    req = json.loads(Path(f"{base}-req.json").read_text())
    rep = json.loads(Path(f"{base}-rep.json").read_text())
    rep.pop("reply_received", None)
    return req, rep


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def type_mismatches(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Every place where both documents have a value and the JSON types differ.

    Each item of our lists must have the shape of some item of CMON's list (of the
    same ``class_name`` where items have one: hosts of several classes differ); a
    whole number where CMON wrote a double, or anything where CMON wrote ``null``,
    is no mismatch.
    """
    if theirs is None:
        return []
    ours_t, theirs_t = json_type(ours), json_type(theirs)
    if ours_t != theirs_t:
        if (ours_t, theirs_t) == ("integer", "number"):
            return []
        return [f"{path or '.'}: {ours_t} where CMON has {theirs_t}"]
    out: list[str] = []
    if isinstance(ours, dict):
        for key in ours.keys() & theirs.keys():
            out += type_mismatches(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(ours, list) and theirs:
        for i, item in enumerate(ours):
            out += _item_mismatches(item, theirs, f"{path}[{i}]")
    return out


def _item_mismatches(item: Any, theirs: list[Any], path: str) -> list[str]:
    """No mismatch if some captured item of the same class has the same shape."""
    cls = item.get("class_name") if isinstance(item, dict) else None
    candidates = [t for t in theirs if isinstance(t, dict) and t.get("class_name") == cls]
    candidates = candidates or theirs
    first: list[str] | None = None
    for candidate in candidates:
        found = type_mismatches(item, candidate, path)
        if not found:
            return []
        first = found if first is None else first
    return first or []


def same_shape(ours: Any, theirs: Any, where: str, *, exact_keys: bool = True,
               skip: frozenset[str] = frozenset()) -> None:
    """Stricter than ``type_mismatches``, for the documents a client parses field by field:
    the same JSON types everywhere (a number is a number, ``null`` is ``null``),
    following the first item of lists; every CMON field but the ``skip`` ones is ours
    too, and with ``exact_keys`` we have no other."""
    kind = {bool: "boolean", int: "number", float: "number"}
    assert kind.get(type(ours), json_type(ours)) == kind.get(type(theirs), json_type(theirs)), (
        where, ours, theirs)
    if isinstance(theirs, dict):
        if exact_keys:
            assert set(ours) == set(theirs), (where, set(ours) ^ set(theirs))
        for key, value in theirs.items():
            if key in skip:
                continue
            assert key in ours, f"{where}.{key} missing"
            same_shape(ours[key], value, f"{where}.{key}", exact_keys=exact_keys, skip=skip)
    elif isinstance(theirs, list) and theirs and ours:
        same_shape(ours[0], theirs[0], f"{where}[0]", exact_keys=exact_keys, skip=skip)


def compare(ours: dict[str, Any], theirs: dict[str, Any], extra: set[str] = frozenset()) -> None:
    """Same status, same top-level fields (``reply_received`` is s9s's; ``extra`` are
    ours too), same JSON types."""
    assert ours["request_status"] == theirs["request_status"], ours
    wanted = (set(theirs) - {"reply_received"}) | extra
    assert set(ours) == wanted, (set(ours) ^ wanted, ours)
    mismatches = type_mismatches({k: v for k, v in ours.items() if k in theirs}, theirs)
    assert not mismatches, mismatches


def replay(client: RpcClient, path: str, req: dict[str, Any], /, **changes: Any) -> dict[str, Any]:
    """Send a captured request, with some fields changed to fit the test world (None drops one)."""
    body = {**req, **changes}
    return client.post(path, {k: v for k, v in body.items() if v is not None}).json


def login(cmon: FakeCmon, user: str = "system", password: str = "secret") -> RpcClient:
    client = cmon.client()
    reply = client.login(user, password)
    assert reply["request_status"] == "Ok", reply
    return client
