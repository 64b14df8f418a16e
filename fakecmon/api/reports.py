"""/v2/reports: generate, list, read and delete operational reports; the report templates.

As in the captures: a cluster the caller may not read is ObjectNotFound "Cluster was
not found." (also when reached through a report id), and an unknown report id is
UnknownError "Report with id N was not found.".
"""

from __future__ import annotations

from fakecmon import permissions
from fakecmon.errors import OBJECT_NOT_FOUND, UNKNOWN_ERROR, RpcError, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import alarms, reports
from fakecmon.world.models import Cluster
from fakecmon.world.reports import Report

from fakecmon.api._common import (  # isort: skip
    NOT_FOUND_TEXT, ReadableIds, announce, cluster_ref_given, field, obj, require,
    visible_cluster)

PATH = "/v2/reports"


def _report(call: Call) -> tuple[Report, Cluster]:
    spec = obj(call, "report")
    report_id = field(spec, "report_id", int, where="report")
    report = reports.book(call.world).reports.get(report_id)
    only = visible_cluster(call) if cluster_ref_given(call) else None
    if report is None or (only is not None and report.cluster_id != only.cluster_id):
        raise RpcError(UNKNOWN_ERROR, f"Report with id {report_id} was not found.")
    cluster = call.world.clusters.get(report.cluster_id)
    if cluster is None or not permissions.can(call.world, call.login_user(), cluster,
                                              permissions.READ):
        raise RpcError(OBJECT_NOT_FOUND, NOT_FOUND_TEXT)
    return report, cluster


@operation(PATH, "generateReport")
def generate_report(call: Call) -> Payload:
    cluster = visible_cluster(call)
    require(call, cluster, permissions.WRITE)
    spec = obj(call, "report")
    report_type = field(spec, "report_type", str, "default", where="report")
    if report_type not in reports.TEMPLATES:
        raise invalid(f"Unknown report type '{report_type}' "
                      f"(known: {', '.join(reports.TEMPLATES)}).")
    recipients = field(spec, "recipients", str, "", where="report")
    text_format = field(spec, "text_format", str, "AnsiTerminal", where="report")
    days = field(spec, "days", int, 7, where="report")
    if not 1 <= days <= 366:
        raise invalid("The 'days' of a report must be 1 to 366.")
    user = call.login_user()
    book = reports.book(call.world)
    counts = alarms.counts(call.world, cluster.cluster_id, call.now)
    report = Report(
        report_id=book.next_id, cluster_id=cluster.cluster_id, report_type=report_type,
        created=call.now, owner=user.user_name, recipients=recipients,
        text_format=text_format, days=days,
        path=reports.report_path(cluster, report_type, call.now),
        elements=reports.build_elements(call.world, cluster, report_type, call.now,
                                        user.user_name, recipients, days, counts))
    book.reports[report.report_id] = report
    book.next_id += 1
    announce(call, "report.created", cluster.cluster_id,
             f"Report {report.report_id} '{report.title}' generated.",
             report_id=report.report_id, report_type=report_type)
    return {"report": report.to_json(created=False, text_format=True)}


@operation(PATH, "getReport")
def get_report(call: Call) -> Payload:
    report, _ = _report(call)
    return {"report": report.to_json()}


@operation(PATH, "deleteReport")
def delete_report(call: Call) -> Payload:
    report, cluster = _report(call)
    require(call, cluster, permissions.WRITE)
    del reports.book(call.world).reports[report.report_id]
    announce(call, "report.deleted", cluster.cluster_id,
             f"Report {report.report_id} '{report.title}' deleted.", report_id=report.report_id)
    return {}


@operation(PATH, "getReports")
def get_reports(call: Call) -> Payload:
    """Reports of the cluster, or of every readable cluster, newest first."""
    ids = ({visible_cluster(call).cluster_id} if cluster_ref_given(call)
           else ReadableIds(call, controller=False))
    found = [r.summary_json() for r in sorted(reports.book(call.world).reports.values(),
                                              key=lambda r: -r.report_id)
             if r.cluster_id in ids]
    return {"total": len(found), "reports": found}


@operation(PATH, "getReportTemplates", kind="world-data")
def get_report_templates(call: Call) -> Payload:
    if cluster_ref_given(call):
        visible_cluster(call)
    return {"reports": [{"class_name": "CmonReport", "report_type": t, "title": title}
                        for t, title in reports.TEMPLATES.items()]}
