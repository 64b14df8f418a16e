"""Password hashes: what an exported or saved world keeps instead of passwords.

Users get plain passwords from world files and from the API (CMON takes them in
plain text too); an export never writes them. It writes a salted PBKDF2 hash,
which a loaded world keeps in ``world.extensions["password_hashes"]`` (user id ->
hash) and checks logins against until the user's password is set again.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fakecmon.world.models import User
    from fakecmon.world.state import World

KEY = "password_hashes"
SCHEME = "pbkdf2-sha256"
#: Rounds for new hashes: the passwords of a test controller, in a file on the developer's
#: own disk; enough that the file never shows them, few enough that a generated world
#: of thousands of users saves in a moment (hashes are cached per password and salt).
ROUNDS = 2_000


@functools.lru_cache(maxsize=4096)
def hash_password(password: str, salt: str, rounds: int = ROUNDS) -> str:
    """``pbkdf2-sha256$rounds$salt$digest``; cached because a saved world is written often."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return f"{SCHEME}${rounds}${salt}${base64.b64encode(digest).decode()}"


def salt_for(world: "World", user: "User") -> str:
    """Stable per controller and user, so that saving the same world twice writes the same file."""
    seed = f"{world.controller_id}/{user.user_id}/{user.user_name}".encode()
    return base64.urlsafe_b64encode(hashlib.sha256(seed).digest()[:12]).decode()


def stored_hash(world: "World", user: "User") -> str | None:
    """The hash to export: of the user's password, or the one it was loaded with."""
    if user.password is not None:
        return hash_password(user.password, salt_for(world, user))
    return world.extensions.get(KEY, {}).get(user.user_id)


def check_hash(stored: str, password: str) -> bool:
    try:
        scheme, rounds, salt, _ = stored.split("$", 3)
        if scheme != SCHEME:
            return False
        return hmac.compare_digest(hash_password(password, salt, int(rounds)), stored)
    except ValueError:
        return False


def check(world: "World", user: "User", password: str) -> bool:
    """Is ``password`` the user's: its plain password when set, else its loaded hash."""
    if user.password is not None:
        return hmac.compare_digest(user.password.encode(), password.encode())
    stored = world.extensions.get(KEY, {}).get(user.user_id)
    return stored is not None and check_hash(stored, password)


def valid(text: str) -> bool:
    parts = text.split("$")
    return len(parts) == 4 and parts[0] == SCHEME and parts[1].isdigit()
