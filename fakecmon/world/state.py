"""The one state object of a running fakecmon: users, groups, clusters and what jobs add."""

from __future__ import annotations

from typing import Any

from fakecmon import CMON_VERSION
from fakecmon.world.models import Cluster, Group, User
from fakecmon.world.yamlfile import WorldError

ADMINS = "admins"


class World:
    """Everything the controller knows, indexed by id and by name.

    Handlers read and change it only from the event loop thread, so no locks.
    ``extensions`` is where other areas (jobs, alarms, backups...) keep their state,
    so that a reset, which builds a fresh World, resets them too.
    """

    def __init__(self, created: float) -> None:
        self.created = created
        self.controller_id = ""
        self.version = CMON_VERSION
        self.rpc_key = ""
        self.hostname = "127.0.0.1"
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.clusters: dict[int, Cluster] = {}
        self._user_names: dict[str, int] = {}
        self._group_names: dict[str, int] = {}
        self._cluster_names: dict[str, int] = {}
        self._host_seq = 0
        self._top_cluster_id = 0      # ids only grow: a dropped cluster's id is not reused
        self.extensions: dict[str, Any] = {}
        #: Bumped by everything that may change what a view shows (see ``changed``).
        self.generation = 0
        #: Pre-serialised views (``fakecmon.world.views``), valid for one generation.
        self.views: dict[Any, Any] = {}

    def __getattr__(self, name: str) -> Any:
        """Only for attributes not set: a restored world unpickles an area on its first
        touch (``fakecmon.world.pristine``)."""
        lazy = self.__dict__.get("_lazy")
        if lazy is not None and lazy.pending_attr(name):
            lazy.load(("attr", name))
            return self.__dict__[name]
        raise AttributeError(f"'World' object has no attribute '{name}'")

    def count(self, name: str) -> int:
        """``len()`` of a container attribute (``users``, ``clusters``...), without
        unpickling it when a restored world has not touched it yet."""
        lazy = self.__dict__.get("_lazy")
        if lazy is not None and lazy.pending_attr(name):
            return lazy.pristine.lengths[name]  # type: ignore[no-any-return]
        return len(getattr(self, name))

    def __getstate__(self) -> dict[str, Any]:
        """Copies (snapshots, the pristine world) start without cached views, and whole."""
        lazy = self.__dict__.get("_lazy")
        if lazy is not None:
            lazy.load_all()
        state = self.__dict__.copy()
        state["views"] = {}
        if type(state["extensions"]) is not dict:
            state["extensions"] = dict(state["extensions"])
        return state

    def changed(self) -> None:
        """Say that the world may have changed: every cached view is stale.

        Called for the handlers: by the RPC dispatcher around every operation that is
        not marked read-only, by the clock catch-up when an area moved, by the control
        API, the test API and the usermgmt FIFO. Model code never has to call it, so a
        new mutation path cannot forget it.
        """
        self.generation += 1
        if self.views:
            self.views = {}

    # ---- users and groups

    def user_by_name(self, name: str) -> User | None:
        uid = self._user_names.get(name)
        return None if uid is None else self.users[uid]

    def group_by_name(self, name: str) -> Group | None:
        gid = self._group_names.get(name)
        return None if gid is None else self.groups[gid]

    def add_user(self, user: User) -> None:
        self.users[user.user_id] = user
        self._user_names[user.user_name] = user.user_id

    def remove_user(self, user: User) -> None:
        self.users.pop(user.user_id, None)
        self._user_names.pop(user.user_name, None)

    def rename_user(self, user: User, new_name: str) -> None:
        self._user_names.pop(user.user_name, None)
        user.user_name = new_name
        self._user_names[new_name] = user.user_id

    def add_group(self, group: Group) -> None:
        self.groups[group.group_id] = group
        self._group_names[group.group_name] = group.group_id

    def remove_group(self, group: Group) -> None:
        self.groups.pop(group.group_id, None)
        self._group_names.pop(group.group_name, None)

    def rename_group(self, group: Group, new_name: str) -> None:
        self._group_names.pop(group.group_name, None)
        group.group_name = new_name
        self._group_names[new_name] = group.group_id

    def next_user_id(self) -> int:
        return max(self.users, default=0) + 1

    def next_group_id(self) -> int:
        return max(self.groups, default=0) + 1

    def user_groups(self, user: User) -> list[Group]:
        return [self.groups[g] for g in user.group_ids if g in self.groups]

    def is_superuser(self, user: User) -> bool:
        """Members of ``admins`` pass every permission check, as in CMON."""
        admins = self._group_names.get(ADMINS)
        return admins is not None and admins in user.group_ids

    # ---- clusters

    def cluster_by_name(self, name: str) -> Cluster | None:
        cid = self._cluster_names.get(name)
        return None if cid is None else self.clusters[cid]

    def add_cluster(self, cluster: Cluster) -> None:
        self._top_cluster_id = max(self._top_cluster_id, cluster.cluster_id)
        self.clusters[cluster.cluster_id] = cluster
        self._cluster_names[cluster.cluster_name] = cluster.cluster_id

    def remove_cluster(self, cluster: Cluster) -> None:
        self.clusters.pop(cluster.cluster_id, None)
        self._cluster_names.pop(cluster.cluster_name, None)

    def next_cluster_id(self) -> int:
        return max(max(self.clusters, default=0), self._top_cluster_id) + 1

    def next_host_id(self) -> int:
        self._host_seq += 1
        return self._host_seq

    # ---- consistency

    def check(self) -> None:
        """Whole-world rules that no single entry can check."""
        if self.user_by_name("system") is None:
            raise WorldError("the world has no 'system' user: CMON always has one")
        if self.group_by_name(ADMINS) is None:
            raise WorldError("the world has no 'admins' group: CMON always has one")
