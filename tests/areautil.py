"""Helpers for the alarm, maintenance, log, config, host, report and database tests:
capture replay (status, top-level field names, JSON types) and a few clients."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon
from shapes import compare, load_capture, login

__all__ = ["RFC3339", "login", "replay", "set_host_status"]

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def replay(client: RpcClient, contract: Path, name: str, path: str,
           **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send the capture's request (with ``changes``; None removes a field) and check
    status, top-level field names and JSON types against the captured reply."""
    req, rep = load_capture(contract, name)
    body = {**req, **changes}
    ours = client.post(path, {k: v for k, v in body.items() if v is not None}).json
    compare(ours, rep)
    return ours, rep


def set_host_status(cmon: FakeCmon, cluster_id: int, hostname: str, status: str) -> None:
    """Change a host's status directly (as a job or a failure would)."""
    def change(c: Any) -> None:
        host = c.world.clusters[cluster_id].host(hostname)
        assert host is not None
        host.hoststatus = status
    cmon.run(change)
