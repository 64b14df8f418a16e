"""CMON JSON shapes of world objects, in the field names and types clients decode."""

from __future__ import annotations

from typing import Any

from fakecmon.timefmt import rfc3339
from fakecmon.world import config
from fakecmon.world.cdt import cdt_of
from fakecmon.world.replication import replication_docs
from fakecmon.world.models import TIMEZONE, Cluster, Group, Host, Owned, User
from fakecmon.world.state import World


def _owner_fields(world: World, obj: Owned, cdt_path: str) -> dict[str, Any]:
    owner = world.users.get(obj.owner_user_id)
    group = world.groups.get(obj.owner_group_id)
    return {
        "cdt_path": cdt_path,
        "owner_user_id": obj.owner_user_id,
        "owner_user_name": owner.user_name if owner else "",
        "owner_group_id": obj.owner_group_id,
        "owner_group_name": group.group_name if group else "",
        "acl": str(obj.acl),
    }


def group_json(world: World, group: Group) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonGroup"}
    doc.update(_owner_fields(world, group, "/groups"))
    doc.update({"created": rfc3339(group.created), "group_id": group.group_id,
                "group_name": group.group_name})
    return doc


def _time_or_blank(when: float | None) -> str:
    return "" if when is None else rfc3339(when)


def user_json(world: World, user: User) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonUser"}
    doc.update(_owner_fields(world, user, "/"))
    if user.tags:
        doc["tags"] = list(user.tags)
    # CMON leaves out empty texts; the login times and counter are always there, a time
    # that never happened as "" (the 2021 captures left them out for users who never
    # logged in; today's CMON does not).
    fields: dict[str, Any] = {
        "created": rfc3339(user.created),
        "disabled": user.disabled,
        "email_address": user.email_address or None,
        "first_name": user.first_name or None,
        "last_failed_login": _time_or_blank(user.last_failed_login),
        "last_login": _time_or_blank(user.last_login),
        "last_name": user.last_name or None,
        "n_failed_logins": user.n_failed_logins,
        "origin": user.origin,
        "suspended": user.suspended,
        "title": user.title or None,
        "user_id": user.user_id,
        "user_name": user.user_name,
    }
    doc.update((k, v) for k, v in fields.items() if v is not None)
    doc["groups"] = [group_json(world, g) for g in world.user_groups(user)]
    doc["timezone"] = TIMEZONE
    return doc


JOB_STATES = ("ABORTED", "DEFINED", "DEQUEUED", "FAILED", "FINISHED", "RUNNING")


def job_statistics(world: World, cluster_id: int) -> dict[str, Any]:
    """``job_statistics.by_state``: counted by the jobs area when it is loaded."""
    counter = world.extensions.get("job_counts")
    by_state = dict.fromkeys(JOB_STATES, 0)
    if counter is not None:
        by_state.update(counter(cluster_id))
    return {"class_name": "CmonJobStatistics", "cluster_id": cluster_id, "by_state": by_state}


def alarm_statistics(world: World, cluster_id: int) -> dict[str, Any]:
    counter = world.extensions.get("alarm_counts")
    critical, warning = counter(cluster_id) if counter is not None else (0, 0)
    return {"class_name": "CmonAlarmStatistics", "cluster_id": cluster_id,
            "created_after": "1970-01-01T00:00:00.000Z", "critical": critical,
            "reported_after": "1970-01-01T00:00:00.000Z", "warning": warning}


def cluster_json(world: World, cluster: Cluster, now: float, *, privileges: str,
                 with_hosts: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonClusterInfo"}
    doc.update(_owner_fields(world, cluster, cdt_of(world).folder_of(cluster).path()))
    doc.update({
        "tags": list(cluster.tags),
        "cluster_auto_recovery": cluster.cluster_auto_recovery,
        "cluster_id": cluster.cluster_id,
        "cluster_name": cluster.cluster_name,
        "cluster_type": cluster.cluster_type,
        "configuration_file": f"/etc/cmon.d/cmon_{cluster.cluster_id}.cnf",
        "effective_privileges": privileges,
        "log_file": f"/var/log/cmon_{cluster.cluster_id}.log",
        "maintenance_mode_active": cluster.maintenance_mode_active,
        "managed": True,
        "node_auto_recovery": cluster.node_auto_recovery,
        "state": cluster.state,
        "status_text": cluster.status_text,
        "vendor": cluster.vendor,
        "version": cluster.version,
        "alarm_statistics": alarm_statistics(world, cluster.cluster_id),
        "job_statistics": job_statistics(world, cluster.cluster_id),
    })
    group = world.groups.get(cluster.owner_group_id)
    owner = world.users.get(cluster.owner_user_id)
    if group is not None:
        doc["group_owner"] = group_json(world, group)
    if owner is not None:
        doc["owner"] = user_json(world, owner)
    if with_hosts:
        doc["hosts"] = [host_json(world, cluster, h, now) for h in cluster.hosts] + [
            _controller_host(world, cluster, now)]
    return doc


def host_json(world: World, cluster: Cluster, host: Host, now: float) -> dict[str, Any]:
    """A node as CMON shows it: with the names of its owner and group (the cluster's),
    which s9s prints (``%O``/``%G``) instead of the bare ids."""
    doc = host.to_json(cluster, now)
    names = _owner_fields(world, cluster, _cluster_path(world, cluster))
    for key in ("cdt_path", "owner_user_name", "owner_group_name"):
        doc[key] = names[key]
    if host.nodetype != "controller":   # a list for nodes, as CMON sends (the capture)
        doc.setdefault("configfile", [config.config_path(world, cluster, host)])
    doc.update(replication_docs(world, cluster, host))
    return doc


def _cluster_path(world: World, cluster: Cluster) -> str:
    """Where the cluster is in the tree (``/<name>`` unless it was moved)."""
    folder = cdt_of(world).folder_of(cluster).path()
    return ("" if folder == "/" else folder) + "/" + cluster.cluster_name


def _controller_host(world: World, cluster: Cluster, now: float) -> dict[str, Any]:
    """CMON lists itself as a ``controller`` host in every cluster."""
    doc: dict[str, Any] = {"class_name": "CmonHost"}
    doc.update(_owner_fields(world, cluster, _cluster_path(world, cluster)))
    doc.update({
        "clusterid": cluster.cluster_id,
        "configfile": f"/etc/cmon.d/cmon_{cluster.cluster_id}.cnf",
        "connected": True, "container": False,
        "hostId": 100000 + cluster.cluster_id, "hostname": world.hostname,
        "hoststatus": "CmonHostOnline", "ip": world.hostname,
        "lastseen": int(now), "logfile": f"/var/log/cmon_{cluster.cluster_id}.log",
        "maintenance_mode": "none", "maintenance_mode_active": False,
        "message": "Up and running.", "nodetype": "controller", "pid": 4242,
        "pingstatus": -1, "pingtime": -1, "port": 9500, "role": "controller",
        "timestamp": int(now), "unique_id": 100000 + cluster.cluster_id,
        "uptime": int(now - world.created), "version": world.version,
        "wallclock": int(now), "wallclocktimestamp": int(now),
        "distribution": {"name": "ubuntu", "codename": "jammy", "release": "22.04",
                         "type": "debian"},
    })
    return doc
