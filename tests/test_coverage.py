"""``fakecmon operations``: what fakecmon answers, and what clients send that it does not."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

from fakecmon import coverage
from fakecmon.cli import main
from fakecmon.rpc import OPERATIONS

TSV_HEAD = "path\toperation\tused_by\trequest_fields_seen\treply_fields_read\n"


def run(*args: str) -> str:
    """``fakecmon operations ARGS`` in this process (the command itself: see the last test)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["operations", *args]) == 0
    return out.getvalue()


def test_every_operation_is_marked():
    ops = coverage.answered()
    assert ops == {p: sorted(g.values(), key=lambda o: o.name.lower())
                   for p, g in sorted(OPERATIONS.items()) if g}
    kinds = {op.kind for group in ops.values() for op in group}
    assert kinds <= {"stateful", "world-data"}
    stat = {op.name: op.kind for op in ops["/v2/stat"]}
    assert stat["statByName"] == "world-data"
    assert {op.name: op.login for op in ops["/v2/info"]}["ping"] is False


def test_missing_operations_are_matched_like_cmon_matches_them(tmp_path):
    tsv = tmp_path / "operations.tsv"
    tsv.write_text(TSV_HEAD + "/v2/stat\tstatByName\tcmon-proxy\t\t\n"
                   "/v2/stat/\tGETDBGROWTH\topenapi\t\t\n"
                   "/v2/nowhere\tdoThings\ts9s\t\t\n")
    wanted = coverage.contract(tsv)
    assert [(w.path, w.name) for w in wanted][1] == ("/v2/stat", "GETDBGROWTH")
    missing = coverage.unanswered(wanted, coverage.answered())
    assert [(w.path, w.name, w.used_by) for w in missing] == [("/v2/nowhere", "doThings", "s9s")]
    text = run("--contract", str(tsv))
    assert "/v2/nowhere doThings  [s9s]" in text
    assert "Not answered yet (1 of" in text


def test_cli_lists_paths_and_marks(tmp_path):
    tsv = tmp_path / "operations.tsv"
    tsv.write_text(TSV_HEAD + "/v2/stat\tstatByName\tcmon-proxy\t\t\n")
    text = run("--contract", str(tsv))
    lines = text.splitlines()
    assert lines[0].startswith("fakecmon answers ")
    stat = lines.index("  /v2/stat")
    assert "    W statByName" in lines[stat:stat + 10]
    assert "    S ping *" in lines
    assert "Every operation of" in text
    absent = run("--contract", str(tmp_path / "none.tsv"))
    assert "was not found" in absent


def test_markdown_table(tmp_path):
    tsv = tmp_path / "operations.tsv"
    tsv.write_text(TSV_HEAD + "/v2/nowhere\tdoThings\ts9s\t\t\n")
    text = run("--markdown", "--contract", str(tsv))
    assert text.startswith("| Path | Operations")
    assert "| `/v2/stat` |" in text and "statByName *W*" in text
    assert "| `/v2/nowhere` | doThings |" in text


def test_the_readme_table_is_the_commands_table(tmp_path):
    """The README's coverage table is what ``fakecmon operations --markdown`` prints."""
    tsv = tmp_path / "operations.tsv"
    tsv.write_text(TSV_HEAD)
    printed = [line for line in run("--markdown", "--contract", str(tsv)).splitlines()
               if line.startswith("| `/v2")]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert [line for line in readme.splitlines() if line.startswith("| `/v2")] == printed


def test_against_the_real_contract(contract: Path):
    wanted = coverage.contract(contract / "operations.tsv")
    assert len(wanted) > 150
    missing = {(w.path, w.name) for w in coverage.unanswered(wanted, coverage.answered())}
    for done in [("/v2/stat", "statByName"), ("/v2/metatype", "getMetaTypes"),
                 ("/v2/discovery", "checkHosts"), ("/v2/subscribe_events", "subscribe"),
                 ("/v2/poolcontrollers", "listControllers")]:
        assert done not in missing
    text = run()
    assert "Not answered yet" in text or "Every operation" in text


def test_an_operation_not_answered_gets_cmons_reply(system):
    reply = system.call("/v2/stat", "noSuchStatistics")
    assert reply["request_status"] == "InvalidRequest"
    assert reply["error_string"] == "Invalid operation 'noSuchStatistics' on '/v2/stat'."


def test_the_command_runs_as_a_program(tmp_path):
    tsv = tmp_path / "operations.tsv"
    tsv.write_text(TSV_HEAD + "/v2/stat\tstatByName\tcmon-proxy\t\t\n")
    done = subprocess.run([sys.executable, "-m", "fakecmon", "operations", "--contract", str(tsv)],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == run("--contract", str(tsv))
