"""What jobs do: one plan per command, with the log lines CMON writes and the world changes.

A plan function runs when its job starts: it checks that the job can do what it
asks (unknown host, cluster in the wrong state, bad job data: ``ctx.fail(why)``)
and returns the steps of the job, each a module-level function with plain
arguments, applied at its moment. Steps look things up again by id and name, so
a host or cluster that disappeared meanwhile fails the job instead of the server.

Commands with world effects: create_cluster, add_cluster, remove_cluster,
addnode, removenode, stop, start, restart, reboot, stop_cluster, start_cluster,
rolling_restart, backup, restore_backup, delete_backup, create_maintenance, and
the test commands success and fail. Every other known command runs through the
lifecycle without changing the world; an unknown command fails.
"""

from __future__ import annotations

from typing import Any

from fakecmon.timefmt import check_epoch, parse_time, rfc3339
from fakecmon.world import config, container_jobs, maintenance
from fakecmon.world.acl import Acl
from fakecmon.world.backups import (
    backups_of, default_method, expand_subdir, make_record, subdir_is_fixed,
)
from fakecmon.world.cdt import cdt_of
from fakecmon.world.dbaccounts import Account, accounts_of, grant_list
from fakecmon.world.jobs import (
    AUX_NODETYPES, JOB_SUCCESS, PLANS, JobContext, Step, data_hosts, reconcile,
    set_cluster_state,
)
from fakecmon.world.models import CLUSTER_ACL, HOST_CLASSES, NODETYPE_CLASSES, Cluster, Host

ONLINE, SHUT_DOWN = "CmonHostOnline", "CmonHostShutDown"
#: Cluster states a job sets for its whole run; host changes do not override them.
TRANSITIONAL = frozenset(("SHUTTING_DOWN", "STARTING", "RECOVERING"))

NodeSpec = tuple[str, "int | None", dict[str, Any]]


# ---- small steps

def say(ctx: JobContext, text: str, status: str = JOB_SUCCESS) -> None:
    ctx.log(text, status)


def note(weight: float, text: str, status: str = JOB_SUCCESS) -> Step:
    """A step that only writes a log line (time passes before it)."""
    return Step(weight, say, (text, status))


def doing(ctx: JobContext, status_text: str, text: str) -> None:
    """Set the status text that ``--wait`` shows and log what happens."""
    ctx.status(status_text)
    ctx.log(text)


def failing(ctx: JobContext, reason: str) -> None:
    ctx.fail(reason)


# ---- job data: nodes and hosts

def _port(ctx: JobContext, value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65535:
        return value
    ctx.fail(f"Invalid port {value!r} in '{where}'.")


def _split(text: str) -> tuple[str, str | None]:
    """``host``, ``host:port``, ``[v6]:port`` or ``proto://host:port``."""
    t = text.strip().split("://", 1)[-1]
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if t.count(":") == 1:
        host, port = t.split(":")
        return host, port
    return t, None


def parse_node(ctx: JobContext, value: Any, where: str) -> NodeSpec:
    if isinstance(value, str):
        host, port_text = _split(value)
        return _checked(ctx, host, _port(ctx, port_text, where), {}, where)
    if isinstance(value, dict):
        host = next((value[k] for k in ("hostname", "host_name", "hostname_data", "host")
                     if isinstance(value.get(k), str) and value[k]), None)
        return _checked(ctx, host, _port(ctx, value.get("port"), where), value, where)
    ctx.fail(f"Invalid node in '{where}': expected an object with a hostname "
             "or a 'host:port' string.")


def _checked(ctx: JobContext, host: Any, port: int | None, extra: dict[str, Any],
             where: str) -> NodeSpec:
    if not isinstance(host, str) or not host.strip():
        ctx.fail(f"A node in '{where}' has no hostname.")
    return host.strip(), port, extra


def job_nodes(ctx: JobContext) -> list[NodeSpec]:
    """The nodes a job names: ``node``, ``nodes[]`` or ``hostname``/``port``."""
    data = ctx.data
    specs: list[NodeSpec] = []
    if data.get("node") not in (None, "", {}):
        specs.append(parse_node(ctx, data["node"], "job_data.node"))
    nodes = data.get("nodes")
    if nodes not in (None, ""):
        if not isinstance(nodes, list):
            ctx.fail("The 'job_data.nodes' field must be a list of nodes.")
        specs += [parse_node(ctx, n, f"job_data.nodes[{i}]") for i, n in enumerate(nodes)]
    if not specs and isinstance(data.get("hostname"), str) and data["hostname"].strip():
        specs.append((data["hostname"].strip(), _port(ctx, data.get("port"), "job_data.port"), {}))
    seen: set[tuple[str, int | None, str]] = set()
    unique = []
    for spec in specs:   # one host may carry a database node and a balancer (PgBouncer://)
        key = (spec[0], spec[1], node_kind(spec[2]))
        if key not in seen:
            seen.add(key)
            unique.append(spec)
    return unique


#: Host class -> node type: s9s names a node's kind by its class (``PgBouncer://HOST``
#: sends ``class_name: CmonPgBouncerHost``).
CLASS_NODETYPES = {cls: nodetype for nodetype, cls in NODETYPE_CLASSES.items()}


def node_kind(extra: dict[str, Any]) -> str:
    """The node kind a job's node spec names (``nodetype``, ``node_type``, its
    ``class_name`` or its ``protocol``: ``MongoCfg://HOST``), "" when it leaves it to
    the cluster type."""
    protocol = extra.get("protocol")
    protocol = protocol.lower() if isinstance(protocol, str) else ""
    kind = extra.get("nodetype") or extra.get("node_type") or CLASS_NODETYPES.get(
        extra.get("class_name"), "") or (protocol if protocol in MONGO_KINDS else "")
    return kind.lower() if isinstance(kind, str) else ""


#: The MongoDB node kinds s9s names (create_cluster's ``nodes[].protocol``, addnode's
#: ``node_type``): each a ``mongo`` node, told apart by its role -> (role, default port);
#: no role: a data node, primary or secondary of its replica set.
MONGO_KINDS = {"mongodb": ("", 27017), "mongocfg": ("configsvr", 27019),
               "mongos": ("mongos", 27017), "arbiter": ("arbiter", 27017)}


def kind_of(kind: str, default_port: int) -> tuple[str, str, int]:
    """(nodetype, role or "" for a data node, default port) of a node kind: a balancer
    is its own kind and role, the MongoDB kinds are ``mongo`` nodes."""
    if kind in BALANCERS:
        return kind, kind, BALANCERS[kind][1]
    if kind in MONGO_KINDS:
        return "mongo", *MONGO_KINDS[kind]
    return kind, "", default_port


def _name(hostname: str, port: int | None) -> str:
    return f"{hostname}:{port}" if port else hostname


def find_host(ctx: JobContext, cluster: Cluster, hostname: str, port: int | None) -> Host:
    """The cluster's host by name (or ip) and optional port; data nodes win over proxies."""
    found = [h for h in cluster.hosts
             if hostname in (h.hostname, h.ip, h.hostname_internal)
             and (port is None or h.port == port)]
    if not found:
        ctx.fail(f"Host {_name(hostname, port)} is not found in cluster {cluster.cluster_id} "
                 f"('{cluster.cluster_name}').")
    found.sort(key=lambda h: h.nodetype in AUX_NODETYPES)
    return found[0]


def one_node(ctx: JobContext, cluster: Cluster) -> Host:
    specs = job_nodes(ctx)
    if not specs:
        ctx.fail(f"The '{ctx.job.command}' job needs a node: set 'job_data.node' "
                 "(or 'job_data.hostname').")
    return find_host(ctx, cluster, specs[0][0], specs[0][1])


def set_host_status(ctx: JobContext, cluster: Cluster, host: Host, status: str) -> None:
    """Change a host's status, say so in an event, and let the cluster state follow."""
    if host.hoststatus == status:
        return
    old, host.hoststatus = host.hoststatus, status
    if status == ONLINE:
        host.started_at = ctx.now
    ctx.touch(cluster)
    ctx.emit("host.status", f"Host {host.hostname}:{host.port} status changed: {old} -> {status}.",
             cluster.cluster_id, hostname=host.hostname, port=host.port, host_id=host.host_id,
             previous=old, hoststatus=status)
    settle(ctx, cluster.cluster_id)


def settle(ctx: JobContext, cluster_id: int, force: bool = False) -> None:
    """The cluster's state follows its hosts, unless a job holds it in a transition."""
    cluster = ctx.world.clusters.get(cluster_id)
    if cluster is not None and (force or cluster.state not in TRANSITIONAL):
        reconcile(ctx.world, cluster, ctx.now, ctx.job)


def _host_again(ctx: JobContext, cluster_id: int, hostname: str, port: int) -> tuple[Cluster, Host]:
    cluster = ctx.cluster(cluster_id)
    host = cluster.host(hostname, port)
    if host is None:
        ctx.fail(f"Host {hostname}:{port} is no longer in cluster {cluster_id}.")
    return cluster, host


def stop_host(ctx: JobContext, cluster_id: int, hostname: str, port: int) -> None:
    cluster, host = _host_again(ctx, cluster_id, hostname, port)
    set_host_status(ctx, cluster, host, SHUT_DOWN)
    doing(ctx, f"Node {hostname}:{port} is stopped.", f"{hostname}:{port}: Node is stopped.")


def start_host(ctx: JobContext, cluster_id: int, hostname: str, port: int) -> None:
    cluster, host = _host_again(ctx, cluster_id, hostname, port)
    set_host_status(ctx, cluster, host, ONLINE)
    doing(ctx, f"Node {hostname}:{port} is started.", f"{hostname}:{port}: Node is started.")


def set_state(ctx: JobContext, cluster_id: int, state: str) -> None:
    cluster = ctx.cluster(cluster_id)
    ctx.touch(cluster)
    set_cluster_state(ctx.world, cluster, state, ctx.now, ctx.job)


def finish_cluster(ctx: JobContext, cluster_id: int, text: str) -> None:
    settle(ctx, cluster_id, force=True)
    ctx.log(text)


# ---- test commands and the commands without world effects

#: ``job_data`` settings CMON takes that the simulation does not act on (fakecmon has
#: no packages or firewalls): each plan logs them (``JobContext.settings``; the SSH
#: settings every job takes are logged by ``jobs.run_plan``).
NODE_SETUP = ("disable_firewall", "disable_selinux", "enable_uninstall", "use_internal_repos",
              "deploy_agents")


def plan_success(ctx: JobContext) -> list[Step]:
    ctx.log("This is a test job: it is destined to succeed.")
    return [note(1, "Simulated work is in progress."), note(1, "Simulated work is done.")]


def plan_fail(ctx: JobContext) -> list[Step]:
    ctx.log("This is a test job: it is destined to fail.")
    return [note(1, "Simulated work is in progress."),
            Step(1, failing, ("Simulated failure: the job failed as it was asked to.",))]


def plan_generic(ctx: JobContext) -> list[Step]:
    """Commands fakecmon knows but does not simulate: checked, logged, finished."""
    job = ctx.job
    ctx.log("Checking job parameters.")
    where = ""
    if job.cluster_id:
        cluster = ctx.cluster()
        where = f" on cluster {cluster.cluster_id} ('{cluster.cluster_name}')"
    return [Step(1, doing, (f"Running {job.command}.", f"Executing '{job.title}'{where}.")),
            note(1, f"'{job.command}' is done.")]


# ---- clusters: create, import, remove

CLUSTER_TYPES: dict[str, str] = {t.lower(): t for t in HOST_CLASSES}
CLUSTER_TYPES.update({
    "mysqlreplication": "REPLICATION", "mysql_replication": "REPLICATION",
    "mysql": "REPLICATION", "groupreplication": "GROUP_REPLICATION",
    "group_repl": "GROUP_REPLICATION", "ndb": "MYSQLCLUSTER", "ndbcluster": "MYSQLCLUSTER",
    "mysql_cluster": "MYSQLCLUSTER", "postgresql": "POSTGRESQL_SINGLE",
    "postgres": "POSTGRESQL_SINGLE", "mongo": "MONGODB", "elasticsearch": "ELASTIC",
    "mssql": "MSSQL_SINGLE",
})
VENDORS = {"GALERA": "percona", "REPLICATION": "percona", "MYSQL_SINGLE": "percona",
           "GROUP_REPLICATION": "oracle", "MYSQLCLUSTER": "oracle",
           "POSTGRESQL_SINGLE": "default", "MONGODB": "percona", "REDIS": "redis",
           "VALKEY": "valkey", "REDIS_SHARDED": "redis", "ELASTIC": "elasticsearch",
           "MSSQL_SINGLE": "microsoft", "MSSQL_AO_ASYNC": "microsoft", "CLICKHOUSE": "clickhouse"}
VERSIONS = {"GALERA": "8.0", "REPLICATION": "8.0", "MYSQL_SINGLE": "8.0",
            "GROUP_REPLICATION": "8.0", "MYSQLCLUSTER": "8.0", "POSTGRESQL_SINGLE": "16",
            "MONGODB": "7.0", "REDIS": "7", "VALKEY": "8", "REDIS_SHARDED": "7",
            "ELASTIC": "8.15", "MSSQL_SINGLE": "2022", "MSSQL_AO_ASYNC": "2022",
            "CLICKHOUSE": "24.8"}
#: cluster_type -> (role of the first node, role of the others)
ROLES = {"GALERA": ("master", "master"), "REPLICATION": ("master", "slave"),
         "MYSQL_SINGLE": ("master", "slave"), "GROUP_REPLICATION": ("primary", "secondary"),
         "POSTGRESQL_SINGLE": ("master", "slave"), "MONGODB": ("primary", "secondary"),
         "REDIS": ("master", "slave"), "VALKEY": ("master", "slave"),
         "MSSQL_AO_ASYNC": ("primary", "secondary")}
#: NDB host lists of add_cluster/create_cluster -> (nodetype, class_name, default port)
NDB_LISTS = {"mysql_hostnames": ("mysql", "CmonMySqlHost", 3306),
             "mgmd_hostnames": ("mgmd", "CmonNdbHost", 1186),
             "ndbd_hostnames": ("ndbd", "CmonNdbHost", 2200)}


def _host_owner(world: Any, hostname: str) -> Cluster | None:
    for cluster in world.clusters.values():
        if any(h.hostname == hostname for h in cluster.hosts):
            return cluster
    return None


def plan_create_cluster(ctx: JobContext) -> list[Step]:
    """create_cluster installs a new cluster, add_cluster registers a running one."""
    ctx.settings(*NODE_SETUP, "topology", "db_user", "db_password", "mysql_user", "mysql_password",
                 "postgre_user", "postgre_password", "mongodb_user", "mongodb_password",
                 "install_timescaledb",
                 "replication_user", "replication_password", "enable_ssl", "mysql_semi_sync",
                 "percona_client_id", "percona_pro_token", "remote_cluster_id", "backup_id")
    data, importing = ctx.data, ctx.job.command == "add_cluster"
    ctx.log("Checking job parameters.")
    raw_type = data.get("cluster_type") or data.get("type")
    if not isinstance(raw_type, str) or not raw_type:
        ctx.fail("The 'job_data.cluster_type' is missing.")
    ctype = CLUSTER_TYPES.get(raw_type.lower())
    if ctype is None:
        ctx.fail(f"Cluster type '{raw_type}' is not supported.")
    name = data.get("cluster_name", "")
    if not isinstance(name, str) or "/" in name:
        ctx.fail(f"Invalid cluster name {name!r}.")
    if name and ctx.world.cluster_by_name(name) is not None and importing:
        ctx.fail(f"A cluster with the name '{name}' already exists.")
    vendor = str(data.get("vendor") or VENDORS.get(ctype, "default"))
    version = str(data.get("version") or data.get("mongodb_version")   # s9s: MongoDB's own key
                  or VERSIONS.get(ctype, ""))
    nodes = _cluster_nodes(ctx, ctype)
    if not nodes:
        ctx.fail("No nodes are given for the cluster ('job_data.nodes').")
    for node in nodes:
        owner = _host_owner(ctx.world, node["hostname"])
        if owner is not None:
            ctx.fail(f"Host {node['hostname']} is already in cluster {owner.cluster_id} "
                     f"('{owner.cluster_name}').")
    tags = data.get("tags", data.get("with_tags", []))
    if isinstance(tags, str):
        tags = [t for t in tags.replace(",", ";").split(";") if t]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        ctx.fail("The 'job_data.tags' must be a list of strings.")
    spec = {"name": name, "type": ctype, "vendor": vendor, "version": version,
            "tags": tags, "nodes": nodes}
    ctx.log(f"Cluster type: {ctype.lower()}, vendor: {vendor}, version: {version}, "
            f"{len(nodes)} node(s).")
    steps = []
    if not importing and data.get("containers"):   # --containers: nodes in new containers
        steps += container_jobs.container_steps(ctx, data["containers"])
    steps += [note(1, f"{n['hostname']}: Checking SSH access.") for n in nodes]
    install = not importing and data.get("install_software", True) is not False
    for n in nodes:
        where = f"{n['hostname']}:{n['port']}"
        if importing:
            steps.append(note(1, f"{where}: Detecting the {n['nodetype']} node."))
        else:
            if install:
                steps.append(Step(2, doing, (f"Installing software on {n['hostname']}.",
                                             f"{where}: Installing {vendor} {version} packages.")))
            steps.append(note(1, f"{where}: Writing the configuration."))
            if data.get("install_timescaledb") is True:    # s9s --with-timescaledb
                steps.append(note(1, f"{where}: Installing the TimescaleDB extension."))
            steps.append(note(1, f"{where}: Starting the node."))
    steps.append(Step(1, register_cluster, (spec,)))
    return steps


def _cluster_nodes(ctx: JobContext, ctype: str) -> list[dict[str, Any]]:
    default_class, default_type, default_port, _ = HOST_CLASSES[ctype]
    first_role, other_role = ROLES.get(ctype, ("", ""))
    found: list[dict[str, Any]] = []
    for hostname, port, extra in job_nodes(ctx):
        if not all(isinstance(extra.get(k, ""), str) for k in ("nodetype", "node_type")):
            ctx.fail(f"Invalid nodetype for node {hostname}.")
        nodetype, role, kind_port = kind_of(node_kind(extra) or default_type, default_port)
        rs = extra.get("rs", "")     # a MongoDB replica set (``mongodb://HOST?rs=NAME``)
        if not role:                 # a data node: the first of its replica set leads
            peers = sum(1 for n in found if n["data"] and n["rs"] == rs)
            role = first_role if peers == 0 else other_role
        found.append({"hostname": hostname, "port": port or kind_port, "nodetype": nodetype,
                      "class_name": NODETYPE_CLASSES.get(nodetype, default_class),
                      "role": role, "data": role in (first_role, other_role), "rs": rs})
    for key, (nodetype, class_name, port) in NDB_LISTS.items():
        names = ctx.data.get(key) or []
        if not isinstance(names, list):
            ctx.fail(f"The 'job_data.{key}' field must be a list.")
        for value in names:
            hostname, _, extra = parse_node(ctx, value, f"job_data.{key}")
            found.append({"hostname": hostname, "port": port, "nodetype": nodetype,
                          "class_name": class_name, "role": nodetype})
    return found


def register_cluster(ctx: JobContext, spec: dict[str, Any]) -> None:
    world, job = ctx.world, ctx.job
    cid = world.next_cluster_id()
    name = spec["name"] or f"cluster_{cid}"
    if world.cluster_by_name(name) is not None:
        if job.command == "add_cluster":
            ctx.fail(f"A cluster with the name '{name}' already exists.")
        name = _free_name(world, name)   # CMON renames a new cluster: NAME~1, NAME~2...
        ctx.log(f"The cluster name is taken, the new cluster is called '{name}'.")
    spec["nodes"] = [_in_container(world, node) for node in spec["nodes"]]
    for node in spec["nodes"]:
        owner = _host_owner(world, node["hostname"])
        if owner is not None:
            ctx.fail(f"Host {node['hostname']} is already in cluster {owner.cluster_id}.")
    datadir = _datadir(spec["type"], spec["version"])
    hosts = [Host(host_id=world.next_host_id(), hostname=n["hostname"], port=n["port"],
                  class_name=n["class_name"], nodetype=n["nodetype"], role=n["role"],
                  version=spec["version"], started_at=ctx.now,
                  datadir=datadir if n["nodetype"] not in AUX_NODETYPES else "",
                  extra={"container_id": n["container_id"]} if "container_id" in n else {})
             for n in spec["nodes"]]
    group = job.group_id if job.group_id in world.groups else 1
    cluster = Cluster(cluster_id=cid, cluster_name=name, cluster_type=spec["type"],
                      vendor=spec["vendor"], version=spec["version"], state="STARTED",
                      status_text="All nodes are operational.", tags=list(spec["tags"]),
                      hosts=hosts, owner_user_id=job.user_id, owner_group_id=group,
                      acl=Acl.parse(CLUSTER_ACL), created=ctx.now)
    world.add_cluster(cluster)
    config.book(world).values.setdefault(cid, {})["created_by_job"] = job.job_id
    tree = cdt_of(world)   # next to its creator's user object (CMON's chroot), else at '/'
    tree.place(cluster, tree.home_of(world.users.get(job.user_id)))
    _admin_account(ctx, cluster)
    ctx.emit("cluster.created", f"Cluster {cid} '{name}' is created.", cid,
             cluster_name=name, cluster_type=spec["type"])
    verb = "registered" if job.command == "add_cluster" else "created"
    doing(ctx, f"Cluster {cid} is {verb}.", f"Cluster {cid} ('{name}') is {verb}.")


def _free_name(world: Any, name: str) -> str:
    n = 1
    while world.cluster_by_name(f"{name}~{n}") is not None:
        n += 1
    return f"{name}~{n}"


def _first_text(*values: Any) -> str:
    """The first non-empty string of ``values`` ("" when none)."""
    return next((v for v in values if isinstance(v, str) and v), "")


def _admin_account(ctx: JobContext, cluster: Cluster) -> None:
    """The database admin the job names (``--db-admin``: ``postgre_user``, ``mysql_user``
    or ``db_user``) is an account of the new cluster."""
    name = _first_text(ctx.data.get("postgre_user"), ctx.data.get("mysql_user"),
                       ctx.data.get("mongodb_user"), ctx.data.get("db_user"))
    if not name or accounts_of(ctx.world, cluster).find(name, None) is not None:
        return
    password = _first_text(ctx.data.get("postgre_password"), ctx.data.get("mysql_password"),
                           ctx.data.get("mongodb_password"),
                           ctx.data.get("db_password"))
    accounts_of(ctx.world, cluster).add(Account(
        name, "%" if cluster.cluster_type != "POSTGRESQL_SINGLE" else "", password,
        grant_list("*.*:ALL"), system_user=True, created=ctx.now))


def plan_remove_cluster(ctx: JobContext) -> list[Step]:
    ctx.settings("cluster_name")
    cluster = ctx.cluster()
    cid = cluster.cluster_id
    ctx.log(f"Removing cluster {cid} ('{cluster.cluster_name}') from the controller.")
    steps = []
    if ctx.data.get("enable_uninstall") is True:
        steps += [note(1, f"{h.hostname}: Uninstalling the software.") for h in cluster.hosts]
    steps.append(note(1, "Removing the cluster's configuration and monitoring data."))
    steps.append(Step(1, unregister_cluster, (cid, ctx.data.get("remove_backups") is True)))
    return steps


def unregister_cluster(ctx: JobContext, cluster_id: int, remove_backups: bool) -> None:
    cluster = ctx.cluster(cluster_id)
    ctx.world.remove_cluster(cluster)
    # The cluster's backup records go with it (no orphans); ``remove_backups`` also
    # deletes the backup files, which fakecmon only says.
    gone = backups_of(ctx.world).remove_cluster(cluster_id)
    if remove_backups:
        ctx.log(f"{gone} backup record(s) of the cluster are removed.")
    ctx.emit("cluster.removed", f"Cluster {cluster_id} '{cluster.cluster_name}' is removed.",
             cluster_id, cluster_name=cluster.cluster_name)
    doing(ctx, f"Cluster {cluster_id} is removed.", f"Cluster {cluster_id} is removed.")


# ---- nodes: add, remove, stop, start, restart

def plan_addnode(ctx: JobContext) -> list[Step]:
    ctx.settings(*NODE_SETUP, "master_delay", "replicaset")
    cluster = ctx.cluster()
    specs = job_nodes(ctx)
    if not specs:
        ctx.fail("No node to add: set 'job_data.node' or 'job_data.nodes'.")
    if cluster.state in ("STOPPED", "FAILURE", "SHUTTING_DOWN"):
        ctx.fail(f"The cluster is in state {cluster.state}: nodes can only be added to a "
                 "running cluster.")
    return _join_steps(ctx, cluster, specs)


def plan_add_replication_slave(ctx: JobContext) -> list[Step]:
    """``cluster --add-node --nodes="MASTER?master;SLAVE?slave"`` of a replication
    cluster (PostgreSQL, MySQL): ``job_data.slave_address`` joins as a slave of
    ``master_address``, which must be a node of the cluster."""
    ctx.settings(*NODE_SETUP)
    cluster = ctx.cluster()
    master = ctx.data.get("master_address")
    slave = ctx.data.get("slave_address")
    if not isinstance(slave, str) or not slave.strip():
        ctx.fail("The 'job_data.slave_address' field must name the new slave.")
    if master not in (None, ""):
        host, port, _ = parse_node(ctx, master, "job_data.master_address")
        find_host(ctx, cluster, host, port)
    if cluster.state in ("STOPPED", "FAILURE", "SHUTTING_DOWN"):
        ctx.fail(f"The cluster is in state {cluster.state}: nodes can only be added to a "
                 "running cluster.")
    return _join_steps(ctx, cluster, [parse_node(ctx, slave, "job_data.slave_address")])


#: Load balancers and helpers an ``s9s cluster --add-node --nodes=proxySql://HOST`` adds
#: (the job command names the kind): node type and default port.
BALANCERS = {"proxysql": ("proxysql", 6032), "haproxy": ("haproxy", 9600),
             "maxscale": ("maxscale", 6603), "pgbouncer": ("pgbouncer", 6432),
             "keepalived": ("keepalived", 112), "garbd": ("garbd", 4567)}


def plan_balancer(ctx: JobContext) -> list[Step]:
    """proxysql, haproxy, maxscale, pgbouncer, keepalived, garbd jobs: each node of
    ``job_data.nodes`` joins the cluster as a node of that kind (``setup...`` actions
    install it; ``register`` (``s9s node --register``) takes in a running one; other
    actions change nothing)."""
    ctx.settings("version", "import_accounts", "node_addresses", "eth_interface", "virtual_ip",
                 "virtual_router_id", "admin_username", "admin_password", "maxscale_admin_user",
                 "maxscale_admin_password", "maxscale_mysql_user", "maxscale_mysql_password",
                 "admin_user")
    cluster = ctx.cluster()
    action = ctx.data.get("action", "")
    action = action.lower() if isinstance(action, str) else ""
    nodetype, port = BALANCERS[ctx.job.command]
    if action and not action.startswith(("setup", "add", "register")):
        return plan_generic(ctx)
    specs = job_nodes(ctx)
    if not specs:
        ctx.fail(f"No {nodetype} node is given: set 'job_data.nodes'.")
    if nodetype == "keepalived" and action != "register":   # the address it moves around
        for key, what in (("virtual_ip", "virtual IP address"),
                          ("eth_interface", "network interface")):
            if not isinstance(ctx.data.get(key), str) or not ctx.data[key].strip():
                ctx.fail(f"Keepalived needs a {what}: 'job_data.{key}' is empty.")
    return _join_steps(ctx, cluster, specs, nodetype, port, install=action != "register")


def _join_steps(ctx: JobContext, cluster: Cluster, specs: list[NodeSpec],
                kind: str = "", kind_port: int = 0, install: bool = True) -> list[Step]:
    """The steps that install and add each node (default port and role of the type, or
    of ``kind``, a load balancer)."""
    default_class, default_type, default_port, _ = HOST_CLASSES.get(
        cluster.cluster_type, ("CmonHost", "", 0, ""))
    role = ROLES.get(cluster.cluster_type, ("", ""))[1]
    steps: list[Step] = []
    if ctx.data.get("containers"):   # --containers: the new nodes go into new containers
        steps += container_jobs.container_steps(ctx, ctx.data["containers"])
    for hostname, port, extra in specs:
        wanted = kind or node_kind(extra) or ctx.data.get("node_type") or default_type
        if not isinstance(wanted, str):
            ctx.fail(f"Invalid node type for {hostname}.")
        nodetype, fixed_role, own_port = kind_of(wanted.lower(), default_port)
        port = port or kind_port or own_port
        if cluster.host(hostname, port) is not None:
            ctx.fail(f"Host {hostname}:{port} is already in the cluster.")
        owner = _host_owner(ctx.world, hostname)
        if owner is not None and owner.cluster_id != cluster.cluster_id:
            ctx.fail(f"Host {hostname} is already in cluster {owner.cluster_id} "
                     f"('{owner.cluster_name}').")
        node = {"hostname": hostname, "port": port, "nodetype": nodetype,
                "class_name": NODETYPE_CLASSES.get(nodetype, default_class),
                "role": fixed_role or (role if nodetype == default_type else nodetype)}
        steps.append(note(1, f"{hostname}: Checking SSH access."))
        if not install:     # a running node is registered: found, not set up
            steps.append(note(1, f"{hostname}:{port}: Detecting the {nodetype} node."))
        else:
            if ctx.data.get("install_software", True) is not False:
                steps.append(Step(2, doing, (f"Installing software on {hostname}.",
                                             f"{hostname}:{port}: Installing {cluster.vendor} "
                                             f"{cluster.version} packages.")))
            steps.append(note(1, f"{hostname}:{port}: Configuring and starting the node."))
        steps.append(Step(1, add_host, (cluster.cluster_id, node)))
    return steps


def _datadir(cluster_type: str, version: str) -> str:
    """The data directory of a node of this type (PostgreSQL's names its major version)."""
    datadir = HOST_CLASSES.get(cluster_type, ("", "", 0, ""))[3]
    if cluster_type == "POSTGRESQL_SINGLE" and version:
        datadir = f"/var/lib/postgresql/{version.split('.')[0]}/main"
    return datadir


def _in_container(world: Any, node: dict[str, Any]) -> dict[str, Any]:
    """A node named by a container (``--containers``) is that container's address."""
    address = container_jobs.container_address(world, node["hostname"])
    if address is None:
        return node
    return {**node, "hostname": address, "container_id": node["hostname"]}


def add_host(ctx: JobContext, cluster_id: int, node: dict[str, Any]) -> None:
    cluster = ctx.cluster(cluster_id)
    node = _in_container(ctx.world, node)
    if cluster.host(node["hostname"], node["port"]) is not None:
        ctx.fail(f"Host {node['hostname']}:{node['port']} is already in the cluster.")
    datadir = _datadir(cluster.cluster_type, cluster.version)
    host = Host(host_id=ctx.world.next_host_id(), hostname=node["hostname"], port=node["port"],
                class_name=node["class_name"], nodetype=node["nodetype"], role=node["role"],
                version=cluster.version, datadir=datadir if node["nodetype"] not in
                AUX_NODETYPES else "", started_at=ctx.now,
                extra={"container_id": node["container_id"]} if "container_id" in node else {})
    cluster.hosts.append(host)
    ctx.touch(cluster)
    ctx.emit("host.added", f"Host {host.hostname}:{host.port} is added to cluster {cluster_id}.",
             cluster_id, hostname=host.hostname, port=host.port, host_id=host.host_id,
             status=host.hoststatus)
    settle(ctx, cluster_id)
    doing(ctx, f"Node {host.hostname}:{host.port} is added.",
          f"{host.hostname}:{host.port}: Node is added to the cluster.")


def plan_removenode(ctx: JobContext) -> list[Step]:
    ctx.settings("enable_uninstall", "stop_timeout", "force")
    cluster = ctx.cluster()
    specs = job_nodes(ctx)
    if not specs:
        ctx.fail("No node to remove: set 'job_data.nodes'.")
    hosts = [find_host(ctx, cluster, h, p) for h, p, _ in specs]
    left = [h for h in data_hosts(cluster) if h not in hosts]
    if data_hosts(cluster) and not left:
        ctx.fail("The last database node of a cluster cannot be removed: remove the cluster.")
    unregister_only = ctx.data.get("unregister_only") is True
    steps: list[Step] = []
    for host in hosts:
        if host.online and not unregister_only:
            steps.append(Step(1, stop_host, (cluster.cluster_id, host.hostname, host.port)))
        steps.append(Step(1, remove_host, (cluster.cluster_id, host.hostname, host.port)))
    return steps


def remove_host(ctx: JobContext, cluster_id: int, hostname: str, port: int) -> None:
    cluster, host = _host_again(ctx, cluster_id, hostname, port)
    cluster.hosts.remove(host)
    ctx.touch(cluster)
    ctx.emit("host.removed", f"Host {hostname}:{port} is removed from cluster {cluster_id}.",
             cluster_id, hostname=hostname, port=port, host_id=host.host_id)
    settle(ctx, cluster_id)
    doing(ctx, f"Node {hostname}:{port} is removed.",
          f"{hostname}:{port}: Node is removed from the cluster.")


def plan_stop(ctx: JobContext) -> list[Step]:
    ctx.settings("force_stop", "stop_timeout")
    cluster = ctx.cluster()
    host = one_node(ctx, cluster)
    if host.hoststatus == SHUT_DOWN:
        ctx.fail(f"The node {host.hostname}:{host.port} is already stopped.")
    where = f"{host.hostname}:{host.port}"
    ctx.log(f"{where}: Stopping the {host.nodetype or 'database'} node.")
    return [Step(1, doing, (f"Stopping node {where}.", f"{where}: Waiting for the node to stop.")),
            Step(1, stop_host, (cluster.cluster_id, host.hostname, host.port))]


def plan_start(ctx: JobContext) -> list[Step]:
    ctx.settings("bootstrap", "initial_start")
    cluster = ctx.cluster()
    host = one_node(ctx, cluster)
    if host.online:
        ctx.fail(f"The node {host.hostname}:{host.port} is already running.")
    where = f"{host.hostname}:{host.port}"
    ctx.log(f"{where}: Starting the {host.nodetype or 'database'} node.")
    return [Step(1, doing, (f"Starting node {where}.", f"{where}: Waiting for the node to start.")),
            Step(1, start_host, (cluster.cluster_id, host.hostname, host.port))]


def plan_restart(ctx: JobContext) -> list[Step]:
    """restart (and reboot, which restarts the whole host) stop, then start a node."""
    ctx.settings("force_stop", "initial_start", "stop_timeout")
    cluster = ctx.cluster()
    host = one_node(ctx, cluster)
    where = f"{host.hostname}:{host.port}"
    what = "Rebooting the host" if ctx.job.command == "reboot" else "Restarting the node"
    ctx.log(f"{where}: {what}.")
    steps = []
    if host.hoststatus != SHUT_DOWN:
        steps.append(Step(1, stop_host, (cluster.cluster_id, host.hostname, host.port)))
    steps.append(note(1, f"{where}: Waiting for the node to come back."))
    steps.append(Step(1, start_host, (cluster.cluster_id, host.hostname, host.port)))
    return steps


# ---- whole clusters: stop, start, rolling restart

def plan_stop_cluster(ctx: JobContext) -> list[Step]:
    ctx.settings("maintenance_minutes", "reason", "stop_timeout")
    cluster = ctx.cluster()
    running = [h for h in data_hosts(cluster) if h.hoststatus != SHUT_DOWN]
    if cluster.state == "STOPPED" or not running:
        ctx.fail("The cluster is already stopped.")
    cid = cluster.cluster_id
    ctx.log(f"Stopping cluster {cid} ('{cluster.cluster_name}').")
    steps = [Step(0, set_state, (cid, "SHUTTING_DOWN"))]
    steps += [Step(1, stop_host, (cid, h.hostname, h.port)) for h in reversed(running)]
    steps.append(Step(0.5, finish_cluster, (cid, "The cluster is stopped.")))
    return steps


def plan_start_cluster(ctx: JobContext) -> list[Step]:
    ctx.settings("bootstrap", "donor_address")
    cluster = ctx.cluster()
    stopped = [h for h in data_hosts(cluster) if not h.online]
    if not stopped:
        ctx.fail("The cluster is already started: every node is online.")
    cid = cluster.cluster_id
    ctx.log(f"Starting cluster {cid} ('{cluster.cluster_name}').")
    steps = [Step(0, set_state, (cid, "STARTING"))]
    if cluster.cluster_type == "GALERA":
        first = stopped[0]
        steps.append(note(0.5, f"{first.hostname}:{first.port}: Bootstrapping the Galera "
                               "cluster from this node."))
    steps += [Step(1, start_host, (cid, h.hostname, h.port)) for h in stopped]
    steps.append(Step(0.5, finish_cluster, (cid, "The cluster is started.")))
    return steps


def plan_rolling_restart(ctx: JobContext) -> list[Step]:
    ctx.settings("initial_start", "stop_timeout")
    cluster = ctx.cluster()
    hosts = data_hosts(cluster)
    if cluster.state != "STARTED" or not all(h.online for h in hosts):
        ctx.fail(f"The cluster is in state {cluster.state}: a rolling restart needs every "
                 "node online.")
    cid = cluster.cluster_id
    ctx.log(f"Rolling restart of cluster {cid} ('{cluster.cluster_name}'): "
            f"{len(hosts)} node(s), one at a time.")
    steps: list[Step] = []
    for i, h in enumerate(hosts, 1):
        steps.append(Step(0.5, doing, (f"Restarting node {i} of {len(hosts)}.",
                                       f"{h.hostname}:{h.port}: Restarting the node.")))
        steps.append(Step(1, stop_host, (cid, h.hostname, h.port)))
        steps.append(Step(1, start_host, (cid, h.hostname, h.port)))
    steps.append(Step(0.2, finish_cluster, (cid, "Rolling restart is finished.")))
    return steps


# ---- backups

def _backup_id(ctx: JobContext) -> int:
    value = ctx.data.get("backupid", ctx.data.get("backup_id"))
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        ctx.fail("The 'job_data.backupid' is missing or is not a backup id.")
    return value


def _text(ctx: JobContext, key: str, default: str) -> str:
    value = ctx.data.get(key)
    if value in (None, ""):
        return default
    if not isinstance(value, str):
        ctx.fail(f"The 'job_data.{key}' field must be a string.")
    return value


def plan_backup(ctx: JobContext) -> list[Step]:
    ctx.settings("backup_retention", "cc_storage", "compression_level", "include_databases",
                 "exclude_tables", "wsrep_desync", "use_pigz", "xtrabackup_parallellism",
                 "backup_failover", "backup_failover_host", "verify_backup")
    cluster = ctx.cluster()
    # s9s backup --to-individual-files: only mysqldump writes a file per database, so
    # a backup that names no method is made with it (s9s-backup(1)).
    individual = ctx.data.get("backup_individual_schemas") is True
    method = _text(ctx, "backup_method", "mysqldump" if individual else default_method(cluster))
    wanted = _text(ctx, "hostname", "auto")
    if wanted != "auto":
        host = find_host(ctx, cluster, wanted, _port(ctx, ctx.data.get("port"), "job_data.port"))
        if not host.online:
            ctx.fail(f"The backup host {host.hostname}:{host.port} is not online "
                     f"({host.hoststatus}).")
    else:
        online = [h for h in data_hosts(cluster) if h.online]
        if not online:
            ctx.fail("No node of the cluster is online: the backup is not possible.")
        replicas = [h for h in online if h.role in ("slave", "secondary", "replica")]
        host = (replicas or online)[0]
    parent = 0
    if method.endswith("incr"):
        fulls = [r for r in backups_of(ctx.world).listed({cluster.cluster_id})
                 if r.status == "Completed" and r.method == method[:-4] + "full"]
        if not fulls:
            ctx.fail(f"No completed full backup to base the incremental {method} backup on.")
        parent = fulls[0].backup_id
    options = {
        "method": method, "host": host.hostname, "port": host.port,
        "backupdir": _text(ctx, "backupdir", _text(ctx, "backup_dir", "/root/backups")),
        "subdir": _text(ctx, "backupsubdir", "BACKUP-%I"),
        "description": _text(ctx, "description", ""),
        "title": _text(ctx, "backup_title", "Untitled Backup Record"),
        "compressed": ctx.data.get("compression", True) is not False,
        "encrypted": ctx.data.get("encrypt_backup") is True, "parent_id": parent,
        "individual": individual and method == "mysqldump",
    }
    if subdir_is_fixed(options["subdir"]):   # a fixed directory is never written over
        target = f"{options['backupdir'].rstrip('/')}/" + expand_subdir(options["subdir"], {
            "H": host.hostname, "i": cluster.cluster_id, "M": method,
            "O": ctx.job.user_name, "S": host.hostname})
        if any(r.root_dir == target and r.backup_host == host.hostname
               for r in backups_of(ctx.world).listed({cluster.cluster_id})):
            ctx.fail(f"The backup directory '{target}' already exists on {host.hostname}: "
                     "a backup is never written over another one.")
    where = f"{host.hostname}:{host.port}"
    ctx.log(f"Backup method: {method}, host: {where}, directory: {options['backupdir']}.")
    return [note(1, f"{host.hostname}: Checking free space in {options['backupdir']}."),
            Step(3, doing, (f"Backing up {where}.", f"{where}: Running {method}.")),
            Step(1, store_backup, (cluster.cluster_id, options))]


def store_backup(ctx: JobContext, cluster_id: int, options: dict[str, Any]) -> None:
    cluster, host = _host_again(ctx, cluster_id, options["host"], options["port"])
    if not host.online:
        ctx.fail(f"The backup host {host.hostname}:{host.port} went {host.hoststatus}.")
    job = ctx.job
    record = make_record(
        ctx.world, cluster, created=job.started or ctx.now, finished=ctx.now,
        method=options["method"], host=host.hostname, backupdir=options["backupdir"],
        subdir=options["subdir"], job_id=job.job_id, created_by=job.user_name,
        description=options["description"], title=options["title"],
        compressed=options["compressed"], encrypted=options["encrypted"],
        parent_id=options["parent_id"], individual=options["individual"])
    backups_of(ctx.world).add(record)
    ctx.emit("backup.created", f"Backup {record.backup_id} of cluster {cluster_id} is created.",
             cluster_id, backup_id=record.backup_id, method=record.method,
             hostname=record.backup_host)
    doing(ctx, f"Backup {record.backup_id} is created.",
          f"Backup {record.backup_id} is created: {record.backup_host}:{record.root_dir}.")


def plan_restore_backup(ctx: JobContext) -> list[Step]:
    ctx.settings("backup_datadir_before_restore", "backup_path", "bootstrap",
                 "cluster_decryption_key", "database", "db_user", "db_password",
                 "pitr_compatible", "pitr_stop_time", "source_address", "stop_timeout")
    cluster = ctx.cluster()
    bid = _backup_id(ctx)
    record = backups_of(ctx.world).records.get(bid)
    if record is None:
        ctx.fail(f"Backup {bid} was not found.")
    if record.cluster_id != cluster.cluster_id:
        ctx.fail(f"Backup {bid} belongs to cluster {record.cluster_id}, "
                 f"not to cluster {cluster.cluster_id}.")
    if record.status != "Completed":
        ctx.fail(f"Backup {bid} cannot be restored: its status is {record.status}.")
    target = _text(ctx, "server_address", "")
    if target:
        host = find_host(ctx, cluster, target, None)
    else:
        hosts = data_hosts(cluster)
        if not hosts:
            ctx.fail("The cluster has no database node to restore on.")
        host = next((h for h in hosts if h.hostname == record.backup_host), hosts[0])
    cid, where = cluster.cluster_id, f"{host.hostname}:{host.port}"
    ctx.log(f"Restoring backup {bid} ({record.method}, {record.root_dir}) on {where}.")
    steps = [note(1, f"Verifying the files of backup {bid}.")]
    if host.hoststatus != SHUT_DOWN:
        steps.append(Step(1, stop_host, (cid, host.hostname, host.port)))
    steps += [Step(2, doing, (f"Restoring backup {bid}.",
                              f"{where}: Copying and preparing the backup files.")),
              Step(1, start_host, (cid, host.hostname, host.port)),
              note(0.5, f"Backup {bid} is restored.")]
    return steps


def plan_delete_backup(ctx: JobContext) -> list[Step]:
    ctx.settings("clusterid")
    bid = _backup_id(ctx)
    record = backups_of(ctx.world).records.get(bid)
    if record is None:
        ctx.fail(f"Backup {bid} was not found.")
    if ctx.job.cluster_id and record.cluster_id != ctx.job.cluster_id:
        ctx.fail(f"Backup {bid} belongs to cluster {record.cluster_id}, "
                 f"not to cluster {ctx.job.cluster_id}.")
    ctx.log(f"Deleting backup {bid}.")
    return [note(1, f"{record.backup_host}: Removing {record.root_dir}."),
            Step(1, drop_backup, (bid,))]


def drop_backup(ctx: JobContext, backup_id: int) -> None:
    record = backups_of(ctx.world).remove(backup_id)
    if record is None:
        ctx.fail(f"Backup {backup_id} was not found.")
    ctx.emit("backup.deleted", f"Backup {backup_id} is deleted.", record.cluster_id,
             backup_id=backup_id)
    ctx.log(f"Backup {backup_id} is deleted.")


# ---- maintenance

def _time(ctx: JobContext, key: str) -> float | None:
    value = ctx.data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    ctx.fail(f"Invalid time in 'job_data.{key}': {value!r}.")


def plan_create_maintenance(ctx: JobContext) -> list[Step]:
    """A maintenance period for the job's cluster, or for each of ``nodes``."""
    job = ctx.job
    cluster = ctx.cluster() if job.cluster_id else None
    minutes = ctx.data.get("maintenance_minutes", 60)
    if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or minutes <= 0:
        ctx.fail("The 'job_data.maintenance_minutes' must be a positive number.")
    rel = ctx.data.get("begin_relative")
    try:   # numbers from the request: 1e308 minutes is no time rfc3339 can write
        begin = _time(ctx, "begin")
        if begin is None:
            begin = ctx.now + (float(rel) * 60 if isinstance(rel, (int, float)) else 0.0)
        end = _time(ctx, "end")
        if end is None:
            end = begin + minutes * 60
        check_epoch(begin, "maintenance begin")
        check_epoch(end, "maintenance end")
    except (ValueError, OverflowError) as exc:
        ctx.fail(f"Invalid maintenance period: {exc}")
    if end <= begin:
        ctx.fail("The maintenance period ends before it begins.")
    reason = _text(ctx, "reason", "Maintenance created by a job.")
    hostnames = [h for h, _, _ in job_nodes(ctx)]
    if cluster is not None:
        hostnames = [find_host(ctx, cluster, h, None).hostname for h in hostnames]
    elif not hostnames:
        ctx.fail("A maintenance period needs a cluster ('cluster_id') or 'job_data.nodes'.")
    targets = hostnames or [""]
    ctx.log(f"Maintenance from {rfc3339(begin)} to {rfc3339(end)}: {reason}")
    return [Step(1, register_maintenance,
                 (job.cluster_id, targets, begin, end, reason))]


def register_maintenance(ctx: JobContext, cluster_id: int, hostnames: list[str], begin: float,
                         end: float, reason: str) -> None:
    """Add the periods to the maintenance book that ``/v2/maintenance`` reads."""
    job = ctx.job
    for hostname in hostnames:
        if cluster_id and cluster_id not in ctx.world.clusters:
            ctx.fail(f"Cluster {cluster_id} was not found.")
        period = maintenance.add_period(
            ctx.world, ctx.now, initiate=begin, deadline=end, reason=reason,
            user_name=job.user_name, group_name=job.group_name, cluster_id=cluster_id,
            hostname=hostname)
        target = hostname or f"cluster {cluster_id}"
        ctx.emit("maintenance.created", f"Maintenance period {period.uuid} for {target}.",
                 cluster_id, UUID=period.uuid, hostname=hostname, initiate=rfc3339(begin),
                 deadline=rfc3339(end), reason=reason)
        ctx.log(f"Maintenance period {period.uuid} is registered for {target}.")


# ---- the registry

#: Commands fakecmon knows without simulating their effects (job-commands.tsv and
#: the commands the OpenAPI spec and the Terraform provider send).
GENERIC_COMMANDS = (
    "addController", "calculate_db_growth", "check_pkg_upgrades",
    "cmon_ha_create_snapshot", "collect_logs",
    "create_local_repository", "delete_all_backups",
    "demote_node", "deploy_agents", "deploy_cmonagents",
    "disable_cluster_readonly", "disable_recovery", "enable_binary_logging",
    "enable_cluster_readonly", "enable_log_archiving", "enable_recovery", "error_report",
    "execute", "failover_replication_slave", "import_config", "inspect_host",
    "nfsclient", "nfsserver", "pbmagent", "pgbackrest",
    "removeController", "renew_mssql_certificate",
    "reset_replication_slave", "setup_audit_logging", "setup_logrotate", "setup_ssl",
    "sync_clusters", "toggle_replication_sync",
    "uninstall_cmonagents", "updateCmonVersion", "upgrade_cluster", "verify_backup",
    "enable_db_readonly", "enable_node_recovery", "disable_node_recovery", "registernode",
    "add_shard",
)

EFFECTS = {
    "success": plan_success, "fail": plan_fail,
    "create_cluster": plan_create_cluster, "add_cluster": plan_create_cluster,
    "remove_cluster": plan_remove_cluster, "addnode": plan_addnode,
    "removenode": plan_removenode, "add_replication_slave": plan_add_replication_slave,
    "stop": plan_stop, "start": plan_start,
    "restart": plan_restart, "reboot": plan_restart, "stop_cluster": plan_stop_cluster,
    "start_cluster": plan_start_cluster, "rolling_restart": plan_rolling_restart,
    "backup": plan_backup, "restore_backup": plan_restore_backup,
    "delete_backup": plan_delete_backup, "create_maintenance": plan_create_maintenance,
}

PLANS.update(dict.fromkeys(GENERIC_COMMANDS, plan_generic))
PLANS.update(EFFECTS)
PLANS.update(dict.fromkeys(BALANCERS, plan_balancer))

from fakecmon.world import db_jobs, replication, saves  # noqa: E402,F401  (more commands)
