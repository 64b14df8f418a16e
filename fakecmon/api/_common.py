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
from fakecmon.rpc import Call
from fakecmon.world.models import Cluster

T = TypeVar("T")
NOT_FOUND_TEXT = "Cluster was not found."


def cluster_ref_given(call: Call) -> bool:
    """True when the request names a cluster other than 0 (the controller)."""
    cid = call.body.get("cluster_id")
    if cid is not None and call.arg("cluster_id", int) != 0:
        return True
    return call.body.get("cluster_name") not in (None, "")


def visible_cluster(call: Call, status: str = OBJECT_NOT_FOUND) -> Cluster:
    """The cluster named by ``cluster_id``/``cluster_name`` if the caller may read it."""
    user = call.login_user()
    if call.body.get("cluster_id") not in (None, 0, "0"):
        cluster = call.world.clusters.get(call.arg("cluster_id", int))
    elif call.body.get("cluster_name") not in (None, ""):
        cluster = call.world.cluster_by_name(call.arg("cluster_name", str))
    else:
        raise invalid("The request has no 'cluster_id' or 'cluster_name'.")
    if cluster is None or not permissions.can(call.world, user, cluster, permissions.READ):
        raise RpcError(status, NOT_FOUND_TEXT)
    return cluster


def readable_clusters(call: Call) -> list[Cluster]:
    """Every cluster the caller may read, in id order."""
    user = call.login_user()
    world = call.world
    return [world.clusters[c] for c in sorted(world.clusters)
            if permissions.can(world, user, world.clusters[c], permissions.READ)]


def can_read_controller(call: Call) -> bool:
    """Cluster 0 (the controller's own entries) is guarded by the CDT root."""
    return permissions.can(call.world, call.login_user(),
                           permissions.controller_object(call.world), permissions.READ)


def require(call: Call, cluster: Cluster, wanted: str) -> None:
    permissions.check_cluster(call.world, call.login_user(), cluster, cluster.cluster_id, wanted)


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
    if kind is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)  # type: ignore[return-value]
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
        return (value.lower() == "true")  # type: ignore[return-value]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise invalid(f"The '{name}' field of the {where or 'request'} has the wrong type.")
    return value


def announce(call: Call, kind: str, cluster_id: int, message: str, **data: Any) -> None:
    """Tell the event listeners (log, audit, event stream) what the caller just did."""
    user = call.login_user()
    data.setdefault("client_hostname", call.peer)
    emit(call.world, Event(kind, call.now, cluster_id=cluster_id, user_name=user.user_name,
                           message=message, data=data))
