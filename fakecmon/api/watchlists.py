"""/v2/watchlists: a user's saved dashboards of clusters and topics (``s9s watchlist``).

Watchlists belong to the user who creates them (``owner_id``); their owner and
superusers see and change them. They name clusters the owner may read and
topics (free-form strings such as ``load`` or ``replication``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon import permissions
from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world.models import User
from fakecmon.world.state import World

PATH = "/v2/watchlists"


@dataclass
class Watchlist:
    watchlist_id: int
    name: str
    owner_id: int
    clusters: list[int]
    topics: list[str]
    grid: Any
    page_by: Any
    comment: str
    created: float

    def to_json(self) -> dict[str, Any]:
        return {"class_name": "CmonWatchlist", "watchlist_id": self.watchlist_id,
                "watchlist_name": self.name, "owner_id": self.owner_id,
                "clusters": list(self.clusters), "topics": list(self.topics),
                "grid": self.grid, "page_by": self.page_by, "comment": self.comment,
                "created": rfc3339(self.created)}


@dataclass
class Watchlists:
    next_id: int = 1
    items: dict[int, Watchlist] = field(default_factory=dict)


def watchlists(world: World) -> Watchlists:
    return world.extensions.setdefault("watchlists", Watchlists())


def _spec(call: Call) -> dict[str, Any]:
    return call.arg("watchlist", dict)


def _clusters(call: Call, user: User, value: Any) -> list[int]:
    if not isinstance(value, list):
        raise invalid("The watchlist's 'clusters' must be a list of cluster ids.")
    out = []
    for item in value:
        try:
            cid = int(item)
        except (TypeError, ValueError):
            raise invalid(f"'{item}' is not a cluster id.") from None
        cluster = call.world.clusters.get(cid)
        if cluster is None:
            raise invalid(f"Cluster {cid} was not found.")
        permissions.check_cluster(call.world, user, cluster, cid, permissions.READ)
        if cid not in out:
            out.append(cid)
    return out


def _name(call: Call, value: Any, owner_id: int, renamed: Watchlist | None = None) -> str:
    """A watchlist name (trimmed) that its owner does not use for another watchlist yet."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("The watchlist needs a 'watchlist_name'.")
    name = value.strip()
    if any(w.name == name and w.owner_id == owner_id and w is not renamed
           for w in watchlists(call.world).items.values()):
        raise invalid(f"You already have a watchlist named '{name}'.")
    return name


def _topics(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise invalid("The watchlist's 'topics' must be a list of strings.")
    return list(dict.fromkeys(value))


def _find(call: Call, user: User, wid: Any) -> Watchlist:
    try:
        key = int(wid)
    except (TypeError, ValueError):
        raise invalid("The 'watchlist_id' field must be a number.") from None
    item = watchlists(call.world).items.get(key)
    if item is None or not permissions.owns(call.world, user, item.owner_id):
        raise not_found(f"Watchlist {key} is not found.")
    return item


@operation(PATH, "createWatchlist")
def create_watchlist(call: Call) -> Payload:
    user = call.login_user()
    spec = _spec(call)
    name = _name(call, spec.get("watchlist_name"), user.user_id)
    state = watchlists(call.world)
    item = Watchlist(state.next_id, name, user.user_id,
                     _clusters(call, user, spec.get("clusters", [])),
                     _topics(spec.get("topics", [])), spec.get("grid", ""),
                     spec.get("page_by", ""), call.arg("comment", str, ""), call.now)
    state.items[item.watchlist_id] = item
    state.next_id += 1
    return {"watchlist": item.to_json()}


@operation(PATH, "updateWatchlist")
def update_watchlist(call: Call) -> Payload:
    """Change the fields the ``watchlist`` object carries (``watchlist_id`` names it)."""
    user = call.login_user()
    spec = _spec(call)
    item = _find(call, user, spec.get("watchlist_id"))
    name = _name(call, spec.get("watchlist_name", item.name), item.owner_id, item)
    clusters = _clusters(call, user, spec["clusters"]) if "clusters" in spec else item.clusters
    topics = _topics(spec["topics"]) if "topics" in spec else item.topics
    comment = call.arg("comment", str, item.comment)
    item.name, item.clusters, item.topics = name, clusters, topics
    item.grid = spec.get("grid", item.grid)
    item.page_by = spec.get("page_by", item.page_by)
    item.comment = comment
    return {"watchlist": item.to_json()}


@operation(PATH, "deleteWatchlist")
def delete_watchlist(call: Call) -> Payload:
    user = call.login_user()
    item = _find(call, user, call.body.get("watchlist_id"))
    del watchlists(call.world).items[item.watchlist_id]
    return {"messages": [f"Watchlist {item.watchlist_id} is deleted."]}


@operation(PATH, "listWatchlists")
def list_watchlists(call: Call) -> Payload:
    """The caller's watchlists (all for superusers), by ``watchlist_id`` or ``watchlist_name``."""
    user = call.login_user()
    items = [w for _, w in sorted(watchlists(call.world).items.items())
             if permissions.owns(call.world, user, w.owner_id)]
    if call.body.get("watchlist_id") not in (None, "", 0):
        wid = call.arg("watchlist_id", int)
        items = [w for w in items if w.watchlist_id == wid]
    name = call.arg("watchlist_name", str, "")
    if name:
        items = [w for w in items if w.name == name]
    return {"total": len(items), "watchlists": [w.to_json() for w in items]}
