"""The control API on /_fakecmon/: JSON over the same TLS port, guarded, never under /v2."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any

import pytest

from fakecmon import FakeCmon

ALICE = "users:\n  - {user_name: alice, password: wonderland, groups: [users]}\n"


def ctl(cmon: FakeCmon, method: str, path: str, body: Any = None, *, host: str | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One control request; returns (HTTP status, JSON)."""
    if host is None:
        conn = http.client.HTTPSConnection("127.0.0.1", cmon.port, context=cmon.ssl_context())
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, cmon.port, context=ctx)
    data = None if body is None else json.dumps(body).encode()
    try:
        conn.request(method, "/_fakecmon" + path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def login_status(cmon: FakeCmon, user: str, password: str) -> str:
    return cmon.client().login(user, password)["request_status"]


def test_health(cmon):
    status, doc = ctl(cmon, "GET", "/health")
    assert status == 200 and doc["status"] == "ok"
    assert doc["controller_id"] == cmon.controller_id
    assert doc["world_files"][0].endswith("default.yaml")
    assert doc["journal"] == {"size": 1000, "entries": 0}


def test_index_lists_the_routes_and_unknown_ones_are_404(cmon):
    status, doc = ctl(cmon, "GET", "/")
    assert status == 200 and "POST /_fakecmon/reset" in doc["routes"]
    status, doc = ctl(cmon, "GET", "/nothing")
    assert status == 404 and "GET /_fakecmon/ lists them" in doc["error"]
    assert ctl(cmon, "GET", "/reset")[0] == 404


def test_never_reachable_through_v2(cmon):
    reply = cmon.client().post("/v2/_fakecmon/health", b"")
    assert reply.json["request_status"] == "InvalidRequest"
    reply = cmon.client().post("/v2/_fakecmon/reset", {"operation": "reset"})
    assert reply.json["request_status"] == "InvalidRequest"
    assert "status" not in reply.json


def test_control_requests_stay_out_of_the_journal(cmon):
    ctl(cmon, "GET", "/health")
    assert ctl(cmon, "GET", "/requests")[1]["requests"] == []


def test_load_world_text_then_reset(cmon):
    status, doc = ctl(cmon, "POST", "/world", {"yaml": ALICE, "name": "alice.yaml"})
    assert status == 200 and doc["files"][-1] == "alice.yaml"
    assert login_status(cmon, "alice", "wonderland") == "Ok"
    status, doc = ctl(cmon, "POST", "/reset")
    assert status == 200 and doc["reset"] == ["world", "journal", "faults", "clock", "sessions"]
    assert login_status(cmon, "alice", "wonderland") == "AccessDenied"


def test_load_and_replace_world_files(cmon, tmp_path):
    extra = tmp_path / "alice.yaml"
    extra.write_text(ALICE)
    assert ctl(cmon, "POST", "/world", {"files": [str(extra)]})[0] == 200
    assert login_status(cmon, "alice", "wonderland") == "Ok"
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("groups: [{group_name: admins}]\n"
                    "users: [{user_name: system, password: tiny, groups: [admins]}]\n")
    status, doc = ctl(cmon, "POST", "/world", {"files": [str(tiny)], "replace": True})
    assert status == 200 and doc["users"] == 1 and doc["clusters"] == 0
    assert login_status(cmon, "system", "tiny") == "Ok"


def test_invalid_world_is_refused_and_the_old_one_stays(cmon, tmp_path):
    status, doc = ctl(cmon, "POST", "/world", {"yaml": "users: [", "name": "bad.yaml"})
    assert status == 400
    assert doc["error"].startswith("The world was not changed: bad.yaml: line 1")
    status, doc = ctl(cmon, "POST", "/world", {"files": [str(tmp_path / "missing.yaml")]})
    assert status == 400 and "cannot read the world file" in doc["error"]
    assert ctl(cmon, "POST", "/world", {})[0] == 400
    assert login_status(cmon, "system", "secret") == "Ok"


def test_snapshots(cmon):
    ctl(cmon, "POST", "/world", {"yaml": ALICE})
    status, doc = ctl(cmon, "POST", "/snapshots/alice")
    assert status == 200 and "alice" in doc["snapshots"]  # others' snapshots may be there
    ctl(cmon, "POST", "/reset")
    assert login_status(cmon, "alice", "wonderland") == "AccessDenied"
    assert ctl(cmon, "POST", "/snapshots/alice/restore")[0] == 200
    assert login_status(cmon, "alice", "wonderland") == "Ok"
    assert "alice" in ctl(cmon, "GET", "/snapshots")[1]["snapshots"]
    status, doc = ctl(cmon, "DELETE", "/snapshots/alice")
    assert status == 200 and "alice" not in doc["snapshots"]
    status, doc = ctl(cmon, "POST", "/snapshots/alice/restore")
    assert status == 404 and "No snapshot named 'alice'" in doc["error"]


def test_journal_filters_and_clear(cmon):
    system = cmon.client("system", "secret")
    system.call("/v2/clusters", "getClusterInfo", cluster_id=1)
    cmon.client().call("/v2/clusters", "getAllClusterInfo")
    status, doc = ctl(cmon, "GET", "/requests?operation=getClusterInfo")
    assert status == 200 and doc["total"] == 1
    entry = doc["requests"][0]
    assert set(entry) == {"id", "time", "client", "path", "operation", "body", "user", "status",
                          "http_status", "latency_ms", "fault", "contract"}
    assert entry["user"] == "system" and entry["body"]["cluster_id"] == 1
    assert ctl(cmon, "GET", "/requests?status=AuthRequired")[1]["total"] == 1
    assert ctl(cmon, "GET", "/requests?path=/v2/auth")[1]["requests"][0]["body"]["password"] \
        == "********"
    assert ctl(cmon, "GET", "/requests?user=system")[1]["total"] == 2
    assert ctl(cmon, "GET", "/requests?limit=1")[1]["requests"][0]["operation"] \
        == "getAllClusterInfo"
    assert ctl(cmon, "GET", "/requests?limit=x")[0] == 400
    assert ctl(cmon, "DELETE", "/requests")[1] == {"cleared": 3}
    assert ctl(cmon, "GET", "/requests")[1]["total"] == 0


def test_journal_size(cmon):
    try:
        assert ctl(cmon, "PUT", "/requests", {"size": 2})[1]["size"] == 2
        for _ in range(3):
            cmon.client().call("/v2/info", "ping")
        doc = ctl(cmon, "GET", "/requests")[1]
        assert doc["received"] == 3 and len(doc["requests"]) == 2
        assert ctl(cmon, "PUT", "/requests", {"size": -1})[0] == 400
    finally:
        ctl(cmon, "PUT", "/requests", {"size": 1000})


def test_faults(cmon):
    system = cmon.client("system", "secret")
    status, fault = ctl(cmon, "POST", "/faults", {
        "kind": "status", "operation": "getAllClusterInfo", "request_status": "TryAgain",
        "message": "Busy.", "times": 2})
    assert status == 200 and fault["id"] >= 1 and fault["times"] == 2
    assert system.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "TryAgain"
    listed = ctl(cmon, "GET", "/faults")[1]["faults"]
    assert [(f["id"], f["fired"], f["times"]) for f in listed] == [(fault["id"], 1, 1)]
    assert ctl(cmon, "DELETE", f"/faults/{fault['id']}")[0] == 200
    assert system.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "Ok"
    assert ctl(cmon, "DELETE", f"/faults/{fault['id']}")[0] == 404
    ctl(cmon, "POST", "/faults", {"kind": "http", "http_status": 503})
    assert ctl(cmon, "DELETE", "/faults")[1] == {"cleared": 1}
    status, doc = ctl(cmon, "POST", "/faults", {"kind": "status"})
    assert status == 400 and "needs 'request_status'" in doc["error"]


def test_clock(cmon):
    client = cmon.client()
    assert ctl(cmon, "POST", "/clock/freeze")[1]["frozen"] is True
    status, doc = ctl(cmon, "POST", "/clock/set", {"time": "2031-05-06T07:08:09Z"})
    assert status == 200 and doc["time"] == "2031-05-06T07:08:09.000Z"
    assert ctl(cmon, "POST", "/clock/advance", {"seconds": 60})[1]["time"] \
        == "2031-05-06T07:09:09.000Z"
    assert client.call("/v2/info", "ping")["request_processed"] == "2031-05-06T07:09:09.000Z"
    assert ctl(cmon, "GET", "/clock")[1]["frozen"] is True
    assert ctl(cmon, "POST", "/clock/unfreeze")[1]["frozen"] is False
    assert ctl(cmon, "POST", "/clock/advance", {"seconds": -5})[0] == 400
    assert ctl(cmon, "POST", "/clock/set", {"time": "soon"})[0] == 400
    assert ctl(cmon, "POST", "/clock/rewind")[0] == 404


@pytest.mark.parametrize("path,body", [
    ("/clock/advance", {"seconds": 1e308}), ("/clock/advance", {"seconds": float("nan")}),
    ("/clock/set", {"time": 1e300}), ("/clock/set", {"time": float("-inf")}),
    ("/clock/set", {"time": 253402300800})])
def test_clock_refuses_times_replies_cannot_carry(cmon, path, body):
    """A time past the year 9999 would make every later reply fail; it is refused."""
    before = cmon.now()
    status, doc = ctl(cmon, "POST", path, body)
    assert status == 400 and doc["error"]
    assert abs(cmon.now() - before) < 60
    assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"
    with pytest.raises(ValueError):
        cmon.advance(float("inf"))


def test_expire_sessions(cmon):
    system = cmon.client("system", "secret")
    reader = cmon.client("readeruser", "s3cr3tP455")
    assert ctl(cmon, "POST", "/sessions/expire", {"user": "system"})[1] == {"expired": 1}
    assert system.post("/v2/users", {"operation": "whoAmI"}).status == 401
    assert reader.call("/v2/users", "whoAmI")["request_status"] == "Ok"
    assert ctl(cmon, "POST", "/sessions/expire", {"user": "ghost"})[0] == 404
    assert ctl(cmon, "POST", "/sessions/expire")[1] == {"expired": 1}


def test_bad_json_body(cmon):
    conn = http.client.HTTPSConnection("127.0.0.1", cmon.port, context=cmon.ssl_context())
    conn.request("POST", "/_fakecmon/faults", body=b"{kind: drop")
    resp = conn.getresponse()
    assert resp.status == 400 and "not valid JSON" in json.loads(resp.read())["error"]
    conn.close()


# ---- the guard

def test_web_pages_are_refused(cmon):
    status, doc = ctl(cmon, "POST", "/reset", headers={"Origin": "https://evil.example"})
    assert status == 403 and "Origin" in doc["error"]


@pytest.fixture(scope="module")
def guarded():
    with FakeCmon(control_token="s3cret-token") as server:
        yield server


def test_token_is_required_when_configured(guarded):
    status, doc = ctl(guarded, "GET", "/health")
    assert status == 401 and "needs its token" in doc["error"]
    status, doc = ctl(guarded, "POST", "/reset", headers={"Authorization": "Bearer nope"})
    assert status == 401 and doc["error"] == "Wrong control API token."
    assert ctl(guarded, "GET", "/nothing")[0] == 401
    assert ctl(guarded, "GET", "/")[0] == 401
    assert ctl(guarded, "GET", "/health",
               headers={"Authorization": "Bearer s3cret-token"})[0] == 200
    assert ctl(guarded, "GET", "/health", headers={"X-Fakecmon-Token": "s3cret-token"})[0] == 200
    # The RPC API itself does not care about the control token.
    assert guarded.client("system", "secret").call("/v2/info", "ping")["request_status"] == "Ok"


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    for target in ("10.255.255.255", "198.51.100.1", "8.8.8.8"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((target, 9))  # UDP: nothing is sent, a route is chosen
            except OSError:
                continue
            addr = s.getsockname()[0]
        if not addr.startswith("127.") and addr != "0.0.0.0":
            return addr
    return None


@pytest.mark.parametrize("token", [None, "t0ken"])
def test_other_hosts_need_a_token(token):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address")
    with FakeCmon(bind="0.0.0.0", control_token=token) as server:
        status, doc = ctl(server, "GET", "/health", host=addr)
        if token is None:
            assert status == 403
            assert f"loopback clients only, not {addr}" in doc["error"]
            assert "--control-token" in doc["error"]
            assert ctl(server, "GET", "/health")[0] == 200   # loopback is fine
        else:
            assert status == 401
            assert ctl(server, "GET", "/health", host=addr,
                       headers={"Authorization": f"Bearer {token}"})[0] == 200


def test_password_reset_token_through_the_control_api(cmon):
    """The passwordReset "mail" can be read over the control API, then used over /v2."""
    anon = cmon.client()
    status, doc = ctl(cmon, "GET", "/password-reset/dba")
    assert status == 404 and "passwordReset first" in doc["error"]
    assert ctl(cmon, "GET", "/password-reset/nosuch") == (404, {"error": "User 'nosuch' is not found."})
    assert anon.call("/v2/auth", "passwordReset", user_name="dba")["request_status"] == "Ok"
    status, doc = ctl(cmon, "GET", "/password-reset/dba")
    assert status == 200 and doc["user"] == "dba" and len(doc["token"]) == 32
    done = anon.call("/v2/auth", "passwordReset", user_name="dba", password_reset_token=doc["token"],
                     new_password="reset-by-control")
    assert done["request_status"] == "Ok", done
    assert login_status(cmon, "dba", "reset-by-control") == "Ok"
    assert ctl(cmon, "GET", "/password-reset/dba")[0] == 404     # a token works once
