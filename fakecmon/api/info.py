"""/v2/info and /v2/controller: controller ping, which needs no login."""

from __future__ import annotations

from fakecmon import PACKAGE_BUGREPORT
from fakecmon.rpc import Call, Payload, operation


def controller_ping(call: Call) -> Payload:
    world = call.world
    return {
        "authenticated": call.user is not None,
        "package_bugreport": PACKAGE_BUGREPORT,
        "package_name": "cmon",
        "package_version": world.version,
        "rpc_version": "2.0",
        "pool_id": world.controller_id,
        "xid": world.controller_id,
    }


operation("/v2/info", "ping", login=False)(controller_ping)
operation("/v2/controller", "ping", login=False)(controller_ping)
