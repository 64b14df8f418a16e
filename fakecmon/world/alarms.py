"""Alarms: raised by what the world looks like, plus the ones a world file declares.

CMON raises an alarm when it sees a problem and clears it when the problem goes
away. fakecmon does the same from the world's state: a host that is not
``CmonHostOnline`` has a host alarm, a ``FAILURE``/``DEGRADED`` cluster a cluster
alarm; bringing the host back clears it. ``sync`` reconciles one cluster's
derived alarms with its state (O(hosts of that cluster)); it runs when an event
says something changed and before alarms are read, so a test that changes a
host directly sees the alarm too. Hosts in maintenance raise nothing, as in CMON.

World-file alarms (section ``alarms``) stay until the world is reset. Every
alarm can be ignored (``ignored`` 0/1): it is still listed but not counted.
State: ``world.extensions["alarms"]`` (an ``AlarmBook``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon.events import LISTENERS, Event, emit
from fakecmon.timefmt import rfc3339
from fakecmon.world import maintenance
from fakecmon.world.models import Cluster, Host
from fakecmon.world.state import World

KEY = "alarms"

WARNING, CRITICAL = "ALARM_WARNING", "ALARM_CRITICAL"
SEVERITIES = {WARNING: 1, CRITICAL: 2}

COMPONENTS = {
    "Network": 0, "CmonDatabase": 1, "Mail": 2, "Cluster": 3, "ClusterConfiguration": 4,
    "ClusterRecovery": 5, "Node": 6, "Host": 7, "DbHealth": 8, "DbPerformance": 9,
    "SoftwareInstallation": 10, "Backup": 11, "Unknown": 12,
}


@dataclass(frozen=True)
class AlarmType:
    number: int
    component: str
    severity: str
    title: str
    recommendation: str


#: Alarm types fakecmon raises or knows the details of (world files may name others).
TYPES: dict[str, AlarmType] = {
    "HostUnreachable": AlarmType(10006, "Network", CRITICAL, "Host is not responding",
                                 "Restart failed host, check firewall."),
    "HostShutDown": AlarmType(10010, "Node", CRITICAL, "Node is shut down",
                              "Start the node again or remove it from the cluster."),
    "HostRecovering": AlarmType(10011, "Node", WARNING, "Node is recovering",
                                "Wait for the recovery to finish; check the node's log."),
    "ClusterFailure": AlarmType(2001, "Cluster", CRITICAL, "Cluster failure",
                                "Cluster failed, Cluster Recovery needed."),
    "ClusterDegraded": AlarmType(2002, "Cluster", WARNING, "Cluster degraded",
                                 "Not all nodes are operational; recover the failed nodes."),
    "ClusterTimeDrift": AlarmType(40000, "Cluster", WARNING, "System time is drifting",
                                  "Synchronize the system clock on the servers (NTP)."),
    "BackupFailed": AlarmType(11001, "Backup", CRITICAL, "Backup failed",
                              "Check the backup job's log and the free space of the backup host."),
    "BackupVerificationFailed": AlarmType(11004, "Backup", WARNING, "Backup verification failed",
                                          "Check the backup's files and restore it on a test host."),
    "DiskSpaceUsageHigh": AlarmType(10003, "Host", WARNING, "Disk space usage is high",
                                    "Free up disk space or add storage."),
    "CpuUsageHigh": AlarmType(10001, "Host", WARNING, "CPU usage is high",
                              "Find the processes using the CPU; consider scaling up."),
    "MemoryUsageHigh": AlarmType(10002, "Host", WARNING, "RAM utilization is high",
                                 "Check the memory settings of the database server."),
    "ReplicationLag": AlarmType(3002, "Node", WARNING, "Replication lag",
                                "Check the replica's load and the network to the primary."),
}

#: Host status -> the alarm type a host in that status raises.
HOST_STATUS_ALARMS = {
    "CmonHostOffLine": "HostUnreachable",
    "CmonHostFailed": "HostUnreachable",
    "CmonHostUnknown": "HostUnreachable",
    "CmonHostShutDown": "HostShutDown",
    "CmonHostRecovery": "HostRecovering",
}
CLUSTER_STATE_ALARMS = {"FAILURE": "ClusterFailure", "DEGRADED": "ClusterDegraded"}


@dataclass(slots=True)
class Alarm:
    alarm_id: int
    cluster_id: int
    type_name: str
    severity_name: str
    component_name: str
    title: str
    message: str
    recommendation: str
    created: float
    reported: float
    hostname: str = ""
    host_id: int = 0
    counter: int = 1
    ignored: int = 0
    type_number: int = 0
    derived: bool = False           # raised from the world's state (and cleared with it)
    key: tuple[Any, ...] = field(default=())

    @property
    def critical(self) -> bool:
        return self.severity_name == CRITICAL

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "class_name": "CmonAlarm",
            "alarm_id": self.alarm_id,
            "cluster_id": self.cluster_id,
            "component": COMPONENTS.get(self.component_name, COMPONENTS["Unknown"]),
            "component_name": self.component_name,
            "counter": self.counter,
            "created": rfc3339(self.created),
        }
        if self.hostname:
            doc["host_id"] = self.host_id
        doc.update({
            "hostname": self.hostname,
            "ignored": self.ignored,
            "measured": 0,
            "message": self.message,
            "recommendation": self.recommendation,
            "reported": rfc3339(self.reported),
            "severity": SEVERITIES.get(self.severity_name, 1),
            "severity_name": self.severity_name,
            "title": self.title,
            "type": self.type_number,
            "type_name": self.type_name,
        })
        return doc


class AlarmBook:
    """All alarms of a world by id; derived ones also by what raised them."""

    def __init__(self, now: float = 0.0) -> None:
        self.alarms: dict[int, Alarm] = {}
        self.derived: dict[tuple[Any, ...], int] = {}
        #: cluster id -> its alarms by id: a cluster's alarms without a scan of the
        #: world's (cluster views count them for every cluster they show).
        self._by_cluster: dict[int, dict[int, Alarm]] = {}
        self.next_id = 1
        #: The controller time of the request being served (set before every call), for
        #: readers that have no clock at hand (``alarm_statistics`` in cluster views).
        self.now = now

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def add(self, alarm: Alarm) -> Alarm:
        self.alarms[alarm.alarm_id] = alarm
        self._by_cluster.setdefault(alarm.cluster_id, {})[alarm.alarm_id] = alarm
        if alarm.derived:
            self.derived[alarm.key] = alarm.alarm_id
        return alarm

    def remove(self, alarm_id: int) -> Alarm | None:
        alarm = self.alarms.pop(alarm_id, None)
        if alarm is not None:
            self._by_cluster.get(alarm.cluster_id, {}).pop(alarm_id, None)
            if alarm.derived:
                self.derived.pop(alarm.key, None)
        return alarm

    def of_cluster(self, cluster_id: int) -> list[Alarm]:
        return list(self._by_cluster.get(cluster_id, {}).values())


def book(world: World) -> AlarmBook:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = AlarmBook(world.created)
    return found


class AlarmCounter:
    """``world.extensions["alarm_counts"]``: cluster id -> (critical, warning).

    An object rather than a closure so that a deep copy of the world (snapshots)
    counts its own alarms.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def __call__(self, cluster_id: int) -> tuple[int, int]:
        return counts(self.world, cluster_id, book(self.world).now)


def make_alarm(mb: AlarmBook, *, cluster_id: int, type_name: str, now: float,
               message: str = "", hostname: str = "", host_id: int = 0,
               severity: str | None = None, title: str | None = None,
               recommendation: str | None = None, component: str | None = None) -> Alarm:
    """A new alarm with the known details of its type filled in."""
    known = TYPES.get(type_name)
    return Alarm(
        alarm_id=mb.new_id(), cluster_id=cluster_id, type_name=type_name,
        severity_name=severity or (known.severity if known else WARNING),
        component_name=component or (known.component if known else "Unknown"),
        title=title or (known.title if known else type_name),
        message=message or (known.title if known else type_name) + ".",
        recommendation=recommendation if recommendation is not None else (
            known.recommendation if known else ""),
        created=now, reported=now, hostname=hostname, host_id=host_id,
        type_number=known.number if known else 0,
    )


def _wanted(cluster: Cluster) -> dict[tuple[Any, ...], tuple[str, Host | None]]:
    """What the cluster's state raises: key -> (alarm type, host)."""
    wanted: dict[tuple[Any, ...], tuple[str, Host | None]] = {}
    if not cluster.maintenance_mode_active:
        ctype = CLUSTER_STATE_ALARMS.get(cluster.state)
        if ctype is not None:
            wanted[(cluster.cluster_id, ctype, 0)] = (ctype, None)
    for host in cluster.hosts:
        htype = HOST_STATUS_ALARMS.get(host.hoststatus)
        if htype is not None and not host.maintenance_mode_active:
            wanted[(cluster.cluster_id, htype, host.host_id)] = (htype, host)
    return wanted


def _host_message(type_name: str, host: Host) -> str:
    name = host.hostname
    if type_name == "HostUnreachable":
        return (f"Server {name} reports: Host {name} is not responding to ping after 3 cycles,"
                " the host is most likely unreachable.")
    if type_name == "HostShutDown":
        return f"Server {name} reports: The node {name}:{host.port} is shut down."
    return f"Server {name} reports: The node {name}:{host.port} is in recovery."


def sync(world: World, cluster: Cluster, now: float) -> None:
    """Raise the alarms the cluster's state calls for and clear the ones it no longer does."""
    maintenance.refresh(world, now)
    mb = book(world)
    wanted = _wanted(cluster)
    gone = [a for a in mb.of_cluster(cluster.cluster_id) if a.derived and a.key not in wanted]
    for alarm in gone:
        mb.remove(alarm.alarm_id)
        emit(world, Event("alarm.cleared", now, cluster_id=cluster.cluster_id,
                          message=f"Alarm '{alarm.title}' is cleared.",
                          data={"alarm": alarm.to_json()}))
    for key, (type_name, host) in wanted.items():
        if key in mb.derived:
            continue
        if host is None:
            alarm = make_alarm(mb, cluster_id=cluster.cluster_id, type_name=type_name, now=now,
                               message=f"Cluster {cluster.cluster_name} state is "
                                       f"{cluster.state}: {cluster.status_text}")
        else:
            alarm = make_alarm(mb, cluster_id=cluster.cluster_id, type_name=type_name, now=now,
                               message=_host_message(type_name, host),
                               hostname=host.hostname, host_id=host.host_id)
        alarm.derived, alarm.key = True, key
        mb.add(alarm)
        emit(world, Event("alarm.raised", now, cluster_id=cluster.cluster_id,
                          message=f"Alarm '{alarm.title}' is raised.",
                          data={"alarm": alarm.to_json()}))


def drop_cluster(world: World, cluster_id: int) -> None:
    """A removed cluster takes its alarms with it."""
    mb = book(world)
    for alarm in mb.of_cluster(cluster_id):
        mb.remove(alarm.alarm_id)


def counts(world: World, cluster_id: int, now: float) -> tuple[int, int]:
    """(critical, warning) alarms of a cluster that are not ignored."""
    cluster = world.clusters.get(cluster_id)
    if cluster is not None:
        sync(world, cluster, now)
    critical = warning = 0
    for alarm in book(world).of_cluster(cluster_id):
        if alarm.ignored:
            continue
        if alarm.critical:
            critical += 1
        else:
            warning += 1
    return critical, warning


def statistics_json(world: World, cluster_id: int, now: float) -> dict[str, Any]:
    critical, warning = counts(world, cluster_id, now)
    return {"class_name": "CmonAlarmStatistics", "cluster_id": cluster_id,
            "created_after": "1970-01-01T00:00:00.000Z", "critical": critical,
            "reported_after": "1970-01-01T00:00:00.000Z", "warning": warning}


def _on_event(world: World, event: Event) -> None:
    """Host and cluster changes raise or clear their alarms when they happen."""
    prefix = event.kind.partition(".")[0]
    if event.kind in ("cluster.removed", "cluster.deleted"):
        drop_cluster(world, event.cluster_id)
        return
    if prefix not in ("host", "cluster", "maintenance"):
        return
    cluster = world.clusters.get(event.cluster_id)
    if cluster is not None:
        sync(world, cluster, event.time)


LISTENERS.append(_on_event)
