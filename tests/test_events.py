"""/v2/subscribe_events: read over a raw TLS socket as s9s reads it (first byte 0x1e)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from fakecmon import eventstream
from fakecmon.client import RpcClient
from fakecmon.events import Event, emit
from fakecmon.testing import FakeCmon
from rawtls import insecure_context, parse_reply, s9s_request

PATH = "/v2/subscribe_events/"


class Stream:
    """One subscription: the raw TLS socket and the records read from it."""

    def __init__(self, tls: ssl.SSLSocket) -> None:
        self.tls = tls
        self.buffer = b""

    def first_bytes(self) -> bytes:
        while not self.buffer:
            self.buffer += self.tls.recv(65536)
        return self.buffer

    def record(self) -> dict[str, Any]:
        """The next ``\\x1e{json}\\n\\n`` record."""
        while b"\n\n" not in self.buffer:
            chunk = self.tls.recv(65536)
            assert chunk, f"stream closed; pending {self.buffer!r}"
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\n\n")
        assert raw[:1] == b"\x1e", raw[:40]
        return orjson.loads(raw[1:])

    def until(self, event_class: str) -> dict[str, Any]:
        for _ in range(50):
            rec = self.record()
            if rec["event_class"] == event_class:
                return rec
        raise AssertionError(f"no {event_class} record")


@contextmanager
def subscribed(cmon: FakeCmon, client: RpcClient, **fields: Any) -> Iterator[Stream]:
    body = {"class_name": "CmonRpcRequest", "operation": "subscribe", **fields}
    with socket.create_connection(("127.0.0.1", cmon.port), timeout=5) as sock:
        with insecure_context().wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(s9s_request(PATH, body, cookie=client.sid))
            wait_for(lambda: len(cmon.run(eventstream.subscribers)) == 1)
            yield Stream(tls)


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    """Bounded wait for the server thread to get somewhere (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def emit_now(cmon: FakeCmon, kind: str, cluster_id: int = 0, **data: Any) -> None:
    cmon.run(lambda c: emit(c.world, Event(kind, c.clock.now(), cluster_id=cluster_id,
                                           message=f"{kind} happened", data=data)))


def test_stream_has_no_http_header_and_carries_user_login(cmon, system):
    with subscribed(cmon, system) as stream:
        assert cmon.client().login("readeruser", "s3cr3tP455")["request_status"] == "Ok"
        assert stream.first_bytes()[:1] == b"\x1e"      # s9s's stream-mode test
        rec = stream.until("EventUser")
    assert rec["class_name"] == "CmonEvent"
    assert isinstance(rec["event_name"], str)
    origins = rec["event_origins"]
    assert isinstance(origins["tv_sec"], int) and isinstance(origins["tv_nsec"], int)
    assert isinstance(origins["sender_file"], str) and isinstance(origins["sender_line"], int)
    assert rec["event_specifics"]["user_name"] == "readeruser"
    assert rec["event_specifics"]["user"]["user_name"] == "readeruser"


def test_host_and_cluster_events_carry_what_s9s_reads(cmon, system):
    with subscribed(cmon, system) as stream:
        emit_now(cmon, "host.status", 21, hostname="192.168.20.53")
        host = stream.until("EventHost")
        emit_now(cmon, "cluster.state", 21)
        cluster = stream.until("EventCluster")
        emit_now(cmon, "job.created", 21, job={"job_id": 7, "title": "Test", "status": "DEFINED"})
        job = stream.until("EventJob")
        emit_now(cmon, "alarm.raised", 21, alarm={"alarm_id": 3, "message": "down"})
        alarm = stream.until("EventAlarm")
    assert host["event_name"] == "StateChanged"
    spec = host["event_specifics"]
    assert spec["host_name"] == "192.168.20.53" and spec["hoststatus"] == "CmonHostOnline"
    assert spec["reason"] == "host.status happened" and spec["cluster_id"] == 21
    assert isinstance(spec["host"]["hostId"], int)
    assert cluster["event_name"] == "StateChanged"
    assert cluster["event_specifics"]["cluster_state"] == "STARTED"
    assert cluster["event_specifics"]["cluster"]["cluster_id"] == 21
    assert job["event_name"] == "Created" and job["event_specifics"]["job"]["job_id"] == 7
    assert alarm["event_name"] == "Created" and alarm["event_specifics"]["alarm"]["alarm_id"] == 3


def test_cluster_filter_and_permissions(cmon, system, reader):
    cmon.run(lambda c: setattr(c.world.clusters[2].acl, "groups", {}))   # reader loses cluster 2
    with subscribed(cmon, reader) as stream:
        emit_now(cmon, "host.status", 2, hostname="10.0.2.21")
        emit_now(cmon, "host.status", 1, hostname="10.0.1.11")
        rec = stream.until("EventHost")
    assert rec["event_specifics"]["cluster_id"] == 1
    with subscribed(cmon, system, cluster_id=4) as stream:
        emit_now(cmon, "host.status", 1, hostname="10.0.1.11")
        emit_now(cmon, "host.status", 4, hostname="10.0.4.43")
        rec = stream.until("EventHost")
    assert rec["event_specifics"]["host_name"] == "10.0.4.43"
    assert rec["event_specifics"]["hoststatus"] == "CmonHostOffLine"


def test_other_kinds_are_not_streamed(cmon, system):
    with subscribed(cmon, system) as stream:
        emit_now(cmon, "backup.created", 1)
        emit_now(cmon, "cluster.created", 1)
        rec = stream.record()
    assert rec["event_class"] == "EventCluster" and rec["event_name"] == "Created"


def test_subscribe_needs_a_login(cmon):
    raw = _exchange(cmon, s9s_request(PATH, {"operation": "subscribe"}))
    reply = parse_reply(raw)
    assert reply.json["request_status"] == "AuthRequired"


def test_unknown_cluster_is_an_envelope(cmon, system):
    reply = system.call(PATH, "subscribe", cluster_id=999)
    assert reply["request_status"] == "InvalidRequest"
    assert reply["error_string"] == "Cluster was not found."


def test_disconnect_ends_the_subscription(cmon, system):
    with subscribed(cmon, system):
        pass                                           # client closes the socket
    emit_now(cmon, "cluster.state", 1)                 # the next write notices at once
    wait_for(lambda: not cmon.run(eventstream.subscribers))


def test_a_stuck_subscriber_is_dropped(cmon, system, monkeypatch):
    monkeypatch.setattr(eventstream, "QUEUE_LIMIT", 3)
    with subscribed(cmon, system) as stream:
        sub = cmon.run(eventstream.subscribers)[0]
        cmon.run(lambda c: [eventstream._listener(c.world, Event(
            "cluster.state", c.clock.now(), cluster_id=1)) for _ in range(5)])
        assert sub.overflowed or sub.queue.qsize() <= 3
        wait_for(lambda: not cmon.run(eventstream.subscribers))
        received = b""
        while chunk := stream.tls.recv(65536):
            received += chunk
    assert received.count(b"\x1e") <= 3


def test_server_stop_ends_streams():
    with FakeCmon() as cmon:
        client = cmon.client()
        client.login("system", "secret")
        ctx = subscribed(cmon, client)
        stream = ctx.__enter__()
        try:
            started = time.monotonic()
            cmon.stop()
            assert time.monotonic() - started < 5
            try:                                   # EOF or a reset; a hang times out
                while stream.tls.recv(65536):
                    pass
            except (ConnectionError, ssl.SSLError):
                pass
        finally:
            ctx.__exit__(None, None, None)


def _exchange(cmon: FakeCmon, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", cmon.port), timeout=5) as sock:
        with insecure_context().wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(data)
            out = b""
            while chunk := tls.recv(65536):
                out += chunk
            return out


def test_user_changes_name_the_user_changed(cmon, system):
    with subscribed(cmon, system) as stream:
        reply = system.call("/v2/users", "createUser", new_password="pw-12345", create_group=True,
                            user={"class_name": "CmonUser", "user_name": "newbie",
                                  "first_name": "New"})
        assert reply["request_status"] == "Ok", reply
        rec = stream.until("EventUser")
    assert rec["event_name"] == "Created"
    assert rec["event_specifics"]["user_name"] == "newbie"
    assert rec["event_specifics"]["user"]["first_name"] == "New"


def test_job_events_carry_the_job(cmon, system):
    with subscribed(cmon, system) as stream:
        reply = system.call("/v2/jobs", "createJobInstance", cluster_id=1, job={
            "class_name": "CmonJobInstance", "title": "noop",
            "job_spec": {"command": "success", "job_data": {}}})
        assert reply["request_status"] == "Ok", reply
        rec = stream.until("EventJob")
    assert rec["event_name"] == "Created"
    assert rec["event_specifics"]["job"]["job_id"] == reply["job"]["job_id"]
    assert rec["event_specifics"]["cluster_id"] == 1


def test_a_job_ends_on_the_stream_without_further_requests(cmon, system):
    """The server's clock tick applies due job changes: a subscriber that makes no
    request still sees the job end once the clock has moved."""
    with subscribed(cmon, system) as stream:
        reply = system.call("/v2/jobs", "createJobInstance", cluster_id=1, job={
            "class_name": "CmonJobInstance", "title": "noop",
            "job_spec": {"command": "success", "job_data": {}}})
        job_id = reply["job"]["job_id"]
        assert stream.until("EventJob")["event_name"] == "Created"
        cmon.advance(600)  # no RPC request after this
        names = []
        for _ in range(10):
            rec = stream.until("EventJob")
            assert rec["event_specifics"]["job"]["job_id"] == job_id
            names.append(rec["event_name"])
            if rec["event_specifics"]["job"]["status"] == "FINISHED":
                break
    assert rec["event_specifics"]["job"]["status"] == "FINISHED", names


def test_a_node_stop_and_start_stream_host_cluster_and_alarm_changes(cmon, system):
    """What a job does to the world reaches the stream as it happens: the stopped node
    (EventHost), its cluster going DEGRADED (EventCluster), the node's alarm raised, then
    cleared when a start job brings the node back."""
    node = {"clusterid": 21, "node": {"hostname": "192.168.20.53"}}
    wanted = {("EventHost", "StateChanged", "CmonHostShutDown"),
              ("EventCluster", "StateChanged", "DEGRADED"),
              ("EventAlarm", "Created", "192.168.20.53"),
              ("EventHost", "StateChanged", "CmonHostOnline"),
              ("EventCluster", "StateChanged", "STARTED"),
              ("EventAlarm", "Ended", "192.168.20.53")}
    with subscribed(cmon, system, cluster_id=21) as stream:
        for command in ("stop", "start"):
            reply = system.call("/v2/jobs", "createJobInstance", cluster_id=21, job={
                "class_name": "CmonJobInstance",
                "job_spec": {"command": command, "job_data": node}})
            assert reply["request_status"] == "Ok", reply
            cmon.advance(60)
            system.call("/v2/jobs", "getJobInstance", job_id=reply["job"]["job_id"])
        seen: list[tuple[str, str, Any]] = []
        for _ in range(100):
            if wanted <= set(seen):
                break
            rec = stream.record()
            spec = rec["event_specifics"]
            seen.append((rec["event_class"], rec["event_name"],
                         spec.get("hoststatus") or spec.get("cluster_state")
                         or spec.get("alarm", {}).get("hostname")))
    assert wanted <= set(seen), seen
    raised = seen.index(("EventAlarm", "Created", "192.168.20.53"))
    assert ("EventAlarm", "Ended", "192.168.20.53") in seen[raised:]
    assert seen.index(("EventHost", "StateChanged", "CmonHostShutDown")) < \
        seen.index(("EventHost", "StateChanged", "CmonHostOnline"))
