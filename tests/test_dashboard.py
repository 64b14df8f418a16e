"""The dashboard on /_fakecmon/ui/ over HTTP: the page, its views, its guard, bad routes.
(The browser drives it in tests/test_dashboard_browser.py.)"""

from __future__ import annotations

import http.client
import json
import re
import ssl
from typing import Any

import pytest

from fakecmon.testing import FakeCmon

UI = "/_fakecmon/ui"


def get(cmon: FakeCmon, path: str, headers: dict[str, str] | None = None,
        method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    ctx = ssl.create_default_context(cafile=str(cmon.ca_path))
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection("127.0.0.1", cmon.port, context=ctx, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(cmon: FakeCmon, path: str, **kw: Any) -> tuple[int, Any]:
    status, _, body = get(cmon, path, **kw)
    return status, json.loads(body)


def test_the_page_is_one_self_contained_document(cmon):
    status, headers, body = get(cmon, UI + "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    text = body.decode()
    assert "<title>fakecmon dashboard</title>" in text
    assert "/*STYLE*/" not in text and "/*SCRIPT*/" not in text      # inlined
    assert "function refreshJournal" in text and ".pill.ok" in text
    # Nothing loads from elsewhere (works offline), and the policy says so.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    status, headers, _ = get(cmon, UI)
    assert status == 301 and headers["location"] == UI + "/"


@pytest.mark.parametrize("path", [UI + "/nope", UI + "/api/nope", UI + "/app.js",
                                  UI + "/api/jobs/abc", UI + "/api/jobs/999999"])
def test_unknown_dashboard_routes_get_the_control_api_error_form(cmon, path):
    status, doc = get_json(cmon, path)
    assert status == 404
    assert set(doc) == {"error"} and doc["error"]


def test_views(cmon, system):
    cmon.freeze()
    reply = system.call("/v2/jobs", "createJobInstance", job={
        "class_name": "CmonJobInstance", "job_spec": {"command": "success",
                                                      "job_data": {"timeout": 30}}})
    job_id = reply["job"]["job_id"]
    status, overview = get_json(cmon, UI + "/api/overview")
    assert status == 200 and overview["counts"]["running_jobs"] == 1
    assert overview["clock"]["frozen"] is True
    _, clusters = get_json(cmon, UI + "/api/clusters")
    galera = next(c for c in clusters["clusters"] if c["name"] == "galera-prod")
    assert galera["state"] == "STARTED" and galera["hosts"][0]["status"] == "CmonHostOnline"
    _, job = get_json(cmon, f"{UI}/api/jobs/{job_id}")
    assert [s["state"] for s in job["timeline"]] == ["DEFINED", "RUNNING"]
    cmon.advance(60)
    _, job = get_json(cmon, f"{UI}/api/jobs/{job_id}")
    assert [s["state"] for s in job["timeline"]] == ["DEFINED", "RUNNING", "FINISHED"]
    assert job["messages"] and job["progress"] == 100
    _, users = get_json(cmon, UI + "/api/users")
    system_user = next(u for u in users["users"] if u["user_name"] == "system")
    assert system_user["superuser"] and "admins" in system_user["groups"]
    assert "password" not in json.dumps(users)
    _, tree = get_json(cmon, UI + "/api/tree")
    top = [n["name"] for n in tree["tree"]["children"]]
    assert "groups" in top and "galera-prod" in top
    assert all({"owner", "group", "acl"} <= set(n) for n in tree["tree"]["children"])


def test_request_with_its_reply_secrets_masked(cmon):
    client = cmon.client()
    client.login("system", "secret")
    status, listed = get_json(cmon, "/_fakecmon/requests?operation=authenticateWithPassword")
    entry_id = listed["requests"][-1]["id"]
    status, entry = get_json(cmon, f"/_fakecmon/requests/{entry_id}")
    assert status == 200
    assert entry["body"]["password"] == "********"
    assert entry["reply"]["request_status"] == "Ok"
    assert entry["reply"]["user"]["user_name"] == "system"
    _, after = get_json(cmon, f"/_fakecmon/requests?after={entry_id}")
    assert all(e["id"] > entry_id for e in after["requests"])
    status, doc = get_json(cmon, "/_fakecmon/requests/123456")
    assert status == 404 and "journal" in doc["error"]
    status, doc = get_json(cmon, "/_fakecmon/requests?after=x")
    assert status == 400


def test_guard_same_origin_only(cmon):
    own = f"https://127.0.0.1:{cmon.port}"
    status, doc = get_json(cmon, UI + "/api/overview", headers={"Origin": "https://evil.example"})
    assert status == 403 and "other web pages" in doc["error"] and "Origin" in doc["error"]
    status, _ = get_json(cmon, UI + "/api/overview", headers={"Origin": own})
    assert status == 200
    # The page's own controls: a same-origin POST passes, a cross-origin one does not.
    status, _ = get_json(cmon, "/_fakecmon/clock/freeze", method="POST",
                         headers={"Origin": own}, body=b"{}")
    assert status == 200
    status, _ = get_json(cmon, "/_fakecmon/reset", method="POST",
                         headers={"Origin": "https://evil.example"}, body=b"{}")
    assert status == 403
    # A DNS name rebound to 127.0.0.1 is not the server's own origin.
    status, _ = get_json(cmon, UI + "/api/overview", headers={
        "Origin": f"https://rebound.example:{cmon.port}",
        "Host": f"rebound.example:{cmon.port}"})
    assert status == 403


def test_token_guard(tmp_path):
    with FakeCmon(control_token="t0ken") as server:
        status, doc = get_json(server, UI + "/")
        assert status == 401 and "token" in doc["error"]
        status, _, body = get(server, UI + "/?token=t0ken")
        assert status == 200 and b"fakecmon dashboard" in body
        status, _ = get_json(server, UI + "/api/overview")
        assert status == 401
        status, _ = get_json(server, UI + "/api/overview", headers={"X-Fakecmon-Token": "t0ken"})
        assert status == 200
        status, _ = get_json(server, UI + "/?token=wrong")
        assert status == 401


def test_a_wheel_carries_the_page():
    """Every file of fakecmon/ui/ matches the package-data of pyproject.toml."""
    import fnmatch
    import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["fakecmon"]
    files = [p.relative_to(root / "fakecmon").as_posix()
             for p in (root / "fakecmon" / "ui").iterdir()]
    assert {"app.js", "index.html", "style.css"} <= set(p.split("/")[-1] for p in files)
    for name in files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), name
