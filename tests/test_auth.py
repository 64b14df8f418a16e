"""Logins (password, RSA key, nested object), AuthRequired, logout and sessions."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from fakecmon.client import RpcClient
from fakecmon.errors import RpcError
from fakecmon.sessions import SessionStore
from fakecmon.testing import FakeCmon
from rawtls import exchange, parse_reply, s9s_request
from worldfile import worlds

# ---- password

def test_password_login(cmon):
    client = cmon.client()
    reply = client.post("/v2/auth", {"operation": "authenticateWithPassword",
                                     "user_name": "system", "password": "secret", "request_id": 1})
    doc = reply.json
    assert reply.status == 200 and doc["request_status"] == "Ok"
    assert doc["is_superuser"] is True
    assert doc["user"]["user_name"] == "system" and doc["user"]["user_id"] == 1
    assert [g["group_name"] for g in doc["user"]["groups"]] == ["admins"]
    assert "request_user_id" not in doc          # CMON leaves it out of login replies
    assert doc["debug_messages"] == ["RPC V2 authenticated user is 'system'."]
    assert "error_string" not in doc
    assert client.sid


@pytest.mark.parametrize("user, password, superuser", [
    ("system", "secret", True), ("admin", "admin", True), ("ccrpc", "rpc-secret-key", True),
    ("readeruser", "s3cr3tP455", False), ("dba", "dba-pass", False)])
def test_default_world_logins(cmon, user, password, superuser):
    client = cmon.client()
    doc = client.login(user, password)
    assert doc["request_status"] == "Ok" and doc["is_superuser"] is superuser
    who = client.call("/v2/users", "whoAmI")
    assert who["request_status"] == "Ok" and who["user"]["user_name"] == user
    assert who["request_user_id"] == doc["user"]["user_id"]


@pytest.mark.parametrize("user, password", [
    ("system", "wrong"), ("system", ""), ("", ""),
    ("nobody", ""),                       # disabled, no password
    ("sys", "secret"), ("System", "secret"),   # unknown (names are case-sensitive)
])
def test_failed_password_login_reads_the_same_whatever_was_wrong(cmon, user, password):
    """ft_user.sh testFailWrongPassword: a wrong password and an unknown name get the
    same AccessDenied text (so it tells no one which names exist), no cookie, no user."""
    client = cmon.client()
    reply = client.post("/v2/auth", {"operation": "authenticateWithPassword",
                                     "user_name": user, "password": password})
    assert reply.status == 200
    doc = reply.json
    assert (doc["request_status"], doc["error_string"]) == (
        "AccessDenied", "Username or password is incorrect.")
    assert "user" not in doc
    assert "set-cookie" not in reply.headers


def test_unknown_user_with_ldap_on_is_a_bare_denial(cmon):
    """With LDAP on an unknown name goes to the LDAP server, whose refusal CMON passes on
    without a text (contract/captures: AccessDenied-authenticateWithPassword)."""
    cmon.client("system", "secret").call("/v2/config", "setLdapConfig",
                                         ldap_configuration={"enabled": True})
    doc = cmon.client().login("sys", "secret")
    assert doc["request_status"] == "AccessDenied" and "error_string" not in doc
    wrong = cmon.client().login("system", "wrong")     # a local user: CMON's text
    assert wrong["error_string"] == "Username or password is incorrect."


def test_failed_logins_are_counted(cmon):
    cmon.client().login("dba", "nope")
    cmon.client().login("dba", "nope")
    n = cmon.run(lambda c: c.world.user_by_name("dba").n_failed_logins)
    assert n == 2
    doc = cmon.client().login("dba", "dba-pass")
    assert doc["request_status"] == "Ok"
    assert doc["user"]["n_failed_logins"] == 0
    assert doc["user"]["last_failed_login"].endswith("Z") and doc["user"]["last_login"].endswith("Z")


def test_login_fields_of_wrong_type(cmon):
    doc = cmon.client().call("/v2/auth", "authenticateWithPassword", user_name=["system"],
                             password="secret")
    assert doc["request_status"] == "InvalidRequest"
    assert "'user_name' field must be a string" in doc["error_string"]


def test_second_request_on_new_connection_carries_only_the_cookie(cmon):
    client = cmon.client()
    client.login("readeruser", "s3cr3tP455")
    sid = client.sid
    fresh = RpcClient(cmon.base_url, cmon.ssl_context())
    reply = fresh.post("/v2/users", {"operation": "whoAmI"}, headers={"Cookie": f"cmon-sid={sid}"})
    assert reply.json["request_status"] == "Ok"
    assert reply.json["user"]["user_name"] == "readeruser" and reply.json["request_user_id"] == 5


def test_login_again_on_the_same_session_replaces_it(cmon):
    client = cmon.client()
    client.login("system", "secret")
    first = client.sid
    client.login("readeruser", "s3cr3tP455")
    assert client.sid != first
    stale = cmon.client()
    stale.sid = first
    assert stale.call("/v2/users", "whoAmI")["request_status"] == "AuthRequired"
    assert client.call("/v2/users", "whoAmI")["user"]["user_name"] == "readeruser"


# ---- nested "authenticate" object (the doc's method 1)

def test_nested_authenticate(cmon):
    client = cmon.client()
    reply = client.post("/v2/clusters", {"operation": "getAllClusterInfo",
                                         "authenticate": {"password": "s3cr3tP455",
                                                          "username": "readeruser"}})
    doc = reply.json
    assert doc["request_status"] == "Ok"
    assert doc["request_user_id"] == 5
    assert doc["debug_messages"] == ["RPC V2 authenticated user is 'readeruser'."]
    assert doc["total"] == len(doc["clusters"]) > 0


def test_nested_authenticate_with_user_name_field(cmon):
    doc = cmon.client().call("/v2/users", "whoAmI",
                             authenticate={"user_name": "dba", "password": "dba-pass"})
    assert doc["request_status"] == "Ok" and doc["user"]["user_name"] == "dba"


@pytest.mark.parametrize("spec, status", [
    ({"username": "readeruser", "password": "wrong"}, "AccessDenied"),
    ({"username": "ghost", "password": "x"}, "AccessDenied"),
    ({"username": "readeruser"}, "InvalidRequest"),
    ("readeruser:s3cr3tP455", "InvalidRequest"),
    ({"username": 5, "password": "x"}, "InvalidRequest"),
])
def test_nested_authenticate_failures(cmon, spec, status):
    doc = cmon.client().call("/v2/clusters", "getAllClusterInfo", authenticate=spec)
    assert doc["request_status"] == status
    assert doc["error_string"]
    assert "clusters" not in doc and "request_user_id" not in doc


# ---- AuthRequired

@pytest.mark.parametrize("path, op", [("/v2/clusters", "getAllClusterInfo"),
                                      ("/v2/clusters", "getClusterInfo"),
                                      ("/v2/clusters", "ping"), ("/v2/users", "whoAmI"),
                                      ("/v2/auth", "logout")])
def test_auth_required_is_http_401_by_default(cmon, path, op):
    reply = cmon.client().post(path, {"operation": op, "cluster_id": 1, "request_id": 4})
    assert reply.status == 401
    doc = reply.json
    assert doc["request_status"] == "AuthRequired"
    assert doc["error_string"] == "Authentication required."
    assert doc["request_id"] == 4 and doc["controller_id"]
    assert "set-cookie" not in reply.headers


def test_unknown_cookie_is_auth_required(cmon):
    client = cmon.client()
    client.sid = "0" * 32
    assert client.post("/v2/users", {"operation": "whoAmI"}).status == 401


@pytest.fixture(scope="module")
def status200() -> Iterator[FakeCmon]:
    with FakeCmon(auth_required_http_status=200) as cmon:
        yield cmon


def test_auth_required_status_switch(status200):
    reply = status200.client().post("/v2/clusters", {"operation": "getAllClusterInfo"})
    assert reply.status == 200 and reply.json["request_status"] == "AuthRequired"


@pytest.mark.parametrize("path", ["/v2/info", "/v2/controller", "/v2"])
def test_controller_ping_needs_no_login(cmon, path):
    doc = cmon.client().call(path, "ping")
    assert doc["request_status"] == "Ok" and doc["authenticated"] is False
    assert doc["package_name"] == "cmon" and doc["package_version"] == "2.3.1"
    assert doc["controller_id"] == doc["pool_id"] == doc["xid"]


def test_controller_ping_after_login(system):
    doc = system.call("/v2/info", "ping")
    assert doc["authenticated"] is True and doc["request_user_id"] == 1


# ---- logout and sessions

def test_logout(cmon):
    client = cmon.client()
    client.login("system", "secret")
    assert client.call("/v2/auth", "logout")["request_status"] == "Ok"
    reply = client.post("/v2/users", {"operation": "whoAmI"})
    assert reply.status == 401 and reply.json["request_status"] == "AuthRequired"


def test_logout_ends_only_its_own_session(cmon):
    a, b = cmon.client(), cmon.client()
    a.login("system", "secret")
    b.login("system", "secret")
    a.call("/v2/auth", "logout")
    assert b.call("/v2/users", "whoAmI")["request_status"] == "Ok"


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_session_idle_expiry():
    now = FakeTime()
    store = SessionStore(idle_timeout=60, max_sessions=10, now=now)
    s = store.create()
    now.t += 59
    assert store.get(s.sid) is s          # use refreshes it
    now.t += 59
    assert store.get(s.sid) is s
    now.t += 61
    assert store.get(s.sid) is None
    assert len(store) == 0


def test_session_bound_never_drops_live_sessions():
    now = FakeTime()
    store = SessionStore(idle_timeout=60, max_sessions=3, now=now)
    live = [store.create() for _ in range(3)]
    with pytest.raises(RpcError) as exc:
        store.create()
    assert exc.value.status == "TryAgain"
    assert all(store.get(s.sid) is s for s in live)
    now.t += 30
    store.get(live[0].sid)                 # keep one alive
    now.t += 40                            # the other two are idle for 70 s now
    fresh = store.create()
    assert store.get(live[0].sid) is live[0] and store.get(fresh.sid) is fresh
    assert store.get(live[1].sid) is None and store.get(live[2].sid) is None
    assert len(store) == 2


def test_many_logins_without_logout_are_bounded():
    """The exporter logs in on every scrape: expired sessions go, the store does not grow."""
    now = FakeTime()
    store = SessionStore(idle_timeout=60, max_sessions=100, now=now)
    for _ in range(1000):
        store.create()
        now.t += 1
    assert len(store) <= 61


def test_session_ids_are_random_and_128_bit():
    store = SessionStore()
    sids = {store.create().sid for _ in range(200)}
    assert len(sids) == 200 and all(len(s) >= 32 for s in sids)


@pytest.fixture(scope="module")
def few_sessions() -> Iterator[FakeCmon]:
    with FakeCmon(max_sessions=2, session_idle_timeout=60) as cmon:
        yield cmon


def test_session_limit_over_the_wire(few_sessions):
    cmon = few_sessions
    a, b, c = cmon.client(), cmon.client(), cmon.client()
    assert a.login("system", "secret")["request_status"] == "Ok"
    assert b.login("system", "secret")["request_status"] == "Ok"
    assert c.login("system", "secret")["request_status"] == "TryAgain"
    assert a.call("/v2/users", "whoAmI")["request_status"] == "Ok"
    a.call("/v2/auth", "logout")
    assert c.login("system", "secret")["request_status"] == "Ok"
    # idle expiry over the wire: move the store's clock (sessions use real time, not the
    # controller clock, so jobs moved a day ahead keep their login)
    store_now = cmon.run(lambda ctl: ctl.sessions.now)
    cmon.run(lambda ctl: setattr(ctl.sessions, "now", lambda: store_now() + 61))
    try:
        assert b.post("/v2/users", {"operation": "whoAmI"}).status == 401
        assert a.login("system", "secret")["request_status"] == "Ok"
    finally:
        cmon.run(lambda ctl: setattr(ctl.sessions, "now", store_now))


# ---- RSA key login (s9s.md §6.3, go-clients.md §2.2)

def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey, fmt: serialization.PublicFormat) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def sign(key: rsa.RSAPrivateKey, challenge: str) -> str:
    return base64.b64encode(key.sign(challenge.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())).decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {"spki": _rsa(), "pkcs1": _rsa(), "other": _rsa()}


@pytest.fixture(scope="module")
def key_cmon(tmp_path_factory, keys) -> Iterator[FakeCmon]:
    ssh_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    doc = {
        "groups": [{"group_name": "keyusers"}],
        "users": [
            {"user_name": "keyuser", "groups": ["keyusers"],
             "public_keys": [{"name": "laptop",
                              "key": _pem(keys["spki"], serialization.PublicFormat.SubjectPublicKeyInfo)}]},
            {"user_name": "s9suser", "groups": ["admins"],
             "public_keys": [ssh_key, {"name": "No Name", "key": ""},
                             {"name": "s9s", "key": _pem(keys["pkcs1"], serialization.PublicFormat.PKCS1)}]},
            {"user_name": "lockeduser", "groups": ["keyusers"], "suspended": True,
             "public_keys": [_pem(keys["spki"], serialization.PublicFormat.SubjectPublicKeyInfo)]},
        ],
    }
    with FakeCmon(world=worlds(tmp_path_factory.mktemp("keys"), doc)) as cmon:
        yield cmon


def key_login(cmon: FakeCmon, user: str, key: rsa.RSAPrivateKey, *, go: bool = False,
              step2: str = "authenticateResponse") -> tuple[dict, dict, str | None]:
    """authenticate + authenticateResponse on two connections joined only by the cookie."""
    client = cmon.client()
    fields = {"user_name": user, "password": ""} if go else {"username": user}
    first = client.post("/v2/auth", {"operation": "authenticate", "request_id": 1, **fields})
    assert len(first.headers.get("set-cookie", [])) == 1
    challenge = first.json.get("challenge", "")
    second = client.post("/v2/auth", {"operation": step2, "request_id": 2,
                                      "signature": sign(key, challenge)})
    return first.json, second.json, client.sid


@pytest.mark.parametrize("go", [False, True], ids=["s9s-username", "go-user_name"])
def test_key_login(key_cmon, keys, go):
    first, second, sid = key_login(key_cmon, "keyuser", keys["spki"], go=go)
    assert first["request_status"] == "Ok"
    assert first["user_name"] == "keyuser"
    assert len(first["challenge"]) >= 32
    assert second["request_status"] == "Ok", second
    assert second["is_superuser"] is False
    assert second["user"]["user_name"] == "keyuser"
    assert second["debug_messages"] == ["RPC V2 authenticated user is 'keyuser'."]
    client = key_cmon.client()
    client.sid = sid
    assert client.call("/v2/users", "whoAmI")["user"]["user_name"] == "keyuser"


def test_key_login_pkcs1_public_key_and_legacy_response_name(key_cmon, keys):
    """s9s --generate-key stores ``BEGIN RSA PUBLIC KEY``; 1.4.x named step 2 ``response``."""
    _, second, _ = key_login(key_cmon, "s9suser", keys["pkcs1"], step2="response")
    assert second["request_status"] == "Ok" and second["is_superuser"] is True


def test_key_login_over_s9s_bytes(key_cmon, keys):
    raw = exchange(key_cmon.port, s9s_request("/v2/auth", {
        "operation": "authenticate", "username": "keyuser", "request_id": 1}))
    reply = parse_reply(raw)
    sid = reply.header("Set-Cookie")[0].split(";")[0].split("=", 1)[1]
    signature = sign(keys["spki"], reply.json["challenge"])
    assert len(signature) == 344
    reply = parse_reply(exchange(key_cmon.port, s9s_request(
        "/v2/auth", {"operation": "authenticateResponse", "request_id": 2,
                     "signature": signature}, cookie=sid)))
    assert reply.json["request_status"] == "Ok"


@pytest.mark.parametrize("user, key", [("keyuser", "other"), ("s9suser", "spki"),
                                       ("lockeduser", "spki")])
def test_key_login_wrong_key(key_cmon, keys, user, key):
    _, second, _ = key_login(key_cmon, user, keys[key])
    assert second["request_status"] == "AccessDenied"
    assert "user" not in second


def test_key_login_challenge_is_single_use(key_cmon, keys):
    client = key_cmon.client()
    challenge = client.call("/v2/auth", "authenticate", username="keyuser")["challenge"]
    bad = client.call("/v2/auth", "authenticateResponse", signature="AAAA")
    assert bad["request_status"] == "AccessDenied"
    again = client.call("/v2/auth", "authenticateResponse", signature=sign(keys["spki"], challenge))
    assert again["request_status"] == "AccessDenied"


def test_key_login_response_without_cookie(key_cmon, keys):
    doc = key_cmon.client().call("/v2/auth", "authenticateResponse", signature="AAAA")
    assert doc["request_status"] == "AccessDenied"


def test_key_login_pending_challenge_is_not_a_login(key_cmon):
    client = key_cmon.client()
    client.call("/v2/auth", "authenticate", username="keyuser")
    reply = client.post("/v2/users", {"operation": "whoAmI"})
    assert reply.status == 401 and reply.json["request_status"] == "AuthRequired"


def test_key_login_signature_over_challenge_with_newline_fails(key_cmon, keys):
    client = key_cmon.client()
    challenge = client.call("/v2/auth", "authenticate", username="keyuser")["challenge"]
    doc = client.call("/v2/auth", "authenticateResponse",
                      signature=sign(keys["spki"], challenge + "\n"))
    assert doc["request_status"] == "AccessDenied"


def test_key_login_unknown_user_reads_like_a_wrong_key(key_cmon, keys):
    """Neither step tells an unknown name from a known one with the wrong key."""
    ghost_first, ghost_second, _ = key_login(key_cmon, "ghost", keys["spki"])
    known_first, known_second, _ = key_login(key_cmon, "keyuser", keys["other"])
    assert ghost_first["request_status"] == known_first["request_status"] == "Ok"
    assert set(ghost_first) == set(known_first)
    assert ghost_first["user_name"] == "ghost" and len(ghost_first["challenge"]) >= 32
    assert ghost_second["request_status"] == known_second["request_status"] == "AccessDenied"
    assert ghost_second.get("error_string") == known_second.get("error_string")
    assert "user" not in ghost_second
