"""/v2/users: users, groups, keys and passwords; /v2/auth passwordReset.

Users and groups are CDT objects (``/<user>``, ``/groups/<group>``): every check
here asks ``fakecmon.permissions`` about them. A user object is owned by the user
itself (``user::rwx,group::r--,other::r--``), so a user changes itself, reads
others and a superuser does anything; joining a group takes write access to the
group, making one write access to ``/groups``.
"""

from __future__ import annotations

from typing import Any

import orjson

from fakecmon import mail, permissions
from fakecmon.errors import UNKNOWN_ERROR, RpcError, denied, invalid, not_found
from fakecmon.events import Event, emit
from fakecmon.rpc import Call, Payload, coerce, operation
from fakecmon.world import accounts, passwords
from fakecmon.world.acl import Acl
from fakecmon.world.cdt import cdt_of, check_principal_name
from fakecmon.world.models import GROUP_ACL, USER_ACL, Group, Owned, PublicKey, User
from fakecmon.world.state import ADMINS
from fakecmon.world.views import group_json, user_json

PATH = "/v2/users"
#: CMON's text for a failed login (a wrong password and an unknown name alike).
WRONG_LOGIN = "Username or password is incorrect."
#: Texts of a user CMON lets a client set.
USER_TEXTS = ("first_name", "last_name", "email_address", "title")
#: The longest preference name.
MAX_PREFERENCE_NAME = 255


# ---- request parts


def _spec(call: Call, field: str) -> dict[str, Any]:
    return call.arg(field, dict)


def _text(spec: dict[str, Any], key: str, where: str) -> str | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"The '{where}.{key}' field must be a string.")
    return value


def _named_user(call: Call, *, field: str = "user", default_self: bool = False,
                missing: str | None = None) -> User:
    """The user a request names in ``user{user_name | user_id}``.

    ``missing`` is the error text for an unknown user (some operations have their own).
    """
    world = call.world
    if field not in call.body and default_self:
        return call.login_user()
    spec = _spec(call, field)
    name = _text(spec, "user_name", field)
    user: User | None = None
    if name:
        user = world.user_by_name(name)
    elif spec.get("user_id") is not None:
        uid = coerce(spec["user_id"], int, f"{field}.user_id")
        user = world.users.get(uid)
        name = str(uid)
    elif default_self:
        return call.login_user()
    else:
        raise invalid(f"The '{field}' object needs a 'user_name'.")
    if user is None:
        raise not_found(missing or f"User '{name}' is not found.")
    return user


def _named_group(call: Call, name: str) -> Group:
    group = call.world.group_by_name(name)
    if group is None:
        raise not_found(f"Group '{name}' is not found.")
    return group


def _group_name_arg(call: Call) -> str:
    name = call.arg("group_name", str, "")
    if not name:
        raise invalid("Missing 'group_name' field in the request.")
    return name


def _event(call: Call, kind: str, message: str, **data: Any) -> None:
    user = call.user.user_name if call.user is not None else None
    emit(call.world, Event(kind, call.now, user_name=user, message=message, data=data))


def _user_reply(call: Call, user: User) -> Payload:
    return {"user": user_json(call.world, user)}


def _check_user(call: Call, user: User, wanted: str = permissions.WRITE) -> None:
    permissions.check_named(call.world, call.login_user(), user, "user", user.user_name, wanted)


def _check_group(call: Call, group: Group, wanted: str = permissions.WRITE) -> None:
    permissions.check_named(call.world, call.login_user(), group, "group", group.group_name,
                            wanted)


def _check_root_name(call: Call, name: str, what: str) -> None:
    """Users share ``/`` with clusters, folders and files: a name is used once there."""
    tree = cdt_of(call.world)
    taken = tree.child(tree.root_node(), name)
    if taken is not None:
        raise invalid(f"The name '{name}' is already used by the {taken.kind.lower()} "
                      f"'{taken.path}'; {what} needs another.")


# ---- who and what


@operation(PATH, "whoAmI")
def who_am_i(call: Call) -> Payload:
    user = call.login_user()
    call.takes("with_extended_privileges", kind=bool)   # CMON answers them either way
    world = call.world
    return {
        "user": user_json(world, user),
        "user_extended_privileges": {
            "class_name": "CmonExtendedPrivileges",
            "can_create_clusters": permissions.can_create_clusters(world, user),
            "can_execute_jobs": permissions.can_execute_jobs(world, user),
        },
    }


@operation(PATH, "getUsers")
def get_users(call: Call) -> Payload:
    """Every user the caller may read (everybody, by the default ACL), in id order."""
    world, me = call.world, call.login_user()
    users = [user_json(world, world.users[uid]) for uid in sorted(world.users)
             if permissions.can(world, me, world.users[uid], permissions.READ)]
    return {"total": len(users), "users": users}


@operation(PATH, "getGroups")
def get_groups(call: Call) -> Payload:
    """Every group, in id order (CMON lists them all, whatever their ACL)."""
    world = call.world
    groups = [group_json(world, world.groups[gid]) for gid in sorted(world.groups)]
    return {"total": len(groups), "groups": groups}


def _may_create(call: Call, folder: Owned, what: str) -> Payload:
    """Ok when the caller may write ``folder``, where new ``what`` live; else AccessDenied."""
    user = call.login_user()
    if not permissions.can(call.world, user, folder, permissions.WRITE):
        raise RpcError("AccessDenied", f"User {user.user_name} has no privileges to create {what}.")
    return {}


@operation(PATH, "canCreateUser")
def can_create_user(call: Call) -> Payload:
    """Users live in ``/``."""
    return _may_create(call, cdt_of(call.world).root, "users")


@operation(PATH, "canCreateGroup")
def can_create_group(call: Call) -> Payload:
    """Groups live in ``/groups``."""
    return _may_create(call, cdt_of(call.world).groups, "groups")


# ---- users


def _public_keys(call: Call, raw: Any, where: str) -> list[PublicKey]:
    """``[{name, key}]``; s9s sends ``{"key": ""}`` for a user without a key: skipped."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid(f"The '{where}' field must be a list.")
    keys = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid(f"The '{where}[{i}]' field must be an object.")
        key = _text(item, "key", f"{where}[{i}]") or ""
        name = _text(item, "name", f"{where}[{i}]") or "No Name"
        if key.strip():
            keys.append(PublicKey(name=name, key=key, created=call.now))
    return keys


def _group_names(raw: Any) -> list[str]:
    """``groups`` as CMON takes it: ``[{group_name}]`` or plain names. s9s sends one
    group with an empty name when no ``--group`` was given: no group (so ``users``)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("The 'user.groups' field must be a list.")
    names: list[str] = []
    for i, item in enumerate(raw):
        name = item.get("group_name") if isinstance(item, dict) else item
        if not isinstance(name, str):
            raise invalid(f"The 'user.groups[{i}]' field needs a 'group_name' string.")
        if name == "":
            continue
        check_principal_name(name, "group name")
        if name not in names:
            names.append(name)
    return names


def _tags(spec: dict[str, Any], where: str) -> list[str] | None:
    tags = spec.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise invalid(f"The '{where}.tags' field must be a list of strings.")
    return list(tags)


@operation(PATH, "createUser")
def create_user(call: Call) -> Payload:
    """A new user in its groups (``create_group`` makes missing ones), with password and keys.

    Without groups the user joins ``users``. Everything is checked before anything
    is made, so a refused request changes nothing.

    Naming a user that exists grants it access instead (``grant_user``), as the user
    management FIFO does with the same request: s9s's ``user --create`` of a user
    that is there (s9s-tools' functional tests create their users twice) succeeds.
    """
    world, me = call.world, call.login_user()
    spec = _spec(call, "user")
    name = check_principal_name(_text(spec, "user_name", "user") or "", "user name")
    existing = world.user_by_name(name)
    if existing is not None:
        _check_user(call, existing)
        if existing.user_id == me.user_id and _new_password(call, spec):
            # (as changePassword: one's own password only with the old one)
            raise denied(f"User '{name}' changes its own password with changePassword "
                         "and the old password.")
        call.takes("create_group", "force_password_update", kind=bool)
        grant_user(call, existing, spec)
        return _user_reply(call, existing)
    _check_root_name(call, name, "the user")
    tree = cdt_of(world)
    permissions.check_object(world, me, tree.root, "/", permissions.WRITE)
    create_group = call.arg("create_group", bool, False)
    call.takes("force_password_update", kind=bool)   # s9s always sends it
    wanted = _group_names(spec.get("groups")) or ["users"]
    groups: list[Group | str] = []
    for gname in wanted:
        group = world.group_by_name(gname)
        if group is not None:
            _check_group(call, group)
            groups.append(group)
        elif create_group:
            permissions.check_object(world, me, tree.groups, "/groups", permissions.WRITE)
            groups.append(gname)
        else:
            raise not_found(f"Group '{gname}' does not exists.")   # sic, CMON's words
    password = _new_password(call, spec)
    keys = _public_keys(call, spec.get("public_keys"), "user.public_keys")
    texts = {k: _text(spec, k, "user") or "" for k in USER_TEXTS}
    tags = _tags(spec, "user") or []
    group_ids = [g.group_id if isinstance(g, Group) else _add_group(call, g).group_id
                 for g in groups]
    uid = accounts.new_user_id(world)
    user = User(user_id=uid, user_name=name, password=password or None, group_ids=group_ids,
                public_keys=keys, tags=tags, created=call.now, origin="CmonDb",
                owner_user_id=uid, owner_group_id=accounts.admins_group_id(world, group_ids[0]),
                acl=Acl.parse(USER_ACL), **texts)
    world.add_user(user)
    _event(call, "user.created", f"Creating new cmon user '{name}'.", user=name)
    return _user_reply(call, user)


def _new_password(call: Call, spec: dict[str, Any]) -> str | None:
    """The password a createUser request gives: ``new_password``, else the user's
    ``password`` or ``new_password``."""
    password = call.arg("new_password", str, None)
    if password is None:
        password = _text(spec, "password", "user") or _text(spec, "new_password", "user")
    return password


def grant_user(call: Call, user: User, spec: dict[str, Any]) -> list[str]:
    """Grant an existing ``user`` what a createUser request for it brings: its public
    keys are registered and, when given, its password set (nothing else changes; a
    malformed key changes nothing). Returns what was done, for the FIFO's log."""
    keys = _public_keys(call, spec.get("public_keys"), "user.public_keys")
    password = _new_password(call, spec)
    done = []
    for key in keys:
        if not any(k.key.strip() == key.key.strip() for k in user.public_keys):
            user.public_keys.append(key)
            done.append("key registered")
    if password:
        user.password = password
        done.append("password set")
    if done:
        _event(call, "user.changed", f"User '{user.user_name}' changed.", user=user.user_name)
    return done


def _add_group(call: Call, name: str) -> Group:
    """A new group owned by the caller and the caller's primary group (as CMON does)."""
    world, me = call.world, call.login_user()
    group = Group(group_id=accounts.new_group_id(world), group_name=name, created=call.now,
                  owner_user_id=me.user_id,
                  owner_group_id=accounts.primary_group_id(world, me),
                  acl=Acl.parse(GROUP_ACL))
    world.add_group(group)
    _event(call, "group.created", f"Creating new cmon group '{name}'.", group=name)
    return group


@operation(PATH, "setUser")
def set_user(call: Call) -> Payload:
    """Change names, title, email address or tags of a user (the caller itself by default)."""
    # An unknown user gets the text of a failed login (the capture), not "not found".
    user = _named_user(call, default_self=True, missing=WRONG_LOGIN)
    spec = call.body.get("user") if isinstance(call.body.get("user"), dict) else {}
    _check_user(call, user)
    changes = {k: _text(spec, k, "user") for k in USER_TEXTS}
    tags = _tags(spec, "user")
    for key, value in changes.items():
        if value is not None:
            setattr(user, key, value)
    if tags is not None:
        user.tags = tags
    _event(call, "user.changed", f"User '{user.user_name}' changed.", user=user.user_name)
    return _user_reply(call, user)


@operation(PATH, "deleteUser")
def delete_user(call: Call) -> Payload:
    remove_user(call, _named_user(call))
    return {}


def remove_user(call: Call, user: User) -> None:
    """Delete a user (also ``/v2/tree delete`` of ``/<user>``); its sessions end."""
    world, me = call.world, call.login_user()
    if user.user_name == "system":
        raise invalid("The 'system' user can not be deleted.")
    if user.user_id == me.user_id:
        raise invalid(f"User '{me.user_name}' can not delete itself.")
    _check_user(call, user)
    permissions.check_object(world, me, cdt_of(world).root, "/", permissions.WRITE)
    world.remove_user(user)
    cdt_of(world).rename_in_acls("user", user.user_name, None)
    cdt_of(world).hand_over(user.user_id)
    call.controller.sessions.drop_user(user.user_id)
    _event(call, "user.deleted", f"Deleted cmon user '{user.user_name}'.", user=user.user_name)


@operation(PATH, "changePassword")
def change_password(call: Call) -> Payload:
    """A user changes its own password with the old one; whoever may write another user
    sets its password, whatever ``old_password`` says (s9s sends the caller's own)."""
    me = call.login_user()
    user = _named_user(call, default_self=True, missing=WRONG_LOGIN)
    call.takes("force_password_update", kind=bool)   # s9s always sends it
    new = call.arg("new_password", str, None)
    if new is None and isinstance(call.body.get("user"), dict):
        new = _text(call.body["user"], "new_password", "user")
    if not new:
        raise invalid("Missing 'new_password' field in the request.")
    old = call.arg("old_password", str, None)
    if old is None and isinstance(call.body.get("user"), dict):
        old = _text(call.body["user"], "old_password", "user")
    if user.user_id == me.user_id:
        if old is None or not passwords.check(call.world, user, old):
            raise not_found(WRONG_LOGIN)
    else:
        _check_user(call, user)
    user.password = new
    _event(call, "user.password_changed", f"Password of user '{user.user_name}' changed.",
           user=user.user_name)
    return {}


def _set_disabled(call: Call, disabled: bool) -> Payload:
    user = _named_user(call)
    me = call.login_user()
    if disabled and user.user_id == me.user_id:
        raise invalid(f"User '{me.user_name}' can not disable itself.")
    if disabled and user.user_name == "system":
        raise invalid("The 'system' user can not be disabled.")
    _check_user(call, user)
    user.disabled = disabled
    if disabled:
        call.controller.sessions.drop_user(user.user_id)
    else:
        user.suspended = False
        user.n_failed_logins = 0
    word = "disabled" if disabled else "enabled"
    _event(call, f"user.{word}", f"User '{user.user_name}' {word}.", user=user.user_name)
    return _user_reply(call, user)


@operation(PATH, "disable")
def disable(call: Call) -> Payload:
    """A disabled user cannot log in; its open sessions end."""
    return _set_disabled(call, True)


@operation(PATH, "enable")
def enable(call: Call) -> Payload:
    """Enabling also lifts a suspension (after failed logins)."""
    return _set_disabled(call, False)


# ---- keys


@operation(PATH, "addKey")
def add_key(call: Call) -> Payload:
    """Register a public key (PEM or OpenSSH) for key login."""
    user = _named_user(call, default_self=True)
    _check_user(call, user)
    keys = _public_keys(call, [call.arg("public_key", dict)], "public_key")
    if not keys:
        raise invalid("The public key is empty.")
    key = keys[0]
    if any(k.key.strip() == key.key.strip() for k in user.public_keys):
        raise invalid(f"The key is already registered for user '{user.user_name}'.")
    user.public_keys.append(key)
    _event(call, "user.key_added", f"Public key '{key.name}' added to user '{user.user_name}'.",
           user=user.user_name)
    return {}


@operation(PATH, "getKeys")
def get_keys(call: Call) -> Payload:
    user = _named_user(call, default_self=True)
    _check_user(call, user, permissions.READ)
    keys = [k.to_json() for k in user.public_keys]
    return {"total": len(keys), "public_keys": keys, "user": user_json(call.world, user)}


@operation(PATH, "deleteKey")
def delete_key(call: Call) -> Payload:
    """Remove a key named by ``public_key{name}`` or ``public_key{key}``."""
    user = _named_user(call, default_self=True)
    _check_user(call, user)
    spec = call.arg("public_key", dict)
    name = _text(spec, "name", "public_key")
    key = _text(spec, "key", "public_key")
    if not name and not key:
        raise invalid("The 'public_key' object needs a 'name' or a 'key'.")
    kept = [k for k in user.public_keys
            if not ((key and k.key.strip() == key.strip()) or (not key and k.name == name))]
    if len(kept) == len(user.public_keys):
        raise not_found(f"User '{user.user_name}' has no key '{name or key[:40]}'.")
    user.public_keys = kept
    return {}


# ---- preferences: a key/value store per user, seen and changed by the user or a superuser


def _preferences_arg(call: Call) -> Any:
    """``user.preferences`` as s9s sends it (a top-level ``preferences`` also works)."""
    spec = call.body.get("user")
    if isinstance(spec, dict) and spec.get("preferences") is not None:
        return spec["preferences"]
    return call.body.get("preferences")


def _preferences_user(call: Call) -> User:
    user = _named_user(call, default_self=True)
    permissions.check_self(call.world, call.login_user(), user, "preferences")
    return user


def _preference_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise invalid("A preference name must be a non-empty string.")
    if len(key) > MAX_PREFERENCE_NAME:
        raise invalid(f"The preference name '{key[:40]}...' is too long "
                      f"(at most {MAX_PREFERENCE_NAME} characters).")
    return key


@operation(PATH, "getUserPreferences")
def get_user_preferences(call: Call) -> Payload:
    user = _preferences_user(call)
    prefs = accounts.preferences(call.world, user)
    return {"user_name": user.user_name, "total": len(prefs), "preferences": prefs}


@operation(PATH, "setUserPreferences")
def set_user_preferences(call: Call) -> Payload:
    """Set the preferences given (others are kept); a ``null`` value removes one."""
    user = _preferences_user(call)
    given = _preferences_arg(call)
    if not isinstance(given, dict) or not given:
        raise invalid("The 'preferences' must be an object of names and values.")
    prefs = accounts.preferences(call.world, user)
    for key, value in given.items():
        if value is None:
            prefs.pop(_preference_key(key), None)
        else:
            prefs[_preference_key(key)] = value
    size = len(orjson.dumps(prefs))
    if size > accounts.MAX_PREFERENCES_BYTES:
        raise invalid(f"The preferences of user '{user.user_name}' would take {size} bytes, "
                      f"more than the {accounts.MAX_PREFERENCES_BYTES} a user may keep.")
    accounts.set_preferences(call.world, user, prefs)
    _event(call, "user.preferences_changed",
           f"Preferences of user '{user.user_name}' changed: {', '.join(map(str, given))}.",
           user=user.user_name)
    return {"user_name": user.user_name, "total": len(prefs), "preferences": prefs,
            "messages": [f"Preferences of user '{user.user_name}' are saved."]}


@operation(PATH, "deleteUserPreferences")
def delete_user_preferences(call: Call) -> Payload:
    """Forget the named preferences (names as a list, or an object's keys), or all of them."""
    user = _preferences_user(call)
    given = _preferences_arg(call)
    prefs = accounts.preferences(call.world, user)
    if given is None:
        names = list(prefs)
    elif isinstance(given, dict):
        names = [_preference_key(k) for k in given]
    elif isinstance(given, list):
        names = [_preference_key(k) for k in given]
    else:
        raise invalid("The 'preferences' to delete must be a list of names or an object.")
    missing = [n for n in names if n not in prefs]
    if missing:
        raise not_found(f"User '{user.user_name}' has no preference '{missing[0]}'.")
    for name in names:
        del prefs[name]
    accounts.set_preferences(call.world, user, prefs)
    _event(call, "user.preferences_changed",
           f"Preferences of user '{user.user_name}' deleted: {len(names)}.", user=user.user_name)
    return {"user_name": user.user_name, "total": len(prefs), "preferences": prefs,
            "messages": [f"{len(names)} preference(s) of user '{user.user_name}' deleted."]}


# ---- groups


@operation(PATH, "createGroup")
def create_group(call: Call) -> Payload:
    world = call.world
    name = check_principal_name(_text(_spec(call, "group"), "group_name", "group") or "",
                                "group name")
    if world.group_by_name(name) is not None:
        raise invalid(f"Group '{name}' already exists.")
    permissions.check_object(world, call.login_user(), cdt_of(world).groups, "/groups",
                             permissions.WRITE)
    return {"group": group_json(world, _add_group(call, name))}


@operation(PATH, "deleteGroup")
def delete_group(call: Call) -> Payload:
    name = _text(_spec(call, "group"), "group_name", "group") or ""
    if not name:
        raise invalid("The 'group' object needs a 'group_name'.")
    remove_group(call, _named_group(call, name))
    return {}


def remove_group(call: Call, group: Group) -> None:
    """Delete an empty group (also ``/v2/tree delete`` of ``/groups/<group>``)."""
    world = call.world
    members = sum(1 for u in world.users.values() if group.group_id in u.group_ids)
    if members:
        raise invalid(f"Group '{group.group_name}' can not be deleted for it has "
                      f"{members} member(s).")
    if group.group_name == ADMINS:
        raise invalid(f"The '{ADMINS}' group can not be deleted.")
    permissions.check_named(world, call.login_user(), group, "group", group.group_name,
                            permissions.WRITE, say_which=True)
    world.remove_group(group)
    cdt_of(world).rename_in_acls("group", group.group_name, None)
    _event(call, "group.deleted", f"Deleted cmon group '{group.group_name}'.",
           group=group.group_name)


@operation(PATH, "addToGroup")
def add_to_group(call: Call) -> Payload:
    """Add a user to a group, or with ``replace_primary_group`` make it the primary group."""
    user = _named_user(call)
    group = _named_group(call, _group_name_arg(call))
    replace = call.arg("replace_primary_group", bool, False)
    primary = user.group_ids[0] if user.group_ids else None
    if group.group_id in user.group_ids and (not replace or primary == group.group_id):
        raise invalid(f"User '{user.user_name}' is already a member of group "
                      f"'{group.group_name}'.")
    _check_group(call, group)
    if replace:
        rest = [g for g in user.group_ids[1:] if g != group.group_id]
        user.group_ids = [group.group_id] + rest
    else:
        user.group_ids = user.group_ids + [group.group_id]
    _event(call, "user.changed",
           f"User '{user.user_name}' added to group '{group.group_name}'.", user=user.user_name)
    return _user_reply(call, user)


@operation(PATH, "removeFromGroup")
def remove_from_group(call: Call) -> Payload:
    user = _named_user(call)
    group = _named_group(call, _group_name_arg(call))
    if group.group_id not in user.group_ids:
        raise invalid(f"User '{user.user_name}' is not a member of group "
                      f"'{group.group_name}'.")
    if len(user.group_ids) == 1:
        raise invalid(f"User '{user.user_name}' can not be removed from '{group.group_name}', "
                      "its only group.")
    if user.user_name == "system" and group.group_name == ADMINS:
        raise invalid(f"The 'system' user stays in '{ADMINS}'.")
    _check_group(call, group)
    user.group_ids = [g for g in user.group_ids if g != group.group_id]
    _event(call, "user.changed",
           f"User '{user.user_name}' removed from group '{group.group_name}'.",
           user=user.user_name)
    return _user_reply(call, user)


# ---- password reset (on /v2/auth, no login: the user forgot the password)


@operation("/v2/auth", "passwordReset", login=False)
def password_reset(call: Call) -> Payload:
    """Without a token: make one and "mail" it. With ``password_reset_token``: set
    ``new_password`` if the token is the user's live one."""
    world = call.world
    name = call.arg("user_name", str, "")
    if not name:
        raise invalid("Missing 'user_name' field in the request.")
    user = world.user_by_name(name)
    if user is None:
        raise not_found(f"User '{name}' is not found.")
    token = call.arg("password_reset_token", str, "")
    if not token:
        if not user.email_address:
            raise not_found(f"User '{name}' has no registered email address while requesting "
                            "password reset.")
        token = accounts.issue_reset_token(world, user, call.now)
        _mail_reset_token(call, user, token)
        _event(call, "user.password_reset",
               f"Created password reset token for user '{name}'.", user=name)
        return {}
    return _use_reset_token(call, user, token)


def _mail_reset_token(call: Call, user: User, token: str) -> None:
    """Spool the mail (JSON, as CMON spools it) and deliver it to the recipient's mbox,
    where the controller is set up for either; a spool that cannot be written is a
    failed request, not a token nobody can read."""
    config = call.controller.config
    try:
        if config.password_reset_mail_dir is not None:
            accounts.mail_reset_token(config.password_reset_mail_dir, user, token)
        if config.mail_spool is not None:
            mail.mail_reset_token(config.mail_spool, user, token, call.now)
    except OSError as exc:
        raise RpcError(UNKNOWN_ERROR, f"The password reset mail to "
                       f"'{user.email_address}' could not be sent: {exc.strerror}.") from None


@operation("/v2/auth", "newpassword", login=False)
def new_password(call: Call) -> Payload:
    """The second step of a password reset as the API spec names it: the token and the
    new password (``passwordReset`` with a token does the same)."""
    name = call.arg("user_name", str, "")
    if not name:
        raise invalid("Missing 'user_name' field in the request.")
    user = call.world.user_by_name(name)
    if user is None:
        raise not_found(f"User '{name}' is not found.")
    token = call.arg("password_reset_token", str, "")
    if not token:
        raise invalid("Missing 'password_reset_token' field in the request.")
    return _use_reset_token(call, user, token)


def _use_reset_token(call: Call, user: User, token: str) -> Payload:
    world, name = call.world, user.user_name
    new = call.arg("new_password", str, "")
    if not new:
        raise invalid("Missing 'new_password' field in the request.")
    if not accounts.take_reset_token(world, user, token, call.now):
        raise RpcError("AccessDenied", "The password reset token is invalid or expired.")
    user.password = new
    user.suspended = False
    user.n_failed_logins = 0
    _event(call, "user.password_reset", f"Password reset token is validated for user '{name}'.",
           user=name)
    return {}
