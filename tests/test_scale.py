"""Scale: ``fakecmon world generate``, the fast world parse, restoring resets and paging
jobs in O(page). Correctness only: the timings are bench/'s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fakecmon import FakeCmon
from fakecmon.world.yamlfile import _event_parse, _fast_parse, parse_yaml, parse_yaml_with_lines

J = "/v2/jobs"


def generate(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "gen.yaml"
    done = subprocess.run([sys.executable, "-m", "fakecmon", "world", "generate", "-o", str(out),
                           *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{out}: " in done.stdout
    return out


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("gen"), "--clusters", "12", "--hosts", "2",
                    "--jobs", "300", "--users", "30", "--backups", "20", "--alarms", "10",
                    "--seed", "7")


def test_generate_is_seeded(tmp_path, small_world):
    again = generate(tmp_path, "--clusters", "12", "--hosts", "2", "--jobs", "300", "--users",
                     "30", "--backups", "20", "--alarms", "10", "--seed", "7")
    assert again.read_text() == small_world.read_text()
    other = generate(tmp_path, "--clusters", "12", "--hosts", "2", "--jobs", "300", "--users",
                     "30", "--backups", "20", "--alarms", "10", "--seed", "8")
    assert other.read_text() != small_world.read_text()


def test_generate_refuses_bad_numbers(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fakecmon", "world", "generate", "-o",
                           str(tmp_path / "x.yaml"), "--users", "2"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--users must be at least 4" in done.stderr


def test_generated_world_loads_and_answers(small_world):
    with FakeCmon(world=[small_world]) as cmon:
        system = cmon.client("system", "secret")
        clusters = system.call("/v2/clusters", "getAllClusterInfo")
        assert clusters["total"] == 12
        assert all(len(c["hosts"]) == 3 for c in clusters["clusters"])   # 2 + the controller
        jobs = system.call(J, "getJobInstances", limit=5)
        assert jobs["total"] == 300 and [j["job_id"] for j in jobs["jobs"]] == [
            300, 299, 298, 297, 296]
        users = system.call("/v2/users", "getUsers")
        assert users["total"] == 30
        backups = system.call("/v2/backup", "getBackups")
        assert backups["request_status"] == "Ok" and backups["total"] == 20
        alarms = system.call("/v2/alarm", "getAlarms", cluster_id=0)
        assert alarms["request_status"] == "Ok", alarms
        assert cmon.client("user00010", "pass10").call(
            "/v2/clusters", "getAllClusterInfo")["request_status"] == "Ok"


@pytest.mark.parametrize("text", [
    "", "# only a comment\n", "a: 1\n", "a: [1, 2.5, true, null, 0x10, 010, '5', 09, 1_000, ~]\n",
    "a: 2001-01-01\n", "a: &x {b: 1}\nc: *x\n", "a: {<<: {b: 1}, c: 2}\n", "a: !!str 1\n",
    "a: 'x'\nb: \"y\\tz\"\nc: |\n  block\n  text\n", "? [1, 2]\n: 3\n",
])
def test_fast_parse_gives_what_the_line_loader_gives(text):
    try:
        expected = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506
    except yaml.YAMLError:
        with pytest.raises(Exception):  # noqa: B017 - the line loader then says what
            _event_parse(text) if text else _fast_parse(text)
        return
    try:
        fast = _event_parse(text)
    except Exception:  # noqa: BLE001 - the composing parse takes over
        try:
            fast = _fast_parse(text)
        except Exception:  # noqa: BLE001 - and then the line loader
            return
    assert fast == expected


def test_fast_parse_of_a_generated_world(small_world):
    text = small_world.read_text()
    assert parse_yaml(text, small_world) == parse_yaml_with_lines(text, small_world)


def test_duplicate_keys_still_name_their_line(tmp_path):
    path = tmp_path / "dup.yaml"
    text = "groups:\n  - {group_name: a}\ngroups:\n  - {group_name: b}\n"
    path.write_text(text)
    with pytest.raises(Exception) as fast:
        parse_yaml(text, path)
    with pytest.raises(Exception) as slow:
        parse_yaml_with_lines(text, path)
    assert str(fast.value) == str(slow.value) and "line 3" in str(fast.value)


def test_big_files_are_parsed_once(tmp_path, monkeypatch, small_world):
    """A big file's parse is kept by the hash of its text; a changed text is parsed anew."""
    from fakecmon.world import yamlfile
    monkeypatch.setenv("FAKECMON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(yamlfile, "CACHE_ABOVE", 100)
    text = small_world.read_text()
    first = parse_yaml(text, small_world)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    calls = []
    monkeypatch.setattr(yamlfile, "_parse_fast", lambda t: calls.append(t))
    assert parse_yaml(text, small_world) == first and calls == []
    parse_yaml(text + "\n# changed\n", small_world)
    assert len(calls) == 1


def test_a_broken_big_world_names_the_line_and_loads_nothing(tmp_path, small_world):
    broken = tmp_path / "broken.yaml"
    lines = small_world.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "job_id: 200," in line)
    lines[at] = lines[at].replace("status: ", "status: RUNNING, was: ")
    broken.write_text("\n".join(lines) + "\n")
    from fakecmon.controller import Config, Controller
    from fakecmon.world.yamlfile import WorldError
    with pytest.raises(WorldError) as err:
        Controller(Config(world_paths=[broken]))
    assert f"{broken}: line {at + 1}: jobs[199].was: unknown field" in str(err.value)


def test_reset_restores_the_loaded_world(cmon, system):
    job_ids = [j["job_id"] for j in system.call(J, "getJobInstances")["jobs"]]
    assert system.call(J, "deleteJobInstance", job_id=job_ids[-1])["request_status"] == "Ok"
    system.call("/v2/clusters", "setConfig", cluster_id=1, configuration=[
        {"name": "tags", "value": "changed"}])
    cmon.reset()
    system.login("system", "secret")
    assert [j["job_id"] for j in system.call(J, "getJobInstances")["jobs"]] == job_ids
    assert system.call("/v2/clusters", "getClusterInfo", cluster_id=1)["cluster"]["tags"] != [
        "changed"]
    for _ in range(3):   # the restored copy is never the one served
        system.call(J, "deleteJobInstance", job_id=job_ids[-1])
        cmon.reset()
        system.login("system", "secret")
        assert system.call(J, "getJobInstance", job_id=job_ids[-1])["request_status"] == "Ok"


@pytest.mark.parametrize("who", ["system", "user00010"])
def test_job_pages_match_the_full_listing(small_world, who):
    """The O(page) listing gives exactly the pages of the full walk, for every filter."""
    with FakeCmon(world=[small_world]) as cmon:
        client = cmon.client(who, "secret" if who == "system" else "pass10")
        everything = client.call(J, "getJobInstances")
        ids = [j["job_id"] for j in everything["jobs"]]
        assert everything["total"] == len(ids)
        client.call(J, "createJobInstance", cluster_id=3, job={
            "class_name": "CmonJobInstance", "job_spec": {"command": "rolling_restart"}})
        ids = [j["job_id"] for j in client.call(J, "getJobInstances")["jobs"]]
        for offset, limit in ((0, 20), (50, 20), (len(ids) - 5, 20), (len(ids) + 3, 20),
                              (7, 0), (0, -1), (12, None)):
            fields = {"offset": offset} | ({} if limit is None else {"limit": limit})
            page = client.call(J, "getJobInstances", **fields)
            end = None if limit is None or limit < 0 else offset + limit
            assert page["total"] == len(ids)
            assert [j["job_id"] for j in page["jobs"]] == ids[offset:end]
        one = client.call(J, "getJobInstances", cluster_id=3, limit=3, offset=1)
        walk = client.call(J, "getJobInstances", cluster_id=3, show_finished=True,
                           show_running=True, show_defined=True, show_failed=True,
                           show_aborted=True, show_scheduled=True)
        assert one["request_status"] == walk["request_status"]
        if who != "system":
            return
        walked = [j["job_id"] for j in walk["jobs"]]
        assert one["total"] == len(walked)
        assert [j["job_id"] for j in one["jobs"]] == walked[1:4]
