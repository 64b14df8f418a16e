"""/v2/clusters: cluster information and cluster ping."""

from __future__ import annotations

from typing import Any

from fakecmon import PACKAGE_BUGREPORT, permissions
from fakecmon.errors import invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import infocache, views
from fakecmon.world.acl import show_perm
from fakecmon.world.config import license_docs
from fakecmon.world.models import Cluster
from fakecmon.world.views import cluster_json, cluster_list_view, cluster_view

from fakecmon.api._common import checked_cluster  # isort: skip

PATH = "/v2/clusters"


#: No tag filter (never changed: ``_tags``'s callers only read it).
_NO_TAGS: frozenset[str] = frozenset()


def _tags(call: Call, name: str) -> frozenset[str] | set[str]:
    """Tag filter (s9s: a list or ``;``-string). cmon-proxy sends ``with_tags: true`` as
    a flag (go-clients.md §2.3): a boolean filters nothing, as in CMON."""
    value = call.body.get(name)
    if value is None or value == "" or isinstance(value, bool):
        return _NO_TAGS
    if isinstance(value, str):
        return {t for t in value.replace(",", ";").split(";") if t}
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return set(value)
    raise invalid(f"The '{name}' field must be a list of strings.")


def _readable(call: Call) -> list[tuple[Cluster, str]]:
    """The clusters the caller may read, in id order, with its privileges on each: kept
    in the world's views, so until the world changes (ACLs, groups...)."""
    user, world = call.login_user(), call.world
    key = ("readable clusters", user.user_id)
    found = world.views.get(key)
    if found is None or views.VERIFY:
        fresh = [(world.clusters[cid],
                  show_perm(permissions.privileges(world, user, world.clusters[cid])))
                 for cid in sorted(world.clusters)
                 if permissions.can(world, user, world.clusters[cid], permissions.READ)]
        if found is not None and found != fresh:
            raise views.StaleView(f"cached readable clusters of {user.user_name} are stale")
        found = world.views[key] = fresh
    return found


def _cluster_doc(call: Call, cluster: Cluster, shape: tuple[bool, bool] | None = None,
                 privileges: str | None = None, count: bool = True) -> Any:
    """The cluster's view: a pre-serialised fragment unless databases are asked for.
    ``shape`` is ``(with_hosts, with_databases)`` and ``privileges`` the caller's, when
    already known."""
    now = call.now
    if count:   # the cluster info cache statistics count every lookup
        infocache.cache_of(call.world).lookup(cluster, now)
    if privileges is None:
        privileges = show_perm(permissions.privileges(call.world, call.login_user(), cluster))
    with_hosts, with_databases = shape or _shape(call)
    if not with_databases:
        return cluster_view(call.world, cluster, now, privileges=privileges,
                            with_hosts=with_hosts)
    doc = cluster_json(call.world, cluster, call.now, privileges=privileges,
                       with_hosts=with_hosts)
    doc["databases"] = list(call.world.extensions.get("databases", {}).get(cluster.cluster_id, []))
    return doc


def _shape(call: Call) -> tuple[bool, bool]:
    return call.arg("with_hosts", bool, True), call.arg("with_databases", bool, False)


def _license(call: Call) -> dict[str, Any]:
    """The license (``/v2/config setLicense`` changes it: fakecmon/world/config.py)."""
    return license_docs(call.world, call.now)


@operation(PATH, "getAllClusterInfo", readonly=True)
def get_all_cluster_info(call: Call) -> Payload:
    """Every cluster the caller may read, in id order; ``with_tags``/``without_tags`` filter."""
    # s9s cluster --list/--stat (``--all-pool``, ``--include-container-info``). What CMON
    # adds for all_pool/with_containers is documented nowhere a client reads it (s9s prints
    # nothing of it), so they are taken and the reply is the one without them.
    call.takes("with_sheet_info", "all_pool", "with_containers", kind=bool)
    with_tags, without_tags = _tags(call, "with_tags"), _tags(call, "without_tags")
    shape = _shape(call)
    selected = _readable(call)
    filtered = with_tags or without_tags
    if filtered:
        selected = [(cluster, privileges) for cluster, privileges in selected
                    if not (with_tags and not with_tags & set(cluster.tags))
                    and not (without_tags and without_tags & set(cluster.tags))]
    clusters: Any = None
    if selected and not shape[1]:    # the whole list as one pre-serialised piece
        world, now, user_id = call.world, call.now, call.login_user().user_id
        infocache.cache_of(world).lookup_all(selected, now)
        clusters = cluster_list_view(
            world, selected, now, with_hosts=shape[0],
            key=("cluster list", user_id, shape[0], frozenset(with_tags),
                 frozenset(without_tags)) if filtered else ("cluster list", user_id, shape[0]))
    if clusters is None:
        counted = bool(selected) and not shape[1]
        clusters = [_cluster_doc(call, cluster, shape, privileges, count=not counted)
                    for cluster, privileges in selected]
    payload: Payload = {"total": len(selected)}
    if selected:  # CMON leaves the field out when the caller sees no cluster (the capture)
        payload["clusters"] = clusters
    if call.arg("with_license_check", bool, False):
        payload.update(_license(call))
    return payload


@operation(PATH, "getClusterInfo", readonly=True)
def get_cluster_info(call: Call) -> Payload:
    call.takes("with_sheet_info", kind=bool)
    call.takes("limit", "offset", kind=int)     # s9s pages every request it composes
    return {"cluster": _cluster_doc(call, checked_cluster(call))}


@operation(PATH, "ping")
def ping(call: Call) -> Payload:
    """Cluster ping; cluster 0 (or none) pings the controller itself."""
    user = call.login_user()
    cid = call.arg("cluster_id", int, 0)
    if cid or call.body.get("cluster_name"):
        cluster = call.world.clusters.get(cid) if cid else call.world.cluster_by_name(
            call.arg("cluster_name", str))
        if cluster is None:
            what = cid if cid else f"'{call.body.get('cluster_name')}'"
            raise invalid(f"Configuration {what} was not found.")
        permissions.check_cluster(call.world, user, cluster, cluster.cluster_id, permissions.READ)
    return {"authenticated": True, "package_bugreport": PACKAGE_BUGREPORT,
            "package_name": "cmon", "package_version": call.world.version, "rpc_version": "2.0"}


@operation(PATH, "getClusterInfoCacheStatistics", kind="world-data")
def get_cluster_info_cache_statistics(call: Call) -> Payload:
    """The cluster info cache's counters (fakecmon/world/infocache.py): of every cluster,
    or of the one named by ``cluster_id``/``cluster_name`` (read access needed)."""
    user = call.login_user()
    cache = infocache.cache_of(call.world)
    cluster = call.cluster(required=False)
    if cluster is None:  # the controller's whole cache: guarded like cluster 0
        permissions.check_cluster(call.world, user, None, 0, permissions.READ)
        entries = cache.live(call.world)
        return {"cache_statistics": infocache.statistics(entries, len(entries))}
    permissions.check_cluster(call.world, user, cluster, cluster.cluster_id, permissions.READ)
    entry = cache.entries.get(cluster.cluster_id)
    entries = [entry] if entry is not None and entry.cluster_name == cluster.cluster_name else []
    return {"cluster_id": cluster.cluster_id,
            "cache_statistics": infocache.statistics(entries, len(entries))}
