"""The project as a newcomer meets it: the README's commands, CI, packaging, the image,
and the README's world file example served over TLS."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def first_block() -> list[str]:
    """The commands of the README's first code block (comments stripped)."""
    match = re.search(r"```sh\n(.*?)```", README, re.S)
    assert match and README.find(match.group(0)) < README.find("\n## "), \
        "README.md must open with a sh block before its first section"
    return [line.split("#", 1)[0].strip() for line in match.group(1).splitlines()
            if line.split("#", 1)[0].strip()]


def test_readme_opens_with_the_serve_and_test_commands():
    assert first_block() == ["make serve", "make test"]


def test_ci_runs_exactly_the_readme_test_command():
    """CI runs the README's test command, then the Python matrix (make matrix) as an
    extra step; no other test command of its own."""
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert script[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in script
    commands = [ln.strip() for ln in script[1:]
                if ln.strip() and not ln.lstrip().startswith(("#", "set ", "cd "))]
    # Setup steps may come first (.ci/install-browser: chromium for the dashboard tests);
    # then the README's test command, then the Python matrix.
    tests = [c for c in commands if c.startswith("make") or "pytest" in c or "nox" in c]
    assert tests == [first_block()[1], "make matrix"]
    setup = commands[:commands.index(first_block()[1])]
    assert all(c.startswith("bash .ci/") for c in setup), commands
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111, ".ci/run must be executable"


def makefile_rule(target: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of a Makefile target."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:([^\n]*)\n((?:\t[^\n]*\n)*)", text, re.M)
    assert match, f"Makefile has no '{target}' rule"
    return match.group(1).split(), [ln.strip() for ln in match.group(2).splitlines()]


def test_both_commands_make_or_refresh_their_virtual_environment():
    stamp_deps, stamp_recipe = makefile_rule("$(BIN)/.installed")
    assert stamp_deps == ["pyproject.toml", "constraints.txt"]   # rebuilt when they change
    assert any("-m venv" in ln for ln in stamp_recipe)
    assert any("pip install" in ln and "-c constraints.txt" in ln and ".[test]" in ln
               for ln in stamp_recipe)
    for target, runs in (("serve", "fakecmon serve"), ("test", "-m pytest")):
        deps, recipe = makefile_rule(target)
        assert "$(BIN)/.installed" in deps
        assert any(runs in ln for ln in recipe), (target, recipe)


def test_pyproject_package_script_plugin_and_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "fakecmon" and project["requires-python"] == ">=3.11"
    deps = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert deps == {"aiohttp", "cryptography", "pyyaml", "orjson"}
    assert any(t.startswith("pytest") for t in project["optional-dependencies"]["test"])
    assert project["scripts"] == {"fakecmon": "fakecmon.cli:main"}
    assert project["entry-points"]["pytest11"] == {"fakecmon": "fakecmon.pytest_plugin"}
    for name in ("pyproject.toml", "README.md", "fakecmon", "fixtures", "certs", "tests",
                 "Dockerfile"):
        assert (ROOT / name).exists(), name


def test_certificates_are_git_ignored():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/certs/*" in ignored


def test_the_image_serves_the_default_world_on_all_addresses():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    cmd = [ln for ln in lines if ln.startswith("CMD ")]
    argv = eval(cmd[-1][4:])  # noqa: S307 - the JSON (exec) form of CMD
    assert argv[:2] == ["fakecmon", "serve"] and "--world" not in argv
    assert argv[argv.index("--bind") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == "9501"
    assert "EXPOSE 9501" in lines


# ---- the README's world file example, served

def readme_world_example() -> str:
    section = README.split("\n## World files\n", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match
    return match.group(1)


def test_readme_world_example_extends_the_default_world(cmon):
    cmon.load_yaml(readme_world_example())                   # --world default --world my.yaml
    olga = cmon.client("olga", "olga-pass")
    assert olga.call("/v2/users", "whoAmI")["user"]["first_name"] == "Olga"
    info = olga.call("/v2/clusters", "getClusterInfo", cluster_name="pg-ops", with_hosts=True)
    assert info["request_status"] == "Ok", info
    cluster = info["cluster"]
    assert cluster["cluster_type"].lower() == "postgresql_single"
    assert [h["hostname"] for h in cluster["hosts"] if h.get("nodetype") != "controller"] == [
        "10.7.0.1", "10.7.0.2"]
    assert info["controller_id"] == "3f2b8c1e-5d7a-4c1e-9b0a-6f4e2d1c0a99"
    # group:readers:r-- lets readeruser see it; other::--- hides it from dba
    reader = cmon.client("readeruser", "s3cr3tP455")
    assert reader.call("/v2/clusters", "getClusterInfo",
                       cluster_name="pg-ops")["request_status"] == "Ok"
    dba = cmon.client("dba", "dba-pass")
    names = [c["cluster_name"] for c in dba.call("/v2/clusters", "getAllClusterInfo")["clusters"]]
    assert "pg-ops" not in names

