"""Every curl example of the API doc, run against the server as the doc writes it.

The examples are read from the doc at run time (``../shared/seed``; skipped when it is
absent), joined as the shell joins continuation lines, pointed at the test server, and
run with the real ``curl`` (skipped when missing) and with Python sending the same bytes.
"""

from __future__ import annotations

import http.client
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon

#: The real clients' recorded flows keep to the request contract: any finding fails
#: the test (fakecmon/contract.py, tests/test_contract.py).
pytestmark = pytest.mark.fakecmon_strict

DOC = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_fc5dd0e9b4d2dcf8.txt"
CURL = shutil.which("curl")


def doc_text() -> str:
    if not DOC.is_file():
        pytest.skip("the API doc (../shared/seed) is not present")
    return DOC.read_text(encoding="utf-8")


def curl_examples(text: str) -> list[list[str]]:
    """Each ``curl`` command of the doc as argv, continuation lines joined like a shell.

    The doc has one ``-d \\`` followed by a space; a shell would end the command
    there, so trailing blanks after a backslash are dropped ("as far as the shell allows").
    """
    lines = text.splitlines()
    examples = []
    i = 0
    while i < len(lines):
        if not lines[i].strip().startswith("curl "):
            i += 1
            continue
        buf = ""
        while i < len(lines):
            line = lines[i].rstrip()
            i += 1
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            try:
                argv = shlex.split(buf)
            except ValueError:      # a quote is still open: the newline is part of the word
                buf += "\n"
                continue
            examples.append(argv)
            break
    return examples


def doc_replies(text: str) -> list[dict[str, Any]]:
    """The JSON replies the doc shows (the ones that parse; one has ``...json content...``)."""
    replies = []
    for block in re.findall(r"^ *\{\n.*?^ *\}$", text, flags=re.M | re.S):
        try:
            replies.append(json.loads(block))
        except json.JSONDecodeError:
            continue
    return replies


def point_at(argv: list[str], cmon: FakeCmon) -> list[str]:
    return [re.sub(r"https://[0-9.]+:9501", cmon.base_url, a) for a in argv]


def run_curl(argv: list[str], cwd: Path) -> dict[str, Any]:
    if CURL is None:
        pytest.skip("curl is not installed")
    assert argv[0] == "curl"
    done = subprocess.run([CURL, "--silent", "--show-error", "--max-time", "10", *argv[1:]],
                          cwd=cwd, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    return orjson.loads(done.stdout)


def curl_parts(argv: list[str]) -> tuple[str, str, bytes | None, str | None, str | None]:
    """(method, url, body, cookie jar to write, cookie jar to read) of a curl argv."""
    method, url, body, jar_out, jar_in = "GET", "", None, None, None
    it = iter(argv[1:])
    for a in it:
        if a.startswith("-X"):
            method = a[2:] or next(it)
        elif a == "-d":
            body = next(it).encode()
            method = "POST" if method == "GET" else method
        elif a == "-c":
            jar_out = next(it)
        elif a == "-b":
            jar_in = next(it)
        elif a.startswith("http"):
            url = a
    return method, url, body, jar_out, jar_in


@pytest.fixture
def examples(cmon) -> list[list[str]]:
    found = [point_at(a, cmon) for a in curl_examples(doc_text())]
    assert len(found) == 6, found
    return found


def test_doc_examples_found():
    argvs = curl_examples(doc_text())
    assert [a[-1] if a[-1].startswith("http") else a[2] for a in argvs[:2]] == [
        "https://127.0.0.1:9501/v2", "https://192.168.61.210:9501/v2"]
    assert sum("-c" in a for a in argvs) == 1 and sum("-b" in a for a in argvs) == 2


# ---- with the real curl

def test_bare_v2(cmon, examples, tmp_path):
    expected = doc_replies(doc_text())[0]
    for argv in examples[:2]:              # local access and remote access
        got = run_curl(argv, tmp_path)
        assert set(got) == set(expected)
        for key in ("error_string", "request_operation", "request_path", "request_status"):
            assert got[key] == expected[key], key
        assert got["controller_id"] == cmon.controller_id


def test_nested_authenticate_method(cmon, examples, tmp_path):
    got = run_curl(examples[2], tmp_path)
    assert got["request_status"] == "Ok", got
    assert got["request_user_id"] == 5
    assert got["debug_messages"] == ["RPC V2 authenticated user is 'readeruser'."]
    assert got["total"] == len(got["clusters"]) > 0


def test_cookie_jar_method(cmon, examples, tmp_path):
    login = run_curl(examples[3], tmp_path)
    assert login["request_status"] == "Ok", login
    jar = (tmp_path / "cookies.jar").read_text()
    assert "cmon-sid" in jar
    got = run_curl(examples[4], tmp_path)
    # the doc's "Successful request": exactly these fields
    assert set(got) == {"controller_id", "request_processed", "request_status", "request_user_id",
                        "total", "clusters", "debug_messages"}
    assert got["request_status"] == "Ok" and got["request_user_id"] == 5
    assert got["debug_messages"] == ["RPC V2 authenticated user is 'readeruser'."]
    assert got["total"] == len(got["clusters"])


def test_create_job_access_denied(cmon, examples, tmp_path):
    """Needs /v2/jobs createJobInstance (the jobs area)."""
    expected = doc_replies(doc_text())[-1]
    run_curl(examples[3], tmp_path)
    got = run_curl(examples[5], tmp_path)
    assert set(got) == set(expected)
    assert got["request_status"] == "AccessDenied"
    assert got["error_string"] == expected["error_string"] == \
        "Execute access to cluster 21 for user readeruser is denied."
    assert got["debug_messages"] == ["RPC V2 authenticated user is 'readeruser'."]
    assert got["request_user_id"] == 5


# ---- the same requests from Python (no curl needed): same method, headers, body

def send_like_curl(client: RpcClient, argv: list[str]) -> dict[str, Any]:
    method, url, body, _, _ = curl_parts(argv)
    path = "/" + url.split("/", 3)[3]
    if method == "GET":
        conn = http.client.HTTPSConnection(client.host, client.port, context=client.ssl_context)
        try:
            conn.request("GET", path, headers={"User-Agent": "curl/8", "Accept": "*/*"})
            return orjson.loads(conn.getresponse().read())
        finally:
            conn.close()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "curl/8"}
    return client.post(path, body or b"", headers=headers).json


def test_doc_examples_from_python(cmon):
    examples = [point_at(a, cmon) for a in curl_examples(doc_text())]
    client = cmon.client()
    bare = send_like_curl(client, examples[0])
    assert bare["error_string"] == "Invalid operation '' on '/v2/info'."
    assert bare["request_path"] == ["v2"]
    nested = send_like_curl(client, examples[2])
    assert nested["request_status"] == "Ok" and nested["request_user_id"] == 5
    assert send_like_curl(client, examples[3])["request_status"] == "Ok"
    listed = send_like_curl(client, examples[4])
    assert listed["request_status"] == "Ok" and listed["total"] == len(listed["clusters"])


def test_create_job_access_denied_from_python(cmon):
    """Needs /v2/jobs createJobInstance (the jobs area)."""
    examples = [point_at(a, cmon) for a in curl_examples(doc_text())]
    client = cmon.client()
    send_like_curl(client, examples[3])
    got = send_like_curl(client, examples[5])
    assert got["request_status"] == "AccessDenied"
    assert got["error_string"] == "Execute access to cluster 21 for user readeruser is denied."
