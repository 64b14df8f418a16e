"""Every permission decision of fakecmon, in one place.

CMON's model: each object in the CMON directory tree (users, groups, clusters,
folders) has an owner user, an owner group and an ACL. Members of ``admins`` are
superusers and pass every check. Otherwise the owner gets the ``user::`` entry;
a named ``user:NAME:`` entry applies to that user; the owner group's ``group::``
entry and the named ``group:NAME:`` entries apply to their members (their union);
everybody else gets ``other::``.
"""

from __future__ import annotations

from fakecmon.errors import RpcError, denied
from fakecmon.world.models import Cluster, Owned, User
from fakecmon.world.state import World

READ, WRITE, EXECUTE = "r", "w", "x"
_WORDS = {READ: "Read", WRITE: "Write", EXECUTE: "Execute"}


def privileges(world: World, user: User, obj: Owned) -> str:
    """The effective privileges of ``user`` on ``obj`` as ``rwx`` letters."""
    if world.is_superuser(user):
        return "rwx"
    acl = obj.acl
    if obj.owner_user_id == user.user_id:
        return acl.user
    if user.user_name in acl.users:
        return acl.users[user.user_name]
    granted = ""
    matched = False
    if obj.owner_group_id in user.group_ids:
        granted += acl.group
        matched = True
    for group in world.user_groups(user):
        if group.group_name in acl.groups:
            granted += acl.groups[group.group_name]
            matched = True
    if matched:
        return "".join(c for c in "rwx" if c in granted)
    return acl.other


def can(world: World, user: User, obj: Owned, wanted: str) -> bool:
    """True when ``user`` has every privilege letter in ``wanted`` on ``obj``."""
    have = privileges(world, user, obj)
    return all(c in have for c in wanted)


def controller_object(world: World) -> Owned:
    """What stands for cluster 0 (the controller itself): the CDT root folder."""
    return world.extensions["cdt_root"] if "cdt_root" in world.extensions else _ROOT


_ROOT = Owned(owner_user_id=1, owner_group_id=1)


def check_cluster(world: World, user: User, cluster: Cluster | None, cluster_id: int,
                  wanted: str) -> None:
    """Raise AccessDenied worded as CMON words it: ``Execute access to cluster 21 for user readeruser is denied.``"""
    obj: Owned = cluster if cluster is not None else controller_object(world)
    for letter in wanted:
        if not can(world, user, obj, letter):
            raise denied(f"{_WORDS[letter]} access to cluster {cluster_id} "
                         f"for user {user.user_name} is denied.")


def check_object(world: World, user: User, obj: Owned, path: str, wanted: str) -> None:
    """Raise AccessDenied for a CDT object named by its path."""
    for letter in wanted:
        if not can(world, user, obj, letter):
            raise denied(f"{_WORDS[letter]} access to '{path}' "
                         f"for user {user.user_name} is denied.")


def require_superuser(world: World, user: User, what: str) -> None:
    if not world.is_superuser(user):
        raise RpcError("AccessDenied", f"User {user.user_name} has no privileges to {what}.")
