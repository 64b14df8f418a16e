"""Helpers shared by the alarm, maintenance, log, audit, config, host, report and account handlers.

Not an RPC path: it registers no operation. The main point is ``visible_cluster``:
CMON answers "Cluster was not found." both for a cluster that does not exist and
for one the caller may not read (it does not tell which clusters exist), with a
``request_status`` that depends on the operation (see the captures).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from fakecmon import permissions
from fakecmon.errors import OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.events import Event, emit
from fakecmon.rpc import Call, coerce
from fakecmon.world.models import Cluster, Host

T = TypeVar("T")
NOT_FOUND_TEXT = "Cluster was not found."


def cluster_ref_given(call: Call) -> bool:
    """True when the request names a cluster other than 0 (the controller)."""
    cid = call.body.get("cluster_id")
    if cid is not None and call.arg("cluster_id", int) != 0:
        return True
    return call.body.get("cluster_name") not in (None, "")


def named_cluster(call: Call, status: str = OBJECT_NOT_FOUND) -> Cluster | None:
    """The cluster ``cluster_id`` (> 0) or else ``cluster_name`` names; None when the
    request names none or cluster 0 (the controller). An unknown one is "Cluster was
    not found." with ``status``, which depends on the operation (see the captures)."""
    if call.body.get("cluster_id") is not None:
        cid = call.arg("cluster_id", int)
        if cid > 0:
            cluster = call.world.clusters.get(cid)
            if cluster is None:
                raise RpcError(status, NOT_FOUND_TEXT)
            return cluster
    if call.body.get("cluster_name") not in (None, ""):
        cluster = call.world.cluster_by_name(call.arg("cluster_name", str))
        if cluster is None:
            raise RpcError(status, NOT_FOUND_TEXT)
        return cluster
    return None


def visible_cluster(call: Call, status: str = OBJECT_NOT_FOUND) -> Cluster:
    """The cluster named by ``cluster_id``/``cluster_name`` if the caller may read it."""
    cluster = named_cluster(call, status)
    if cluster is None:
        raise invalid("The request has no 'cluster_id' or 'cluster_name'.")
    if not permissions.can(call.world, call.login_user(), cluster, permissions.READ):
        raise RpcError(status, NOT_FOUND_TEXT)
    return cluster


def readable_clusters(call: Call) -> list[Cluster]:
    """Every cluster the caller may read, in id order."""
    user = call.login_user()
    world = call.world
    return [world.clusters[c] for c in sorted(world.clusters)
            if permissions.can(world, user, world.clusters[c], permissions.READ)]


class ReadableIds:
    """``cluster_id in ReadableIds(call)``: may the caller read that cluster's entries?

    Id 0 stands for the controller's own entries (guarded by the CDT's job executor)
    unless ``controller`` is false. Decided per id on first use, so filtering a log
    costs what its entries cost, not a permission check of every cluster in the world.
    """

    def __init__(self, call: Call, *, controller: bool = True) -> None:
        self.world = call.world
        self.user = call.login_user()
        self.controller = controller
        self._known: dict[int, bool] = {}

    def __contains__(self, cluster_id: object) -> bool:
        if not isinstance(cluster_id, int):
            return False
        known = self._known.get(cluster_id)
        if known is None:
            known = self._known[cluster_id] = self._decide(cluster_id)
        return known

    def _decide(self, cluster_id: int) -> bool:
        if cluster_id == 0 and self.controller:
            obj = permissions.controller_object(self.world)
        else:
            cluster = self.world.clusters.get(cluster_id)
            if cluster is None:
                return False
            obj = cluster
        return permissions.can(self.world, self.user, obj, permissions.READ)


def readable_host(call: Call, hostname: str, port: int | None = None,
                  cluster_id: int = 0) -> tuple[Cluster, Host]:
    """The host ``hostname`` (on ``port``) of cluster ``cluster_id``, or of the first
    cluster (by id) that has it; clusters the caller may not read do not count."""
    world, user = call.world, call.login_user()
    for cid in ([cluster_id] if cluster_id else sorted(world.clusters)):
        cluster = world.clusters.get(cid)
        host = cluster.host(hostname, port) if cluster is not None else None
        if host is not None and permissions.can(world, user, cluster, permissions.READ):
            return cluster, host
    where = f"{hostname}:{port}" if port else hostname
    raise RpcError(OBJECT_NOT_FOUND, f"Host '{where}' was not found.")


def require(call: Call, cluster: Cluster, wanted: str) -> None:
    permissions.check_cluster(call.world, call.login_user(), cluster, cluster.cluster_id, wanted)


def checked_cluster(call: Call, wanted: str = permissions.READ) -> Cluster:
    """The cluster the request names (``Call.cluster``), if the caller has ``wanted`` on it."""
    cluster = call.cluster()
    assert cluster is not None
    require(call, cluster, wanted)
    return cluster


def checked_cluster_if_named(call: Call, wanted: str = permissions.READ) -> Cluster | None:
    """Like ``checked_cluster``; None when the request names no cluster (or cluster 0)."""
    cluster = call.cluster(required=False)
    if cluster is not None:
        require(call, cluster, wanted)
    return cluster


def paging(call: Call) -> tuple[int, int | None]:
    """(offset, limit) from the request; negative values mean "not set", as s9s sends them."""
    offset = call.arg("offset", int, 0)
    limit = call.arg("limit", int, -1)
    return max(offset, 0), (limit if limit >= 0 else None)


def page(call: Call, items: Sequence[T]) -> list[T]:
    offset, limit = paging(call)
    end = None if limit is None else offset + limit
    return list(items[offset:end])


def obj(call: Call, name: str, *, required: bool = True) -> dict[str, Any]:
    """A request field that must be a JSON object (``account``, ``report``...)."""
    value = call.body.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"The '{name}' field must be an object."
                      if value is not None else f"Missing '{name}' field in the request.")
    return value


def field(spec: dict[str, Any], name: str, kind: type[T], default: Any = None,
          where: str = "") -> T:
    """A typed field of a nested request object; a wrong type is InvalidRequest."""
    value = spec.get(name)
    if value is None:
        if default is None:
            raise invalid(f"Missing '{name}' field in the {where or 'request'}.")
        return default
    try:
        return coerce(value, kind, name)   # as lenient as top-level fields: "7" is 7
    except RpcError:
        raise invalid(f"The '{name}' field of the {where or 'request'} has the wrong type.") \
            from None


def announce(call: Call, kind: str, cluster_id: int, message: str, **data: Any) -> None:
    """Tell the event listeners (log, audit, event stream) what the caller just did."""
    user = call.login_user()
    data.setdefault("client_hostname", call.peer)
    emit(call.world, Event(kind, call.now, cluster_id=cluster_id, user_name=user.user_name,
                           message=message, data=data))
