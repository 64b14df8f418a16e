"""CMON user and group bookkeeping shared by /v2/users, /v2/tree and /v2/auth passwordReset.

New ids (never reused), the groups that own new objects, and the password reset
tokens that ``passwordReset`` issues and later takes back. Tokens live in
``world.extensions`` (so a reset forgets them) where tests read them
(``FakeCmon.password_reset_token``); when the controller has a mail directory
they are also "mailed" the way CMON spools its mails:
``<dir>/<email address>/email_NNNN.json``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from fakecmon.world.models import User
from fakecmon.world.state import ADMINS, World

#: How long a password reset token stays valid (controller clock).
RESET_TOKEN_LIFETIME = 24 * 3600.0

RESET_TOKENS = "password_reset_tokens"
_USER_IDS = "user_id_high_water"
_GROUP_IDS = "group_id_high_water"


def new_user_id(world: World) -> int:
    """Ids are never reused: a new user must not inherit what a deleted one owned."""
    uid = max(world.next_user_id(), world.extensions.get(_USER_IDS, 0) + 1)
    world.extensions[_USER_IDS] = uid
    return uid


def new_group_id(world: World) -> int:
    """Likewise for groups (ACL entries and owner groups name them by id)."""
    gid = max(world.next_group_id(), world.extensions.get(_GROUP_IDS, 0) + 1)
    world.extensions[_GROUP_IDS] = gid
    return gid


def admins_group_id(world: World, fallback: int) -> int:
    """The ``admins`` group's id (CMON's owner group of user objects), else ``fallback``."""
    admins = world.group_by_name(ADMINS)
    return admins.group_id if admins is not None else fallback


def primary_group_id(world: World, user: User) -> int:
    """The user's first group that still exists (the owner group of what the user creates)."""
    for gid in user.group_ids:
        if gid in world.groups:
            return gid
    return admins_group_id(world, user.group_ids[0] if user.group_ids else 0)


@dataclass
class ResetToken:
    token: str
    expires: float


def _tokens(world: World) -> dict[int, ResetToken]:
    return world.extensions.setdefault(RESET_TOKENS, {})


def issue_reset_token(world: World, user: User, now: float) -> str:
    """A new token for ``user`` (replacing an older one): 32 hex digits like CMON's."""
    token = secrets.token_hex(16)
    _tokens(world)[user.user_id] = ResetToken(token, now + RESET_TOKEN_LIFETIME)
    return token


def take_reset_token(world: World, user: User, token: str, now: float) -> bool:
    """True if ``token`` is ``user``'s live token; a token works only once."""
    held = _tokens(world).get(user.user_id)
    if held is None or now >= held.expires or not secrets.compare_digest(held.token, token):
        return False
    del _tokens(world)[user.user_id]
    return True


def reset_token(world: World, user_name: str) -> str | None:
    """The live token of a user, for tests and the control side."""
    user = world.user_by_name(user_name)
    if user is None:
        return None
    held = _tokens(world).get(user.user_id)
    return held.token if held is not None else None


def _file_name(address: str) -> str:
    """An email address as one directory name: never a path out of the mail directory."""
    name = "".join("_" if c in "/\\" or ord(c) < 32 else c for c in address)
    return name if name and not name.startswith(".") else "_" + name


def mail_reset_token(directory: Path, user: User, token: str) -> Path:
    """Spool the reset mail as CMON does (s9s's tests read the token from
    ``elements[0].values["@PASSWORD_RESET_TOKEN@"]``); returns the file written."""
    folder = Path(directory) / _file_name(user.email_address)
    folder.mkdir(parents=True, exist_ok=True)
    number = len(list(folder.glob("email_*.json")))
    path = folder / f"email_{number:04d}.json"
    mail = {
        "class_name": "CmonMailMessage",
        "recipient": user.email_address,
        "subject": "Password reset",
        "elements": [{
            "template": "password_reset",
            "values": {
                "@RECIPIENT@": user.email_address,
                "@USERNAME@": user.user_name,
                "@PASSWORD_RESET_TOKEN@": token,
            },
        }],
    }
    path.write_text(json.dumps(mail, indent=4) + "\n", encoding="utf-8")
    return path


# ---- user preferences: a key/value store per user (what the UI and s9s keep there)

PREFERENCES = "user_preferences"
#: How much one user may keep (the JSON text of all the user's preferences).
MAX_PREFERENCES_BYTES = 64 * 1024


def preferences(world: World, user: User) -> dict[str, object]:
    """The user's preferences (a copy: changes go through ``set_preferences``)."""
    return dict(world.extensions.get(PREFERENCES, {}).get(user.user_id, {}))


def set_preferences(world: World, user: User, values: dict[str, object]) -> None:
    """Replace the user's preferences (an empty dict forgets them all)."""
    store = world.extensions.setdefault(PREFERENCES, {})
    if values:
        store[user.user_id] = dict(values)
    else:
        store.pop(user.user_id, None)
