"""The image as its files promise it (CI has no container engine; tools/image_check.py
builds and runs it with podman where ../shared/tools/docker-check exists): a pinned base
and pinned packages, the wheel installed, a non-root user, a volume, a HEALTHCHECK that
works without curl, a small build context; compose.yaml and the README's CI blocks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fakecmon import FakeCmon

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
README = (ROOT / "README.md").read_text()
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def of(kind: str) -> list[str]:
    return [rest for word, rest in instructions() if word == kind]


def test_the_base_is_pinned_to_a_python_and_debian_release():
    bases = {rest.split()[0] for rest in of("FROM")}
    assert len(bases) == 1, bases                       # build and run on the same base
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases.pop())


def test_the_wheel_is_installed_with_the_pinned_versions():
    runs = " ".join(of("RUN"))
    assert "pip wheel" in runs and "PIP_CONSTRAINT=/src/constraints.txt" in runs
    assert "--constraint /tmp/constraints.txt /tmp/wheels/fakecmon-*.whl" in runs
    assert not re.search(r"pip install[^&]*\s-e\s", runs), "no editable install in the image"


def test_it_runs_as_an_unprivileged_user_with_a_volume():
    users = of("USER")
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert int(users[-1].split(":")[0]) >= 1000
    assert of("VOLUME") == ['["/var/lib/fakecmon"]']
    env = " ".join(of("ENV"))
    assert "FAKECMON_CERTS_DIR=/var/lib/fakecmon/certs" in env
    assert "FAKECMON_STATE_DIR=/var/lib/fakecmon/state" in env
    assert "chown -R fakecmon:fakecmon /var/lib/fakecmon" in " ".join(of("RUN"))


def test_the_healthcheck_needs_no_curl():
    (check,) = of("HEALTHCHECK")
    argv = json.loads(check.split("CMD", 1)[1])
    assert argv[:3] == ["python", "-m", "fakecmon.healthcheck"]
    assert "curl" not in check and "wget" not in check


def test_the_build_context_leaves_out_secrets_and_caches():
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    assert {".git", ".venv", ".nox", "certs", "**/__pycache__", ".pytest_cache"} <= ignored


# ---- the healthcheck itself

def healthcheck(port: int, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "FAKECMON_CONTROL_TOKEN"}
    return subprocess.run([sys.executable, "-m", "fakecmon.healthcheck", "--port", str(port),
                           "--timeout", "5"], capture_output=True, text=True, timeout=60,
                          env={**clean, **env})


def test_healthcheck_passes_on_a_live_server(cmon):
    run = healthcheck(cmon.port)
    assert run.returncode == 0 and run.stdout.strip() == "healthy", run.stderr


def test_healthcheck_fails_when_nothing_listens():
    with FakeCmon() as server:
        port = server.port
    run = healthcheck(port)
    assert run.returncode == 1 and run.stderr.startswith("unhealthy: ")
    assert "Traceback" not in run.stderr


def test_healthcheck_sends_the_control_token():
    with FakeCmon(control_token="hc-token") as server:
        assert healthcheck(server.port, FAKECMON_CONTROL_TOKEN="hc-token").returncode == 0
        refused = healthcheck(server.port)
        assert refused.returncode == 1 and "HTTP 401" in refused.stderr


# ---- compose.yaml and the README's CI blocks

def test_compose_starts_tests_once_fakecmon_is_healthy():
    server, tests = COMPOSE["services"]["fakecmon"], COMPOSE["services"]["tests"]
    assert server["build"] == "." and server["healthcheck"]["test"][:4] == [
        "CMD", "python", "-m", "fakecmon.healthcheck"]
    assert all(p.startswith("127.0.0.1:") for p in server["ports"])
    assert "fakecmon" in server["environment"]["FAKECMON_CERT_HOSTNAMES"].split(",")
    assert "fakecmon-data:/var/lib/fakecmon" in server["volumes"]
    assert tests["depends_on"] == {"fakecmon": {"condition": "service_healthy"}}
    base = of("FROM")[-1].split()[0]
    assert tests["image"] == base                      # nothing else to pull
    mount = next(v for v in tests["volumes"] if v.startswith("fakecmon-data:"))
    ca = tests["environment"]["CMON_CA"]
    assert ca.startswith(mount.split(":")[1] + "/certs/")   # the CA from the volume
    assert tests["environment"]["CMON_URL"] == "https://fakecmon:9501"


def test_the_compose_test_command_talks_to_fakecmon(cmon):
    """The ``tests`` service's script, run here against a local server."""
    command = COMPOSE["services"]["tests"]["command"]
    assert command[:2] == ["python", "-c"]
    run = subprocess.run([sys.executable, "-c", command[2]], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "CMON_URL": f"https://localhost:{cmon.port}",
                                          "CMON_CA": str(cmon.ca_path)})
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"fakecmon answered: Ok \d+ clusters", run.stdout.strip())


def readme_section(title: str) -> str:
    start = README.index(f"\n### {title}")
    end = README.find("\n## ", start)
    nxt = README.find("\n### ", start + 1)
    return README[start:min(x for x in (end, nxt) if x != -1)]


def yaml_block(section: str) -> str:
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, section[:200]
    return match.group(1)


def test_readme_compose_block_is_the_compose_file():
    assert yaml_block(readme_section("docker compose")) == COMPOSE_TEXT


@pytest.mark.parametrize("title", ["GitHub Actions", "GitLab CI"])
def test_readme_ci_blocks_start_the_image_as_a_service(title):
    doc = yaml.safe_load(yaml_block(readme_section(title)))
    job = doc["jobs"]["test"] if "jobs" in doc else doc["test"]
    services = job["services"]
    service = next(iter(services.values())) if isinstance(services, dict) else services[0]
    image = service.get("image") or service.get("name")
    assert image.endswith("/fakecmon:0.1.0")
    steps = json.dumps(job.get("steps") or job.get("script"))
    assert "/_fakecmon/ca.pem" in steps and "--cacert" in steps
