"""/v2/info and /v2/controller: controller ping, which needs no login, and heartBeat."""

from __future__ import annotations

import hmac

from fakecmon import PACKAGE_BUGREPORT
from fakecmon.errors import denied
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339


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


@operation("/v2/controller", "heartBeat", login=False, kind="world-data")
def heart_beat(call: Call) -> Payload:
    """Whether the controller is alive and since when: what a watchdog or pool member polls.

    ``controller_key`` (the controller's RPC key) authenticates a caller that has no
    session; otherwise a login is needed.
    """
    key = call.body.get("controller_key")
    if key not in (None, ""):
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(),
                                                               call.world.rpc_key.encode()):
            raise denied("The controller key is not valid.")
    elif call.user is None:
        call.http_status = call.controller.config.auth_required_http_status
        call.login_user()               # AuthRequired, as for any operation needing a login
    world = call.world
    started = world.created
    client = call.arg("client_ip_address", str, "") or call.peer
    return {
        "alive": True,
        "client_ip_address": client,
        "package_name": "cmon",
        "package_version": world.version,
        "rpc_version": "2.0",
        "started": rfc3339(started),
        "uptime": int(call.now - started),
    }
