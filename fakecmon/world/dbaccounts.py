"""Database accounts and databases of the clusters (not CMON users: see accounts.py).

Accounts live in ``world.extensions["accounts"]`` (cluster id -> ``AccountSet``):
each cluster starts with the system accounts a deployment creates (``root``,
``cmon``, ``backupuser``... per cluster type) plus the world file's ``accounts``.
Databases are kept as CMON's JSON documents in ``world.extensions["databases"]``
(cluster id -> list), which is what ``getClusterInfo``/``getAllClusterInfo``
``with_databases`` lists (``fakecmon/api/clusters.py`` reads it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fakecmon.world.config import MYSQL_TYPES
from fakecmon.world.models import Cluster
from fakecmon.world.state import World

ACCOUNTS = "accounts"
DATABASES = "databases"

#: Cluster types whose accounts and databases CMON manages.
SUPPORTED = MYSQL_TYPES | {"POSTGRESQL_SINGLE", "MONGODB"}
#: Cluster types whose databases CMON creates and lists: SQL Server's too, whose
#: accounts it does not manage.
DATABASE_TYPES = SUPPORTED | {"MSSQL_SINGLE", "MSSQL_AO_ASYNC"}


def grant_list(text: str) -> list[tuple[str, list[str]]]:
    """``db.*:SELECT,INSERT;*.*:ALL`` -> [("db.*", ["SELECT", "INSERT"]), ("*.*", ["ALL"])].

    Raises ValueError naming the bad part.
    """
    found: list[tuple[str, list[str]]] = []
    for part in text.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        obj, sep, privs = part.rpartition(":")
        if not sep:
            obj, privs = "*.*", part
        obj = obj.strip() or "*.*"
        names = []
        for p in privs.split(","):
            name = " ".join(p.split()).upper()
            if name == "ALL PRIVILEGES":
                name = "ALL"
            if not name or not all(c.isalpha() or c in " _" for c in name):
                raise ValueError(f"invalid privilege '{p.strip()}' in '{part}'")
            names.append(name)
        found.append((obj, names))
    return found


def grant_text(grants: list[tuple[str, list[str]]]) -> str:
    return ";".join(f"{obj}:{','.join(privs)}" for obj, privs in grants)


def grant_statement(obj: str, privs: list[str], user: str, revoke: bool = False) -> str:
    shown = ", ".join("ALL PRIVILEGES" if p == "ALL" else p for p in privs)
    return (f"REVOKE {shown} ON {obj} FROM '{user}'" if revoke
            else f"GRANT {shown} ON {obj} TO '{user}'")


@dataclass
class Account:
    user_name: str
    host_allow: str = ""
    password: str = ""
    grants: list[tuple[str, list[str]]] = field(default_factory=list)
    own_database: str = ""
    system_user: bool = False
    max_connections: int = 0
    max_user_connections: int = 0
    max_questions: int = 0
    max_updates: int = 0
    created: float = 0.0

    def password_hash(self, cluster_type: str) -> str:
        """What the server stores: ``mysql_native_password`` or PostgreSQL's md5."""
        if cluster_type == "POSTGRESQL_SINGLE":
            return "md5" + hashlib.md5((self.password + self.user_name).encode()).hexdigest()
        if cluster_type == "MONGODB":
            return "SCRAM-SHA-256"
        inner = hashlib.sha1(self.password.encode()).digest()
        return "*" + hashlib.sha1(inner).hexdigest().upper()

    def to_json(self, cluster_type: str, connections: int = 0) -> dict[str, Any]:
        return {
            "class_name": "CmonAccount",
            "user_name": self.user_name,
            "host_allow": self.host_allow,
            "password": self.password_hash(cluster_type),
            "grants": grant_text(self.grants),
            "own_database": self.own_database,
            "system_user": self.system_user,
            "password_expired": False,
            "connections": connections,
            "max_connections": self.max_connections,
            "max_questions": self.max_questions,
            "max_updates": self.max_updates,
            "max_user_connections": self.max_user_connections,
        }


class AccountSet:
    """The accounts of one cluster, by (user name, allowed host)."""

    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], Account] = {}

    def add(self, account: Account) -> None:
        self.accounts[(account.user_name, account.host_allow)] = account

    def find(self, user_name: str, host_allow: str | None) -> Account | None:
        if host_allow is not None:
            return self.accounts.get((user_name, host_allow))
        for (name, _), account in self.accounts.items():
            if name == user_name:
                return account
        return None

    def sorted(self) -> list[Account]:
        return [self.accounts[k] for k in sorted(self.accounts)]


def _system_accounts(world: World, cluster: Cluster) -> list[Account]:
    t, now, cid = cluster.cluster_type, world.created, cluster.cluster_id

    def acc(name: str, host: str, grants: str) -> Account:
        return Account(name, host, f"{name}-{cid}-pw", grant_list(grants), system_user=True,
                       created=now)

    if t in MYSQL_TYPES:
        found = [acc("root", "localhost", "*.*:ALL"), acc("cmon", world.hostname, "*.*:ALL"),
                 acc("backupuser", "localhost", "*.*:RELOAD,LOCK TABLES,PROCESS,REPLICATION CLIENT"),
                 acc("cmonexporter", "127.0.0.1", "*.*:PROCESS,REPLICATION CLIENT,SELECT")]
        if t != "GALERA":
            found.append(acc("rpl_user", "%", "*.*:REPLICATION SLAVE"))
        return found
    if t == "POSTGRESQL_SINGLE":
        return [acc("postgres", "", "*.*:ALL"), acc("cmon", world.hostname, "*.*:ALL"),
                acc("cmonexporter", "127.0.0.1", "*.*:CONNECT")]
    if t == "MONGODB":
        return [acc("admin", "", "admin.*:ROOT"), acc("backupuser", "", "admin.*:BACKUP,RESTORE")]
    return []


def accounts_of(world: World, cluster: Cluster) -> AccountSet:
    """The cluster's accounts, starting with the system accounts on first use."""
    table: dict[int, AccountSet] = world.extensions.setdefault(ACCOUNTS, {})
    found = table.get(cluster.cluster_id)
    if found is None:
        found = table[cluster.cluster_id] = AccountSet()
        for account in _system_accounts(world, cluster):
            found.add(account)
    return found


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def database_json(world: World, cluster: Cluster, name: str, owner_user_id: int,
                  owner_group_id: int, database_id: int, tables: int | None = None,
                  size: int | None = None) -> dict[str, Any]:
    """A database as CMON lists it in ``cluster.databases``."""
    seed = _digest(f"{cluster.cluster_id}/{name}")
    owner = world.users.get(owner_user_id)
    group = world.groups.get(owner_group_id)
    datadir = next((h.datadir for h in cluster.hosts if h.datadir), "/var/lib/mysql/")
    return {
        "class_name": "CmonDataBase",
        "cluster_id": cluster.cluster_id,
        "database_id": database_id,
        "database_name": name,
        "database_size": size if size is not None else (seed % 900 + 16) * 1024 * 1024,
        "number_of_tables": tables if tables is not None else seed % 60 + 3,
        "data_directory": datadir.rstrip("/") + "/" + name,
        "owner_user_id": owner_user_id,
        "owner_user_name": owner.user_name if owner else "",
        "owner_group_id": owner_group_id,
        "owner_group_name": group.group_name if group else "",
        "version": 1,
    }


def databases_of(world: World, cluster_id: int) -> list[dict[str, Any]]:
    table: dict[int, list[dict[str, Any]]] = world.extensions.setdefault(DATABASES, {})
    return table.setdefault(cluster_id, [])


def next_database_id(world: World) -> int:
    table: dict[int, list[dict[str, Any]]] = world.extensions.setdefault(DATABASES, {})
    return 1 + max((d["database_id"] for dbs in table.values() for d in dbs), default=0)
