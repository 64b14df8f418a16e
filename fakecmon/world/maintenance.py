"""Maintenance periods of hosts and clusters, and the ``maintenance_mode_active`` flags they drive.

A period belongs to one host (by host name) or to one cluster. It is *active*
while ``initiate <= now < deadline``; a cluster's active period puts every host
of the cluster in maintenance too. The flags on ``Host`` and ``Cluster`` are
brought up to date by ``refresh``, which is cheap: it recomputes only when the
periods changed or the clock passed the next start or end of a period.

State lives in ``world.extensions["maintenance"]`` (a ``MaintenanceBook``), so a
reset forgets it; other areas (the ``create_maintenance`` job) add periods with
``add_period``.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from fakecmon.events import LISTENERS, Event
from fakecmon.timefmt import rfc3339
from fakecmon.world.models import Cluster, Host
from fakecmon.world.state import World

KEY = "maintenance"


@dataclass
class MaintenancePeriod:
    uuid: str
    initiate: float
    deadline: float
    reason: str
    user_name: str
    group_name: str
    cluster_id: int = 0         # the cluster of the host, or the cluster itself
    hostname: str = ""          # "" for a cluster maintenance
    created: float = 0.0

    @property
    def is_host(self) -> bool:
        return bool(self.hostname)

    def active(self, now: float) -> bool:
        return self.initiate <= now < self.deadline

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "class_name": "CmonMaintenancePeriod",
            "UUID": self.uuid,
            "deadline": rfc3339(self.deadline),
            "groupname": self.group_name,
            "initiate": rfc3339(self.initiate),
            "is_active": self.active(now),
            "reason": self.reason,
            "username": self.user_name,
        }

    def date_json(self, world: World) -> dict[str, Any]:
        """The period as getCurrentMaintenance/getNextMaintenance give it
        (``maintenance_period``: CMON's ``CmonMaintenanceDate``, with the owner's ids)."""
        user = world.user_by_name(self.user_name)
        group = world.group_by_name(self.group_name)
        return {
            "class_name": "CmonMaintenanceDate",
            "UUID": self.uuid,
            "deadline": rfc3339(self.deadline),
            "groupid": group.group_id if group is not None else 0,
            "groupname": self.group_name,
            "initiate": rfc3339(self.initiate),
            "reason": self.reason,
            "userid": user.user_id if user is not None else 0,
            "username": self.user_name,
        }

    def ui_string(self, now: float) -> str:
        """The one-line summary s9s prints for getCurrentMaintenance/getNextMaintenance
        (an active one as CMON says it: ``Cluster 1 is under maintenance: REASON``)."""
        what = f"host {self.hostname}" if self.is_host else f"cluster {self.cluster_id}"
        if self.active(now):
            return f"{what[0].upper()}{what[1:]} is under maintenance: {self.reason}"
        return (f"Maintenance of {what} is scheduled from {rfc3339(self.initiate)} to "
                f"{rfc3339(self.deadline)} ({self.user_name}: {self.reason}).")


class MaintenanceBook:
    """Every period of one world, by UUID, plus what ``refresh`` needs to stay cheap."""

    def __init__(self) -> None:
        self.periods: dict[str, MaintenancePeriod] = {}
        self.dirty = True
        self.next_change = float("inf")

    def add(self, period: MaintenancePeriod) -> None:
        self.periods[period.uuid] = period
        self.dirty = True

    def remove(self, uuid: str) -> MaintenancePeriod | None:
        period = self.periods.pop(uuid, None)
        if period is not None:
            self.dirty = True
        return period

    def purge_expired(self, now: float) -> None:
        """CMON forgets a period once its deadline passed."""
        for key in [k for k, p in self.periods.items() if p.deadline <= now]:
            del self.periods[key]
            self.dirty = True

    def of_host(self, hostname: str) -> list[MaintenancePeriod]:
        return [p for p in self.periods.values() if p.hostname == hostname]

    def of_cluster(self, cluster_id: int) -> list[MaintenancePeriod]:
        return [p for p in self.periods.values() if not p.is_host and p.cluster_id == cluster_id]


def book(world: World) -> MaintenanceBook:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = MaintenanceBook()
    return found


def add_period(world: World, now: float, *, initiate: float, deadline: float, reason: str,
               user_name: str, group_name: str, cluster_id: int = 0,
               hostname: str = "") -> MaintenancePeriod:
    """Register a period (already checked by the caller) and return it.

    A host period without a cluster id gets the cluster the host is in.
    """
    if hostname and not cluster_id:
        found = find_host(world, hostname)
        cluster_id = found[0].cluster_id if found is not None else 0
    period = MaintenancePeriod(uuid=str(uuidlib.uuid4()), initiate=initiate, deadline=deadline,
                               reason=reason, user_name=user_name, group_name=group_name,
                               cluster_id=cluster_id, hostname=hostname, created=now)
    book(world).add(period)
    return period


def find_host(world: World, hostname: str, cluster_id: int = 0) -> tuple[Cluster, Host] | None:
    """The host named ``hostname`` (in ``cluster_id`` when given, else in any cluster)."""
    clusters = ([world.clusters[cluster_id]] if cluster_id in world.clusters
                else [] if cluster_id else [world.clusters[c] for c in sorted(world.clusters)])
    for cluster in clusters:
        host = cluster.host(hostname)
        if host is not None:
            return cluster, host
    return None


def refresh(world: World, now: float) -> bool:
    """Set ``maintenance_mode_active`` of every host and cluster from the periods.

    O(1) unless something changed: periods were added or removed, hosts or
    clusters appeared (``touch``), or the clock passed ``next_change``.
    """
    mb = book(world)
    if not mb.dirty and now < mb.next_change:
        return False
    mb.purge_expired(now)
    hosts: set[str] = set()
    clusters: set[int] = set()
    next_change = float("inf")
    for p in mb.periods.values():
        if p.active(now):
            (hosts.add(p.hostname) if p.is_host else clusters.add(p.cluster_id))
            next_change = min(next_change, p.deadline)
        else:
            next_change = min(next_change, p.initiate)
    for cluster in world.clusters.values():
        cluster.maintenance_mode_active = cluster.cluster_id in clusters
        affected = cluster.maintenance_mode_active or any(h.hostname in hosts
                                                          for h in cluster.hosts)
        for host in cluster.hosts:
            host.maintenance_mode_active = (cluster.maintenance_mode_active
                                            or host.hostname in hosts)
            host.maintenance_mode = mode_text(host.hostname in hosts, affected)
    mb.dirty = False
    mb.next_change = next_change
    return True


def mode_text(own: bool, cluster: bool) -> str:
    """A host's ``maintenance_mode``: a period of its own and/or one in its cluster (CMON
    lists every host of a cluster with a host in maintenance as "cluster", ft_maintenance)."""
    return ",".join(n for n, on in (("host", own), ("cluster", cluster)) if on) or "none"


def cluster_affected(cluster: Cluster) -> bool:
    """Is the cluster, or one of its hosts, in maintenance (after ``refresh``)?"""
    return cluster.maintenance_mode_active or any("host" in h.maintenance_mode
                                                  for h in cluster.hosts)


def touch(world: World) -> None:
    """Hosts or clusters changed (a job added a node...): recompute the flags on next use."""
    book(world).dirty = True


def in_maintenance(world: World, now: float, cluster: Cluster, host: Host | None = None) -> bool:
    refresh(world, now)
    return host.maintenance_mode_active if host is not None else cluster.maintenance_mode_active


def _on_event(world: World, event: Event) -> None:
    """New or removed hosts and clusters need their flags recomputed."""
    if event.kind.partition(".")[0] in ("host", "cluster"):
        touch(world)
    if event.kind in ("cluster.removed", "cluster.deleted"):
        mb = book(world)
        for p in [p for p in mb.periods.values() if p.cluster_id == event.cluster_id]:
            mb.remove(p.uuid)


LISTENERS.append(_on_event)
