"""Replication links of MySQL replication and PostgreSQL clusters, and the jobs on them.

CMON shows a slave's link in its host object (``replication_slave``: master host and
port, thread states, positions) and the master's side in ``replication_master``;
s9s lists the links from those (``s9s replication --list``, ``%s`` = the slave's host
status). The jobs: ``stop_replication_slave`` (the slave's replication stops: CMON
then reports the host failed, the cluster DEGRADED), ``start_replication_slave``,
``stage_replication_slave`` (the slave is rebuilt from the master) and
``promote_replication_slave`` (the slave becomes the master). State:
``world.extensions["replication_stopped"]`` (cluster id, host name, port).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fakecmon.world.jobs import PLANS, JobContext, Step
from fakecmon.world.models import Cluster, Host
from fakecmon.world.state import World

KEY = "replication_stopped"
#: Cluster types whose nodes are linked master -> slaves.
REPLICATED = frozenset(("REPLICATION", "MYSQL_SINGLE", "POSTGRESQL_SINGLE"))
MASTER_ROLES = ("master", "primary")
SLAVE_ROLES = ("slave", "replica", "secondary")
ONLINE, FAILED = "CmonHostOnline", "CmonHostFailed"


def stopped(world: World) -> set[tuple[int, str, int]]:
    return world.extensions.setdefault(KEY, set())


def master_of(cluster: Cluster, host: Host) -> Host | None:
    """The master a slave replicates from: the cluster's master node of its kind."""
    return next((h for h in cluster.hosts if h.role in MASTER_ROLES
                 and h.nodetype == host.nodetype and h is not host), None)


def _uuid(cluster: Cluster, host: Host) -> str:
    d = hashlib.sha1(f"{cluster.cluster_id}/{host.hostname}:{host.port}".encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def replication_docs(world: World, cluster: Cluster, host: Host) -> dict[str, Any]:
    """``replication_slave`` of a slave, ``replication_master`` of a master ({} else)."""
    if cluster.cluster_type not in REPLICATED:
        return {}
    postgres = cluster.cluster_type == "POSTGRESQL_SINGLE"
    position = str(1575 + 97 * len(cluster.hosts))
    if host.role in MASTER_ROLES:
        if postgres:
            return {"replication_master": {"position": f"0/{int(position):X}000"}}
        return {"replication_master": {
            "binlog_do_db": "", "binlog_ignore_db": "",
            "exec_gtid": f"{_uuid(cluster, host)}:1-{position}", "file": "binlog.000001",
            "position": position, "semisync_status": "OFF"}}
    master = master_of(cluster, host) if host.role in SLAVE_ROLES else None
    if master is None:
        return {}
    running = host.online and master.online and (
        (cluster.cluster_id, host.hostname, host.port) not in stopped(world))
    yes = "Yes" if running else "No"
    if postgres:
        return {"replication_slave": {
            "master_host": master.hostname, "master_port": str(master.port),
            "replay_location": f"0/{int(position):X}000", "linkstatus": 1 if running else 0,
            "status": "streaming" if running else "stopped", "seconds_behind_master": "0"}}
    state = "Waiting for master to send event" if running else ""
    return {"replication_slave": {
        "exec_master_log_pos": int(position), "executed_gtid_set":
            f"{_uuid(cluster, master)}:1-{position}", "last_io_errno": "0", "last_io_error": "",
        "last_sql_errno": "0", "last_sql_error": "", "linkstatus": 1 if running else 0,
        "master_host": master.hostname, "master_log_file": "binlog.000001",
        "master_port": str(master.port), "master_server_id": str(1000 + master.host_id),
        "master_uuid": _uuid(cluster, master), "read_master_log_pos": position,
        "seconds_behind_master": "0" if running else "", "semisync_status": "OFF",
        "slave_io_running": yes, "slave_io_state": state, "slave_sql_running": yes,
        "status": state or "Replication is stopped.", "using_gtid": "ON"}}


# ---- the jobs

def _named(ctx: JobContext, key: str) -> tuple[Cluster, Host]:
    from fakecmon.world.job_effects import find_host, parse_node  # one parser of nodes
    cluster = ctx.cluster()
    if cluster.cluster_type not in REPLICATED:
        ctx.fail(f"Cluster {cluster.cluster_id} ('{cluster.cluster_name}') has no "
                 "replication slaves.")
    value = ctx.data.get(key)
    if value in (None, "", {}):
        ctx.fail(f"The 'job_data.{key}' field must name a node.")
    hostname, port, _ = parse_node(ctx, value, f"job_data.{key}")
    return cluster, find_host(ctx, cluster, hostname, port)


def _slave(ctx: JobContext) -> tuple[Cluster, Host]:
    cluster, host = _named(ctx, "replication_slave")
    if host.role not in SLAVE_ROLES or master_of(cluster, host) is None:
        ctx.fail(f"The node {host.hostname}:{host.port} is not a replication slave.")
    return cluster, host


def plan_stop_slave(ctx: JobContext) -> list[Step]:
    cluster, host = _slave(ctx)
    if (cluster.cluster_id, host.hostname, host.port) in stopped(ctx.world):
        ctx.fail(f"The replication on {host.hostname}:{host.port} is already stopped.")
    ctx.log(f"{host.hostname}:{host.port}: Stopping the replication slave.")
    return [Step(1, set_link, (cluster.cluster_id, host.hostname, host.port, False))]


def plan_start_slave(ctx: JobContext) -> list[Step]:
    cluster, host = _slave(ctx)
    ctx.log(f"{host.hostname}:{host.port}: Starting the replication slave.")
    return [Step(1, set_link, (cluster.cluster_id, host.hostname, host.port, True))]


def plan_stage_slave(ctx: JobContext) -> list[Step]:
    """Rebuild a slave from its master (``replication --stage``)."""
    cluster, host = _slave(ctx)
    master = master_of(cluster, host)
    if ctx.data.get("replication_master") not in (None, "", {}):
        master = _named(ctx, "replication_master")[1]
    assert master is not None
    where = f"{host.hostname}:{host.port}"
    ctx.log(f"{where}: Staging the slave from {master.hostname}:{master.port}.")
    from fakecmon.world.job_effects import note
    return [note(1, f"{where}: Copying the data from {master.hostname}:{master.port}."),
            Step(1, set_link, (cluster.cluster_id, host.hostname, host.port, True))]


def plan_promote_slave(ctx: JobContext) -> list[Step]:
    cluster, host = _slave(ctx)
    ctx.log(f"{host.hostname}:{host.port}: Promoting the slave to master.")
    return [Step(1, promote, (cluster.cluster_id, host.hostname, host.port))]


def set_link(ctx: JobContext, cluster_id: int, hostname: str, port: int, running: bool) -> None:
    """Start or stop a slave's replication; a stopped slave shows as failed, as in CMON."""
    from fakecmon.world.job_effects import _host_again, set_host_status
    cluster, host = _host_again(ctx, cluster_id, hostname, port)
    links = stopped(ctx.world)
    if running:
        links.discard((cluster_id, hostname, port))
        set_host_status(ctx, cluster, host, ONLINE)
    else:
        links.add((cluster_id, hostname, port))
        set_host_status(ctx, cluster, host, FAILED)
    ctx.log(f"{hostname}:{port}: The replication is {'running' if running else 'stopped'}.")


def promote(ctx: JobContext, cluster_id: int, hostname: str, port: int) -> None:
    from fakecmon.world.job_effects import _host_again, settle
    cluster, host = _host_again(ctx, cluster_id, hostname, port)
    old = master_of(cluster, host)
    if old is not None:
        old.role = host.role
    host.role = "master"
    stopped(ctx.world).discard((cluster_id, hostname, port))
    ctx.touch(cluster)
    settle(ctx, cluster_id)
    ctx.log(f"{hostname}:{port}: The node is the new master.")


PLANS.update({
    "stop_replication_slave": plan_stop_slave,
    "start_replication_slave": plan_start_slave,
    "stage_replication_slave": plan_stage_slave,
    "promote_replication_slave": plan_promote_slave,
})
