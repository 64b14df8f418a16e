"""Operational reports (``/v2/reports``): generated from the world as it is, then kept.

A report is a document (titles, paragraphs, verbatim blocks) built from the
cluster's state when it is generated, plus its text rendering for terminals
(``AnsiTerminal``). State: ``world.extensions["reports"]`` (a ``ReportBook``).
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass, field
from typing import Any

from fakecmon.timefmt import rfc3339
from fakecmon.world.models import Cluster
from fakecmon.world.state import World

KEY = "reports"

#: report_type -> title, in the order CMON lists its templates.
TEMPLATES: dict[str, str] = {
    "default": "Default System Report",
    "report1": "System Report",
    "standard": "Standard System Report",
    "testreport": "Simple Test Report",
    "availability": "Database Availability Report",
    "backup": "Backup Report",
    "upgrade": "Upgrade Report",
    "schemachange": "Schema Change Report",
    "dbgrowth": "Database Growth Report",
    "capacity": "Capacity Report",
    "incident_report": "Incident Report",
}

BOLD, NORMAL = "\x1b[1m", "\x1b[0;39m"


@dataclass
class Report:
    report_id: int
    cluster_id: int
    report_type: str
    created: float
    owner: str
    recipients: str
    text_format: str
    days: int
    path: str
    elements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return TEMPLATES.get(self.report_type, self.report_type)

    def content(self) -> str:
        """The document as text for a terminal, the way s9s prints it."""
        out = []
        for e in self.elements:
            if e["className"] == "CmonTitle":
                out.append(f"{BOLD}  {e['text']}{NORMAL}\n\n")
            elif e["className"] == "CmonParagraph":
                out.append(textwrap.fill(e["text"], 72, initial_indent="    ",
                                         subsequent_indent="  ") + "\n\n")
            else:
                out.append(e["text"] + "\n\n")
        return "".join(out)

    def to_json(self, *, created: bool = True, text_format: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {"class_name": "CmonReport", "content": self.content()}
        if created:
            doc["created"] = rfc3339(self.created)
        doc.update({"days": self.days, "owner": self.owner, "path": self.path,
                    "recipients": self.recipients, "report_id": self.report_id,
                    "report_type": self.report_type})
        if text_format:
            doc["text_format"] = self.text_format
        doc["document"] = {"className": "CmonDocument", "elements": self.elements}
        return doc

    def summary_json(self) -> dict[str, Any]:
        return {"class_name": "CmonReport", "cluster_id": self.cluster_id,
                "created": rfc3339(self.created), "owner": self.owner,
                "recipients": self.recipients, "report_id": self.report_id,
                "report_type": self.report_type, "title": self.title}


class ReportBook:
    def __init__(self) -> None:
        self.reports: dict[int, Report] = {}
        self.next_id = 1


def book(world: World) -> ReportBook:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = ReportBook()
    return found


def _title(text: str, level: int = 1) -> dict[str, Any]:
    return {"className": "CmonTitle", "text": text, "titleLevel": level}


def _para(text: str) -> dict[str, Any]:
    return {"className": "CmonParagraph", "text": text}


def _verbatim(lines: list[str]) -> dict[str, Any]:
    return {"className": "CmonVerbatim", "text": "\n".join(lines) + "\n"}


def _hosts_table(cluster: Cluster, now: float) -> dict[str, Any]:
    rows = [f"   {'HOST':<22} {'ROLE':<10} {'STATUS':<18} {'VERSION':<22} UPTIME"]
    for h in cluster.hosts:
        uptime = f"{int(now - h.started_at) // 3600}h" if h.online else "-"
        rows.append(f"   {h.hostname + ':' + str(h.port):<22} {h.role or '-':<10} "
                    f"{h.hoststatus:<18} {h.version or '-':<22} {uptime}")
    return _verbatim(rows)


def build_elements(world: World, cluster: Cluster, report_type: str, now: float, owner: str,
                   recipients: str, days: int, alarm_counts: tuple[int, int]) -> list[dict[str, Any]]:
    """The document of a report of ``report_type`` on ``cluster`` as it is at ``now``."""
    title = TEMPLATES[report_type]
    date = time.strftime("%b %d %H:%M:%S", time.gmtime(now))
    if report_type == "testreport":
        return [
            _title(title),
            _para("This report was created to test the report subsystem. Here are some "
                  "properties of the reporter:"),
            _verbatim([f"      clusterId: {cluster.cluster_id}", f"           date: {date}"]),
            _para("Here is some information about the report that was requested:"),
            _verbatim([f"     reportType: {report_type}", f"     recipients: {recipients}",
                       f"       interval: {days} day(s)", f"        creator: {owner}"]),
        ]
    online = sum(1 for h in cluster.hosts if h.online)
    critical, warning = alarm_counts
    elements = [
        _title(title),
        _para(f"Report of cluster '{cluster.cluster_name}' (ID {cluster.cluster_id}, "
              f"{cluster.cluster_type.lower()}, {cluster.vendor} {cluster.version}) "
              f"for the last {days} day(s), created {date} UTC by {owner}."),
        _title("Cluster", 2),
        _verbatim([f"          state: {cluster.state}", f"    status text: {cluster.status_text}",
                   f"          nodes: {online} of {len(cluster.hosts)} online",
                   f"    maintenance: {'active' if cluster.maintenance_mode_active else 'none'}",
                   f"         alarms: {critical} critical, {warning} warning"]),
        _title("Nodes", 2),
        _hosts_table(cluster, now),
    ]
    if report_type == "availability":
        pct = 100.0 * online / len(cluster.hosts) if cluster.hosts else 0.0
        elements.append(_para(f"Node availability at the time of the report: {pct:.1f}%."))
    elif report_type in ("dbgrowth", "capacity"):
        dbs = world.extensions.get("databases", {}).get(cluster.cluster_id, [])
        rows = [f"   {d['database_name']:<24} {d['database_size'] // (1024 * 1024):>8} MB "
                f"{d['number_of_tables']:>5} tables" for d in dbs] or ["   (no databases)"]
        elements += [_title("Databases", 2), _verbatim(rows)]
    return elements


def report_path(cluster: Cluster, report_type: str, now: float) -> str:
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.gmtime(now))
    return (f"/var/lib/cmon/reports/{cluster.cluster_id}/{cluster.cluster_type.lower()}/"
            f"cmon-reports/{report_type}_{stamp}.html")
