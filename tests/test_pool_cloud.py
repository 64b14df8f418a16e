"""/v2/poolcontrollers, /v2/controller heartBeat and /v2/cloud."""

from __future__ import annotations

import json

PC = "/v2/poolcontrollers"


def test_no_pool_members_outside_pool_mode(system):
    reply = system.call(PC, "listcontrollers")        # cmon-proxy's spelling
    assert reply["request_status"] == "Ok"
    assert reply["total"] == 0 and reply["controllers"] == []
    assert reply["full_controller_id"] == reply["controller_id"]


def test_pool_mode_lists_this_controller_as_cmon_proxy_decodes_it(system, reader):
    assert reader.call(PC, "setPoolMode", pool_mode=True,
                       conf_storage="/mnt/pool")["request_status"] == "AccessDenied"
    assert system.call(PC, "setPoolMode", pool_mode=True)["request_status"] == "InvalidRequest"
    on = system.call(PC, "setPoolMode", pool_mode="on", conf_storage="/mnt/pool",
                     controllers_network_mask="10.0.0.0/8")
    assert on["request_status"] == "Ok" and on["pool_mode"] is True
    reply = reader.call(PC, "listControllers")
    assert reply["total"] == 1
    member = reply["controllers"][0]
    # cmon-proxy v0.3.2: properties must be a string, everything else as typed there
    assert isinstance(member["properties"], str)
    props = json.loads(member["properties"])
    assert props["role"] == "main_controller"
    assert isinstance(props["stats"]["cpu_pct"], str) and type(props["stats"]["fd_total"]) is int
    assert type(member["controller_id"]) is int and type(member["port"]) is int
    assert member["status"] == "active" and isinstance(member["report_ts"], str)
    assert member["clusters"] == ["1", "2", "3", "4", "5", "21"]
    assert reader.call(PC, "listControllers", controller_id=7)["total"] == 0
    assigned = system.call(PC, "assignedController", cluster_id=21)
    assert assigned["controller"]["controller_id"] == member["controller_id"]
    off = system.call(PC, "setPoolMode", pool_mode=False)
    assert off["pool_mode"] is False and system.call(PC, "listControllers")["total"] == 0


def test_cluster_capacity(system, reader):
    too_low = system.call(PC, "setmaxclusterscapacity", max_clusters=2)
    assert too_low["request_status"] == "InvalidRequest"
    forced = system.call(PC, "setmaxclusterscapacity", max_clusters=2, force=True)
    assert forced["request_status"] == "Ok" and forced["max_clusters"] == 2
    system.call(PC, "setPoolMode", pool_mode=True, conf_storage="/mnt/pool")
    props = json.loads(system.call(PC, "listControllers")["controllers"][0]["properties"])
    assert props["max_clusters"] == 2
    assert reader.call(PC, "setmaxclusterscapacity", max_clusters=50)[
        "request_status"] == "AccessDenied"
    assert system.call(PC, "setmaxclusterscapacity", max_clusters=-1)[
        "request_status"] == "InvalidRequest"


def test_heart_beat(system, cmon):
    reply = system.call("/v2/controller", "heartBeat", client_ip_address="10.1.1.1")
    assert reply["request_status"] == "Ok" and reply["alive"] is True
    assert reply["client_ip_address"] == "10.1.1.1" and type(reply["uptime"]) is int
    cmon.advance(120)
    later = system.call("/v2/controller", "heartBeat")
    assert later["uptime"] >= reply["uptime"] + 120
    anonymous = cmon.client()
    assert anonymous.call("/v2/controller", "heartBeat")["request_status"] == "AuthRequired"
    assert anonymous.call("/v2/controller", "heartBeat", controller_key="wrong")[
        "request_status"] == "AccessDenied"


def test_heart_beat_with_the_controller_key(tmp_path):
    from fakecmon.testing import FakeCmon
    from worldfile import worlds
    with FakeCmon(world=worlds(tmp_path, {"controller": {"rpc_key": "k3y"}})) as cmon:
        reply = cmon.client().call("/v2/controller", "heartBeat", controller_key="k3y")
        assert reply["request_status"] == "Ok"


# ---- cloud credentials

AWS = {"access_key_id": "AKIA1", "access_key_secret": "s3cret", "access_key_region": "eu-north-1"}


def test_credentials_lifecycle(system, reader):
    added = system.call("/v2/cloud", "addCredentials", provider="aws", name="backups",
                        comment="for S3 backups", credentials=AWS)
    assert added["request_status"] == "Ok" and type(added["id"]) is int
    listed = reader.call("/v2/cloud", "listCredentials")
    assert listed["total"] == 1
    entry = listed["result"]["aws"][0]
    assert entry["name"] == "backups" and entry["id"] == added["id"]
    assert entry["credentials"]["access_key_region"] == "eu-north-1"
    assert entry["credentials"]["access_key_secret"] == "****"     # never sent back
    assert "s3cret" not in json.dumps(listed)
    dup = system.call("/v2/cloud", "addCredentials", provider="aws", name="backups",
                      credentials=AWS)
    assert dup["request_status"] == "InvalidRequest"
    upd = system.call("/v2/cloud", "updateCredentials", id=added["id"], provider="aws",
                      comment="changed", credentials={"access_key_region": "us-east-1"})
    assert upd["credential"]["comment"] == "changed"
    got = system.call("/v2/cloud", "getCredentials", id=added["id"])["credential"]
    assert got["credentials"]["access_key_region"] == "us-east-1"
    assert got["credentials"]["access_key_id"] == "AKIA1"
    assert system.call("/v2/cloud", "verifyCredentials", id=added["id"])["verified"] is True
    assert reader.call("/v2/cloud", "removeCredentials", id=added["id"],
                       provider="aws")["request_status"] == "AccessDenied"
    assert system.call("/v2/cloud", "removeCredentials", id=added["id"],
                       provider="aws")["request_status"] == "Ok"
    assert system.call("/v2/cloud", "getCredentials", id=added["id"])[
        "request_status"] == "ObjectNotFound"
    assert system.call("/v2/cloud", "listCredentials")["total"] == 0


def test_credentials_are_checked(system):
    missing = system.call("/v2/cloud", "addCredentials", provider="aws", name="x",
                          credentials={"access_key_id": "A"})
    assert missing["request_status"] == "InvalidRequest"
    assert "access_key_secret" in missing["error_string"]
    assert system.call("/v2/cloud", "addCredentials", provider="oracle", name="x",
                       credentials=AWS)["request_status"] == "InvalidRequest"
    partial = system.call("/v2/cloud", "verifyCredentials", provider="gce",
                          credentials={"project_id": "p"})
    assert partial["request_status"] == "Ok" and partial["verified"] is False
    assert system.call("/v2/cloud", "listCredentials", provider="az")["result"] == {"az": []}
