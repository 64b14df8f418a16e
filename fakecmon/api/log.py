"""/v2/log: the controller's log, written by what happens (see ``fakecmon/world/logs.py``).

``getLogEntries`` filters by cluster, severity and time, sorts by id (descending
unless ``ascending``), pages with ``limit``/``offset`` and counts the page's
entries in ``log_entry_counts`` (by component, host name, sender and severity).
Entries of cluster 0 (logins, controller events) are guarded by the CDT root.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from fakecmon.errors import OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import parse_time, rfc3339
from fakecmon.world import logs
from fakecmon.world.logs import LogEntry

from fakecmon.api._common import (  # isort: skip
    ReadableIds, cluster_ref_given, page, visible_cluster)

PATH = "/v2/log"


def visible_ids(call: Call) -> Container[int]:
    """Cluster ids whose entries the caller may see (0 = the controller's own)."""
    if cluster_ref_given(call):
        return {visible_cluster(call).cluster_id}
    return ReadableIds(call)


def time_filter(call: Call, name: str) -> float | None:
    text = call.arg(name, str, "")
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise invalid(f"Invalid '{name}' time '{text}'.") from None


def _severities(call: Call) -> set[str] | None:
    value = call.body.get("severity")
    if value in (None, "", []):
        return None
    names = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    wanted = set()
    for name in names:
        sev = logs.severity_name(str(name))
        if sev is None:
            raise invalid(f"Invalid severity '{name}' (known: {', '.join(logs.SEVERITIES)}).")
        wanted.add(sev)
    return wanted


def _matching(call: Call) -> list[LogEntry]:
    ids = visible_ids(call)
    severities = _severities(call)
    after, before = time_filter(call, "created_after"), time_filter(call, "created_before")
    message_id = call.arg("message_id", int, 0)
    found = [e for e in logs.book(call.world).entries
             if e.cluster_id in ids
             and (severities is None or e.severity in severities)
             and (after is None or e.created >= after)
             and (before is None or e.created < before)
             and (not message_id or e.log_id == message_id)]
    if not call.arg("ascending", bool, False):
        found.reverse()
    return found


def entry_counts(entries: Iterable[LogEntry]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {"component": {}, "hostname": {}, "sender_binary": {},
                                         "severity": {}}
    for e in entries:
        for group, key in (("component", e.component or "Unknown"), ("hostname", e.hostname),
                           ("sender_binary", "cmon"), ("severity", e.severity)):
            counts[group][key] = counts[group].get(key, 0) + 1
    return counts


@operation(PATH, "getLogEntries")
def get_log_entries(call: Call) -> Payload:
    found = _matching(call)
    shown = page(call, found)
    return {"total": len(found), "log_entries": [e.to_json() for e in shown],
            "log_entry_counts": entry_counts(shown)}


@operation(PATH, "getLogEntry")
def get_log_entry(call: Call) -> Payload:
    """One entry by ``message_id`` (or ``log_id``), if its cluster is visible."""
    wanted = call.arg("message_id", int, 0) or call.arg("log_id", int)
    entry = logs.book(call.world).find(wanted)
    if entry is None or entry.cluster_id not in visible_ids(call):
        raise RpcError(OBJECT_NOT_FOUND, f"Log entry {wanted} was not found.")
    return {"log_entry": entry.to_json()}


@operation(PATH, "getLogStatistics")
def get_log_statistics(call: Call) -> Payload:
    """The log writer's counters, per cluster (``-1`` stands for the controller's setup log)."""
    mb = logs.book(call.world)
    ids = visible_ids(call)
    uptime = max(call.now - mb.started, 1.0)
    per_cluster: list[dict[str, Any]] = []
    shown = [cid for cid in (0, *sorted(call.world.clusters)) if cid in ids]
    for cid in shown:
        received = mb.received.get(cid, 0)
        per_cluster.append({
            "cluster_id": cid, "disabled": False, "entries_received": received,
            "format_string": "%C : (%S) %M", "last_error_message": "Success.",
            "lines_written": received,
            "log_file_name": "/var/log/cmon.log" if cid == 0 else f"/var/log/cmon_{cid}.log",
            "max_log_file_size": 5242880,
            "messages_per_sec": round(received / uptime, 2),
            "syslog_enabled": False, "write_cycle_counter": received // 25 + (1 if received else 0),
        })
    total = sum(mb.received.get(cid, 0) for cid in shown)
    return {"log_statistics": {
        "cluster_log_statistics": per_cluster,
        "current_time": rfc3339(call.now),
        "entries_statistics": {"entries_received": total, "entries_written_to_cmondb": total},
        "has_cmondb": True,
        "last_error_message": "Success.",
        "last_flush_time": rfc3339(mb.last_entry),
        "log_debug_enabled": False,
        "writer_thread_running": True,
        "writer_thread_started": rfc3339(mb.started),
    }}
