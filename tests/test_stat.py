"""/v2/stat and /v2/process: world-derived statistics in the shapes s9s and cmon-proxy decode."""

from __future__ import annotations

from typing import Any

import pytest

PATH = "/v2/stat"
WINDOW = {"start_datetime": "2026-01-01T10:00:00.000Z", "end_datetime": "2026-01-01T10:30:00.000Z"}
# The same window as a client in UTC+02:00 sends it (cmon-proxy: local zone, ``+hh:mm``).
LOCAL_WINDOW = {"start_datetime": "2026-01-01T12:00:00.000+02:00",
                "end_datetime": "2026-01-01T12:30:00.000+02:00"}
SAMPLE_INTS = ("created", "hostid", "interval", "sampleends")


def stat(client, name: str, cluster_id: int = 1, **fields: Any) -> dict[str, Any]:
    return client.call(PATH, "statByName", cluster_id=cluster_id, name=name, **fields)


def test_cpustat_window_and_types(system):
    reply = stat(system, "cpustat", **WINDOW)
    assert reply["request_status"] == "Ok"
    data = reply["data"]
    assert reply["total"] == len(data) == 4 * 31          # 4 hosts, one sample a minute
    for sample in data:
        for key in SAMPLE_INTS + ("cpuid",):
            assert type(sample[key]) is int, key
        assert isinstance(sample["samplekey"], str)
        for key in ("loadavg1", "cputemp", "cpumhz", "user", "sys", "idle", "iowait"):
            assert type(sample[key]) is float, key
        assert 1767261600 <= sample["created"] <= 1767263400
        assert sample["sampleends"] - sample["created"] == sample["interval"] // 1000
        assert 0.0 <= sample["idle"] <= 1.0
    assert {s["hostid"] for s in data} == {h["hostId"] for h in hosts_of(system, 1)}


def test_same_window_same_values_whatever_the_zone(system):
    utc = stat(system, "memorystat", **WINDOW)["data"]
    local = stat(system, "memorystat", **LOCAL_WINDOW)["data"]
    assert utc == local and utc
    other = stat(system, "memorystat", start_datetime="2026-01-02T10:00:00.000Z",
                 end_datetime="2026-01-02T10:30:00.000Z")["data"]
    assert [s["ramfree"] for s in other] != [s["ramfree"] for s in utc]


def test_memory_and_disk_decode_as_cmon_proxy_does(system):
    for sample in stat(system, "memorystat", with_hosts=True, **WINDOW)["data"]:
        assert type(sample["ramtotal"]) is int and sample["ramtotal"] > 0
        assert 0 < sample["ramfree"] < sample["ramtotal"]
        assert type(sample["memoryutilization"]) is float
    disks = stat(system, "diskstat", **WINDOW)["data"]
    assert disks and all(type(d["total"]) is int and 0 < d["free"] < d["total"] for d in disks)
    assert {d["mountpoint"] for d in disks} >= {"/"}


def test_sql_statistics_follow_the_cluster_type(system):
    mysql = stat(system, "sqlstat", 2, **WINDOW)["data"]
    assert mysql and all(type(s["COM_SELECT"]) is int for s in mysql)
    replicas = [s for s in mysql if s["hostid"] != hosts_of(system, 2)[0]["hostId"]]
    assert all(s["COM_INSERT"] == 0 for s in replicas)          # replicas take no writes
    postgres = stat(system, "sqlstat", 3, **WINDOW)["data"]
    assert postgres and all("rows-inserted" in s for s in postgres)
    assert stat(system, "sqlstat", 4, **WINDOW)["data"] == []  # MongoDB: no SQL
    assert stat(system, "mongoStat", 4, **WINDOW)["total"] > 0
    assert stat(system, "haproxystat", 1, **WINDOW)["total"] == 31


def test_offline_hosts_have_no_samples(system):
    data = stat(system, "netstat", 4, **WINDOW)["data"]
    offline = [h["hostId"] for h in hosts_of(system, 4) if h["hoststatus"] != "CmonHostOnline"]
    assert offline and data
    assert not {s["hostid"] for s in data} & set(offline)
    assert stat(system, "cpustat", 5, **WINDOW)["total"] == 0     # cluster 5 is shut down


def test_host_filter_and_per_second(system):
    host = hosts_of(system, 21)[2]
    data = stat(system, "sqlstat", 21, hostid=host["hostId"], **WINDOW)["data"]
    assert {s["hostid"] for s in data} == {host["hostId"]}
    same = stat(system, "sqlstat", 21, host_port=f"{host['hostname']}:{host['port']}",
                **WINDOW)["data"]
    assert same == data
    rates = stat(system, "sqlstat", 21, hostid=host["hostId"], calculate_per_sec=True,
                 **WINDOW)["data"]
    assert rates[0]["COM_SELECT"] == pytest.approx(data[0]["COM_SELECT"] / 60, abs=0.01)
    assert rates[0]["created"] == data[0]["created"]


def test_epoch_and_clock_times(system):
    by_epoch = stat(system, "cpustat", startdate=1767261600, enddate=1767263400)["data"]
    assert by_epoch == stat(system, "cpustat", **WINDOW)["data"]
    assert stat(system, "cpustat", start_datetime="10:00", end_datetime="10:10")[
        "request_status"] == "Ok"


def test_long_windows_are_bounded(system):
    reply = stat(system, "cpustat", start_datetime="2025-12-01T00:00:00.000Z",
                 end_datetime="2026-01-01T00:00:00.000Z")
    per_host = reply["total"] // 4
    assert 100 < per_host <= 721
    assert reply["data"][0]["interval"] > 60000


def test_errors(system, reader, cmon):
    assert stat(system, "nosuchstat")["request_status"] == "InvalidRequest"
    reply = system.call(PATH, "statByName", name="cpustat")
    assert reply["request_status"] == "InvalidRequest"
    assert stat(system, "cpustat", 99)["error_string"] == "Cluster was not found."
    backwards = stat(system, "cpustat", start_datetime=WINDOW["end_datetime"],
                     end_datetime=WINDOW["start_datetime"])
    assert backwards["request_status"] == "InvalidRequest"
    assert stat(system, "cpustat", start_datetime="yesterday")["request_status"] == "InvalidRequest"
    assert stat(reader, "cpustat", **WINDOW)["request_status"] == "Ok"
    dba = cmon.client()
    dba.login("dba", "dba-pass")
    denied = stat(dba, "cpustat", **WINDOW)
    assert denied["request_status"] == "AccessDenied"
    assert denied["error_string"] == "Read access to cluster 1 for user dba is denied."
    assert stat(dba, "cpustat", 3, **WINDOW)["request_status"] == "Ok"
    assert cmon.client().call(PATH, "statByName", cluster_id=1, name="cpustat")[
        "request_status"] == "AuthRequired"


def test_cpu_physical_info_and_info(system):
    cpus = system.call(PATH, "getCpuPhysicalInfo", cluster_id=1)
    assert cpus["request_status"] == "Ok" and cpus["total"] == len(cpus["data"]) >= 4
    for cpu in cpus["data"]:
        assert type(cpu["hostid"]) is int and type(cpu["cpucores"]) is int
        assert type(cpu["cpumhz"]) is float and cpu["cpumodelname"]
    info = system.call(PATH, "getInfo", cluster_id=4)
    assert info["total"] == 3
    by_host = {i["hostname"]: i for i in info["data"]}
    assert type(by_host["10.0.4.41"]["memory_total"]) is int
    assert type(by_host["10.0.4.41"]["loadavg1"]) is float
    assert "loadavg1" not in by_host["10.0.4.43"] and by_host["10.0.4.43"]["uptime"] == 0
    again = system.call(PATH, "getCpuPhysicalInfo", cluster_id=1)
    assert again["data"] == cpus["data"]


def test_db_growth(system, cmon):
    cmon.run(lambda c: c.world.extensions.setdefault("databases", {}).update(
        {1: [{"class_name": "CmonDataBase", "database_name": "shop"},
             {"class_name": "CmonDataBase", "database_name": "crm"}]}))
    for operation in ("getdbgrowth", "getDbGrowth"):
        reply = system.call(PATH, operation, cluster_id=1, include_tables=True)
        assert reply["request_status"] == "Ok"
        assert reply["total"] == len(reply["data"]) == 31
    first, last = reply["data"][0], reply["data"][-1]
    assert isinstance(first["created"], str) and type(first["year"]) is int
    assert [d["db_name"] for d in last["dbs"]] == ["shop", "crm"]
    shop_first, shop_last = first["dbs"][0], last["dbs"][0]
    assert shop_last["data_size"] >= shop_first["data_size"] > 0
    assert type(shop_last["row_count"]) is int and shop_last["tables"]
    table = shop_last["tables"][0]
    assert set(table) == {"table_name", "row_count", "data_size", "index_size"}
    brief = system.call(PATH, "getdbgrowth", cluster_id=1)["data"][-1]["dbs"][0]
    assert "tables" not in brief


def test_running_processes(system, reader):
    reply = system.call("/v2/process", "getRunningProcesses", cluster_id=4)
    assert reply["request_status"] == "Ok"
    assert [h["hostname"] for h in reply["data"]] == ["10.0.4.41", "10.0.4.42"]
    procs = reply["data"][0]["processes"]
    assert "mongod" in {p["executable"] for p in procs}
    for proc in procs:
        assert type(proc["pid"]) is int and type(proc["res_mem"]) is int
        assert type(proc["cpu_usage"]) is float and proc["state"] in ("R", "S")
    assert reader.call("/v2/process", "getRunningProcesses", cluster_id=4)[
        "request_status"] == "Ok"


def hosts_of(client, cluster_id: int) -> list[dict[str, Any]]:
    cluster = client.call("/v2/clusters", "getClusterInfo", cluster_id=cluster_id)["cluster"]
    return [h for h in cluster["hosts"] if h["nodetype"] != "controller"]
