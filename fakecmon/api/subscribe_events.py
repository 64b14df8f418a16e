"""/v2/subscribe_events: the CmonEvent stream that ``s9s event --list/--watch`` reads.

The reply is not an envelope: the connection turns into a stream of
``\\x1e{json}\\n\\n`` records (see ``fakecmon.eventstream``) and is closed when the
client goes away or the server stops.
"""

from __future__ import annotations

from fakecmon import eventstream
from fakecmon.errors import TRY_AGAIN, RpcError, invalid
from fakecmon.rpc import Call, Payload, operation

from fakecmon.api._common import checked_cluster_if_named  # isort: skip

PATH = "/v2/subscribe_events"


@operation(PATH, "subscribe")
async def subscribe(call: Call) -> Payload:
    """Stream events the caller may read; ``cluster_id``/``cluster_name`` narrow it to a cluster."""
    user = call.login_user()
    cluster = checked_cluster_if_named(call)
    request = call.request
    if request is None:
        raise invalid("The event stream needs its own connection.")
    if len(eventstream.subscribers(call.controller)) >= call.controller.config.max_subscribers:
        raise RpcError(TRY_AGAIN, "Too many event subscribers, try again later.")
    await eventstream.stream(call.controller, user,
                             cluster.cluster_id if cluster is not None else None,
                             lambda: request.transport)
    return {}
