"""What happens in the world, told to whoever listens (log, audit, alarms, event stream).

Areas that change the world call ``emit``; areas that record or stream what
happened register a listener in ``LISTENERS`` when their module is imported. A
listener must be cheap and must not raise (it runs inside the request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakecmon.world.state import World

log = logging.getLogger("fakecmon")


@dataclass
class Event:
    """``kind`` names what happened, dotted: ``user.login``, ``user.login_failed``,
    ``job.created``, ``job.started``, ``job.ended``, ``host.status``, ``cluster.created``,
    ``cluster.removed``, ``cluster.state``, ``user.created``, ``backup.created``..."""

    kind: str
    time: float
    cluster_id: int = 0
    user_name: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[["World", Event], None]
LISTENERS: list[Listener] = []


def emit(world: "World", event: Event) -> None:
    for listener in LISTENERS:
        try:
            listener(world, event)
        except Exception:  # noqa: BLE001 - a recorder's bug must not fail the request
            log.exception("event listener failed on %s", event.kind)
