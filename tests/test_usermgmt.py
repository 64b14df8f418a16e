"""``fakecmon serve --usermgmt-fifo PATH``: s9s's bootstrap of the first user through a FIFO.

``s9s user --create`` without credentials runs ``echo "<createUser json>" | sudo tee
/var/lib/cmon/usermgmt.fifo`` (s9s.md §6.5); with dash's ``echo`` the ``\\n`` in the PEM key
become real newlines. The server is a real ``fakecmon serve`` process, the FIFO a real one.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from cdtutil import new_key, pem_pkcs1
from fakecmon.client import RpcClient
from fakecmon.usermgmt import create_user_body, split_documents

FRESH = Path(__file__).resolve().parents[1] / "fixtures" / "fresh.yaml"
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def dash_echo(doc: dict) -> bytes:
    """What ``echo "<json>"`` of dash writes: s9s's pretty JSON, ``\\n`` escapes made newlines."""
    return (json.dumps(doc, indent=4, sort_keys=True).replace("\\n", "\n") + "\n").encode()


def create_request(name: str, key_pem: str, group: str = "admins", **extra) -> dict:
    return {"operation": "createUser", "create_group": True, "new_password": "pw-" + name,
            "request_created": "2021-02-08T11:27:29.305Z", "request_id": 1,
            "user": {"class_name": "CmonUser", "user_name": name, "first_name": "First",
                     "groups": [{"class_name": "CmonGroup", "group_name": group}],
                     "public_keys": [{"name": "No Name", "key": key_pem}]}, **extra}


# ---- reading the stream


def test_documents_arrive_in_pieces_with_raw_newlines():
    text = dash_echo(create_request("kirk", pem_pkcs1(new_key()))).decode()
    assert "-----BEGIN RSA PUBLIC KEY-----\n" in text          # a raw newline in a string
    for cut in (1, len(text) // 3, len(text) - 2):
        docs, errors, rest = split_documents(text[:cut])
        assert (docs, errors) == ([], []) and rest == text[:cut].lstrip()
    docs, errors, rest = split_documents(text + text)
    assert [d["user"]["user_name"] for d in docs] == ["kirk", "kirk"] and rest == "" and not errors
    assert docs[0]["user"]["public_keys"][0]["key"].count("\n") > 3


def test_a_broken_document_is_dropped_and_the_next_one_read():
    docs, errors, rest = split_documents('{"user_name": oops}\n')
    assert docs == [] and rest == "" and len(errors) == 1
    docs, errors, rest = split_documents('{"user_name": "a"}\n{"user_name": ')
    assert docs == [{"user_name": "a"}] and rest == '{"user_name": ' and not errors


def test_the_flat_request_of_old_controllers():
    body = create_user_body({"user_name": "kirk", "pubkey": "PEM", "group": "tos",
                             "create_group": True, "title": "Captain"})
    assert body == {"operation": "createUser", "create_group": True, "user": {
        "class_name": "CmonUser", "user_name": "kirk", "title": "Captain",
        "groups": [{"class_name": "CmonGroup", "group_name": "tos"}],
        "public_keys": [{"name": "No Name", "key": "PEM"}]}}


# ---- a fakecmon serve process


class Serve:
    def __init__(self, proc: subprocess.Popen[str], port: int, log: queue.Queue[str]) -> None:
        self.proc, self.port, self.log = proc, port, log

    def client(self) -> RpcClient:
        return RpcClient(f"https://127.0.0.1:{self.port}/v2")

    def wait_for(self, text: str) -> str:
        """The next log line holding ``text`` (the FIFO is read asynchronously)."""
        while True:
            line = self.log.get(timeout=20)
            if text in line:
                return line


@contextmanager
def serving(tmp_path: Path, fifo: Path) -> Iterator[Serve]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakecmon", "serve", "--port", "0", "--world", str(FRESH),
         "--certs-dir", str(tmp_path / "certs"), "--usermgmt-fifo", str(fifo)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [log.put(ln) for ln in proc.stderr], daemon=True).start()
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on https://127.0.0.1:"), (line, proc.stderr.read())
        yield Serve(proc, int(line.rsplit(":", 1)[1]), log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def key_login(client: RpcClient, name: str, key) -> dict:
    challenge = client.call("/v2/auth", "authenticate", username=name)["challenge"]
    signature = key.sign(challenge.encode(), padding.PKCS1v15(), hashes.SHA256())
    return client.call("/v2/auth", "authenticateResponse",
                       signature=base64.b64encode(signature).decode())


def test_serve_creates_the_first_user_from_the_fifo(tmp_path):
    fifo = tmp_path / "cmon" / "usermgmt.fifo"
    key = new_key()
    with serving(tmp_path, fifo) as served:
        st = fifo.stat()
        assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        with open(fifo, "wb") as pipe:                        # | sudo tee usermgmt.fifo
            pipe.write(dash_echo(create_request("pipas", pem_pkcs1(key), group="testgroup")))
        assert "createUser Ok: User 'pipas' created." in served.wait_for("usermgmt.fifo:")
        client = served.client()
        login = client.login("pipas", "pw-pipas")
        assert login["request_status"] == "Ok" and login["is_superuser"] is False
        who = client.call("/v2/users", "whoAmI")["user"]
        assert [g["group_name"] for g in who["groups"]] == ["testgroup"]
        assert key_login(served.client(), "pipas", key)["request_status"] == "Ok"
        assert key_login(served.client(), "pipas", new_key())["request_status"] == "AccessDenied"

        # a second writer later, in two pieces; a refused request is logged, changes nothing
        data = dash_echo(create_request("kirk", "", group="nosuchgroup", create_group=False))
        with open(fifo, "wb") as pipe:
            pipe.write(data[:40])
            pipe.flush()
            pipe.write(data[40:])
        line = served.wait_for("usermgmt.fifo:")
        assert "createUser ObjectNotFound: Group 'nosuchgroup' does not exists." in line
        assert served.client().login("kirk", "pw-kirk")["request_status"] == "AccessDenied"

        # garbage is reported and skipped; the FIFO keeps working
        with open(fifo, "wb") as pipe:
            pipe.write(b"{not json}\n")
        assert "InvalidRequest" in served.wait_for("usermgmt.fifo:")
        with open(fifo, "wb") as pipe:                        # an existing user is granted
            pipe.write(dash_echo(create_request("admin", pem_pkcs1(key))))
        assert "User 'admin' granted: key registered, password set." in served.wait_for(
            "usermgmt.fifo:")
        assert served.client().login("admin", "pw-admin")["request_status"] == "Ok"
        assert key_login(served.client(), "admin", key)["request_status"] == "Ok"


def test_serve_refuses_a_file_in_the_way(tmp_path):
    path = tmp_path / "usermgmt.fifo"
    path.write_text("not a fifo")
    proc = subprocess.run(
        [sys.executable, "-m", "fakecmon", "serve", "--port", "0", "--world", str(FRESH),
         "--certs-dir", str(tmp_path / "certs"), "--usermgmt-fifo", str(path)],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert f"cannot read the user management FIFO: {path} exists and is not a FIFO" in proc.stderr
