"""The contract-testing commands of ``fakecmon``: ``record``, ``diff``, ``import``, ``contract``.

Each bad input (an unreachable controller, a TLS error, a wrong password, a
directory that cannot be written, a corrupt pair file) is one line on stderr
naming the cause, and exit code 1; files are written under a temporary name and
renamed when whole, so nothing is ever half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parsers(sub: Any, default_certs: Path) -> None:
    rec = sub.add_parser("record", help="serve like 'serve' but forward every request to a real "
                         "controller and record each request/reply pair")
    rec.add_argument("--upstream", required=True, metavar="URL",
                     help="the controller to forward to, e.g. https://cmon.example:9501")
    trust = rec.add_mutually_exclusive_group()
    trust.add_argument("--upstream-ca", type=Path, metavar="FILE",
                       help="CA certificate (PEM) the upstream's certificate must chain to")
    trust.add_argument("--insecure", action="store_true",
                       help="do not check the upstream's certificate")
    rec.add_argument("--out", required=True, type=Path, metavar="DIR",
                     help="where NNNN-<operation>-req.json / -rep.json pairs go")
    rec.add_argument("--port", type=int, default=9501, help="TLS port (0 picks a free one)")
    rec.add_argument("--bind", action="append", metavar="ADDR",
                     help="address to listen on (repeatable; default 127.0.0.1)")
    rec.add_argument("--certs-dir", type=Path, default=default_certs,
                     help=f"the local CA and server certificate (default {default_certs})")

    diff = sub.add_parser("diff", help="replay recorded pairs against fakecmon and report "
                          "status, error_string and reply shape differences (exit 3 if any)")
    diff.add_argument("dir", type=Path, metavar="DIR", help="a recording (fakecmon record --out)")
    diff.add_argument("--world", action="append", type=Path, metavar="FILE",
                      help="world file(s) fakecmon serves to the replay (default: its default world)")
    diff.add_argument("--json", action="store_true", help="print the report as JSON")

    imp = sub.add_parser("import", help="read a live controller and write a world file of it")
    imp.add_argument("--from", dest="source", required=True, metavar="URL",
                     help="the controller, e.g. https://cmon.example:9501")
    imp.add_argument("--user", required=True, help="user to log in as (a superuser sees all)")
    imp.add_argument("--password", required=True)
    itrust = imp.add_mutually_exclusive_group()
    itrust.add_argument("--ca", type=Path, metavar="FILE",
                        help="CA certificate (PEM) the controller's certificate must chain to")
    itrust.add_argument("--insecure", action="store_true",
                        help="do not check the controller's certificate")
    imp.add_argument("--days", type=float, default=7.0,
                     help="jobs of the last N days (default 7)")
    imp.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                     help="the world file to write")

    con = sub.add_parser("contract", help="print the request contract of every operation "
                         "(the fields each one reads) and the job commands, as JSON")
    con.add_argument("--operation", help="only this operation (name, any case)")


def fail(command: str, message: str) -> int:
    print(f"fakecmon {command}: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    if args.command == "diff":
        return cmd_diff(args)
    if args.command == "record":
        from fakecmon.recorder import cmd_record
        return cmd_record(args)
    if args.command == "import":
        from fakecmon.importer import cmd_import
        return cmd_import(args)
    return cmd_contract(args)


def cmd_diff(args: argparse.Namespace) -> int:
    from fakecmon import drift
    from fakecmon.world.yamlfile import WorldError
    try:
        pairs = drift.load_pairs(args.dir)
    except drift.PairError as exc:
        return fail("diff", str(exc))
    for world in args.world or []:
        if not world.is_file():
            return fail("diff", f"{world}: no such world file")
    try:
        results = drift.replay(pairs, args.world)
    except WorldError as exc:
        return fail("diff", f"cannot load the world: {exc}")
    if args.json:
        print(json.dumps({"pairs": [r.to_json() for r in results],
                          "differ": sum(1 for r in results if r.differences)}, indent=1))
    else:
        sys.stdout.write(drift.report_text(results))
    return drift.exit_code(results)


def cmd_contract(args: argparse.Namespace) -> int:
    from fakecmon.contract import common_fields, job_commands, request_contracts
    ops = [c.to_json() for c in request_contracts().values()
           if args.operation is None or c.name.lower() == args.operation.lower()]
    if not ops:
        return fail("contract", f"no operation '{args.operation}'")
    doc = {"common_fields": [f.to_json() for f in common_fields()],
           "operations": sorted(ops, key=lambda o: (o["path"], o["operation"].lower()))}
    if args.operation is None:
        doc["job_commands"] = [j.to_json() for j in job_commands().values()]
    print(json.dumps(doc, indent=1))
    return 0
