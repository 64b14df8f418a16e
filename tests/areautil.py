"""Helpers for the alarm, maintenance, log, config, host, report and database tests:
capture replay (status, top-level field names, JSON types) and a few clients."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENVELOPE = {"controller_id", "request_created", "request_id", "request_processed",
            "request_status", "request_user_id", "debug_messages", "error_string"}


def load_capture(contract: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
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


def same_types(ours: Any, theirs: Any, where: str = "") -> list[str]:
    """Differences of JSON types between two documents, recursively over shared keys
    (lists: the first item of each). ``null`` in the capture matches anything."""
    if theirs is None:
        return []
    problems = []
    if json_type(ours) != json_type(theirs) and not (
            {json_type(ours), json_type(theirs)} == {"integer", "number"}):
        return [f"{where or '.'}: {json_type(ours)} != {json_type(theirs)}"]
    if isinstance(ours, dict):
        for key in ours.keys() & theirs.keys():
            problems += same_types(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, list) and ours and theirs:
        problems += same_types(ours[0], theirs[0], f"{where}[0]")
    return problems


def replay(client: RpcClient, contract: Path, name: str, path: str,
           **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send the capture's request (with ``changes``; None removes a field) and check
    status, top-level field names and JSON types against the captured reply."""
    req, rep = load_capture(contract, name)
    body = {k: v for k, v in req.items() if k not in ("request_created",)}
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    ours = client.post(path, body).json
    assert ours["request_status"] == rep["request_status"], (name, ours)
    wanted = set(rep) - {"request_created"}
    assert set(ours) - {"request_created"} == wanted, (name, set(ours) ^ wanted)
    problems = same_types(ours, rep)
    assert not problems, (name, problems)
    return ours, rep


def login(cmon: FakeCmon, user: str, password: str) -> RpcClient:
    client = cmon.client()
    assert client.login(user, password)["request_status"] == "Ok"
    return client


def set_host_status(cmon: FakeCmon, cluster_id: int, hostname: str, status: str) -> None:
    """Change a host's status directly (as a job or a failure would)."""
    def change(c: Any) -> None:
        host = c.world.clusters[cluster_id].host(hostname)
        assert host is not None
        host.hoststatus = status
    cmon.run(change)
