"""Comparing fakecmon's replies with the captured CMON replies: status, field names, JSON types.

One implementation for every test that replays ``../shared/contract/captures``; the
shape comparison itself is the product's (fakecmon/shapes.py, what ``fakecmon diff`` uses).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakecmon.client import RpcClient
from fakecmon.contract import json_type
from fakecmon.shapes import type_mismatches
from fakecmon.testing import FakeCmon

__all__ = ["compare", "json_type", "load_capture", "login", "replay", "same_shape",
           "type_mismatches"]


def load_capture(contract: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``<name>-req.json`` and ``<name>-rep.json``, without s9s's own ``reply_received``."""
    base = contract / "captures" / name
    req = json.loads(Path(f"{base}-req.json").read_text())
    rep = json.loads(Path(f"{base}-rep.json").read_text())
    rep.pop("reply_received", None)
    return req, rep


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
