"""/v2/auth: password login, RSA key challenge and response, logout."""

from __future__ import annotations

import base64
import binascii
import uuid

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fakecmon.api.users import WRONG_LOGIN
from fakecmon.errors import ACCESS_DENIED, RpcError, denied
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import config
from fakecmon.world.models import User
from fakecmon.world.views import user_json

PATH = "/v2/auth"
#: The user id a challenge for an unknown user name is bound to (no user has it).
NOBODY = -1


def logged_in(call: Call, user: User) -> Payload:
    """Open a session for ``user`` (a fresh id: the cookie is sent with this reply)."""
    if call.session is not None:
        call.controller.sessions.drop(call.session.sid)
    session = call.controller.sessions.create()
    session.user_id = user.user_id
    call.new_session = session
    call.user = user
    call.reply_user_id = False
    return {"is_superuser": call.world.is_superuser(user), "user": user_json(call.world, user)}


@operation(PATH, "authenticateWithPassword", login=False)
def authenticate_with_password(call: Call) -> Payload:
    name = call.arg("user_name", str, "")
    password = call.arg("password", str, "")
    user = call.controller.check_password(name, password)
    if user is None:
        ldap = config.book(call.world).ldap.get("enabled")
        if ldap and call.world.user_by_name(name) is None:
            # The name went to the LDAP server, whose refusal is a bare AccessDenied
            # (contract/captures: AccessDenied-authenticateWithPassword, ft_ldap.sh).
            raise RpcError(ACCESS_DENIED)
        # A wrong password and an unknown name read the same (ft_user.sh
        # testFailWrongPassword): the reply never tells which names exist.
        raise denied(WRONG_LOGIN)
    return logged_in(call, user)


@operation(PATH, "authenticate", login=False)
def authenticate(call: Call) -> Payload:
    """Step 1 of a key login: a challenge kept under a new session (the cookie links step 2).

    An unknown name gets a challenge too, bound to nobody: step 2 then fails exactly as
    a wrong key does, so neither step tells which user names exist (the password login
    says "Username or password is incorrect." for both, ft_user.sh)."""
    name = call.arg("username", str, "") or call.arg("user_name", str, "")
    user = call.world.user_by_name(name)
    session = call.controller.sessions.create()
    session.challenge = str(uuid.uuid4())
    session.challenge_user_id = NOBODY if user is None else user.user_id
    call.new_session = session
    return {"challenge": session.challenge, "user_name": name}


def load_public_key(text: str) -> rsa.RSAPublicKey | None:
    """PEM (``PUBLIC KEY`` or ``RSA PUBLIC KEY``) or OpenSSH ``ssh-rsa``; None if unusable."""
    data = text.strip().encode()
    try:
        if data.startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(data)
        else:   # the PEM loader reads both PUBLIC KEY and RSA PUBLIC KEY
            key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def signature_matches(user: User, challenge: str, signature: str) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 over the challenge's bytes, by any key of the user."""
    try:
        sig = base64.b64decode(signature, validate=False)
    except (binascii.Error, ValueError):
        return False
    for entry in user.public_keys:
        key = load_public_key(entry.key)
        if key is None:
            continue
        try:
            key.verify(sig, challenge.encode(), padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            continue
    return False


@operation(PATH, "authenticateResponse", login=False)
def authenticate_response(call: Call) -> Payload:
    """Step 2 of a key login: the signed challenge, found through the session cookie."""
    session = call.session
    signature = call.arg("signature", str, "") or call.arg("response", str, "")
    if session is None or session.challenge is None or session.challenge_user_id is None:
        raise denied("No authentication challenge is pending for this session.")
    challenge, uid = session.challenge, session.challenge_user_id
    session.challenge = session.challenge_user_id = None  # one try per challenge
    user = call.world.users.get(uid)
    if user is None:
        raise RpcError(ACCESS_DENIED)
    if user.disabled or user.suspended or not signature_matches(user, challenge, signature):
        call.controller.login_failed(user)
        raise RpcError(ACCESS_DENIED)
    call.controller.login_succeeded(user)
    return logged_in(call, user)


# CMON 1.4.1/1.4.2 called step 2 "response"; s9s still sends that name to them.
operation(PATH, "response", login=False)(authenticate_response)


@operation(PATH, "logout")
def logout(call: Call) -> Payload:
    if call.session is not None:
        call.controller.sessions.drop(call.session.sid)
    return {}
