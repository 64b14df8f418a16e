"""fakecmon benchmark: the speed goals, each measured side by side in one run.

    python bench/bench.py [--seconds 3] [--rounds 3] [--connections 32] [--no-large]
                          [--world-args "--clusters 1000 --jobs 100000 ..."]

Throughput (default world): ``fakecmon serve --quiet`` and a bare aiohttp TLS server
(bench/baseline.py) that answers every request with fakecmon's own reply bytes from
memory run one after the other, each pinned to CPU 0, under the same load generator
pinned to CPU 1: ``wrk -t1 -cN`` when wrk is installed, else an aiohttp load process.
Rounds alternate between the two and each ratio is taken within its round, so a
machine that others load too still gives comparable figures; the median is printed.
Each server is warmed up with ``--warmup`` seconds of keep-alive load before it is
measured, so one-time work (the first contract check of a path, the views that
fill on the first request) is not counted as throughput.

Large world (``fakecmon world generate`` with the issue's shape): ``fakecmon serve`` to
"listening on" with an empty and with a warm parse cache, resident memory, the
control API's reset, and a deep page of getJobInstances (server time, from the
request journal); the default world's reset is measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakecmon.certs import ensure_certificates  # noqa: E402

BENCH = Path(__file__).resolve().parent
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
LUA = """
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
if os.getenv("BENCH_CLOSE") == "1" then wrk.headers["Connection"] = "close" end
"""


def pin(pid: int, cpu: int) -> None:
    """Pin a process to one CPU (the servers to the first, the load to the second)."""
    if len(CPUS) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {CPUS[cpu % len(CPUS)]})


class Server:
    """A server process that prints ``listening on https://HOST:PORT`` when it is ready."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ, **(env or {})}, cwd=ROOT)
        pin(self.proc.pid, 0)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            found = re.search(r"listening on https://([\d.]+):(\d+)", line)
            if found:
                self.ready = time.perf_counter() - self.started
                self.host, self.port = found.group(1), int(found.group(2))
                return
        raise RuntimeError(f"server did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def cpu_seconds(self) -> float:
        """User and system CPU time the server has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return kb / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fakecmon(certs: Any, *world: Path, env: dict[str, str] | None = None) -> Server:
    argv = [sys.executable, "-m", "fakecmon", "serve", "--quiet", "--port", "0",
            "--cert", str(certs.cert), "--key", str(certs.key)]
    for path in world:
        argv += ["--world", str(path)]
    return Server(argv, env)


class Conn:
    """One keep-alive HTTPS connection for the figures measured request by request."""

    def __init__(self, server: Server) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        self.http = http.client.HTTPSConnection(server.host, server.port, context=ctx)
        self.cookie = ""

    def post(self, path: str, body: dict[str, Any] | None = None,
             method: str = "POST") -> tuple[bytes, float]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        started = time.perf_counter()
        self.http.request(method, path, body=data, headers=headers)
        resp = self.http.getresponse()
        raw = resp.read()
        took = time.perf_counter() - started
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        return raw, took

    def login(self) -> None:
        raw, _ = self.post("/v2/auth", {"operation": "authenticateWithPassword",
                                        "user_name": "system", "password": "secret"})
        assert b'"request_status":"Ok"' in raw, raw[:300]

    def rpc(self, path: str, **body: Any) -> dict[str, Any]:
        raw, _ = self.post(path, body)
        return json.loads(raw)


# ---- load generators

def wrk_rate(url: str, body: str, cookie: str, seconds: float, connections: int,
             close: bool, lua: Path) -> tuple[int, float]:
    """(requests answered, seconds) of one wrk run."""
    env = {**os.environ, "BENCH_BODY": body, "BENCH_COOKIE": cookie,
           "BENCH_CLOSE": "1" if close else "0"}
    proc = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(lua),
                             url + "/v2/clusters"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    pin(proc.pid, 1)
    out, err = proc.communicate()
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not found or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed: {out}{err}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if errors and int(errors.group(1)) + int(errors.group(4)) > 0:
        print(f"    (wrk: {errors.group(0)})")
    took = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
    return int(found.group(1)), took


async def _aiohttp_load(url: str, body: str, cookie: str, seconds: float, connections: int,
                        close: bool) -> int:
    import aiohttp

    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    connector = aiohttp.TCPConnector(ssl=ctx, limit=connections, force_close=close)
    done = 0
    headers = {"Cookie": cookie, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(url + "/v2/clusters", data=body, headers=headers) as r:
                    await r.read()
                    assert r.status == 200
                done += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return done


def python_rate(url: str, body: str, cookie: str, seconds: float, connections: int,
                close: bool) -> tuple[int, float]:
    proc = subprocess.Popen([sys.executable, __file__, "--load", url, "--body", body,
                             "--cookie", cookie, "--seconds", str(seconds),
                             "--connections", str(connections)] + (["--close"] if close else []),
                            stdout=subprocess.PIPE, text=True)
    pin(proc.pid, 1)
    out, _ = proc.communicate()
    return int(out.strip()), seconds


# ---- the figures

@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fakecmon-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def throughput(args: argparse.Namespace, certs: Any, tmp: Path) -> None:
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    tool = f"wrk -t1 -c{args.connections}" if use_wrk else \
        f"aiohttp load process, {args.connections} connections (install wrk for the reference figures)"
    print(f"## getAllClusterInfo with_hosts, default world ({tool}; "
          f"{args.rounds} rounds of {args.seconds:g} s after {args.warmup:g} s of warm-up; "
          f"servers on CPU {CPUS[:1]}, "
          f"load on CPU {CPUS[1:2]})")
    cmon = fakecmon(certs)
    try:
        conn = Conn(cmon)
        conn.login()
        body = json.dumps({"operation": "getAllClusterInfo", "with_hosts": True})
        reply, _ = conn.post("/v2/clusters", json.loads(body))
        cookie = conn.cookie
    finally:
        cmon.stop()
    (tmp / "reply.json").write_bytes(reply)
    lua = tmp / "post.lua"
    lua.write_text(LUA)
    print(f"reply: {len(reply) / 1024:.1f} KB")

    def load(server: Server, close: bool, seconds: float) -> tuple[int, float]:
        if use_wrk:
            return wrk_rate(server.url, body, cookie, seconds, args.connections, close, lua)
        return python_rate(server.url, body, cookie, seconds, args.connections, close)

    def rate(server: Server, close: bool) -> tuple[float, float]:
        """(requests per second, server CPU seconds per request) of one load run."""
        if args.warmup > 0:
            load(server, False, args.warmup)
        cpu = server.cpu_seconds()
        n, took = load(server, close, args.seconds)
        return n / took, (server.cpu_seconds() - cpu) / max(n, 1)

    for close, what in ((False, "keep-alive, cookie session"),
                        (True, "one new TLS connection per request (as s9s)")):
        ratios, cpu_ratios, ours, bare = [], [], [], []
        for _ in range(args.rounds):
            cmon = fakecmon(certs)
            try:
                login = Conn(cmon)   # the session the load's cookie names
                login.cookie = cookie
                login.login()
                cookie = login.cookie
                ours.append(rate(cmon, close))
            finally:
                cmon.stop()
            base = Server([sys.executable, str(BENCH / "baseline.py"), str(tmp / "reply.json"),
                           str(certs.cert), str(certs.key)])
            try:
                bare.append(rate(base, close))
            finally:
                base.stop()
            ratios.append(ours[-1][0] / bare[-1][0])
            cpu_ratios.append(bare[-1][1] / ours[-1][1])
        print(f"{what}: fakecmon {statistics.median(r for r, _ in ours):,.0f} req/s, bare aiohttp "
              f"{statistics.median(r for r, _ in bare):,.0f} req/s: ratio "
              f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
        print(f"  server CPU per request: fakecmon "
              f"{statistics.median(c for _, c in ours) * 1e6:,.0f} us, bare aiohttp "
              f"{statistics.median(c for _, c in bare) * 1e6:,.0f} us: ratio "
              f"{statistics.median(cpu_ratios):.2f} (rounds: "
              f"{', '.join(f'{r:.2f}' for r in cpu_ratios)}; steadier than req/s on a busy "
              "machine)")


def resets(server: Server, n: int) -> tuple[float, float]:
    """(median ms of POST /_fakecmon/reset, of GET /_fakecmon/health) on one connection."""
    conn = Conn(server)
    reset = [conn.post("/_fakecmon/reset", {})[1] for _ in range(n)]
    health = [conn.post("/_fakecmon/health", method="GET")[1] for _ in range(n)]
    return statistics.median(reset) * 1000, statistics.median(health) * 1000


def first_reads(server: Server, n: int) -> tuple[float, float, float]:
    """Median ms of a login and a getAllClusterInfo as the first requests after a reset,
    and of the same getAllClusterInfo again."""
    conn = Conn(server)
    login, first, second = [], [], []
    body = {"operation": "getAllClusterInfo", "with_hosts": True}
    auth = {"operation": "authenticateWithPassword", "user_name": "system", "password": "secret"}
    for _ in range(n):
        conn.post("/_fakecmon/reset", {})
        conn.cookie = ""
        login.append(conn.post("/v2/auth", auth)[1])
        first.append(conn.post("/v2/clusters", body)[1])
        second.append(conn.post("/v2/clusters", body)[1])
    return tuple(statistics.median(x) * 1000 for x in (login, first, second))  # type: ignore[return-value]


def in_process_reset(n: int) -> float:
    """Median ms of Controller.reset() on the default world (the server's own time)."""
    from fakecmon.controller import Controller
    c = Controller()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        c.reset()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def large_world(args: argparse.Namespace, certs: Any, tmp: Path) -> None:
    world = tmp / "large.yaml"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fakecmon", "world", "generate", "-o", str(world),
                    *args.world_args.split()], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    size = world.stat().st_size / 1e6
    print(f"## large world: fakecmon world generate {args.world_args} ({size:.1f} MB, "
          f"{time.perf_counter() - started:.1f} s to write)")
    env = {"FAKECMON_CACHE_DIR": str(tmp / "cache")}
    cold = fakecmon(certs, world, env=env)
    cold_start, cold_rss, cold_cpu = cold.ready, cold.rss_mb(), cold.cpu_seconds()
    cold.stop()
    print(f"serve to 'listening on', empty parse cache (first parse): {cold_start:.2f} s "
          f"({cold_cpu:.2f} s of CPU), resident memory {cold_rss:.0f} MB (goal < 3 s)")
    server = fakecmon(certs, world, env=env)
    try:
        print(f"serve to 'listening on', warm parse cache: {server.ready:.2f} s "
              f"({server.cpu_seconds():.2f} s of CPU; goal < 3 s)")
        conn = Conn(server)
        conn.login()
        for _ in range(3):
            conn.rpc("/v2/clusters", operation="getAllClusterInfo")
        print(f"resident memory after start and 3 getAllClusterInfo: {server.rss_mb():.0f} MB "
              f"(goal < 300 MB)")
        reset_ms, health_ms = resets(server, args.resets)
        print(f"POST /_fakecmon/reset: {reset_ms:.1f} ms round trip, {reset_ms - health_ms:.1f} "
              f"ms more than GET /_fakecmon/health (goal < 50 ms; median of {args.resets})")
        login, first, steady = first_reads(server, 10)
        print(f"first requests after a reset (areas are restored on first touch): login "
              f"{login:.1f} ms, getAllClusterInfo with_hosts {first:.1f} ms; the same "
              f"getAllClusterInfo again {steady:.1f} ms (round trips, median of 10)")
        conn = Conn(server)
        conn.login()
        conn.post("/_fakecmon/requests", method="DELETE")
        for offset in (0, 50000, 99980):
            for _ in range(5):
                reply = conn.rpc("/v2/jobs", operation="getJobInstances", limit=20, offset=offset)
                assert reply["request_status"] == "Ok" and len(reply["jobs"]) == 20, reply
        raw, _ = conn.post("/_fakecmon/requests?operation=getJobInstances", method="GET")
        latencies = [e["latency_ms"] for e in json.loads(raw)["requests"]]
        for i, offset in enumerate((0, 50000, 99980)):
            got = statistics.median(latencies[i * 5:(i + 1) * 5])
            print(f"getJobInstances limit 20 offset {offset}: {got:.2f} ms server time "
                  f"(median of 5; goal < 5 ms)")
    finally:
        server.stop()


def default_resets(args: argparse.Namespace, certs: Any) -> None:
    server = fakecmon(certs)
    try:
        reset_ms, health_ms = resets(server, args.resets)
    finally:
        server.stop()
    inside = in_process_reset(args.resets)
    print(f"## default world reset: {inside:.2f} ms Controller.reset() in process (goal < 1 ms); "
          f"{reset_ms:.1f} ms POST /_fakecmon/reset round trip, {reset_ms - health_ms:.2f} ms "
          "more than GET /_fakecmon/health")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per figure")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds of keep-alive load before each server is measured")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--resets", type=int, default=50)
    parser.add_argument("--no-large", action="store_true", help="skip the large world")
    parser.add_argument("--large-only", action="store_true",
                        help="only the large world (no throughput, no default world reset)")
    parser.add_argument("--world-args", default="--clusters 1000 --hosts 3 --jobs 100000 "
                        "--users 2000", help="fakecmon world generate arguments")
    parser.add_argument("--python-load", action="store_true",
                        help="use the aiohttp load process even when wrk is installed")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    parser.add_argument("--cookie", help=argparse.SUPPRESS)
    parser.add_argument("--close", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(asyncio.run(_aiohttp_load(args.load, args.body, args.cookie, args.seconds,
                                        args.connections, args.close)))
        return
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"# fakecmon bench: {len(CPUS)} CPUs, load average {load[0]:.1f} at start "
          f"(other work on the machine lowers every figure; the ratios are within one run)")
    with workdir() as tmp:
        certs = ensure_certificates(tmp / "certs", ["127.0.0.1"])
        if not args.large_only:
            throughput(args, certs, tmp)
            default_resets(args, certs)
        if not args.no_large:
            large_world(args, certs, tmp)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"# load average {load[0]:.1f} at the end")


if __name__ == "__main__":
    main()
