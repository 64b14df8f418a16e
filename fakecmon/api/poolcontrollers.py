"""/v2/poolcontrollers: the controller pool (``s9s controller --list``, cmon-proxy routing).

A controller starts outside pool mode: ``listControllers`` then lists no pool
controllers, which cmon-proxy reads as "no pool" (it would otherwise fan requests
out to ``port + 1`` of every active member). ``setPoolMode`` turns pool mode on,
and this controller becomes the pool's main controller, managing every cluster.

``properties`` is sent as a JSON *string*: cmon-proxy v0.3.2 fails the whole
reply on an object, newer versions accept both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from fakecmon import permissions
from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world import telemetry
from fakecmon.world.state import World

from fakecmon.api._common import announce, checked_cluster  # isort: skip

PATH = "/v2/poolcontrollers"
#: The port CMON pool members announce; clients reach their RPC v2 at port + 1.
MEMBER_PORT = 9500
#: This controller's ``controller_id`` as a pool member (the only member).
SELF_ID = 1


@dataclass
class PoolState:
    """Pool settings of this controller (``world.extensions["pool"]``)."""

    enabled: bool = False
    conf_storage: str = ""
    network_mask: str = ""
    max_clusters: int = 0            # 0: no limit
    enabled_at: float = 0.0
    #: Members stopped by ``stopController`` (by ``controller_id``).
    stopped: set[int] = field(default_factory=set)


def pool(world: World) -> PoolState:
    return world.extensions.setdefault("pool", PoolState())


def _member(call: Call) -> dict[str, Any]:
    """This controller as a pool member."""
    world = call.world
    state = pool(world)
    seed = telemetry.seed_of("controller", world.controller_id)
    properties = {
        "role": "main_controller",
        "dynamic_id": 1,
        "max_clusters": state.max_clusters,
        "stats": {"cpu_pct": f"{telemetry.wave(seed, call.now, 1.0, 12.0):.1f}",
                  "mem_used": str(int(telemetry.wave(seed + 1, call.now, 300, 900)) * 1024 ** 2),
                  "mem_total": str(16 * 1024 ** 3),
                  "fd_used": int(telemetry.wave(seed + 2, call.now, 80, 400)),
                  "fd_total": 65536},
    }
    return {
        "class_name": "CmonPoolController",
        "controller_id": SELF_ID,
        "hostname": world.hostname,
        "port": MEMBER_PORT,
        "properties": orjson.dumps(properties).decode(),
        "report_ts": rfc3339(call.now),
        "role": "main_controller",
        "static_id": world.controller_id,
        "status": "stopped" if SELF_ID in state.stopped else "active",
        "max_clusters": state.max_clusters,
        "clusters": [str(cid) for cid in sorted(world.clusters)],
    }


def _common(call: Call) -> Payload:
    return {"full_controller_id": call.world.controller_id, "pool_id": call.world.controller_id}


@operation(PATH, "listControllers")
def list_controllers(call: Call) -> Payload:
    """The pool members (none outside pool mode); ``controller_id`` narrows to one."""
    call.login_user()
    members = [_member(call)] if pool(call.world).enabled else []
    if call.body.get("controller_id") not in (None, 0, ""):
        wanted = call.arg("controller_id", int)
        members = [m for m in members if m["controller_id"] == wanted]
    return {**_common(call), "total": len(members), "controllers": members}


@operation(PATH, "assignedController")
def assigned_controller(call: Call) -> Payload:
    """The controller that manages ``cluster_id``: always this one."""
    checked_cluster(call)
    return {**_common(call), "controller": _member(call)}


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "enable", "enabled", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "off", "disable", "disabled", "0"):
        return False
    if isinstance(value, int):
        return value != 0
    raise invalid("The 'pool_mode' field must be a boolean (or on/off).")


@operation(PATH, "setPoolMode")
def set_pool_mode(call: Call) -> Payload:
    """Turn pool mode on (needs the shared ``conf_storage``) or off; superusers only."""
    user = call.login_user()
    permissions.require_superuser(call.world, user, "change the pool mode")
    if "pool_mode" not in call.body:
        raise invalid("Missing 'pool_mode' field in the request.")
    enable = _flag(call.body["pool_mode"])
    state = pool(call.world)
    if enable:
        storage = call.arg("conf_storage", str, state.conf_storage)
        if not storage.startswith("/"):
            raise invalid("Pool mode needs 'conf_storage': the absolute path of the "
                          "configuration storage the pool members share.")
        state.conf_storage = storage
        state.network_mask = call.arg("controllers_network_mask", str, state.network_mask)
        if not state.enabled:
            state.enabled_at = call.now
    else:
        state.stopped.clear()  # outside pool mode there are no members to keep stopped
    state.enabled = enable
    return {**_common(call), "pool_mode": state.enabled, "conf_storage": state.conf_storage,
            "controllers_network_mask": state.network_mask}


@operation(PATH, "setmaxclusterscapacity")
def set_max_clusters_capacity(call: Call) -> Payload:
    """How many clusters this controller takes; below the current count only with ``force``."""
    user = call.login_user()
    permissions.require_superuser(call.world, user, "change the cluster capacity")
    limit = call.arg("max_clusters", int)
    if limit < 0:
        raise invalid("The 'max_clusters' field must not be negative.")
    managed = len(call.world.clusters)
    if limit and limit < managed and not call.arg("force", bool, False):
        raise invalid(f"The controller manages {managed} clusters, more than {limit}; "
                      f"use 'force' to set the capacity anyway.")
    pool(call.world).max_clusters = limit
    return {**_common(call), "max_clusters": limit}


# ---- starting and stopping pool members

def _pool_member_id(call: Call, doing: str) -> int:
    """The ``controller_id`` of a pool member; outside pool mode there are none."""
    permissions.require_superuser(call.world, call.login_user(), f"{doing} pool controllers")
    wanted = call.arg("controller_id", int)
    if not pool(call.world).enabled:
        raise invalid("The controller is not in pool mode: there are no pool controllers "
                      f"to {doing}.")
    if wanted != SELF_ID:
        raise not_found(f"Pool controller {wanted} is not found.")
    return wanted


def _member_status(call: Call, controller_id: int, stop: bool) -> Payload:
    state = pool(call.world)
    word = "stopped" if stop else "active"
    if (controller_id in state.stopped) == stop:
        return {**_common(call), "messages": [f"Pool controller {controller_id} is already "
                                              f"{word}."]}
    if stop:
        state.stopped.add(controller_id)
    else:
        state.stopped.discard(controller_id)
    announce(call, f"controller.{'stopped' if stop else 'started'}", 0,
             f"Pool controller {controller_id} is {word}.", controller_id=controller_id)
    return {**_common(call), "messages": [f"Pool controller {controller_id} is {word}."]}


@operation(PATH, "stopController")
def stop_controller(call: Call) -> Payload:
    """Stop a pool member: it stops managing its clusters (``status: stopped`` in
    ``listControllers``, so cmon-proxy routes nothing to it). This controller keeps
    answering RPC: it is the pool's front, as CMON's main controller is."""
    return _member_status(call, _pool_member_id(call, "stop"), True)


@operation(PATH, "startController")
def start_controller(call: Call) -> Payload:
    """Start a stopped pool member again (``status: active``)."""
    return _member_status(call, _pool_member_id(call, "start"), False)
