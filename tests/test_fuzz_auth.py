"""Abuse of the auth surface: failed-login storms, session ids, cookies across
servers, cookie attributes, and the control API's refusals."""

from __future__ import annotations

import re
import string
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from fakecmon.testing import FakeCmon
from fakecmon.world.logs import AUDIT_LIMIT, LOG_LIMIT, book
from tests.fuzzgen import Wire, check_reply, fuzz_seed

U = "/v2/users"
A = "/v2/auth"


def user_view(cmon: FakeCmon, name: str) -> dict[str, Any]:
    client = cmon.client("system", "secret")
    users = client.call(U, "getUsers")["users"]
    return next(u for u in users if u["user_name"] == name)


def test_failed_login_storm_counts_like_cmon_and_stays_bounded(cmon: FakeCmon) -> None:
    wire = Wire(cmon.port)
    try:
        for i in range(300):
            body = {"operation": "authenticateWithPassword", "user_name": "dba",
                    "password": f"wrong-{i}"}
            doc = check_reply(*wire.post("storm", A, body, None), body)
            assert doc["request_status"] == "AccessDenied"
    finally:
        wire.close()
    dba = user_view(cmon, "dba")
    assert dba["n_failed_logins"] == 300
    assert dba["last_failed_login"]
    logs = cmon.run(lambda c: (len(book(c.world).entries), len(book(c.world).audit),
                               len(c.journal), c.journal.size, len(c.sessions)))
    assert logs[0] <= LOG_LIMIT and logs[1] <= AUDIT_LIMIT   # rings, not lists
    assert logs[2] <= logs[3]                                 # the journal is a ring too
    assert logs[4] <= 1                                       # failures make no sessions
    # one success: the counter starts again, as in CMON
    assert cmon.client("dba", "dba-pass").call(U, "whoAmI")["request_status"] == "Ok"
    assert user_view(cmon, "dba")["n_failed_logins"] == 0


def test_key_login_challenges_cannot_crowd_out_logins() -> None:
    """``authenticate`` (step 1 of a key login) makes a session before anyone proved
    anything: a storm of them must not fill the session store and lock users out."""
    with FakeCmon(max_sessions=20) as cmon:
        client = cmon.client()
        for _ in range(60):
            assert client.call(A, "authenticate", username="system")["request_status"] == "Ok"
        assert cmon.client().login("system", "secret")["request_status"] == "Ok"
        assert cmon.run(lambda c: len(c.sessions)) <= 20


@seed(fuzz_seed())
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(name=st.one_of(st.sampled_from(["system", "dba", "admin", "", "nobody"]),
                      st.text(max_size=40)),
       password=st.one_of(st.text(max_size=60), st.sampled_from(["", "secret ", "SECRET"])),
       op=st.sampled_from(["authenticateWithPassword", "authenticate", "authenticateResponse",
                           "response", "logout", "passwordReset", "newpassword"]))
def test_generated_login_attempts_never_log_in(fakecmon_server: FakeCmon, name: str,
                                               password: str, op: str) -> None:
    if (name, password) in (("system", "secret"), ("dba", "dba-pass"), ("admin", "admin")):
        return
    client = fakecmon_server.client()
    reply = client.post(A, {"operation": op, "user_name": name, "username": name,
                            "password": password, "signature": password})
    doc = check_reply(reply.status, reply.header("content-type") or "", reply.body,
                      {"operation": op})
    assert doc["request_status"] != "Ok" or op in ("logout", "passwordReset", "authenticate")
    who = client.call(U, "whoAmI")
    assert who["request_status"] == "AuthRequired", (op, name, who)


def test_session_ids_are_random_and_never_reused(cmon: FakeCmon) -> None:
    sids = []
    for _ in range(200):
        client = cmon.client()
        assert client.login("system", "secret")["request_status"] == "Ok"
        assert client.sid is not None
        sids.append(client.sid)
    assert len(set(sids)) == len(sids)
    for sid in sids:
        assert len(sid) >= 32 and set(sid) <= set(string.hexdigits.lower())
    # no shared prefix or counter: each position takes many values
    for pos in range(0, 32, 4):
        assert len({s[pos] for s in sids}) >= 10
    # a logged-out session stays dead, and no later login gets its id back
    client = cmon.client()
    client.login("system", "secret")
    dead = client.sid
    assert client.call(A, "logout")["request_status"] == "Ok"
    client.sid = dead
    assert client.call(U, "whoAmI")["request_status"] == "AuthRequired"
    later = {cmon.client("system", "secret").sid for _ in range(20)}
    assert dead not in later and not later & set(sids)


def test_a_cookie_from_one_fakecmon_never_works_on_another(cmon: FakeCmon) -> None:
    client = cmon.client("system", "secret")
    with FakeCmon() as other:
        stranger = other.client()
        stranger.sid = client.sid
        reply = stranger.call(U, "whoAmI")
        assert reply["request_status"] == "AuthRequired"
        assert reply["controller_id"] != "" and stranger.sid == client.sid


def test_the_session_cookie_is_secure_and_http_only(cmon: FakeCmon) -> None:
    reply = cmon.client().post(A, {"operation": "authenticateWithPassword",
                                   "user_name": "system", "password": "secret"})
    cookies = reply.headers["set-cookie"]
    assert len(cookies) == 1
    name, _, rest = cookies[0].partition("=")
    attrs = {a.strip().lower() for a in rest.split(";")[1:]}
    assert name == "cmon-sid" and {"secure", "httponly", "path=/"} <= attrs
    # what the Python SDK sends back (the raw Set-Cookie value) still works
    client = cmon.client()
    back = client.post(U, {"operation": "whoAmI"}, headers={"Cookie": cookies[0]})
    assert back.json["request_status"] == "Ok"
    assert re.fullmatch(r"[0-9a-f]{32}", rest.split(";")[0])


def test_the_control_api_refuses_web_pages_and_wrong_tokens() -> None:
    import urllib.request
    from urllib.error import HTTPError

    from tests.rawtls import insecure_context

    with FakeCmon(control_token="s3cret-token") as cmon:
        def status(headers: dict[str, str]) -> int:
            req = urllib.request.Request(f"{cmon.control_url}/reset", method="POST",
                                         data=b"", headers=headers)
            try:
                with urllib.request.urlopen(req, context=insecure_context(), timeout=5) as r:
                    return r.status
            except HTTPError as exc:
                return exc.code

        assert status({"Origin": "https://evil.example"}) == 403
        assert status({"Origin": "https://evil.example",
                       "Authorization": "Bearer s3cret-token"}) == 403
        assert status({"Authorization": "Bearer s3cret-tokeN"}) in (401, 403)
        assert status({"Authorization": "Bearer s3cret-token"}) == 200
