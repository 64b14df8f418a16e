"""Check the Docker image and compose.yaml on a machine without Docker: podman through
``../shared/tools/docker-check`` (run as root from the project root, like it)::

    .venv/bin/python tools/image_check.py [--no-build] [--port 9566]

Builds the image, then: it runs as a non-root user; ``/_fakecmon/ca.pem`` is served and
verifies the server; a ``FAKECMON_CERT_HOSTNAMES`` name verifies; the HEALTHCHECK turns
healthy; a restart with the same volume keeps the CA (and a new name is issued by it);
SIGTERM stops it quickly. Then compose.yaml's services run as compose would run them
(podman's healthchecks need systemd, so health is polled with ``podman healthcheck
run``): fakecmon with the file's environment, volume and healthcheck, then ``tests``
once healthy, on a network where ``fakecmon`` is the server's name. Published ports are
bound to loopback only. CI does not run this (no container engine is guaranteed there).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER_CHECK = ROOT.parent / "shared" / "tools" / "docker-check"
TAG = "localhost/fakecmon:local"
RUN = f"fc-check-{os.getpid()}"


def base_image() -> str:
    """The FROM image (the stand-in docker-check makes is named after it)."""
    froms = {ln.split()[1] for ln in (ROOT / "Dockerfile").read_text().splitlines()
             if ln.startswith("FROM ")}
    assert len(froms) == 1, froms
    name = froms.pop()
    return name if "/" in name else f"docker.io/library/{name}"


def podman(*args: str, check: bool = True, timeout: float = 600) -> str:
    out = subprocess.run([str(DOCKER_CHECK), "podman", *args], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT, env={**os.environ, "BASE": base_image()})
    if check and out.returncode != 0:
        raise SystemExit(f"podman {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def ulimits() -> list[str]:
    """The limits docker-check's ``run`` gives (no higher than this shell's hard ones)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = 32768 if nproc == resource.RLIM_INFINITY or nproc > 32768 else nproc
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def fetch(port: int, path: str, ctx: ssl.SSLContext, name: str = "127.0.0.1",
          wait: float = 0) -> bytes:
    """GET path from 127.0.0.1:port, naming ``name`` in TLS (what a client connecting by
    that name sees); retries connection errors for ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                with ctx.wrap_socket(sock, server_hostname=name) as tls:
                    conn = http.client.HTTPConnection(name, port, timeout=5)
                    conn.sock = tls
                    conn.request("GET", path)
                    return conn.getresponse().read()
        except ssl.SSLCertVerificationError:
            raise
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def unverified() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


def ok(message: str) -> None:
    print(f"ok   {message}", flush=True)


def wait_healthy(container: str, attempts: int, interval: float) -> float:
    """Run the container's healthcheck until it passes; seconds it took."""
    started = time.monotonic()
    for _ in range(attempts):
        if subprocess.run([str(DOCKER_CHECK), "podman", "healthcheck", "run", container],
                          capture_output=True, cwd=ROOT).returncode == 0:
            status = podman("inspect", container, "--format", "{{.State.Health.Status}}")
            assert status == "healthy", status
            return time.monotonic() - started
        time.sleep(interval)
    raise SystemExit(f"{container} did not turn healthy")


def start(name: str, port: int, volume: str, *extra: str) -> str:
    podman("run", "-d", *ulimits(), "--name", name, "-p", f"127.0.0.1:{port}:9501",
           "-v", f"{volume}:/var/lib/fakecmon", *extra, TAG)
    return name


def stop(name: str) -> float:
    started = time.monotonic()
    podman("stop", "-t", "10", name)
    took = time.monotonic() - started
    code = podman("inspect", name, "--format", "{{.State.ExitCode}}")
    assert code == "0", f"{name} exited with {code}"
    podman("rm", name)
    return took


def check_image(port: int) -> None:
    size = int(podman("image", "inspect", TAG, "--format", "{{.Size}}"))
    ok(f"image {TAG}: {size / 1e6:.0f} MB")
    volume = f"{RUN}-data"
    t0 = time.monotonic()
    first = start(f"{RUN}-a", port, volume, "-e", "FAKECMON_CERT_HOSTNAMES=cmon.check.test")
    try:
        ca = fetch(port, "/_fakecmon/ca.pem", unverified(), wait=60)
        ok(f"GET /_fakecmon/ca.pem served {time.monotonic() - t0:.1f} s after run")
        assert ca.startswith(b"-----BEGIN CERTIFICATE-----")
        user = podman("exec", first, "id")
        assert user.startswith("uid=10001(fakecmon) gid=10001(fakecmon)"), user
        ok(f"runs as {user}")
        where = podman("exec", first, "python", "-c", "import fakecmon, importlib.metadata as m; "
                       "print(fakecmon.__file__, m.version('fakecmon'), "
                       "m.distribution('fakecmon').read_text('direct_url.json'))")
        assert "-packages/fakecmon/__init__.py" in where and "editable" not in where, where
        ok(f"installed from the wheel: {where}")
        owner = podman("exec", first, "stat", "-c", "%U:%G %a", "/var/lib/fakecmon/certs/ca.key")
        assert owner == "fakecmon:fakecmon 600", owner
        trusted = ssl.create_default_context(cadata=ca.decode())
        for name in ("cmon.check.test", "localhost"):
            assert fetch(port, "/_fakecmon/ca.pem", trusted, name) == ca
        ok("the CA verifies cmon.check.test (FAKECMON_CERT_HOSTNAMES) and localhost")
        ok(f"HEALTHCHECK healthy after {wait_healthy(first, 30, 1):.1f} s")
        ok(f"SIGTERM stopped it in {stop(first):.1f} s (exit 0)")

        second = start(f"{RUN}-b", port, volume, "-e", "FAKECMON_CERT_HOSTNAMES=new.check.test")
        again = fetch(port, "/_fakecmon/ca.pem", unverified(), wait=60)
        assert again == ca, "a restart with the same volume made a new CA"
        assert fetch(port, "/_fakecmon/ca.pem", trusted, "new.check.test") == ca
        ok("restarted with the same volume: the same CA, and it issued new.check.test")
        stop(second)
    finally:
        podman("rm", "-f", f"{RUN}-a", f"{RUN}-b", check=False)
        podman("volume", "rm", "-f", volume, check=False)


def check_compose(port: int) -> None:
    """compose.yaml's services as compose runs them (see the module docstring)."""
    spec = yaml.safe_load((ROOT / "compose.yaml").read_text())
    server, tests = spec["services"]["fakecmon"], spec["services"]["tests"]
    assert server["image"].endswith("fakecmon:local")
    network = f"{RUN}-net"
    volumes = {name: f"{RUN}-{name}" for name in spec["volumes"]}

    def mounts(service: dict) -> list[str]:
        out = []
        for mount in service.get("volumes", []):
            source, rest = mount.split(":", 1)
            out += ["-v", f"{volumes.get(source, source)}:{rest}"]
        return out

    def env(service: dict) -> list[str]:
        return [a for k, v in service.get("environment", {}).items() for a in ("-e", f"{k}={v}")]

    health = server["healthcheck"]
    assert health["test"][0] == "CMD"
    published = [p.rsplit(":", 1) for p in server["ports"]]
    assert all(host.startswith("127.0.0.1:") for host, _ in published), published
    podman("network", "create", network)
    try:
        podman("run", "-d", *ulimits(), "--name", f"{RUN}-fakecmon", "--network", network,
               "--network-alias", "fakecmon", *env(server), *mounts(server),
               "-p", f"127.0.0.1:{port}:{published[0][1]}",
               "--health-cmd", json.dumps(health["test"][1:]), TAG)
        took = wait_healthy(f"{RUN}-fakecmon", int(health["retries"]) * 2, 1)
        ok(f"compose: fakecmon healthy after {took:.1f} s (the file's healthcheck)")
        assert tests["depends_on"]["fakecmon"]["condition"] == "service_healthy"
        run = subprocess.run([str(DOCKER_CHECK), "podman", "run", "--rm", *ulimits(),
                              "--network", network, *env(tests), *mounts(tests),
                              tests["image"], *tests["command"]],
                             capture_output=True, text=True, timeout=300, cwd=ROOT,
                             env={**os.environ, "BASE": base_image()})
        assert run.returncode == 0, run.stdout + run.stderr
        ok(f"compose: tests trusted the CA from the volume: {run.stdout.strip()}")
        ca = fetch(port, "/_fakecmon/ca.pem", unverified())
        ok(f"compose: published on 127.0.0.1:{port} ({len(ca)} bytes of CA)")
    finally:
        podman("rm", "-f", f"{RUN}-fakecmon", check=False)
        podman("network", "rm", "-f", network, check=False)
        for volume in volumes.values():
            podman("volume", "rm", "-f", volume, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="use the image built last")
    parser.add_argument("--port", type=int, default=9566, help="loopback port to publish on")
    args = parser.parse_args()
    if not DOCKER_CHECK.is_file():
        print(f"{DOCKER_CHECK} is not here: nothing to check with", file=sys.stderr)
        return 2
    if not args.no_build:
        started = time.monotonic()
        build = subprocess.run([str(DOCKER_CHECK), "build"], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "BASE": base_image()})
        if build.returncode != 0:
            print(build.stdout[-3000:] + build.stderr[-3000:], file=sys.stderr)
            return 1
        ok(f"built {TAG} in {time.monotonic() - started:.0f} s")
    check_image(args.port)
    check_compose(args.port)
    print("image and compose checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
