"""Replay the real CMON captures of the core operations (contract/captures).

Each capture's request is sent (adapted to the test world where names differ) and
the reply is compared with the captured one: ``request_status``, the set of top-level
fields (``reply_received`` is added by s9s and ignored) and, for the user, group,
cluster and host objects, the JSON type of every field both replies carry, plus the
fields the clients decode (contract/clients/go-clients.md §7).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fakecmon.testing import FakeCmon
from shapes import compare, load_capture, login, replay, type_mismatches
from worldfile import worlds

#: The real clients' recorded flows keep to the request contract: any finding fails
#: the test (fakecmon/contract.py, tests/test_contract.py).
pytestmark = pytest.mark.fakecmon_strict

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

# a key user like the captures' "pipas", and a user who may see no cluster (total 0)
EXTRA_WORLD = {
    "groups": [{"group_name": "testgroup"}],
    "users": [
        {"user_name": "pipas", "groups": ["testgroup"], "tags": ["testUser"],
         "public_keys": [{"name": "No Name", "key": KEY.public_key().public_bytes(
             serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()}]},
        {"user_name": "outsider", "password": "out-pass", "groups": ["testgroup"]},
    ],
}

# fields the clients decode, which must be there (go-clients.md §7, s9s.md)
USER_FIELDS = {"class_name", "user_id", "user_name", "groups", "origin", "disabled",
               "suspended", "created", "acl", "owner_user_id", "owner_group_id", "timezone"}
GROUP_FIELDS = {"class_name", "group_id", "group_name", "acl", "created"}
CLUSTER_FIELDS = {"class_name", "cluster_id", "cluster_name", "cluster_type", "state",
                  "status_text", "vendor", "version", "tags", "hosts", "maintenance_mode_active",
                  "cluster_auto_recovery", "node_auto_recovery", "effective_privileges", "acl",
                  "cdt_path", "alarm_statistics", "job_statistics", "owner", "group_owner",
                  "configuration_file", "log_file", "managed"}
HOST_FIELDS = {"class_name", "hostId", "hostname", "port", "hoststatus", "nodetype", "role",
               "clusterid", "ip", "connected", "container", "maintenance_mode",
               "maintenance_mode_active", "message", "pid", "pingstatus", "pingtime", "lastseen",
               "timestamp", "unique_id", "version", "wallclock", "wallclocktimestamp",
               "distribution", "cdt_path", "acl", "owner_user_id", "owner_group_id"}


@pytest.fixture(scope="module")
def world_cmon(tmp_path_factory) -> Iterator[FakeCmon]:
    with FakeCmon(world=worlds(tmp_path_factory.mktemp("captures"), EXTRA_WORLD)) as cmon:
        yield cmon


@pytest.fixture
def captures(contract: Path):
    return lambda name: load_capture(contract, name)


def check_user(user: dict[str, Any], captured: dict[str, Any]) -> None:
    assert USER_FIELDS <= set(user), USER_FIELDS - set(user)
    assert not type_mismatches(user, captured)
    for group in user["groups"]:
        assert GROUP_FIELDS <= set(group)
        assert not type_mismatches(group, captured["groups"][0])


# ---- /v2/auth

def test_no_operation(world_cmon, captures):
    req, rep = captures("InvalidRequest-noOperation")
    ours = replay(world_cmon.client(), "/v2/auth", req)
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"]
    assert ours["request_id"] == rep["request_id"]


def test_access_denied_password(world_cmon, captures):
    req, rep = captures("AccessDenied-authenticateWithPassword")
    # captured while ft_ldap.sh had LDAP on: the unknown name went to the LDAP server
    admin = world_cmon.client("system", "secret")
    admin.call("/v2/config", "setLdapConfig", ldap_configuration={"enabled": True})
    try:
        compare(replay(world_cmon.client(), "/v2/auth", req), rep)
    finally:
        admin.call("/v2/config", "setLdapConfig", ldap_configuration={"enabled": False})


def test_password_login(world_cmon, captures):
    req, rep = captures("Ok-authenticateWithPassword")
    ours = replay(world_cmon.client(), "/v2/auth", req)
    compare(ours, rep)
    check_user(ours["user"], rep["user"])
    assert ours["is_superuser"] is True and ours["debug_messages"] == rep["debug_messages"]


def test_key_login(world_cmon, captures):
    req1, rep1 = captures("Ok-authenticate")
    req2, rep2 = captures("Ok-authenticateResponse")
    client = world_cmon.client()
    first = replay(client, "/v2/auth", req1)
    compare(first, rep1)
    assert first["user_name"] == rep1["user_name"] == "pipas"
    signature = base64.b64encode(KEY.sign(first["challenge"].encode(), padding.PKCS1v15(),
                                          hashes.SHA256())).decode()
    second = replay(client, "/v2/auth", req2, signature=signature)
    compare(second, rep2)
    check_user(second["user"], rep2["user"])
    assert second["user"]["tags"] == ["testUser"]
    # same kind of user (no names, no e-mail, tags): exactly CMON's fields
    assert set(second["user"]) == set(rep2["user"])
    assert set(second["user"]["groups"][0]) == set(rep2["user"]["groups"][0])
    assert second["is_superuser"] is False


# ---- /v2/users

def test_who_am_i(world_cmon, captures):
    req, rep = captures("Ok-whoAmI")
    ours = replay(login(world_cmon), "/v2/users", req)
    compare(ours, rep)
    check_user(ours["user"], rep["user"])
    assert ours["user_extended_privileges"] == rep["user_extended_privileges"]


# ---- /v2/clusters

def test_ping(world_cmon, captures):
    req, rep = captures("Ok-ping")
    ours = replay(login(world_cmon), "/v2/clusters", req)
    compare(ours, rep)
    assert ours["rpc_version"] == rep["rpc_version"] and ours["package_name"] == "cmon"


def test_ping_unknown_cluster(world_cmon, captures):
    req, rep = captures("InvalidRequest-ping")
    ours = replay(login(world_cmon, "dba", "dba-pass"), "/v2/clusters", req)
    compare(ours, rep)
    assert "was not found" in ours["error_string"]


def test_get_cluster_info_unknown_id(world_cmon, captures):
    req, rep = captures("InvalidRequest-getClusterInfo")
    ours = replay(login(world_cmon, "dba", "dba-pass"), "/v2/clusters", req, cluster_id=999)
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"]


def test_get_cluster_info_unknown_name(world_cmon, captures):
    req, rep = captures("ObjectNotFound-getClusterInfo")
    ours = replay(login(world_cmon), "/v2/clusters", req)
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"]


def check_cluster(cluster: dict[str, Any], captured: dict[str, Any]) -> None:
    assert CLUSTER_FIELDS <= set(cluster), CLUSTER_FIELDS - set(cluster)
    assert not type_mismatches({k: v for k, v in cluster.items() if k != "hosts"},
                               {k: v for k, v in captured.items() if k != "hosts"})
    check_user(cluster["owner"], captured["owner"])
    db_host, controller_host = captured["hosts"]
    for host in cluster["hosts"]:
        assert HOST_FIELDS <= set(host), HOST_FIELDS - set(host)
        like = controller_host if host["nodetype"] == "controller" else db_host
        assert not type_mismatches(host, like), host["hostname"]


@pytest.mark.parametrize("name", ["galera-prod", "mariadb-galera", "postgres-main", "mongo-rs0",
                                  "redis-cache", "mysql-replication"])
def test_get_cluster_info(world_cmon, captures, name):
    req, rep = captures("Ok-getClusterInfo")
    ours = replay(login(world_cmon), "/v2/clusters", req, cluster_name=name)
    compare(ours, rep)
    assert ours["cluster"]["cluster_name"] == name
    check_cluster(ours["cluster"], rep["cluster"])
    assert [h["nodetype"] for h in ours["cluster"]["hosts"]][-1] == "controller"


def test_get_all_cluster_info_nothing_visible(world_cmon, captures):
    """The capture's user saw no cluster: total 0 and no ``clusters`` field at all."""
    req, rep = captures("Ok-getAllClusterInfo")
    ours = replay(login(world_cmon, "outsider", "out-pass"), "/v2/clusters", req)
    compare(ours, rep)
    assert ours["total"] == 0


def test_get_all_cluster_info(world_cmon, captures):
    req, rep = captures("Ok-getAllClusterInfo")
    _, one = captures("Ok-getClusterInfo")
    ours = replay(login(world_cmon), "/v2/clusters", req)
    compare(ours, rep, extra={"clusters"})
    assert ours["total"] == len(ours["clusters"]) >= 6
    for cluster in ours["clusters"]:
        check_cluster(cluster, one["cluster"])


# ---- every capture has its replay

def test_every_capture_is_replayed_by_a_test(contract: Path):
    """Each ``<Status>-<operation>`` of contract/captures is named (quoted) by some test
    that replays it, so a capture added to the contract cannot go unreplayed."""
    names = {p.name[:-len("-req.json")] for p in (contract / "captures").glob("*-req.json")}
    assert len(names) > 60
    sources = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    assert sorted(n for n in names if f'"{n}"' not in sources) == []
