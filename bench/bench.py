"""fakecmon benchmark: start time, reset cost and requests per second of a busy read.

    python bench/bench.py [--seconds 3] [--concurrency 16]

1. ``FakeCmon().start()`` to the first TLS reply (certificates made in a fresh
   temporary directory each time, as a test session does), and the one-time
   import cost in a fresh process.
2. The cost of ``cmon.reset()`` (what the pytest ``cmon`` fixture does per test),
   as a test sees it and on the server's own loop.
3. Requests per second of ``getJobInstance`` (the call job-polling clients repeat;
   ``getAllClusterInfo`` when /v2/jobs is absent), from a separate load process
   with keep-alive connections, then with one TLS connection per request like s9s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakecmon.testing import FakeCmon  # noqa: E402


def start_to_first_reply(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        cmon = FakeCmon().start()
        try:
            reply = cmon.client().call("/v2/info", "ping")
            times.append(time.perf_counter() - started)
            assert reply["request_status"] == "Ok", reply
        finally:
            cmon.stop()
    return times


COLD = """
import time
t0 = time.perf_counter()
from fakecmon.testing import FakeCmon
t1 = time.perf_counter()
with FakeCmon() as cmon:
    assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"
    t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def cold_start() -> tuple[float, float]:
    """(import seconds, start-to-first-reply seconds) in a fresh Python process."""
    out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    imported, first = out.stdout.split()
    return float(imported), float(first)


def reset_cost(cmon: FakeCmon, runs: int) -> tuple[float, float]:
    """(seconds per reset as a test calls it, seconds on the server's loop)."""
    started = time.perf_counter()
    for _ in range(runs):
        cmon.reset()
    outside = (time.perf_counter() - started) / runs

    def inside(c: object) -> float:
        from fakecmon.control import full_reset
        t = time.perf_counter()
        for _ in range(runs):
            full_reset(c)  # type: ignore[arg-type]
        return (time.perf_counter() - t) / runs

    return outside, cmon.run(inside)


def busy_read(cmon: FakeCmon) -> tuple[str, str, dict[str, object]]:
    """(path, operation, fields) of the busy read, creating the job it polls."""
    client = cmon.client("system", "secret")
    reply = client.call("/v2/jobs", "createJobInstance", cluster_id=1, job={
        "class_name": "CmonJobInstance", "title": "Bench",
        "job_spec": {"command": "rolling_restart"}})
    if reply.get("request_status") == "Ok":
        return "/v2/jobs", "getJobInstance", {"job_id": reply["job"]["job_id"]}
    return "/v2/clusters", "getAllClusterInfo", {}


async def _load(url: str, path: str, body: dict[str, object], seconds: float,
                concurrency: int, keep_alive: bool) -> int:
    import aiohttp

    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    connector = aiohttp.TCPConnector(ssl=ctx, limit=concurrency, force_close=not keep_alive)
    done = 0
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(url + "/v2/auth", json={
                "operation": "authenticateWithPassword", "user_name": "system",
                "password": "secret"}) as resp:
            assert (await resp.json())["request_status"] == "Ok"
            sid = resp.cookies["cmon-sid"].value
        headers = {"Cookie": f"cmon-sid={sid}"}
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(url + path, json=body, headers=headers) as resp:
                    doc = await resp.read()
                    assert resp.status == 200 and b'"request_status":"Ok"' in doc, doc[:200]
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def load_process(args: argparse.Namespace) -> None:
    """The load generator, run in its own process so it does not share the server's GIL."""
    body = json.loads(args.body)
    n = asyncio.run(_load(args.url, args.path, body, args.seconds, args.concurrency,
                          not args.new_connections))
    print(n)


def requests_per_second(cmon: FakeCmon, seconds: float, concurrency: int,
                        new_connections: bool) -> tuple[str, float]:
    path, op, fields = busy_read(cmon)
    body = json.dumps({"operation": op, **fields})
    cmd = [sys.executable, __file__, "--load", cmon.base_url, "--path", path, "--body", body,
           "--seconds", str(seconds), "--concurrency", str(concurrency)]
    if new_connections:
        cmd.append("--new-connections")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return op, int(out.stdout.strip()) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each load run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--body", help=argparse.SUPPRESS)
    parser.add_argument("--new-connections", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        args.url = args.load
        load_process(args)
        return

    starts = start_to_first_reply(7)
    print(f"start to first TLS reply: median {statistics.median(starts) * 1000:.1f} ms "
          f"(min {min(starts) * 1000:.1f}, max {max(starts) * 1000:.1f}; 7 runs, "
          f"fresh certificates each)")
    imported, first = cold_start()
    print(f"in a fresh process: import {imported * 1000:.0f} ms, then start to first reply "
          f"{first * 1000:.1f} ms")
    with FakeCmon() as cmon:
        outside, inside = reset_cost(cmon, 200)
        print(f"reset: {outside * 1000:.2f} ms per call from a test, "
              f"{inside * 1000:.2f} ms on the server loop (default world)")
        op, rate = requests_per_second(cmon, args.seconds, args.concurrency, False)
        print(f"{op}: {rate:,.0f} requests/s (keep-alive, {args.concurrency} concurrent, "
              f"journal on)")
        op, rate = requests_per_second(cmon, args.seconds, args.concurrency, True)
        print(f"{op}: {rate:,.0f} requests/s (one TLS connection per request, like s9s)")


if __name__ == "__main__":
    main()
