"""/v2/tree: the CMON directory tree (CDT): listing, folders, files, owners and ACLs.

Every object answers to a path: users at ``/<name>``, groups at ``/groups/<name>``,
clusters at ``/<cluster name>``, folders and files wherever they were made. The
owner, group and ACL shown and changed here are the objects' own, so ``chown``
or ``addAcl`` on ``/galera-prod`` changes who may see and use that cluster.
Permission decisions are ``fakecmon.permissions``'.
"""

from __future__ import annotations

from typing import Any

from fakecmon import permissions
from fakecmon.api.users import remove_group, remove_user
from fakecmon.errors import RpcError, invalid, not_found
from fakecmon.events import Event, emit
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import accounts, loader
from fakecmon.world.acl import Acl, parse_perm, show_perm
from fakecmon.world.cdt import (
    CLUSTER, FILE, FOLDER, GROUP, SERVER, USER, Cdt, Entry, Node, cdt_of, check_name,
    check_principal_name, parent_of, split_path,
)
from fakecmon.world.models import Cluster, Group, User
from fakecmon.world.state import ADMINS, World
from fakecmon.world.views import cluster_json, group_json, user_json

PATH = "/v2/tree"

# ---- lookups


def _tree(call: Call) -> Cdt:
    return cdt_of(call.world)


def _node(call: Call, field: str = "path") -> Node:
    """The object at the path in ``field``; a cluster the caller may not read is not
    found, as it is not listed (CMON does not tell which clusters exist)."""
    path = call.arg(field, str)
    node = _tree(call).resolve(path, f"'{field}'")
    if node is None or not _visible(call, node):
        raise not_found(f"CDT path '{path}' is not found.")
    return node


def _folder(call: Call, path: str) -> Node:
    node = _tree(call).resolve(path)
    if node is None:
        raise not_found(f"Folder '{path}' is not found.")
    folder = _tree(call).as_folder(node)
    if folder is None:
        raise invalid(f"'{path}' is not a folder.")
    return folder


def _owner_and_group(call: Call, user: User) -> tuple[int, int]:
    return user.user_id, accounts.primary_group_id(call.world, user)


def _refuse_system(node: Node, doing: str) -> None:
    """CMON's own layout (``/``, ``/groups``, ``/.runtime``...) stays as it is."""
    if node.entry is not None and node.entry.system:
        raise invalid(f"The '{node.path}' entry belongs to the controller and can not be "
                      f"{doing}.")


# ---- the reply shapes


def item_json(call: Call, node: Node, depth: int | None, *,
              expand: bool = False) -> dict[str, Any]:
    """One ``CmonTreeItem``; folders (and the group asked for) carry ``sub_items``."""
    world, user = call.world, call.login_user()
    obj = node.obj
    owner = world.users.get(obj.owner_user_id)
    group = world.groups.get(obj.owner_group_id)
    doc: dict[str, Any] = {
        "class_name": "CmonTreeItem",
        "owner_user_id": obj.owner_user_id,
        "owner_user_name": owner.user_name if owner else "",
        "owner_group_id": obj.owner_group_id,
        "owner_group_name": group.group_name if group else "",
        "effective_privileges": show_perm(permissions.privileges(world, user, obj)),
        "item_acl": str(obj.acl),
        "item_name": node.name,
        "item_path": node.folder,
        "item_type": node.kind,
    }
    if isinstance(obj, User):
        doc["item_spec"] = f"{obj.first_name} {obj.last_name}".strip()
    if node.link_target is not None:
        doc["link_target"] = node.link_target
    entry = node.entry
    if entry is not None and entry.device is not None:
        doc["major_device_number"], doc["minor_devide_number"] = entry.device  # sic, CMON's
    elif entry is not None and entry.kind == FILE:
        doc["size"] = len(entry.text(world, call.now).encode())
    listed = node.kind in (FOLDER, SERVER, CLUSTER) or (node.kind == GROUP and expand)
    if listed and (depth is None or depth > 0) and permissions.can(world, user, obj,
                                                                    permissions.READ):
        below = None if depth is None else depth - 1
        doc["sub_items"] = [item_json(call, child, below)
                            for child in _tree(call).children(node) if _visible(call, child)]
    return doc


def _visible(call: Call, node: Node) -> bool:
    """Clusters and servers show only to who may read them (as in getAllClusterInfo and
    getServers); the rest always."""
    if node.kind not in (CLUSTER, SERVER):
        return True
    return permissions.can(call.world, call.login_user(), node.obj, permissions.READ)


def _acl_reply(call: Call, node: Node) -> Payload:
    world = call.world
    owner = world.users.get(node.obj.owner_user_id)
    group = world.groups.get(node.obj.owner_group_id)
    return {
        "owner_user_name": owner.user_name if owner else "",
        "owner_group_name": group.group_name if group else "",
        "acl": str(node.obj.acl),
        "object_name": node.name,
        "object_path": node.folder,
    }


def _changed(call: Call, what: str, node: Node) -> None:
    emit(call.world, Event("cdt.changed", call.now, user_name=call.login_user().user_name,
                           message=f"{what} '{node.path}'.", data={"path": node.path}))


# ---- listing and reading


@operation(PATH, "getTree")
def get_tree(call: Call) -> Payload:
    """The tree below ``path`` (``/`` by default), ``depth`` levels deep (all by default)."""
    user = call.login_user()
    path = call.arg("path", str, "") or "/"
    node = _tree(call).resolve(path)
    if node is None or not _visible(call, node):
        raise not_found(f"CDT path '{path}' is not found.")
    depth = call.arg("depth", int, -1)
    if node.kind in (FOLDER, GROUP):
        permissions.check_object(call.world, user, node.obj, node.path, permissions.READ)
    doc = item_json(call, node, None if depth < 0 else depth, expand=True)
    if call.arg("with_dot_dot", bool, False) and "sub_items" in doc:
        names = split_path(node.path) if node.name else []
        parent = _tree(call).resolve(parent_of(names)) if names else node
        assert parent is not None
        dots = [dict(item_json(call, n, 0), item_name=name) for name, n in
                ((".", node), ("..", parent))]
        for dot in dots:
            dot.pop("sub_items", None)
        doc["sub_items"] = dots + doc["sub_items"]
    return {"cdt": doc}


@operation(PATH, "getObject")
def get_object(call: Call) -> Payload:
    """The object at ``path`` with its own fields (``s9s tree --get``, printed as JSON):
    a user, group or cluster as getUsers/getGroups/getClusterInfo show it, a folder or
    file as its tree item (without ``sub_items``). Read access to the object is needed."""
    node = _node(call)
    world, user = call.world, call.login_user()
    permissions.check_object(world, user, node.obj, node.path, permissions.READ)
    obj = node.obj
    if isinstance(obj, User):
        doc = user_json(world, obj)
    elif isinstance(obj, Group):
        doc = group_json(world, obj)
    elif isinstance(obj, Cluster):
        doc = cluster_json(world, obj, call.now, with_hosts=False,
                           privileges=show_perm(permissions.privileges(world, user, obj)))
    else:
        doc = item_json(call, node, 0)
    return {"object": doc}


@operation(PATH, "cat")
def cat(call: Call) -> Payload:
    node = _node(call)
    if node.kind != FILE or node.entry is None:
        raise invalid(f"'{node.path}' is not a file.")
    if not permissions.can(call.world, call.login_user(), node.obj, permissions.READ):
        raise invalid("Access denied.")  # sic: CMON answers InvalidRequest here
    return {"file_content": node.entry.text(call.world, call.now)}


@operation(PATH, "getAcl")
def get_acl(call: Call) -> Payload:
    """Owner, group and ACL are shown to everybody (as in every tree listing)."""
    return _acl_reply(call, _node(call))


@operation(PATH, "checkAccess")
def check_access(call: Call) -> Payload:
    """Ok when the caller has every privilege in ``privileges`` (``r``, ``rw``, ``r-x``...)."""
    user = call.login_user()
    node = _node(call)
    text = call.arg("privileges", str)
    try:
        wanted = parse_perm(text)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if not permissions.can(call.world, user, node.obj, wanted):
        raise invalid(f"Access to object for user '{user.user_name}' is not granted.")
    return {}


# ---- making and removing folders and files


@operation(PATH, "mkdir")
def mkdir(call: Call) -> Payload:
    """Make a folder and the missing folders above it; the folder itself must be new."""
    user = call.login_user()
    path = call.arg("path", str)
    names = split_path(path)
    if not names:
        raise invalid("The folder '/' already exists.")
    tree = _tree(call)
    node = tree.root_node()
    missing: list[str] = []
    for i, name in enumerate(names):
        child = tree.child(node, name)
        if child is None:
            missing = names[i:]
            break
        folder_view = tree.as_folder(child)
        if folder_view is None:
            raise invalid(f"'{child.path}' is not a folder.")
        node = folder_view
    if not missing:
        raise invalid(f"The folder '{node.path}' already exists.")
    _check_new_entry_place(call, node)
    owner, group = _owner_and_group(call, user)
    assert node.entry is not None
    folder = node.entry
    for name in missing:
        folder = tree.add(folder, name, FOLDER, owner, group, call.now)
    _changed(call, "Created folder", tree.entry_node(folder))
    return {}


def _check_new_entry_place(call: Call, folder: Node) -> None:
    """May the caller add to this folder? (``/groups`` only holds groups.)"""
    if folder.entry is _tree(call).groups:
        raise invalid("Only groups are in '/groups': use createGroup.")
    permissions.check_object(call.world, call.login_user(), folder.obj, folder.path,
                             permissions.WRITE)


def _new_file(call: Call, path: str) -> Entry:
    names = split_path(path)
    if not names:
        raise invalid("The path '/' is a folder.")
    folder = _folder(call, parent_of(names))
    tree = _tree(call)
    if tree.child(folder, names[-1]) is not None:
        raise invalid(f"The '{path}' already exists.")
    _check_new_entry_place(call, folder)
    owner, group = _owner_and_group(call, call.login_user())
    assert folder.entry is not None
    return tree.add(folder.entry, names[-1], FILE, owner, group, call.now)


@operation(PATH, "mkfile")
def mkfile(call: Call) -> Payload:
    """An empty file (``s9s tree --touch``); its folder must exist."""
    entry = _new_file(call, call.arg("path", str))
    _changed(call, "Created file", _tree(call).entry_node(entry))
    return {}


@operation(PATH, "setContent")
def set_content(call: Call) -> Payload:
    """Write a file (made if missing); CMON answers InvalidRequest when it may not."""
    content = call.arg("content", str)
    path = call.arg("path", str)
    node = _tree(call).resolve(path)
    if node is None:
        entry = _new_file(call, path)
    else:
        if node.kind != FILE or node.entry is None:
            raise invalid(f"'{node.path}' is not a file.")
        if not permissions.can(call.world, call.login_user(), node.obj, permissions.WRITE):
            raise invalid("Error while saving: Access Denied.")
        if not node.entry.writable:
            raise invalid(f"Error while saving: '{node.path}' is read-only.")
        entry = node.entry
    if entry.writer is not None:
        try:
            entry.writer(call.world, content)
        except ValueError as exc:
            raise invalid(f"Error while saving: {exc}.") from None
    else:
        entry.content = content
    _changed(call, "Saved file", _tree(call).entry_node(entry))
    return {}


@operation(PATH, "rmdir")
def rmdir(call: Call) -> Payload:
    node = _node(call)
    if not node.is_folder or node.entry is None:
        raise invalid(f"'{node.path}' is not a folder.")
    _remove_entry(call, node)
    return {}


def _remove_entry(call: Call, node: Node) -> None:
    """Remove a file or an empty folder: needs write access to the folder holding it."""
    _refuse_system(node, "removed")
    entry = node.entry
    assert entry is not None and entry.parent is not None
    if _tree(call).has_content(entry):
        raise invalid(f"The folder '{node.path}' is not empty.")
    tree = _tree(call)
    parent = tree.entry_node(entry.parent)
    permissions.check_object(call.world, call.login_user(), parent.obj, parent.path,
                             permissions.WRITE)
    tree.remove(entry)
    _changed(call, "Removed", node)


@operation(PATH, "delete")
def delete(call: Call) -> Payload:
    """Remove any object: a file, an empty folder, a user or a group."""
    node = _node(call)
    if node.kind in (FILE, FOLDER) and node.entry is None:
        raise invalid(f"'{node.path}' is part of its server or cluster and can not be "
                      "removed.")
    if node.kind in (FILE, FOLDER):
        _remove_entry(call, node)
    elif node.kind == USER and node.link_target is None:
        assert isinstance(node.obj, User)
        remove_user(call, node.obj)
    elif node.kind == GROUP:
        assert isinstance(node.obj, Group)
        remove_group(call, node.obj)
    elif node.kind == USER:
        raise invalid(f"'{node.path}' is a group membership: use removeFromGroup.")
    elif node.kind == CLUSTER:
        raise invalid(f"The cluster '{node.name}' is removed by a remove_cluster job.")
    else:
        raise invalid(f"'{node.path}' is removed through its server or cluster "
                      "(unregisterServers, a delete_container job, a delete_database job).")
    return {}


# ---- moving and renaming


@operation(PATH, "move")
def move(call: Call) -> Payload:
    """Move ``source_path`` into the folder ``target_path``, or to the new path ``target_path``.

    A bare name (no ``/``) renames in place, exactly as ``rename`` does: s9s itself sends
    ``rename`` for ``s9s tree --move /groups/tos TOS`` (older s9s sent ``move``).
    """
    node = _node(call, "source_path")
    target = call.arg("target_path", str)
    tree = _tree(call)
    if "/" not in target and target.strip():
        _rename(call, node, target)
        return {}
    names = split_path(target, "'target_path'")
    there = tree.resolve(target)
    if there is not None and there.is_folder and there.entry is not None:
        folder, name = there, node.name
    elif there is not None:
        raise invalid(f"The '{there.path}' already exists.")
    else:
        folder, name = _folder(call, parent_of(names)), names[-1]
    _relocate(call, node, folder, name)
    return {}


@operation(PATH, "rename")
def rename(call: Call) -> Payload:
    """Rename in place; renaming ``/kirk`` renames the user, ``/groups/tos`` the group."""
    _rename(call, _node(call, "source_path"), call.arg("target_name", str))
    return {}


def _rename(call: Call, node: Node, name: str) -> None:
    """The one rename of ``rename`` and of ``move`` to a bare name."""
    name = check_name(name, "target name")
    if not node.name:
        raise invalid("The root folder can not be renamed.")
    folder = _tree(call).resolve(node.folder)
    assert folder is not None
    _relocate(call, node, folder, name)


def _relocate(call: Call, node: Node, folder: Node, name: str) -> None:
    """Move or rename one object after every check, so nothing is left half-done.

    A user or a group renamed in place (by ``rename``, or ``move`` to a bare name or to
    a path beside it: one change, one rule) is checked as CMON checks it: write access
    to the root folder (``permissions.check_rename_by_name``).
    """
    world, user = call.world, call.login_user()
    tree = _tree(call)
    check_name(name)
    if not node.name:
        raise invalid("The root folder can not be moved.")
    _refuse_system(node, "moved or renamed")
    if node.kind == FOLDER and node.entry is None or node.holder is not None:
        raise invalid(f"'{node.path}' is part of its {node.folder.rsplit('/', 1)[-1] or 'server'} "
                      "and can not be moved.")
    if node.kind == SERVER and name != node.name:
        raise invalid(f"The server '{node.name}' can not be renamed: its name is its host name.")
    if node.link_target is not None:
        raise invalid(f"'{node.path}' is a group membership, not an object.")
    if tree.child(folder, name) is not None:
        raise invalid(f"The '{folder.path.rstrip('/')}/{name}' already exists.")
    source = tree.resolve(node.folder)
    assert source is not None and folder.entry is not None
    if node.entry is None:  # a user, group, cluster or server: moved in the tree, renamed
        if node.kind == GROUP and folder.entry is not source.entry:
            raise invalid(f"A group stays in '{node.folder}'; it can only be renamed.")
        if folder.entry is tree.groups and node.kind != GROUP:
            raise invalid("Only groups are in '/groups'.")
        if tree.is_inside_cluster(folder.entry):
            raise invalid(f"'{folder.path}' is inside a cluster: it only holds folders "
                          "and files.")
        if name != node.name:
            _check_world_name(call, node, name)
    else:
        if folder.entry.is_within(node.entry):
            raise invalid(f"'{node.path}' can not be moved into itself.")
        if folder.entry is tree.groups:
            raise invalid("Only groups are in '/groups'.")
    if isinstance(node.obj, (User, Group)) and folder.entry is source.entry:
        permissions.check_rename_by_name(world, user, node.obj, node.path, tree.root)
    else:
        permissions.check_object(world, user, source.obj, source.path, permissions.WRITE)
        if folder.entry is not source.entry:
            permissions.check_object(world, user, folder.obj, folder.path, permissions.WRITE)
        if node.entry is None:
            permissions.check_object(world, user, node.obj, node.path, permissions.WRITE)
    old_path = node.path
    if node.entry is not None:
        tree.move(node.entry, folder.entry, name)
    elif name != node.name:
        _rename_object(tree, world, node.obj, name)
    if node.entry is None and node.kind != GROUP:
        tree.place(node.obj, folder.entry)
    emit(world, Event("cdt.changed", call.now, user_name=user.user_name,
                      message=f"Moved '{old_path}' to '{folder.path.rstrip('/')}/{name}'.",
                      data={"path": old_path}))


def _rename_object(tree: Cdt, world: World, obj: object, name: str) -> None:
    """A user, group or cluster takes the new name everywhere (ACL entries too)."""
    if isinstance(obj, User):
        tree.rename_in_acls("user", obj.user_name, name)
        world.rename_user(obj, name)
    elif isinstance(obj, Group):
        tree.rename_in_acls("group", obj.group_name, name)
        world.rename_group(obj, name)
    elif isinstance(obj, Cluster):
        world.remove_cluster(obj)
        obj.cluster_name = name
        world.add_cluster(obj)


def _check_world_name(call: Call, node: Node, name: str) -> None:
    """Renaming a user, group or cluster: the name must be free in its own kind too."""
    world = call.world
    if isinstance(node.obj, (User, Group)):
        check_principal_name(name, f"new {node.kind.lower()} name")
    if isinstance(node.obj, User):
        if node.obj.user_name == "system":
            raise invalid("The 'system' user can not be renamed.")
        if world.user_by_name(name) is not None:
            raise invalid(f"User '{name}' already exists.")
    elif isinstance(node.obj, Group):
        if node.obj.group_name == ADMINS:
            raise invalid(f"The '{ADMINS}' group can not be renamed.")
        if world.group_by_name(name) is not None:
            raise invalid(f"Group '{name}' already exists.")
    elif isinstance(node.obj, Cluster) and world.cluster_by_name(name) is not None:
        raise invalid(f"Cluster '{name}' already exists.")


# ---- owners and ACLs


@operation(PATH, "chown")
def chown(call: Call) -> Payload:
    """New owner and/or group (empty name: unchanged); ``recursive`` for a folder's content."""
    world, user = call.world, call.login_user()
    node = _node(call)
    owner_name = call.arg("owner_user_name", str, "")
    group_name = call.arg("owner_group_name", str, "")
    if not owner_name and not group_name:
        raise invalid("The request needs 'owner_user_name' or 'owner_group_name'.")
    new_owner = world.user_by_name(owner_name) if owner_name else None
    if owner_name and new_owner is None:
        raise not_found(f"User '{owner_name}' is not found.")
    new_group = world.group_by_name(group_name) if group_name else None
    if group_name and new_group is None:
        raise not_found(f"Group '{group_name}' is not found.")
    if node.link_target is not None:
        raise invalid(f"'{node.path}' is a group membership, not an object.")
    nodes = list(_tree(call).walk(node)) if call.arg("recursive", bool, False) else [node]
    for each in nodes:
        permissions.check_owner(world, user, each.obj, each.path)
    for each in nodes:
        if new_owner is not None:
            each.obj.owner_user_id = new_owner.user_id
        if new_group is not None:
            each.obj.owner_group_id = new_group.group_id
    _changed(call, "Changed owner of", node)
    return _acl_reply(call, node)


def _acl_entries(call: Call, text: str) -> list[tuple[str, str, str | None]]:
    """``user:alice:r-x,group::rw-,other::---`` as (kind, name, letters); no letters for removal."""
    entries: list[tuple[str, str, str | None]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3) or parts[0] not in ("user", "u", "group", "g", "other", "o"):
            raise invalid(f"Invalid ACL entry '{item}'.")
        kind = {"u": "user", "g": "group", "o": "other"}.get(parts[0], parts[0])
        name = parts[1]
        if kind == "other" and name:
            raise invalid(f"Invalid ACL entry '{item}'.")
        letters = None
        if len(parts) == 3:
            try:
                letters = parse_perm(parts[2])
            except ValueError as exc:
                raise invalid(f"Invalid ACL entry '{item}': {exc}") from None
        if name and kind == "user" and call.world.user_by_name(name) is None:
            raise not_found(f"User '{name}' is not found.")
        if name and kind == "group" and call.world.group_by_name(name) is None:
            raise not_found(f"Group '{name}' is not found.")
        entries.append((kind, name, letters))
    if not entries:
        raise invalid("The 'acl' field has no ACL entry.")
    return entries


def _acl_target(call: Call) -> Node:
    node = _node(call)
    if node.link_target is not None:
        raise invalid(f"'{node.path}' is a group membership, not an object.")
    permissions.check_owner(call.world, call.login_user(), node.obj, node.path)
    return node


@operation(PATH, "addAcl")
def add_acl(call: Call) -> Payload:
    """Set ACL entries: named ``user:NAME:`` / ``group:NAME:`` ones or the base ones."""
    node = _acl_target(call)
    entries = _acl_entries(call, call.arg("acl", str))
    if any(letters is None for _, _, letters in entries):
        raise invalid("Every ACL entry to add needs its privileges (like 'user:alice:r-x').")
    acl = node.obj.acl.copy()
    for kind, name, letters in entries:
        assert letters is not None
        _set_entry(acl, kind, name, letters)
    node.obj.acl = acl
    _changed(call, "Changed ACL of", node)
    return _acl_reply(call, node)


def _set_entry(acl: Acl, kind: str, name: str, letters: str) -> None:
    if kind == "user":
        if name:
            acl.users[name] = letters
        else:
            acl.user = letters
    elif kind == "group":
        if name:
            acl.groups[name] = letters
        else:
            acl.group = letters
    else:
        acl.other = letters


@operation(PATH, "removeAcl")
def remove_acl(call: Call) -> Payload:
    """Remove named entries; the base ``user::``, ``group::`` and ``other::`` stay."""
    node = _acl_target(call)
    acl = node.obj.acl.copy()
    for kind, name, _ in _acl_entries(call, call.arg("acl", str)):
        if not name:
            raise invalid(f"The '{kind}::' entry can not be removed; use addAcl to change it.")
        table = acl.users if kind == "user" else acl.groups
        if name not in table:
            raise not_found(f"'{node.path}' has no '{kind}:{name}' ACL entry.")
        del table[name]
    node.obj.acl = acl
    _changed(call, "Changed ACL of", node)
    return _acl_reply(call, node)


@operation(PATH, "chmod")
def chmod(call: Call) -> Payload:
    """Set the base privileges from ``acl`` (``user::rwx,group::r-x,other::---`` or
    ``rwxr-x---``); named entries stay. ``recursive`` for a folder's content."""
    world, user = call.world, call.login_user()
    node = _node(call)
    text = call.arg("acl", str)
    base = _base_privileges(call, text)
    nodes = list(_tree(call).walk(node)) if call.arg("recursive", bool, False) else [node]
    nodes = [n for n in nodes if n.link_target is None]
    for each in nodes:
        permissions.check_owner(world, user, each.obj, each.path)
    for each in nodes:
        acl = each.obj.acl.copy()
        for kind, letters in base.items():
            _set_entry(acl, kind, "", letters)
        each.obj.acl = acl
    _changed(call, "Changed mode of", node)
    return _acl_reply(call, node)


def _base_privileges(call: Call, text: str) -> dict[str, str]:
    t = text.strip()
    if len(t) == 9 and "," not in t and ":" not in t:
        try:
            return {"user": parse_perm(t[0:3]), "group": parse_perm(t[3:6]),
                    "other": parse_perm(t[6:9])}
        except ValueError as exc:
            raise invalid(f"Invalid mode '{text}': {exc}") from None
    base: dict[str, str] = {}
    for kind, name, letters in _acl_entries(call, t):
        if name or letters is None:
            raise invalid(f"chmod sets the base entries only ('user::', 'group::', 'other::'), "
                          f"not '{kind}:{name}'.")
        base[kind] = letters
    return base


# ---- tags (users and clusters have them)


def _tagged(call: Call) -> tuple[Node, list[str], str]:
    node = _node(call)
    tag = call.arg("tag", str)
    if not tag.strip() or any(c in tag for c in ",;") or len(tag) > 255:
        raise invalid(f"Invalid tag '{tag[:40]}': tags are non-empty words without ',' or ';'.")
    if node.link_target is not None or not isinstance(node.obj, (User, Cluster)):
        raise invalid(f"'{node.path}' can not have tags: only users and clusters have them.")
    permissions.check_object(call.world, call.login_user(), node.obj, node.path,
                             permissions.WRITE)
    return node, node.obj.tags, tag.strip()


def _tags_reply(node: Node, tags: list[str]) -> Payload:
    """What CMON answers to a tag change: the object's tags and where it is."""
    return {"tags": list(tags), "object_name": node.name, "object_path": node.folder}


@operation(PATH, "appendTag")
def append_tag(call: Call) -> Payload:
    node, tags, tag = _tagged(call)
    if tag in tags:
        raise invalid(f"'{node.path}' already has the tag '{tag}'.")
    tags.append(tag)
    _changed(call, f"Tagged '{tag}'", node)
    return _tags_reply(node, tags)


@operation(PATH, "removeTag")
def remove_tag(call: Call) -> Payload:
    node, tags, tag = _tagged(call)
    if tag not in tags:
        raise not_found(f"'{node.path}' has no tag '{tag}'.")
    tags.remove(tag)
    _changed(call, f"Untagged '{tag}'", node)
    return _tags_reply(node, tags)


# ---- the "tree:" section of world files


def load_tree(r: loader.Reader, data: loader.Node, world: World) -> None:
    """Folders and files to make, and owners or ACLs of existing objects::

        tree:
          - {path: /home/dba, owner: dba, acl: "user::rwx,group::rwx,other::---"}
          - {path: /home/dba/notes.txt, type: file, owner: dba, content: "hello"}
          - {path: /.runtime/jobs/jobExecutor, acl: "user::rwx,group::r-x,other::r-x"}

    A missing path is made (with its missing folders, owned like it); an existing
    one (a folder, a file, a user, group or cluster) gets the owner, group and ACL given.
    """
    tree = cdt_of(world)
    for i, m in r.items(data, "tree"):
        place = f"tree[{i}]"
        r.only(m, place, ("path", "type", "owner", "group", "acl", "content"))
        path = r.get(m, place, "path", str)
        try:
            names = split_path(path)
            node = tree.resolve(path)
        except RpcError as exc:
            raise r.fail(m, "path", f"{place}.path", exc.message or exc.status) from None
        kind = r.get(m, place, "type", str, "").lower()
        if kind not in ("", "folder", "file"):
            raise r.fail(m, "type", f"{place}.type", f"'{kind}' is not 'folder' or 'file'")
        owner = _yaml_principal(r, m, place, "owner", world.user_by_name, "user")
        group = _yaml_principal(r, m, place, "group", world.group_by_name, "group")
        if node is None:
            node = _yaml_make(r, m, place, tree, names, FILE if kind == "file" else FOLDER,
                              owner, group, world)
        elif kind and node.kind.lower() != kind:
            raise r.fail(m, "type", f"{place}.type", f"'{path}' is a {node.kind.lower()}")
        if node.link_target is not None:
            raise r.fail(m, "path", f"{place}.path", f"'{path}' is a group membership")
        if owner is not None:
            node.obj.owner_user_id = owner.user_id
        if group is not None:
            node.obj.owner_group_id = group.group_id
        if "acl" in m:
            node.obj.acl = r.acl(m, place, "")
        if "content" in m:
            if node.entry is None or not node.entry.writable:
                raise r.fail(m, "content", f"{place}.content", f"'{path}' is not a writable file")
            node.entry.content = r.get(m, place, "content", str)


def _yaml_principal(r: loader.Reader, m: loader.Node, place: str, key: str,
                    find: Any, what: str) -> Any:
    name = r.get(m, place, key, str, None)
    if name is None:
        return None
    found = find(name)
    if found is None:
        raise r.fail(m, key, f"{place}.{key}", f"unknown {what} '{name}'")
    return found


def _yaml_make(r: loader.Reader, m: loader.Node, place: str, tree: Cdt, names: list[str],
               kind: str, owner: User | None, group: Group | None, world: World) -> Node:
    uid = owner.user_id if owner else tree.system_uid
    gid = (group.group_id if group else
           accounts.primary_group_id(world, owner) if owner else tree.admins_gid)
    node = tree.root_node()
    for depth, name in enumerate(names):
        child = tree.child(node, name)
        if child is None:
            if node.entry is None or not node.is_folder or node.entry is tree.groups:
                raise r.fail(m, "path", f"{place}.path", f"'{node.path}' can not hold '{name}'")
            last = depth == len(names) - 1
            child = tree.entry_node(tree.add(node.entry, name, kind if last else FOLDER, uid,
                                             gid, world.created))
        node = child
    return node


loader.SECTIONS["tree"] = load_tree
