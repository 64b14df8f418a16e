"""/v2/clusters accounts and databases: getAccounts, createAccount, deleteAccount,
grantPrivileges, revokePrivileges, revokeAllPrivileges, createDatabase.

A caller who may not read the cluster gets InvalidRequest "Cluster was not found."
(the captures); reading takes read access, changing takes write access. Changes
need an online database node, as CMON runs the SQL on one.
World files may add ``accounts`` and ``databases`` sections (see the loaders).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakecmon import permissions
from fakecmon.controller import WORLD_HOOKS
from fakecmon.errors import INVALID_REQUEST, OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.events import LISTENERS, Event
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import dbaccounts, loader
from fakecmon.world.dbaccounts import Account
from fakecmon.world.models import Cluster
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node

from fakecmon.api._common import (  # isort: skip
    announce, field, named_cluster, obj, page, readable_clusters, require, visible_cluster,
)

if TYPE_CHECKING:
    from fakecmon.controller import Controller

PATH = "/v2/clusters"
PROXY_NODETYPES = ("haproxy", "proxysql", "maxscale", "pgbouncer", "keepalived", "garbd",
                   "prometheus", "controller")


def _cluster(call: Call, types: frozenset[str] | set[str] = dbaccounts.SUPPORTED) -> Cluster:
    """The named cluster; a request that names none (``s9s cluster --create-database
    --db-name=X`` and ``s9s account --create`` without ``--cluster-id``, as
    ft_mysqlreplication sends them) means the one cluster the caller can see, if there
    is exactly one. ``types``: the cluster types the operation serves."""
    readable = readable_clusters(call) if named_cluster(call, INVALID_REQUEST) is None else []
    cluster = readable[0] if len(readable) == 1 else visible_cluster(call, INVALID_REQUEST)
    if cluster.cluster_type not in types:
        what = "Accounts and databases are" if types is dbaccounts.SUPPORTED else \
            "Databases are"
        raise invalid(f"{what} not managed on {cluster.cluster_type.lower()} clusters.")
    return cluster


def _writable(call: Call, types: frozenset[str] | set[str] = dbaccounts.SUPPORTED) -> Cluster:
    cluster = _cluster(call, types)
    require(call, cluster, permissions.WRITE)
    if not any(h.online and h.nodetype not in PROXY_NODETYPES for h in cluster.hosts):
        raise RpcError(INVALID_REQUEST, f"Cluster {cluster.cluster_id} has no reachable "
                                        "database node.")
    return cluster


def _account_spec(call: Call) -> tuple[dict[str, Any], str, str | None]:
    spec = obj(call, "account")
    name = field(spec, "user_name", str, where="account")
    if not name:
        raise invalid("The 'user_name' of the account is empty.")
    host = spec.get("host_allow")
    if host is not None and not isinstance(host, str):
        raise invalid("The 'host_allow' field of the account has the wrong type.")
    return spec, name, host


def _grants(text: str) -> list[tuple[str, list[str]]]:
    try:
        return dbaccounts.grant_list(text)
    except ValueError as exc:
        raise invalid(f"Invalid privileges: {exc}.") from None


@operation(PATH, "getAccounts")
def get_accounts(call: Call) -> Payload:
    cluster = _cluster(call)
    found = dbaccounts.accounts_of(call.world, cluster).sorted()
    connected = _connections(call, cluster)
    listed = [a.to_json(cluster.cluster_type, connected.get(a.user_name, 0))
              for a in page(call, found)]
    return {"total": len(found), "accounts": listed}


def _connections(call: Call, cluster: Cluster) -> dict[str, int]:
    """Open connections per account: the monitoring ones plus a few per application user."""
    online = sum(1 for h in cluster.hosts if h.online and h.nodetype not in PROXY_NODETYPES)
    counts = {"cmon": 2 * online, "cmonexporter": online}
    for account in dbaccounts.accounts_of(call.world, cluster).accounts.values():
        if not account.system_user:
            counts[account.user_name] = (len(account.user_name) % 4) * online
    return counts


@operation(PATH, "createAccount")
def create_account(call: Call) -> Payload:
    """A new account; on PostgreSQL an existing role is altered instead (``_update_role``)."""
    cluster = _writable(call)
    spec, name, host = _account_spec(call)
    accounts = dbaccounts.accounts_of(call.world, cluster)
    host_allow = host or ""
    password = spec.get("password", "")
    grants = _grants(field(spec, "grants", str, "", where="account"))
    own = field(spec, "own_database", str, "", where="account")
    limits = {k: field(spec, k, int, 0, where="account") for k in
              ("max_connections", "max_user_connections", "max_questions", "max_updates")}
    if not isinstance(password, str):
        raise invalid("The 'password' field of the account has the wrong type.")
    existing = accounts.find(name, host_allow)
    if existing is not None and cluster.cluster_type == "POSTGRESQL_SINGLE":
        return _update_role(call, cluster, existing, password, grants)
    if existing is not None:
        raise invalid(f"Account '{name}'@'{host_allow or '%'}' already exists.")
    account = Account(name, host_allow, password, grants, own_database=own, created=call.now,
                      **limits)
    accounts.add(account)
    messages = [f"Account '{name}' created."]
    messages += [f"Grant processed: {dbaccounts.grant_statement(o, p, name)}" for o, p in grants]
    announce(call, "account.created", cluster.cluster_id,
             f"Account '{name}'@'{host_allow or '%'}' created.", user_name=name)
    return {"account": _account_reply(account), "messages": messages}


def _account_reply(account: Account) -> dict[str, Any]:
    return {"class_name": "CmonAccount", "grants": dbaccounts.grant_text(account.grants),
            "host_allow": account.host_allow, "password": account.password,
            "system_user": account.system_user, "user_name": account.user_name}


def _update_role(call: Call, cluster: Cluster, account: Account, password: str,
                 grants: list[tuple[str, list[str]]]) -> Payload:
    """createAccount of a PostgreSQL role that exists: CMON alters the role (new password,
    more privileges) instead of refusing (ft_postgresql_1 testCreateAccount05)."""
    if password:
        account.password = password
    _add_grants(account, grants)
    messages = [f"Account '{account.user_name}' exists, its role is altered."]
    messages += [f"Grant processed: {dbaccounts.grant_statement(o, p, account.user_name)}"
                 for o, p in grants]
    announce(call, "account.changed", cluster.cluster_id, "; ".join(messages),
             user_name=account.user_name)
    return {"account": _account_reply(account), "messages": messages}


def _existing(call: Call, cluster: Cluster) -> Account:
    _, name, host = _account_spec(call)
    account = dbaccounts.accounts_of(call.world, cluster).find(name, host)
    if account is None:
        raise RpcError(OBJECT_NOT_FOUND, f"Account '{name}' was not found.")
    return account


@operation(PATH, "deleteAccount")
def delete_account(call: Call) -> Payload:
    """System accounts (``cmon``, ``root``...) go only with ``force_delete``."""
    cluster = _writable(call)
    account = _existing(call, cluster)
    if account.system_user and not call.arg("force_delete", bool, False):
        raise invalid(f"Account '{account.user_name}' is a system account; "
                      "use force_delete to drop it.")
    del dbaccounts.accounts_of(call.world, cluster).accounts[(account.user_name,
                                                               account.host_allow)]
    announce(call, "account.deleted", cluster.cluster_id,
             f"Account '{account.user_name}'@'{account.host_allow or '%'}' deleted.",
             user_name=account.user_name)
    return {"messages": [f"Account '{account.user_name}' deleted."]}


def _privileges(call: Call) -> list[tuple[str, list[str]]]:
    spec = obj(call, "account")
    text = call.arg("privileges", str, "") or field(spec, "privileges", str, "", where="account")
    if not text:
        raise invalid("Missing 'privileges' field in the request.")
    return _grants(text)


def _add_grants(account: Account, grants: list[tuple[str, list[str]]]) -> None:
    """The account's privileges and ``grants`` together (ALL covers the rest of an object)."""
    current = dict((o, list(p)) for o, p in account.grants)
    for o, privs in grants:
        have = current.setdefault(o, [])
        have += [p for p in privs if p not in have]
        if "ALL" in have:
            current[o] = ["ALL"]
    account.grants = list(current.items())


@operation(PATH, "grantPrivileges")
def grant_privileges(call: Call) -> Payload:
    cluster = _writable(call)
    account = _existing(call, cluster)
    grants = _privileges(call)
    _add_grants(account, grants)
    messages = [f"Grant processed: {dbaccounts.grant_statement(o, p, account.user_name)}"
                for o, p in grants]
    announce(call, "account.changed", cluster.cluster_id, "; ".join(messages),
             user_name=account.user_name)
    return {"messages": messages}


def _revoke(call: Call, everything: bool) -> Payload:
    cluster = _writable(call)
    account = _existing(call, cluster)
    grants = account.grants if everything else _privileges(call)
    remaining = []
    drop = {o: set(p) for o, p in grants}
    for o, privs in account.grants:
        gone = drop.get(o, set())
        keep = [] if "ALL" in gone else [p for p in privs if p not in gone]
        if keep:
            remaining.append((o, keep))
    account.grants = remaining
    messages = [f"Revoke processed: "
                f"{dbaccounts.grant_statement(o, p, account.user_name, revoke=True)}"
                for o, p in grants]
    announce(call, "account.changed", cluster.cluster_id,
             "; ".join(messages) or f"No privileges of '{account.user_name}' to revoke.",
             user_name=account.user_name)
    return {"messages": messages}


@operation(PATH, "revokePrivileges")
def revoke_privileges(call: Call) -> Payload:
    return _revoke(call, everything=False)


@operation(PATH, "revokeAllPrivileges")
def revoke_all_privileges(call: Call) -> Payload:
    return _revoke(call, everything=True)


@operation(PATH, "createDatabase")
def create_database(call: Call) -> Payload:
    cluster = _writable(call, dbaccounts.DATABASE_TYPES)
    spec = obj(call, "database")
    name = field(spec, "database_name", str, where="database")
    owner = field(spec, "database_owner", str, "", where="database")   # s9s --db-owner
    if not name or len(name) > 64 or any(c in name for c in "/\\.`'\" "):
        raise invalid(f"Invalid database name '{name}'.")
    dbs = dbaccounts.databases_of(call.world, cluster.cluster_id)
    if any(d["database_name"] == name for d in dbs):
        raise invalid(f"Database '{name}' already exists.")
    user = call.login_user()
    gid = user.group_ids[0] if user.group_ids else 0
    dbs.append(dbaccounts.database_json(call.world, cluster, name, user.user_id, gid,
                                        dbaccounts.next_database_id(call.world),
                                        tables=0, size=0))
    announce(call, "database.created", cluster.cluster_id, f"Database '{name}' created.",
             database_name=name, **({"database_owner": owner} if owner else {}))
    return {"database": {"class_name": "CmonDataBase", "owner_user_id": user.user_id,
                         "owner_group_id": gid, "database_name": name},
            "messages": [f"Database '{name}' created."]}


# ---- world files, world builds, new clusters

def _cluster_of(r: loader.Reader, world: World, m: Node, place: str, what: str) -> Cluster:
    """The cluster a ``databases`` or ``accounts`` entry names, one that has ``what``."""
    ref = r.get(m, place, "cluster", (str, int))
    cluster = world.clusters.get(ref) if isinstance(ref, int) else world.cluster_by_name(ref)
    if cluster is None:
        raise r.fail(m, "cluster", f"{place}.cluster", f"unknown cluster '{ref}'")
    kinds = dbaccounts.DATABASE_TYPES if what == "databases" else dbaccounts.SUPPORTED
    if cluster.cluster_type not in kinds:
        raise r.fail(m, "cluster", f"{place}.cluster",
                     f"{cluster.cluster_type.lower()} clusters have no {what}")
    return cluster


def load_databases(r: loader.Reader, data: Node, world: World) -> None:
    """``databases: [{cluster, database_name, tables, size, owner}]``."""
    for i, m in r.items(data, "databases"):
        place = f"databases[{i}]"
        r.only(m, place, ("cluster", "database_name", "tables", "size", "owner"))
        cluster = _cluster_of(r, world, m, place, "databases")
        name = r.get(m, place, "database_name", str)
        owner_name = r.get(m, place, "owner", str, "system")
        owner = world.user_by_name(owner_name)
        if owner is None:
            raise r.fail(m, "owner", f"{place}.owner", f"unknown user '{owner_name}'")
        dbs = dbaccounts.databases_of(world, cluster.cluster_id)
        if any(d["database_name"] == name for d in dbs):
            raise r.fail(m, "database_name", f"{place}.database_name",
                         f"database '{name}' is listed twice")
        dbs.append(dbaccounts.database_json(
            world, cluster, name, owner.user_id, owner.group_ids[0],
            dbaccounts.next_database_id(world), tables=r.get(m, place, "tables", int, None),
            size=r.get(m, place, "size", int, None)))


def load_accounts(r: loader.Reader, data: Node, world: World) -> None:
    """``accounts: [{cluster, user_name, password, host_allow, grants}]``."""
    for i, m in r.items(data, "accounts"):
        place = f"accounts[{i}]"
        r.only(m, place, ("cluster", "user_name", "password", "host_allow", "grants",
                          "own_database", "max_connections"))
        cluster = _cluster_of(r, world, m, place, "accounts")
        try:
            grants = dbaccounts.grant_list(r.get(m, place, "grants", str, ""))
        except ValueError as exc:
            raise r.fail(m, "grants", f"{place}.grants", str(exc)) from None
        dbaccounts.accounts_of(world, cluster).add(Account(
            r.get(m, place, "user_name", str), r.get(m, place, "host_allow", str, "%"),
            r.get(m, place, "password", str, ""), grants,
            own_database=r.get(m, place, "own_database", str, ""),
            max_connections=r.get(m, place, "max_connections", int, 0), created=world.created))


loader.SECTIONS["databases"] = load_databases
loader.SECTIONS["accounts"] = load_accounts


def _world_hook(controller: "Controller", world: World) -> None:
    """Every cluster has a database list (possibly empty): clients read it unchecked."""
    for cid in world.clusters:
        dbaccounts.databases_of(world, cid)


def _on_event(world: World, event: Event) -> None:
    if event.kind in ("cluster.created", "cluster.added", "cluster.imported"):
        for cid in world.clusters:
            dbaccounts.databases_of(world, cid)
    elif event.kind in ("cluster.removed", "cluster.deleted"):
        world.extensions.get(dbaccounts.DATABASES, {}).pop(event.cluster_id, None)
        world.extensions.get(dbaccounts.ACCOUNTS, {}).pop(event.cluster_id, None)


WORLD_HOOKS.append(_world_hook)
LISTENERS.append(_on_event)
