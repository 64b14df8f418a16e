"""/v2/alarm: the alarms of a cluster, their statistics, and ignoring them.

Replies never carry a top-level ``class_name`` or ``operation`` and carry
``cluster_id``/``alarm_id`` only as integers: the Python SDK validates those
keys of /v2/alarm replies strictly.
World files may declare alarms in an ``alarms`` section (see ``load_section``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakecmon import permissions
from fakecmon.controller import WORLD_HOOKS
from fakecmon.errors import OBJECT_NOT_FOUND, RpcError
from fakecmon.rpc import CATCH_UP, Call, Payload, operation
from fakecmon.world import alarms, loader
from fakecmon.world.alarms import Alarm
from fakecmon.world.models import Cluster
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node

from fakecmon.api._common import (  # isort: skip
    announce, cluster_ref_given, readable_clusters, require, visible_cluster)
from fakecmon.api.maintenance import parse_when  # isort: skip

if TYPE_CHECKING:
    from fakecmon.controller import Controller

PATH = "/v2/alarm"


def _clusters(call: Call) -> list[Cluster]:
    """The cluster of the request, or every readable cluster when none is named."""
    if cluster_ref_given(call):
        return [visible_cluster(call, OBJECT_NOT_FOUND)]
    return readable_clusters(call)


def _alarms_of(call: Call, clusters: list[Cluster]) -> list[Alarm]:
    found: list[Alarm] = []
    for cluster in clusters:
        alarms.sync(call.world, cluster, call.now)
        found += alarms.book(call.world).of_cluster(cluster.cluster_id)
    return sorted(found, key=lambda a: a.alarm_id)


def _find(call: Call) -> tuple[Alarm, Cluster]:
    """The alarm ``alarm_id`` of the named cluster, or of any the caller may read."""
    alarm_id = call.arg("alarm_id", int)
    named = visible_cluster(call, OBJECT_NOT_FOUND) if cluster_ref_given(call) else None
    mb = alarms.book(call.world)
    alarm = mb.alarms.get(alarm_id)
    cluster = call.world.clusters.get(alarm.cluster_id) if alarm is not None else None
    if cluster is not None and (cluster is named or named is None and permissions.can(
            call.world, call.login_user(), cluster, permissions.READ)):
        alarms.sync(call.world, cluster, call.now)   # it may have been cleared since
        if mb.alarms.get(alarm_id) is alarm:
            return alarm, cluster
    raise RpcError(OBJECT_NOT_FOUND, f"Alarm {alarm_id} was not found.")


@operation(PATH, "getAlarms")
def get_alarms(call: Call) -> Payload:
    clusters = _clusters(call)
    listed = [a.to_json() for a in _alarms_of(call, clusters)]
    payload: Payload = {"total": len(listed), "alarms": listed}
    if cluster_ref_given(call):
        payload["cluster_id"] = clusters[0].cluster_id
    return payload


@operation(PATH, "getAlarm")
def get_alarm(call: Call) -> Payload:
    alarm, _ = _find(call)
    return {"alarm": alarm.to_json()}


@operation(PATH, "ignoreAlarm")
def ignore_alarm(call: Call) -> Payload:
    """``ignore`` (default true) sets ``ignored`` 1, false sets it back to 0."""
    alarm, cluster = _find(call)
    require(call, cluster, permissions.WRITE)
    ignore = call.arg("ignore", bool, True)
    alarm.ignored = 1 if ignore else 0
    word = "ignored" if ignore else "no longer ignored"
    announce(call, "alarm.changed", cluster.cluster_id, f"Alarm {alarm.alarm_id} "
             f"'{alarm.title}' is {word}.", alarm=alarm.to_json())
    return {"messages": [f"Alarm {alarm.alarm_id} is {word}."]}


@operation(PATH, "getStatistics")
def get_statistics(call: Call) -> Payload:
    """``alarm_statistics``: one CmonAlarmStatistics per cluster, ignored alarms not counted."""
    stats = [alarms.statistics_json(call.world, c.cluster_id, call.now) for c in _clusters(call)]
    return {"total": len(stats), "alarm_statistics": stats}


# ---- world files and world builds

ALARM_FIELDS = ("cluster", "type_name", "severity", "hostname", "title", "message",
                "recommendation", "component", "ignored", "created")


def load_section(r: loader.Reader, data: Node, world: World) -> None:
    """``alarms: [{cluster, type_name, severity: critical|warning, hostname, title, ...}]``."""
    mb = alarms.book(world)
    for i, m in r.items(data, "alarms"):
        place = f"alarms[{i}]"
        r.only(m, place, ALARM_FIELDS)
        ref = r.get(m, place, "cluster", (str, int))
        cluster = world.clusters.get(ref) if isinstance(ref, int) else world.cluster_by_name(ref)
        if cluster is None:
            raise r.fail(m, "cluster", f"{place}.cluster", f"unknown cluster '{ref}'")
        type_name = r.get(m, place, "type_name", str)
        severity = r.get(m, place, "severity", str, "")
        if severity:
            severity = {"critical": alarms.CRITICAL, "warning": alarms.WARNING}.get(
                severity.lower(), severity.upper())
            if severity not in alarms.SEVERITIES:
                raise r.fail(m, "severity", f"{place}.severity",
                             "expected 'critical' or 'warning'")
        component = r.get(m, place, "component", str, None)
        if component is not None and component not in alarms.COMPONENTS:
            raise r.fail(m, "component", f"{place}.component",
                         f"unknown component (known: {', '.join(alarms.COMPONENTS)})")
        hostname = r.get(m, place, "hostname", str, "")
        host = cluster.host(hostname) if hostname else None
        if hostname and host is None:
            raise r.fail(m, "hostname", f"{place}.hostname",
                         f"cluster '{cluster.cluster_name}' has no host '{hostname}'")
        try:
            created = parse_when(r.get(m, place, "created", (str, int, float), 0), world.created)
        except ValueError as exc:
            raise r.fail(m, "created", f"{place}.created", str(exc)) from None
        alarm = alarms.make_alarm(
            mb, cluster_id=cluster.cluster_id, type_name=type_name, now=created,
            message=r.get(m, place, "message", str, ""), hostname=hostname,
            host_id=host.host_id if host else 0, severity=severity or None,
            title=r.get(m, place, "title", str, None),
            recommendation=r.get(m, place, "recommendation", str, None), component=component)
        alarm.ignored = 1 if r.get(m, place, "ignored", bool, False) else 0
        mb.add(alarm)


loader.SECTIONS["alarms"] = load_section


def _world_hook(controller: "Controller", world: World) -> None:
    """Derive the alarms of the loaded state, so ids are stable from the start."""
    alarms.book(world).now = world.created
    world.extensions["alarm_counts"] = alarms.AlarmCounter(world)
    for cid in sorted(world.clusters):
        alarms.sync(world, world.clusters[cid], world.created)


def _catch_up(world: Any, now: float) -> bool:
    alarms.book(world).now = now
    return False   # only the time alarms are raised at moves: nothing a view shows


WORLD_HOOKS.append(_world_hook)
CATCH_UP.append(_catch_up)
