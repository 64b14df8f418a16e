"""s9s-tools' own functional test scripts, unedited, with a real s9s, against fakecmon.

Opt-in: nothing of s9s-tools is in this repository, so these tests skip unless the
environment names a local build and checkout:

    FAKECMON_S9S=/path/to/s9s-tools/s9s/s9s
    FAKECMON_S9S_TESTS=/path/to/s9s-tools/tests
    FAKECMON_S9S_RUNNER=/path/to/run_ft.sh   (default: ../shared/tools/s9s-ft/run_ft.sh)

The runner takes ``URL ft_NAME``, bridges the paths the scripts hard-code to the
server's files (``FT_FIFO``, ``FT_CMON_LOG``; the reset mail is delivered to
``/var/mail/$USER`` by ``--mail-spool /var/mail``) and prints ``PASS ft_NAME [n/m cases]``
last. It changes files outside the scratch directory (it links ``/var/lib/cmon``,
``/var/log/cmon.log``, ``/home/$USER``), so it runs as root only. Each script gets a
fresh server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import clean_env, serving

FRESH = Path(__file__).resolve().parents[1] / "fixtures" / "fresh.yaml"
RUNNER_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "tools" / "s9s-ft" / "run_ft.sh"
SCRIPTS = ["ft_user", "ft_folders", "ft_metatype", "ft_errors", "ft_acl", "ft_cdt", "ft_jobs",
           "ft_superuser", "ft_adminuser"]


def _setup() -> tuple[Path, Path, Path]:
    s9s, tests = os.environ.get("FAKECMON_S9S"), os.environ.get("FAKECMON_S9S_TESTS")
    if not s9s or not tests:
        pytest.skip("FAKECMON_S9S and FAKECMON_S9S_TESTS do not name a local s9s build")
    runner = Path(os.environ.get("FAKECMON_S9S_RUNNER") or RUNNER_DEFAULT)
    if not Path(s9s).is_file() or not Path(tests).is_dir() or not runner.is_file():
        pytest.skip(f"no s9s at {s9s}, no tests at {tests} or no runner at {runner}")
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("the runner links system paths (/var/lib/cmon...): root on Linux only")
    return Path(s9s), Path(tests), runner


def _verdict(tmp_path: Path, script: str) -> str:
    """Run one script against a fresh server; the runner's last line."""
    s9s, tests, runner = _setup()
    fifo, log_file = tmp_path / "usermgmt.fifo", tmp_path / "cmon.log"
    args = ["--certs-dir", str(tmp_path / "certs"), "--world", str(FRESH),
            "--usermgmt-fifo", str(fifo), "--log-file", str(log_file),
            "--mail-spool", "/var/mail",
            "--password-reset-mail-dir", str(tmp_path / "outgoing")]
    with serving(args) as served:
        _, port = served.urls[0]
        env = clean_env(FT_S9S=str(s9s), FT_TESTS_DIR=str(tests), FT_FIFO=str(fifo),
                        FT_CMON_LOG=str(log_file), FT_KEEP_GOING="1", FT_OUT=str(tmp_path))
        run = subprocess.run(["bash", str(runner), f"https://127.0.0.1:{port}", script],
                             capture_output=True, text=True, env=env, timeout=900)
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_s9s_script_passes(tmp_path, script):
    verdict = _verdict(tmp_path, script)
    assert verdict.startswith(f"PASS {script} "), (verdict, tmp_path / f"{script}.log")


#: Scripts that deploy clusters on the runner's handed-out loopback addresses: every
#: case they run passes. Their planned count also holds the cases of ``--install``
#: runs, so the runner ends "FAIL ... [n/m cases] ... script ended (rc 0) after n of m".
DEPLOY_SCRIPTS = ["ft_cat", "ft_access", "ft_treechroot", "ft_specialfiles", "ft_reports",
                  "ft_galera", "ft_galera_new", "ft_postgresql", "ft_registerpostgresql"]
DEPLOY_SCRIPTS += ["ft_cluster_error", "ft_simplescripts", "ft_cmon_cloud"]
VERDICT = re.compile(r"^(PASS|FAIL) (\S+) \[(\d+)/(\d+) cases\](?: first failures: (.*))?$")
ENDED = re.compile(r"^script ended \(rc 0\) after (\d+) of \d+ cases$")
#: The PostgreSQL, TimescaleDB and SQL Server deployments (wrappers of ft_postgresql
#: and ft_postgresqlslave with other versions among them).
DEPLOY_SCRIPTS += ["ft_postgresqlslave", "ft_postgresqlstop", "ft_postgresqlbackup",
                   "ft_postgresqlverbackup", "ft_timescaledb", "ft_mssqlsingleserver",
                   "ft_postgresql_11", "ft_postgresqlslave_12"]


def every_reached_case_passed(verdict: str) -> bool:
    found = VERDICT.match(verdict)
    if found is None:
        return False
    status, _, passed, _, failures = found.groups()
    ended = ENDED.match(failures or "")
    return status == "PASS" or (ended is not None and ended.group(1) == passed)


def test_verdicts_are_read_as_the_runner_writes_them():
    assert every_reached_case_passed("PASS ft_cat [8/8 cases]")
    assert every_reached_case_passed(
        "FAIL ft_cat [8/9 cases] first failures: script ended (rc 0) after 8 of 9 cases")
    assert not every_reached_case_passed(
        "FAIL ft_tree [25/40 cases] first failures: testRegisterServer: Object was not found. "
        "| script ended (rc 1) after 31 of 40 cases")
    assert not every_reached_case_passed(
        "FAIL ft_x [3/9 cases] first failures: script ended (rc 0) after 4 of 9 cases")


@pytest.mark.parametrize("script", DEPLOY_SCRIPTS)
def test_s9s_deploy_script_runs_every_case(tmp_path, script):
    verdict = _verdict(tmp_path, script)
    assert every_reached_case_passed(verdict), (verdict, tmp_path / f"{script}.log")
