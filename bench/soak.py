"""fakecmon soak: connection floods against ``fakecmon serve`` and what they cost.

    python bench/soak.py [--connections 3000] [--hold 15] [--settle 20] [--port 9567]

Starts ``fakecmon serve`` (default world) in its own process on a loopback port and
measures its resident memory (``/proc/<pid>/status`` VmRSS):

1. idle, after a few requests;
2. while ``--connections`` raw TCP connections are open that never start TLS, with
   the latency of a real client (TLS, login-free ``ping``) asked meanwhile;
3. the same with connections that finish the TLS handshake and then say nothing
   (they hold real slots: past ``--max-connections`` they wait in the backlog);
4. after the flood has gone and the server had ``--settle`` seconds.

Prints one JSON document with the figures (the README's reliability section quotes
them). Linux only (VmRSS). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakecmon.client import RpcClient  # noqa: E402

HOST = "127.0.0.1"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def start_server(port: int, extra: list[str]) -> tuple[subprocess.Popen[str], int]:
    cmd = [sys.executable, "-m", "fakecmon", "serve", "--port", str(port), "--quiet", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on"):
        proc.kill()
        raise SystemExit(f"fakecmon did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def ping_ms(port: int) -> float:
    """One real request (new TLS connection); milliseconds, or -1 if it failed."""
    started = time.perf_counter()
    try:
        reply = RpcClient(f"https://{HOST}:{port}", timeout=30).call("/v2/info", "ping")
        ok = reply.get("request_status") == "Ok"
    except OSError:
        ok = False
    return round((time.perf_counter() - started) * 1000, 1) if ok else -1.0


def raw_flood(port: int, n: int) -> list[socket.socket]:
    """``n`` TCP connections (non-blocking connects) that never send a byte."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((HOST, port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has not closed (readable means EOF or reset)."""
    poller = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    gone = 0
    for fd, _ in poller.poll(0):
        try:
            if by_fd[fd].recv(1) == b"":
                gone += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            gone += 1
    return len(socks) - gone


def tls_flood(port: int, n: int, timeout: float) -> list[ssl.SSLSocket]:
    """Up to ``n`` connections that finish TLS and then stay silent."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = []
    for _ in range(n):
        try:
            s = socket.create_connection((HOST, port), timeout=timeout)
            held.append(ctx.wrap_socket(s, server_hostname=HOST))
        except OSError:
            break
    return held


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=3000)
    ap.add_argument("--hold", type=float, default=15.0, help="seconds the raw flood is held")
    ap.add_argument("--settle", type=float, default=20.0, help="seconds after the floods")
    ap.add_argument("--port", type=int, default=9567)
    ap.add_argument("--tls-connections", type=int, default=1000,
                    help="silent TLS connections held (below the cap, so a client still gets in)")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra argument for fakecmon serve (repeatable)")
    args = ap.parse_args()
    proc, port = start_server(args.port, args.server_arg)
    out: dict[str, object] = {"connections": args.connections}
    try:
        for _ in range(20):
            ping_ms(port)
        out["rss_idle_mb"] = round(rss_mb(proc.pid), 1)

        socks = raw_flood(port, args.connections)
        peak, pings, held_mid = 0.0, [], None
        started = time.monotonic()
        while time.monotonic() < started + args.hold:
            peak = max(peak, rss_mb(proc.pid))
            pings.append(ping_ms(port))
            if held_mid is None and time.monotonic() > started + 3:
                held_mid = still_open(socks)
            time.sleep(0.5)
        out["raw_flood"] = {
            "rss_peak_mb": round(peak, 1),
            "held_by_server_after_3s": held_mid,
            "held_by_server_at_end": still_open(socks),
            "ping_ms_max": max(pings), "ping_ms_median": sorted(pings)[len(pings) // 2],
            "pings_failed": sum(1 for p in pings if p < 0),
        }
        close_all(socks)

        held = tls_flood(port, args.tls_connections, timeout=3.0)
        time.sleep(1.0)
        out["tls_flood"] = {"held": len(held), "rss_mb": round(rss_mb(proc.pid), 1),
                            "ping_ms_while_full": ping_ms_with_timeout(port)}
        close_all(held)  # type: ignore[arg-type]

        time.sleep(args.settle)
        out["rss_after_mb"] = round(rss_mb(proc.pid), 1)
        out["ping_ms_after"] = ping_ms(port)
        out["server_alive"] = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps(out, indent=2))


def ping_ms_with_timeout(port: int) -> float:
    """A client while every slot holds a real connection waits in the backlog: report
    how long (it gets in once the idle timeout frees a slot), or -1."""
    return ping_ms(port)


if __name__ == "__main__":
    if not os.path.exists("/proc/self/status"):
        raise SystemExit("bench/soak.py reads /proc: Linux only")
    main()
