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
from fakecmon.world.cdt import cdt_of
from fakecmon.world.models import Cluster, Group, Owned, User
from fakecmon.world.state import ADMINS, World

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
    """What stands for cluster 0 (the controller itself): ``/.runtime/jobs/jobExecutor``.

    CMON decides who may run jobs on the controller by that file's ACL (by default
    members of ``users`` may run jobs, everybody may read); the root folder ``/`` is
    ``rwxrwxrwx`` in CMON, so it cannot be what guards the controller.
    """
    return cdt_of(world).job_executor


def can_execute_jobs(world: World, user: User) -> bool:
    """``can_execute_jobs`` of whoAmI: ``r-x`` on ``/.runtime/jobs/jobExecutor``."""
    return can(world, user, cdt_of(world).job_executor, READ + EXECUTE)


def can_create_clusters(world: World, user: User) -> bool:
    """``can_create_clusters`` of whoAmI: ``r-x`` on ``/.runtime/jobs/jobExecutorCreateCluster``."""
    return can(world, user, cdt_of(world).create_cluster_executor, READ + EXECUTE)


def check_create_cluster(world: World, user: User) -> None:
    """For jobs that create a cluster (``create_cluster``, ``add_cluster``...)."""
    if not can_create_clusters(world, user):
        raise denied(f"User {user.user_name} has no privileges to create clusters.")


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


def check_rename_by_name(world: World, user: User, obj: User | Group, path: str,
                         root: Owned) -> None:
    """Renaming a user or group (``s9s tree --move /kirk Kirk`` sends ``rename``; ``move``
    to a bare name or a path beside it is the same change): CMON checks write access to
    the root folder, so a user renames users and groups it cannot write (ft_folders.sh,
    where a plain member of ``users`` renames ``/groups/tos`` and ``/kirk``).

    That shortcut never reaches a superuser or the ``admins`` group: renaming those
    needs write access to the object itself, as any other rename does, so a plain user
    can not rename ``admin`` (and then take its name). The names ``system`` and
    ``admins`` are kept for everybody by the rename itself (``api/tree.py``)."""
    check_object(world, user, root, "/", WRITE)
    protected = world.is_superuser(obj) if isinstance(obj, User) else obj.group_name == ADMINS
    if protected:
        check_object(world, user, obj, path, WRITE)


def check_owner(world: World, user: User, obj: Owned, path: str) -> None:
    """Changing an object's owner, group or ACL: its owner or a superuser only (as POSIX)."""
    if not world.is_superuser(user) and obj.owner_user_id != user.user_id:
        raise denied(f"User {user.user_name} is not the owner of '{path}' and is not a "
                     "superuser.")


def check_named(world: World, user: User, obj: Owned, kind: str, name: str,
                wanted: str, *, say_which: bool = False) -> None:
    """Raise AccessDenied as CMON words it for users and groups:
    ``Access to group 'admins' is denied for user 'student'.`` (addToGroup), or with
    ``say_which`` the kind of access first, as deleteGroup says it:
    ``Write access to group 'tmpgroup' is denied for user 'student'.``"""
    for letter in wanted:
        if not can(world, user, obj, letter):
            which = f"{_WORDS[letter]} access" if say_which else "Access"
            raise denied(f"{which} to {kind} '{name}' is denied for user '{user.user_name}'.")


def can_read_cluster_id(world: World, user: User, cluster_id: int) -> bool:
    """May ``user`` read what belongs to cluster ``cluster_id`` (its jobs...)? Cluster 0 is
    the controller (``controller_object``); what a removed cluster left behind only
    superusers still see."""
    if cluster_id == 0:
        return can(world, user, controller_object(world), READ)
    cluster = world.clusters.get(cluster_id)
    if cluster is None:
        return world.is_superuser(user)
    return can(world, user, cluster, READ)


def owns(world: World, user: User, owner_id: int) -> bool:
    """What belongs to one user alone (its preferences, its watchlists): that user or a
    superuser, whatever ACLs say."""
    return user.user_id == owner_id or world.is_superuser(user)


def check_self(world: World, user: User, target: User, what: str) -> None:
    """What belongs to a user alone (its preferences): the user itself or a superuser,
    whatever the user object's ACL lets others read."""
    if not owns(world, user, target.user_id):
        raise denied(f"User {user.user_name} has no privileges to access the {what} of "
                     f"user {target.user_name}.")


def require_superuser(world: World, user: User, what: str) -> None:
    if not world.is_superuser(user):
        raise RpcError("AccessDenied", f"User {user.user_name} has no privileges to {what}.")
