"""The pytest plugin, run on test files of its own with pytester (and the README's example)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"
ALICE = 'users: [{user_name: alice, password: wonderland, groups: [users]}]'
TINY = """
groups: [{group_name: admins, group_id: 1}]
users: [{user_name: system, user_id: 1, password: tiny, groups: [admins]}]
"""


def readme_block(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading`` in README.md."""
    text = README.read_text()
    start = text.find(f"\n{heading}\n")
    assert start >= 0, f"README.md has no '{heading}' section"
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match, f"no {language} block under '{heading}'"
    return match.group(1)


def test_readme_example_passes(pytester):
    code = readme_block("## Testing with fakecmon", "python")
    pytester.makepyfile(test_with_fakecmon=code)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(re.findall(r"^def test_", code, re.M)))


def test_each_test_sees_a_fresh_world(pytester):
    pytester.makepyfile(f"""
        import time

        def test_changes_everything(cmon):
            cmon.load_yaml({ALICE!r})
            assert cmon.client("alice", "wonderland")
            cmon.fault("status", operation="ping", request_status="TryAgain")
            cmon.advance(86400)
            cmon.freeze()
            system = cmon.client("system", "secret")
            assert system.call("/v2/info", "ping")["request_status"] == "TryAgain"
            cmon.snapshot("changed")

        def test_sees_a_fresh_one(cmon):
            assert cmon.requests() == []
            assert cmon.client().login("alice", "wonderland")["request_status"] == "AccessDenied"
            assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"
            assert abs(cmon.now() - time.time()) < 60
            cmon.restore("changed")   # snapshots outlive resets
            assert cmon.client("alice", "wonderland")

        def test_same_server_all_session(fakecmon_server, cmon):
            assert fakecmon_server is cmon
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_journal_assertions_pass_and_fail_with_what_was_received(pytester):
    pytester.makepyfile("""
        def test_passes(cmon):
            cmon.client("system", "secret").call("/v2/clusters", "getClusterInfo", cluster_id=1)
            cmon.assert_called("getClusterInfo", times=1, with_fields={"cluster_id": 1})

        def test_fails(cmon):
            cmon.client("system", "secret").call("/v2/clusters", "getClusterInfo", cluster_id=1)
            cmon.assert_called("getClusterInfo", with_fields={"cluster_id": 9})

        def test_plain_failure_shows_the_journal(cmon):
            reply = cmon.client().call("/v2/clusters", "getAllClusterInfo")
            assert reply["request_status"] == "Ok"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_fails _*",
        'E * AssertionError: fakecmon: expected getClusterInfo with {"cluster_id":9} '
        "at least once; received 0 times.",
        "E * Closest of the 2 request(s) received:",
        'E * #2 /v2/clusters getClusterInfo user=system status=Ok http=200 body={*"cluster_id":1}',
        "E * differs: cluster_id=1",
        "*- fakecmon requests -*",
        "fakecmon received 2 request(s):",
        "  #1 /v2/auth authenticateWithPassword user=system status=Ok http=200 body=*"
        '"password":"********"}',
        "*_ test_plain_failure_shows_the_journal _*",
        "*AuthRequired*",
        "*- fakecmon requests -*",
        "fakecmon received 1 request(s):",
        "  #1 /v2/clusters getAllClusterInfo user=- status=AuthRequired http=401 body=*",
    ])
    assert '"password":"secret"' not in result.stdout.str()


def test_marker_picks_world_files(pytester):
    pytester.mkdir("worlds")
    (pytester.path / "worlds" / "alice.yaml").write_text(ALICE)
    (pytester.path / "worlds" / "tiny.yaml").write_text(TINY)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.cmon_world("worlds/alice.yaml", extend=True)
        def test_extended(cmon):
            assert cmon.client("alice", "wonderland") and cmon.client("system", "secret")

        @pytest.mark.cmon_world("worlds/tiny.yaml")
        def test_replaced(cmon):
            reply = cmon.client("system", "tiny").call("/v2/clusters", "getAllClusterInfo")
            assert reply["total"] == 0

        def test_default_again(cmon):
            client = cmon.client("system", "secret")
            assert client.call("/v2/clusters", "getAllClusterInfo")["total"] > 0
            assert cmon.client().login("alice", "wonderland")["request_status"] == "AccessDenied"

        @pytest.mark.cmon_world("worlds/missing.yaml")
        def test_missing_file_is_an_error(cmon):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*missing.yaml: cannot read the world file*"])


@pytest.mark.parametrize("how", ["ini", "option"])
def test_session_world_from_ini_or_option(pytester, how):
    (pytester.path / "tiny.yaml").write_text(TINY)
    pytester.makepyfile("""
        def test_tiny(cmon):
            assert cmon.client("system", "tiny")
    """)
    if how == "ini":
        pytester.makeini("[pytest]\nfakecmon_world = tiny.yaml\nfakecmon_journal_size = 5\n")
        args: tuple[str, ...] = ()
    else:
        args = ("--fakecmon-world", "tiny.yaml")
    pytester.runpytest("-p", "no:cacheprovider", *args).assert_outcomes(passed=1)


def test_one_server_per_xdist_worker(pytester):
    pytester.makepyfile("""
        import os
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_port(cmon, n, tmp_path_factory):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            out = tmp_path_factory.getbasetemp().parent.parent / f"port-{worker}-{n}"
            out.write_text(str(cmon.port))
            reply = cmon.client("system", "secret").call("/v2/info", "ping")
            assert reply["request_status"] == "Ok"
    """)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider",
                                           f"--basetemp={pytester.path / 'tmp'}")
    result.assert_outcomes(passed=6)
    ports: dict[str, set[str]] = {}
    for f in pytester.path.glob("port-*"):
        ports.setdefault(f.name.split("-")[1], set()).add(f.read_text())
    assert sorted(ports) == ["gw0", "gw1"]
    assert all(len(p) == 1 for p in ports.values())          # one server per worker...
    assert len(set.union(*ports.values())) == 2              # ...each on its own port


# ---- the README's control API examples, with curl

def test_readme_curl_examples(cmon, tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    world = tmp_path / "my-world.yaml"
    world.write_text("groups: [{group_name: ops}]\n")
    script = readme_block("### Control API", "sh")
    lines = [line for line in script.splitlines() if line.startswith("curl ")]
    assert len(lines) >= 15
    env = {**os.environ, "C": cmon.control_url}
    for line in lines:
        command = (line.replace("certs/ca.pem", str(cmon.ca_path))
                   .replace('"my-world.yaml"', f'"{world}"')
                   .replace("curl ", "curl -s -f -S ", 1))
        done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr}{done.stdout}"
    # What the examples did, as the server saw it:
    assert cmon.run(lambda c: c.world.group_by_name("ops")) is not None
    assert cmon.run(lambda c: c.clock.frozen)
    assert cmon.now() == pytest.approx(1893456000.0)          # 2030-01-01T00:00:00Z
    assert list(cmon.run(lambda c: c.faults)) == []
