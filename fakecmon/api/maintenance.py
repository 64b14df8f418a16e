"""/v2/maintenance: maintenance periods of hosts and clusters.

``addMaintenance`` accepts the times clients send: RFC 3339 (s9s) and Go's
``time.String()`` (``2026-12-01 10:00:00 +0000 UTC``, Terraform). While a period
is active, ``maintenance_mode_active`` is true on the host (or on the cluster and
all its hosts) in every cluster view, and the host raises no alarm.
World files may declare periods in a ``maintenance`` section (see ``load_section``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fakecmon import permissions
from fakecmon.controller import WORLD_HOOKS
from fakecmon.errors import OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.rpc import CATCH_UP, Call, Payload, operation
from fakecmon.timefmt import parse_time, rfc3339
from fakecmon.world import loader, maintenance
from fakecmon.world.maintenance import MaintenancePeriod
from fakecmon.world.models import Cluster, User
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node

from fakecmon.api._common import (  # isort: skip
    ReadableIds, announce, cluster_ref_given, page, require, visible_cluster)

if TYPE_CHECKING:
    from fakecmon.controller import Controller

PATH = "/v2/maintenance"


def _time(call: Call, name: str) -> float:
    text = call.arg(name, str)
    try:
        return parse_time(text)
    except ValueError:
        raise invalid(f"Invalid '{name}' time '{text}': expected RFC 3339 like "
                      "'2026-12-01T10:00:00.000Z'.") from None


def _group_name(world: World, user: User) -> str:
    groups = world.user_groups(user)
    return groups[0].group_name if groups else ""


def _target(call: Call) -> tuple[Cluster, str]:
    """(cluster, hostname) the request is about; hostname "" for the whole cluster."""
    hostname = call.arg("hostname", str, "")
    if hostname:
        found = maintenance.find_host(call.world, hostname, call.arg("cluster_id", int, 0))
        if found is None or not permissions.can(call.world, call.login_user(), found[0],
                                                permissions.READ):
            raise RpcError(OBJECT_NOT_FOUND, f"Host '{hostname}' was not found.")
        return found[0], hostname
    if not cluster_ref_given(call):
        raise invalid("The request needs a 'hostname' or a 'cluster_id'.")
    return visible_cluster(call), ""


def _visible_period(call: Call, period: MaintenancePeriod) -> Cluster | None:
    cluster = call.world.clusters.get(period.cluster_id)
    if cluster is None or not permissions.can(call.world, call.login_user(), cluster,
                                              permissions.READ):
        return None
    return cluster


@operation(PATH, "addMaintenance")
def add_maintenance(call: Call) -> Payload:
    user = call.login_user()
    cluster, hostname = _target(call)
    require(call, cluster, permissions.WRITE)
    initiate, deadline = _time(call, "initiate"), _time(call, "deadline")
    reason = call.arg("reason", str, "")
    if deadline <= initiate:
        raise invalid("The deadline of a maintenance period must be later than its start.")
    if deadline <= call.now:
        raise invalid(f"The deadline {rfc3339(deadline)} is in the past.")
    period = maintenance.add_period(
        call.world, call.now, initiate=initiate, deadline=deadline, reason=reason,
        user_name=user.user_name, group_name=_group_name(call.world, user),
        cluster_id=cluster.cluster_id, hostname=hostname)
    maintenance.refresh(call.world, call.now)
    what = f"host {hostname}" if hostname else f"cluster {cluster.cluster_name}"
    announce(call, "maintenance.added", cluster.cluster_id,
             f"Maintenance of {what} registered from {rfc3339(initiate)} to "
             f"{rfc3339(deadline)}: {reason}",
             UUID=period.uuid, hostname=hostname, initiate=rfc3339(initiate),
             deadline=rfc3339(deadline), reason=reason)
    return {"UUID": period.uuid}


@operation(PATH, "removeMaintenance")
def remove_maintenance(call: Call) -> Payload:
    uuid = call.arg("UUID", str, "") or call.arg("uuid", str, "")
    if not uuid:
        raise invalid("Missing 'UUID' field in the request.")
    mb = maintenance.book(call.world)
    maintenance.refresh(call.world, call.now)
    period = mb.periods.get(uuid)
    cluster = _visible_period(call, period) if period is not None else None
    if period is None or cluster is None:
        raise RpcError(OBJECT_NOT_FOUND, f"Maintenance period '{uuid}' was not found.")
    require(call, cluster, permissions.WRITE)
    mb.remove(uuid)
    maintenance.refresh(call.world, call.now)
    what = f"host {period.hostname}" if period.hostname else f"cluster {cluster.cluster_name}"
    announce(call, "maintenance.removed", cluster.cluster_id,
             f"Maintenance of {what} removed ({period.reason}).",
             UUID=uuid, hostname=period.hostname)
    return {}


def _record(call: Call, key: tuple[int, str], periods: list[MaintenancePeriod],
            cluster: Cluster) -> dict[str, Any]:
    now = call.now
    listed = [p.to_json(now) for p in sorted(periods, key=lambda p: (p.initiate, p.uuid))]
    active = any(p.active(now) for p in periods)
    if key[1]:
        return {"class_name": "CmonMaintenanceInfo", "hostname": key[1], "is_active": active,
                "maintenance_periods": listed}
    return {
        "class_name": "CmonMaintenanceInfo",
        "cluster_id": cluster.cluster_id,
        "cluster": {"class_name": "CmonClusterInfo", "cluster_id": cluster.cluster_id,
                    "cluster_name": cluster.cluster_name,
                    "cluster_auto_recovery": cluster.cluster_auto_recovery,
                    "maintenance_mode_active": cluster.maintenance_mode_active,
                    "maintenance_periods": listed},
        "is_active": active,
        "maintenance_periods": listed,
    }


@operation(PATH, "getMaintenance")
def get_maintenance(call: Call) -> Payload:
    """Records (one per host or cluster) of the periods not yet over, the caller may read."""
    maintenance.refresh(call.world, call.now)
    only_cluster = visible_cluster(call).cluster_id if cluster_ref_given(call) else None
    only_host = call.arg("hostname", str, "")
    readable = ReadableIds(call, controller=False)
    groups: dict[tuple[int, str], list[MaintenancePeriod]] = {}
    for period in maintenance.book(call.world).periods.values():
        if period.cluster_id not in readable:
            continue
        if only_cluster is not None and period.cluster_id != only_cluster:
            continue
        if only_host and period.hostname != only_host:
            continue
        key = (period.cluster_id if not period.hostname else 0, period.hostname)
        groups.setdefault(key, []).append(period)
    records = []
    for key in sorted(groups, key=lambda k: (k[1] != "", k[0], k[1])):
        cluster = call.world.clusters[groups[key][0].cluster_id]
        records.append(_record(call, key, groups[key], cluster))
    total = len(records)
    pagesize = call.arg("pagesize", int, 0)
    if pagesize > 0:
        start = max(call.arg("page", int, 0), 0) * pagesize
        records = records[start:start + pagesize]
    else:
        records = page(call, records)
    return {"total": total, "maintenance_records": records}


def _periods_for(call: Call) -> list[MaintenancePeriod]:
    """The periods that apply to the host or cluster of the request (a host's cluster's too)."""
    cluster, hostname = _target(call)
    maintenance.refresh(call.world, call.now)
    mb = maintenance.book(call.world)
    found = mb.of_cluster(cluster.cluster_id)
    if hostname:
        found += [p for p in mb.of_host(hostname) if p.cluster_id == cluster.cluster_id]
    return found


def _found(call: Call, period: MaintenancePeriod | None, none_text: str) -> Payload:
    if period is None:
        return {"found_maintenance": False, "ui_string": none_text}
    return {"found_maintenance": True, "maintenance_period": period.date_json(call.world),
            "ui_string": period.ui_string(call.now)}


@operation(PATH, "getCurrentMaintenance")
def get_current_maintenance(call: Call) -> Payload:
    active = [p for p in _periods_for(call) if p.active(call.now)]
    current = min(active, key=lambda p: p.deadline, default=None)
    return _found(call, current, "No maintenance is active.")


@operation(PATH, "getNextMaintenance")
def get_next_maintenance(call: Call) -> Payload:
    future = [p for p in _periods_for(call) if p.initiate > call.now]
    upcoming = min(future, key=lambda p: p.initiate, default=None)
    return _found(call, upcoming, "No maintenance is scheduled.")


# ---- world files, world builds, the clock

_OFFSET = re.compile(r"^([+-])((?:\d+(?:\.\d+)?[smhdw])+)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(value: Any, base: float) -> float:
    """A world-file time: seconds or ``+2h``/``-1d12h`` from the world's start, or a date."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return base + float(value)
    if not isinstance(value, str):
        raise ValueError("expected a time like '+2h', '-1d' or '2026-12-01T10:00:00Z'")
    m = _OFFSET.match(value.strip())
    if m:
        seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhdw])",
                                                                   m.group(2)))
        return base + seconds if m.group(1) == "+" else base - seconds
    return parse_time(value)


def load_section(r: loader.Reader, data: Node, world: World) -> None:
    """``maintenance: [{hostname|cluster, initiate, deadline, reason, owner}]``.

    Times are absolute or relative to the world's start (``+2h``, ``-30m``).
    """
    for i, m in r.items(data, "maintenance"):
        place = f"maintenance[{i}]"
        r.only(m, place, ("hostname", "cluster", "initiate", "deadline", "reason", "owner"))
        hostname = r.get(m, place, "hostname", str, "")
        cluster_ref = r.get(m, place, "cluster", (str, int), None)
        cluster = None
        if cluster_ref is not None:
            cluster = (world.clusters.get(cluster_ref) if isinstance(cluster_ref, int)
                       else world.cluster_by_name(cluster_ref))
            if cluster is None:
                raise r.fail(m, "cluster", f"{place}.cluster", f"unknown cluster '{cluster_ref}'")
        if hostname:
            found = maintenance.find_host(world, hostname, cluster.cluster_id if cluster else 0)
            if found is None:
                raise r.fail(m, "hostname", f"{place}.hostname", f"unknown host '{hostname}'")
            cluster = found[0]
        if cluster is None:
            raise r.fail(m, "hostname", place, "a period needs a 'hostname' or a 'cluster'")
        times = []
        for key in ("initiate", "deadline"):
            try:
                times.append(parse_when(r.get(m, place, key, (str, int, float)), world.created))
            except ValueError as exc:
                raise r.fail(m, key, f"{place}.{key}", str(exc)) from None
        if times[1] <= times[0]:
            raise r.fail(m, "deadline", f"{place}.deadline", "the deadline is before the start")
        owner_name = r.get(m, place, "owner", str, "system")
        owner = world.user_by_name(owner_name)
        if owner is None:
            raise r.fail(m, "owner", f"{place}.owner", f"unknown user '{owner_name}'")
        maintenance.add_period(world, world.created, initiate=times[0], deadline=times[1],
                               reason=r.get(m, place, "reason", str, ""),
                               user_name=owner.user_name, group_name=_group_name(world, owner),
                               cluster_id=cluster.cluster_id, hostname=hostname)


loader.SECTIONS["maintenance"] = load_section


def _world_hook(controller: "Controller", world: World) -> None:
    """Hosts a world file marks ``maintenance_mode_active`` get a long period of their own."""
    system = world.user_by_name("system")
    for cluster in world.clusters.values():
        for host in cluster.hosts:
            if host.maintenance_mode_active and not maintenance.book(world).of_host(
                    host.hostname) and not maintenance.book(world).of_cluster(cluster.cluster_id):
                maintenance.add_period(
                    world, world.created, initiate=world.created - 3600,
                    deadline=world.created + 365 * 86400, reason="Set in the world file.",
                    user_name="system", group_name=_group_name(world, system) if system else "",
                    cluster_id=cluster.cluster_id, hostname=host.hostname)
    maintenance.refresh(world, world.created)


WORLD_HOOKS.append(_world_hook)
CATCH_UP.append(maintenance.refresh)
