"""fakecmon long fuzz: the generated-request, protocol and state-machine suites with
a long budget (CI runs them with a small one).

    python bench/fuzz.py [--requests 100000] [--machines 200] [--steps 40] [--seed 14]

Runs tests/test_fuzz_requests.py with ``FAKECMON_FUZZ_BUDGET=--requests`` (spread
over every operation, every user of the default world and nobody), then the world
state machine with ``--machines`` runs of ``--steps`` steps, and prints one JSON
document with the counts (requests sent, replies by request_status, operations that
answered Ok at least once, invariant checks, machine steps) and the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=ROOT, env=env)
    return proc.returncode, round(time.perf_counter() - started, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--machines", type=int, default=200)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "fuzz.jsonl")
        env = dict(os.environ, FAKECMON_FUZZ_BUDGET=str(args.requests),
                   FAKECMON_FUZZ_SEED=str(args.seed), FAKECMON_FUZZ_REPORT=str(report),
                   FAKECMON_SM_EXAMPLES=str(args.machines), FAKECMON_SM_STEPS=str(args.steps))
        rc1, t1 = run(["-n", str(args.workers), "tests/test_fuzz_requests.py",
                       "tests/test_fuzz_protocol.py", "tests/test_fuzz_auth.py"], env)
        rc2, t2 = run(["tests/test_state_machine.py"], env)
        totals: dict[str, object] = {"requests": 0, "operations": 0, "ok_operations": 0,
                                     "invariant_checks": 0, "statuses": {}}
        for line in report.read_text().splitlines() if report.exists() else []:
            part = json.loads(line)
            if "machine_steps" in part:
                totals.update({k: v for k, v in part.items() if k.startswith("machine")})
                totals["invariant_checks"] += part.get("invariant_checks", 0)  # type: ignore[operator]
                continue
            for key in ("requests", "operations", "ok_operations", "invariant_checks"):
                totals[key] += part.get(key, 0)  # type: ignore[operator]
            statuses = totals["statuses"]
            assert isinstance(statuses, dict)
            for name, n in part.get("statuses", {}).items():
                statuses[name] = statuses.get(name, 0) + n
    print(json.dumps({"seed": args.seed, "budget": args.requests, **totals,
                      "fuzz_seconds": t1, "machine_seconds": t2,
                      "passed": rc1 == 0 and rc2 == 0}, indent=2))
    sys.exit(0 if rc1 == 0 and rc2 == 0 else 1)


if __name__ == "__main__":
    main()
