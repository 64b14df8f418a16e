"""The controller log (``/v2/log``) and the audit log (``/v2/audit``), written by events.

Every event (``fakecmon.events``) becomes a log entry; events a user caused
(logins, jobs they created, changes they made) also become audit entries.
Both logs are ring buffers: the oldest entries fall out, so memory stays bounded
however long the server runs. State: ``world.extensions["logs"]`` (a ``LogBook``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakecmon.events import LISTENERS, Event
from fakecmon.timefmt import rfc3339
from fakecmon.world.state import World

KEY = "logs"
LOG_LIMIT = 5000
AUDIT_LIMIT = 2000

#: CMON's syslog-like severities, most severe first.
SEVERITIES = ("LOG_EMERG", "LOG_ALERT", "LOG_CRIT", "LOG_ERR", "LOG_WARNING", "LOG_NOTICE",
              "LOG_INFO", "LOG_DEBUG")
_SHORT = {"emerg": "LOG_EMERG", "emergency": "LOG_EMERG", "alert": "LOG_ALERT",
          "crit": "LOG_CRIT", "critical": "LOG_CRIT", "err": "LOG_ERR", "error": "LOG_ERR",
          "warning": "LOG_WARNING", "warn": "LOG_WARNING", "notice": "LOG_NOTICE",
          "info": "LOG_INFO", "debug": "LOG_DEBUG"}

#: Event kinds that are the system's own doing: logged, never audited.
SYSTEM_KINDS = {"job.started", "job.ended", "job.finished", "job.failed", "job.aborted",
                "host.status", "cluster.state", "alarm.raised", "alarm.cleared"}

_PID = os.getpid()


def severity_name(text: str) -> str | None:
    """``LOG_ERR``, ``err``, ``error`` -> ``LOG_ERR``; None if unknown."""
    t = text.strip()
    if t.upper() in SEVERITIES:
        return t.upper()
    return _SHORT.get(t.lower())


@dataclass(slots=True)
class LogEntry:
    log_id: int
    created: float
    severity: str
    log_class: str
    cluster_id: int
    message_text: str
    component: str = ""
    hostname: str = ""
    sender_file: str = "fakecmon"
    sender_line: int = 0
    specifics: dict[str, Any] = field(default_factory=dict)

    def log_line(self) -> str:
        """The entry as a line of CMON's log file: ``<time> : (<SEVERITY>) <message>``."""
        severity = self.severity.removeprefix("LOG_")
        return f"{rfc3339(self.created)} : ({severity}) {self.message_text}\n"

    def to_json(self) -> dict[str, Any]:
        seconds = int(self.created)
        doc: dict[str, Any] = {"class_name": "CmonLogMessage"}
        if self.component:
            doc["component"] = self.component
        specifics: dict[str, Any] = {"cluster_id": self.cluster_id,
                                     "message_text": self.message_text}
        specifics.update(self.specifics)
        doc.update({
            "created": rfc3339(self.created),
            "log_class": self.log_class,
            "log_id": self.log_id,
            "severity": self.severity,
            "log_origins": {
                "sender_binary": "cmon",
                "sender_file": self.sender_file,
                "sender_line": self.sender_line,
                "sender_pid": _PID,
                "tv_nsec": int((self.created - seconds) * 1e9),
                "tv_sec": seconds,
            },
            "log_specifics": specifics,
        })
        return doc


@dataclass(slots=True)
class AuditEntry:
    audit_id: int
    report_ts: float
    cluster_id: int
    entry_type: str
    message_text: str
    username: str
    user_id: int
    client_hostname: str

    def to_json(self) -> dict[str, Any]:
        return {"class_name": "CmonAuditEntry", "id": self.audit_id,
                "client_hostname": self.client_hostname, "cluster_id": self.cluster_id,
                "entry_type": self.entry_type, "message_text": self.message_text,
                "report_ts": rfc3339(self.report_ts), "user_id": self.user_id,
                "username": self.username}


class LogBook:
    """The two ring buffers of one world, and the counters ``getLogStatistics`` shows."""

    #: Set again by the controller for every world it builds: not saved by an export.
    __transient__ = ("sink",)

    def __init__(self, started: float) -> None:
        self.entries: deque[LogEntry] = deque(maxlen=LOG_LIMIT)
        self.audit: deque[AuditEntry] = deque(maxlen=AUDIT_LIMIT)
        self.next_log_id = 1
        self.next_audit_id = 1
        self.started = started
        self.last_entry = started
        self.received: dict[int, int] = {}     # cluster id -> entries received
        #: Where each new entry also goes as a line (``--log-file``); set by the controller.
        self.sink: Callable[[str], None] | None = None

    def log(self, created: float, severity: str, log_class: str, cluster_id: int,
            message: str, **extra: Any) -> LogEntry:
        entry = LogEntry(self.next_log_id, created, severity, log_class, cluster_id, message,
                         **extra)
        self.next_log_id += 1
        self.entries.append(entry)
        self.received[cluster_id] = self.received.get(cluster_id, 0) + 1
        self.last_entry = created
        if self.sink is not None:
            self.sink(entry.log_line())
        return entry

    def add_audit(self, time: float, cluster_id: int, entry_type: str, message: str,
                  username: str, user_id: int, client_hostname: str) -> AuditEntry:
        entry = AuditEntry(self.next_audit_id, time, cluster_id, entry_type, message,
                           username, user_id, client_hostname)
        self.next_audit_id += 1
        self.audit.append(entry)
        return entry

    def find(self, log_id: int) -> LogEntry | None:
        for entry in self.entries:
            if entry.log_id == log_id:
                return entry
        return None


class LogFile:
    """``--log-file``: the controller log appended to a file, opened once, line-buffered.

    Shared by every world the controller builds (reset, reload, snapshots), so a
    deep copy of a world keeps the same file.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", buffering=1, encoding="utf-8")

    def __call__(self, line: str) -> None:
        self._file.write(line)

    def __deepcopy__(self, memo: dict[int, Any]) -> "LogFile":
        return self

    def close(self) -> None:
        self._file.close()


def book(world: World) -> LogBook:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = LogBook(world.created)
    return found


# ---- events -> entries

_COMPONENTS = {"host": "Node", "cluster": "Cluster", "backup": "Backup", "alarm": "Cluster",
               "maintenance": "Cluster", "config": "ClusterConfiguration",
               "account": "Cluster", "database": "Cluster", "report": "Cluster"}


def _camel(kind: str) -> str:
    """``user.login_failed`` -> ``UserLoginFailed`` (audit entry types)."""
    return "".join(part.capitalize() for part in kind.replace(".", "_").split("_") if part)


def _job_message(event: Event, job: dict[str, Any]) -> tuple[str, str, str]:
    """(log_class, severity, text) of a job event, worded like CMON's."""
    spec = job.get("job_spec") if isinstance(job.get("job_spec"), dict) else {}
    title = job.get("title") or spec.get("command") or f"job {job.get('job_id', '')}".strip()
    action = event.kind.partition(".")[2]
    if action == "started":
        return "JobStarted", "LOG_INFO", f"Job '{title}' just started."
    if action in ("ended", "finished", "failed", "aborted"):
        status = str(job.get("status", "")).upper()
        severity = {"FAILED": "LOG_ERR", "ABORTED": "LOG_WARNING"}.get(status, "LOG_INFO")
        return "JobEnded", severity, f"Job '{title}' is ended."
    return "LogMessage", "LOG_INFO", event.message or f"Job '{title}' is {action}."


def _host_entry(mb: LogBook, event: Event) -> None:
    data = event.data
    host = data.get("host") if isinstance(data.get("host"), dict) else {}
    hostname = str(data.get("hostname") or data.get("host_name") or host.get("hostname", ""))
    port = data.get("port", host.get("port"))
    state = str(data.get("hoststatus") or data.get("host_state") or host.get("hoststatus", ""))
    previous = str(data.get("previous") or data.get("previous_host_state") or "")
    text = event.message or (f"Host {hostname}:{port} state changed from '{previous}' to "
                             f"'{state}'.")
    specifics: dict[str, Any] = {"host_state": state, "previous_host_state": previous,
                                 "reason": str(data.get("reason", event.message)),
                                 "host": {"hostname": hostname, "port": port}}
    severity = "LOG_INFO" if state in ("", "CmonHostOnline") else "LOG_WARNING"
    mb.log(event.time, severity, "HostStateChange", event.cluster_id, text,
           component="Node", hostname=hostname, sender_file="cmonhost.cpp", specifics=specifics)


def _cluster_state_entry(mb: LogBook, event: Event) -> None:
    data = event.data
    state = str(data.get("state") or data.get("cluster_state") or "")
    previous = str(data.get("previous") or data.get("previous_cluster_state") or "")
    text = event.message or (f"Cluster {event.cluster_id} state changed from '{previous}' to "
                             f"'{state}'.")
    severity = "LOG_INFO" if state in ("", "STARTED") else (
        "LOG_CRIT" if state == "FAILURE" else "LOG_WARNING")
    mb.log(event.time, severity, "ClusterStateChange", event.cluster_id, text,
           component="Cluster", sender_file="cmoncluster.cpp",
           specifics={"cluster_state": state, "previous_cluster_state": previous,
                      "reason": str(data.get("reason", ""))})


def record(world: World, event: Event) -> None:
    """The events listener: one log entry per event, an audit entry for what users did."""
    mb = book(world)
    prefix, _, action = event.kind.partition(".")
    data = event.data
    if event.kind == "host.status":
        _host_entry(mb, event)
    elif event.kind == "cluster.state":
        _cluster_state_entry(mb, event)
    elif prefix == "job":
        job = data.get("job") if isinstance(data.get("job"), dict) else {}
        log_class, severity, text = _job_message(event, job)
        specifics = {"job_instance": job} if job else {}
        mb.log(event.time, severity, log_class, event.cluster_id, text,
               sender_file="CmonCommandHandlerWorker.cpp", specifics=specifics)
    else:
        severity = str(data.get("severity") or "")
        if severity not in SEVERITIES:
            severity = {"login_failed": "LOG_WARNING", "raised": "LOG_WARNING"}.get(
                action, "LOG_INFO")
        hostname = data.get("hostname")
        mb.log(event.time, severity, "LogMessage", event.cluster_id,
               event.message or f"{prefix.capitalize()} {action.replace('_', ' ')}.",
               component=_COMPONENTS.get(prefix, ""),
               hostname=hostname if isinstance(hostname, str) else "",
               sender_file=f"fakecmon/{prefix}")
    if event.user_name and event.kind not in SYSTEM_KINDS:
        user = world.user_by_name(event.user_name)
        client = data.get("client_hostname")
        mb.add_audit(event.time, event.cluster_id, _camel(event.kind),
                     event.message or event.kind, event.user_name,
                     user.user_id if user is not None else 0,
                     client if isinstance(client, str) else "")


LISTENERS.append(record)
