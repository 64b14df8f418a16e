"""/v2/logical_replication: PostgreSQL publications and subscriptions (``s9s replication``).

Publications and subscriptions are kept per cluster in the world
(``world.extensions["logical_replication"]``), keyed by database and name as
PostgreSQL keys them. A subscription names the publication it reads, on the
cluster given by ``pub_origin`` (a cluster id or name; default: the same
cluster), and is refused when that publication does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon import permissions
from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world.models import Cluster
from fakecmon.world.state import World

from fakecmon.api._common import checked_cluster  # isort: skip

PATH = "/v2/logical_replication"
DEFAULT_DB = "postgres"


@dataclass
class Publication:
    name: str
    database: str
    all_tables: bool
    tables: list[str]
    created: float

    def to_json(self, cluster_id: int) -> dict[str, Any]:
        return {"class_name": "CmonPublication", "cluster_id": cluster_id,
                "publication_name": self.name, "database": self.database,
                "all_tables": self.all_tables, "tables": list(self.tables),
                "created": rfc3339(self.created)}


@dataclass
class Subscription:
    name: str
    database: str
    publication: str
    origin_cluster_id: int
    enabled: bool
    copy_data: bool
    created: float

    def to_json(self, cluster_id: int) -> dict[str, Any]:
        return {"class_name": "CmonSubscription", "cluster_id": cluster_id,
                "subscription_name": self.name, "publication_name": self.publication,
                "database": self.database, "enabled": self.enabled,
                "origin_cluster_id": self.origin_cluster_id, "copy_data": self.copy_data,
                "created": rfc3339(self.created)}


@dataclass
class Replication:
    """One cluster's publications and subscriptions, keyed by (database, name)."""

    publications: dict[tuple[str, str], Publication] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)


def replication(world: World, cluster: Cluster) -> Replication:
    return world.extensions.setdefault("logical_replication", {}).setdefault(
        cluster.cluster_id, Replication())


def _cluster(call: Call, wanted: str) -> Cluster:
    cluster = checked_cluster(call, wanted)
    if cluster.cluster_type != "POSTGRESQL_SINGLE":
        raise invalid(f"Logical replication is for PostgreSQL clusters; cluster "
                      f"{cluster.cluster_id} is {cluster.cluster_type}.")
    return cluster


def _name(call: Call, field_name: str) -> str:
    value = call.arg(field_name, str).strip()
    if not value or not all(c.isalnum() or c == "_" for c in value) or value[0].isdigit():
        raise invalid(f"'{value}' is not a valid name for '{field_name}' "
                      f"(letters, digits and '_', not starting with a digit).")
    return value


def _tables(call: Call) -> tuple[bool, list[str]]:
    """``include_all_tables`` or a ``db_tables`` list (strings, or one comma-separated string)."""
    all_tables = call.arg("include_all_tables", bool, False)
    raw = call.body.get("db_tables", [])
    if isinstance(raw, str):
        raw = [t for t in raw.replace(";", ",").split(",") if t.strip()]
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise invalid("The 'db_tables' field must be a list of table names.")
    tables = [t.strip() if "." in t else f"public.{t.strip()}" for t in raw]
    if not all_tables and not tables:
        raise invalid("A publication needs 'include_all_tables' or some 'db_tables'.")
    return all_tables, ([] if all_tables else tables)


def _publication(rep: Replication, database: str, name: str) -> Publication:
    pub = rep.publications.get((database, name))
    if pub is None:
        raise not_found(f"Publication '{name}' is not found in database '{database}'.")
    return pub


def _subscription(rep: Replication, database: str, name: str) -> Subscription:
    sub = rep.subscriptions.get((database, name))
    if sub is None:
        raise not_found(f"Subscription '{name}' is not found in database '{database}'.")
    return sub


@operation(PATH, "createPublication")
def create_publication(call: Call) -> Payload:
    cluster = _cluster(call, permissions.WRITE)
    rep = replication(call.world, cluster)
    database, name = call.arg("db_name", str, DEFAULT_DB), _name(call, "pub_name")
    if (database, name) in rep.publications:
        raise invalid(f"Publication '{name}' already exists in database '{database}'.")
    all_tables, tables = _tables(call)
    rep.publications[(database, name)] = Publication(name, database, all_tables, tables, call.now)
    return {"messages": [f"Publication '{name}' is created."]}


@operation(PATH, "modifyPublication")
def modify_publication(call: Call) -> Payload:
    """Rename (``new_pub_name``) and/or change the table set of a publication."""
    cluster = _cluster(call, permissions.WRITE)
    rep = replication(call.world, cluster)
    database = call.arg("db_name", str, DEFAULT_DB)
    pub = _publication(rep, database, _name(call, "pub_name"))
    new_name = _name(call, "new_pub_name") if call.body.get("new_pub_name") else pub.name
    if new_name != pub.name and (database, new_name) in rep.publications:
        raise invalid(f"Publication '{new_name}' already exists in database '{database}'.")
    if "include_all_tables" in call.body or "db_tables" in call.body:
        pub.all_tables, pub.tables = _tables(call)
    if new_name != pub.name:
        del rep.publications[(database, pub.name)]
        for clusters in call.world.extensions["logical_replication"].values():
            for sub in clusters.subscriptions.values():
                if sub.origin_cluster_id == cluster.cluster_id and sub.publication == pub.name:
                    sub.publication = new_name
        pub.name = new_name
        rep.publications[(database, new_name)] = pub
    return {"messages": [f"Publication '{pub.name}' is modified."]}


@operation(PATH, "dropPublication")
def drop_publication(call: Call) -> Payload:
    cluster = _cluster(call, permissions.WRITE)
    rep = replication(call.world, cluster)
    database = call.arg("db_name", str, DEFAULT_DB)
    pub = _publication(rep, database, _name(call, "pub_name"))
    del rep.publications[(database, pub.name)]
    return {"messages": [f"Publication '{pub.name}' is dropped."]}


@operation(PATH, "getPublications")
def get_publications(call: Call) -> Payload:
    cluster = _cluster(call, permissions.READ)
    pubs = [p.to_json(cluster.cluster_id) for _, p in sorted(
        replication(call.world, cluster).publications.items())]
    return {"total": len(pubs), "publications": pubs}


def _origin(call: Call, cluster: Cluster) -> Cluster:
    value = call.body.get("pub_origin")
    if value in (None, ""):
        return cluster
    origin = (call.world.clusters.get(call.arg("pub_origin", int))
              if isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())
              else call.world.cluster_by_name(str(value)))
    if origin is None:
        raise not_found(f"The publishing cluster '{value}' is not found.")
    permissions.check_cluster(call.world, call.login_user(), origin, origin.cluster_id,
                              permissions.READ)
    return origin


@operation(PATH, "createSubscription")
def create_subscription(call: Call) -> Payload:
    """Subscribe to ``pub_name`` of the ``pub_origin`` cluster; ``copy_data`` copies existing rows."""
    cluster = _cluster(call, permissions.WRITE)
    rep = replication(call.world, cluster)
    database, name = call.arg("db_name", str, DEFAULT_DB), _name(call, "sub_name")
    if (database, name) in rep.subscriptions:
        raise invalid(f"Subscription '{name}' already exists in database '{database}'.")
    origin = _origin(call, cluster)
    pub_name = _name(call, "pub_name")
    origin_rep = replication(call.world, origin) if origin.cluster_type == "POSTGRESQL_SINGLE" \
        else Replication()
    origin_db = call.arg("origin_db_name", str, database)
    _publication(origin_rep, origin_db, pub_name)
    rep.subscriptions[(database, name)] = Subscription(
        name, database, pub_name, origin.cluster_id, call.arg("enabled", bool, True),
        call.arg("copy_data", bool, True), call.now)
    return {"messages": [f"Subscription '{name}' is created."]}


@operation(PATH, "modifySubscription")
def modify_subscription(call: Call) -> Payload:
    """Rename (``new_sub_name``), enable/disable or point at another publication (``pub_name``)."""
    cluster = _cluster(call, permissions.WRITE)
    rep = replication(call.world, cluster)
    database = call.arg("db_name", str, DEFAULT_DB)
    sub = _subscription(rep, database, _name(call, "sub_name"))
    new_name = _name(call, "new_sub_name") if call.body.get("new_sub_name") else sub.name
    if new_name != sub.name and (database, new_name) in rep.subscriptions:
        raise invalid(f"Subscription '{new_name}' already exists in database '{database}'.")
    enabled = call.arg("enabled", bool, sub.enabled)   # checked before anything changes
    if call.body.get("pub_name") not in (None, "") and call.arg("pub_name", str) != sub.publication:
        origin = call.world.clusters.get(sub.origin_cluster_id)
        origin_rep = replication(call.world, origin) if origin is not None else Replication()
        sub.publication = _publication(origin_rep, database, _name(call, "pub_name")).name
    sub.enabled = enabled
    if new_name != sub.name:
        del rep.subscriptions[(database, sub.name)]
        sub.name = new_name
        rep.subscriptions[(database, new_name)] = sub
    return {"messages": [f"Subscription '{sub.name}' is modified."]}


@operation(PATH, "dropSubscription")
def drop_subscription(call: Call) -> Payload:
    cluster = _cluster(call, permissions.WRITE)
    rep = replication(call.world, cluster)
    database = call.arg("db_name", str, DEFAULT_DB)
    sub = _subscription(rep, database, _name(call, "sub_name"))
    del rep.subscriptions[(database, sub.name)]
    return {"messages": [f"Subscription '{sub.name}' is dropped."]}


@operation(PATH, "getSubscriptions")
def get_subscriptions(call: Call) -> Payload:
    cluster = _cluster(call, permissions.READ)
    subs = [s.to_json(cluster.cluster_id) for _, s in sorted(
        replication(call.world, cluster).subscriptions.items())]
    return {"total": len(subs), "subscriptions": subs}
