"""/v2/audit: who did what (logins, jobs, changes), written by events (``fakecmon/world/logs.py``).

``getEntries`` takes ``cluster_id`` or ``cluster_ids``, ``ascending``,
``limit``/``offset`` and the same ``created_after``/``created_before`` as the log.
"""

from __future__ import annotations

from collections.abc import Container

from fakecmon.errors import OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import logs

from fakecmon.api._common import ReadableIds, page  # isort: skip
from fakecmon.api.log import time_filter, visible_ids  # isort: skip

PATH = "/v2/audit"


def _wanted_ids(call: Call) -> Container[int]:
    """``cluster_ids`` (the controller's 0 left out unless readable), else every visible id."""
    ids = call.body.get("cluster_ids")
    if ids in (None, []):
        return visible_ids(call)
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                            for i in ids):
        raise invalid("The 'cluster_ids' field must be a list of integers.")
    readable = ReadableIds(call)
    if any(cid != 0 and cid not in readable for cid in ids):
        raise RpcError(OBJECT_NOT_FOUND, "Cluster was not found.")
    return {cid for cid in ids if cid in readable}


@operation(PATH, "getEntries")
def get_entries(call: Call) -> Payload:
    ids = _wanted_ids(call)
    after, before = time_filter(call, "created_after"), time_filter(call, "created_before")
    found = [e for e in logs.book(call.world).audit
             if e.cluster_id in ids
             and (after is None or e.report_ts >= after)
             and (before is None or e.report_ts < before)]
    if not call.arg("ascending", bool, False):
        found.reverse()
    return {"total": len(found), "audit_entries": [e.to_json() for e in page(call, found)]}
