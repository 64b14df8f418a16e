"""The ``fakecmon`` command: ``serve`` the RPC v2 API, make ``certs``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from fakecmon.certs import ensure_certificates
from fakecmon.control import is_loopback
from fakecmon.controller import DEFAULT_WORLD, Config, Controller
from fakecmon.reload import WorldWatcher
from fakecmon.server import CmonServer, server_ssl_context
from fakecmon.usermgmt import UsermgmtError, UsermgmtFifo
from fakecmon.world.yamlfile import WorldError



def default_certs_dir() -> Path:
    """``certs/`` of a source checkout; else the user's cache (never site-packages)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "certs"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "fakecmon" / "certs"


DEFAULT_CERTS = default_certs_dir()


def bind_addresses(args: argparse.Namespace) -> list[str]:
    """``--bind`` wins; else ``RPC_BIND_ADDRESSES`` (as in /etc/default/cmon); else loopback."""
    if args.bind:
        return args.bind
    env = os.environ.get("RPC_BIND_ADDRESSES", "")
    binds = [a.strip() for a in env.split(",") if a.strip()]
    return binds or ["127.0.0.1"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakecmon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the CMON RPC v2 API over TLS")
    serve.add_argument("--port", type=int, default=9501, help="TLS port (0 picks a free one)")
    serve.add_argument("--bind", action="append", metavar="ADDR",
                       help="address to listen on (repeatable; default RPC_BIND_ADDRESSES or 127.0.0.1)")
    serve.add_argument("--world", action="append", type=Path, metavar="FILE",
                       help="world file (repeatable; later files extend earlier ones)")
    serve.add_argument("--certs-dir", type=Path, default=DEFAULT_CERTS,
                       help=f"where the local CA and server certificate are made and "
                            f"reused (default {DEFAULT_CERTS})")
    serve.add_argument("--cert", type=Path, help="your own server certificate (PEM)")
    serve.add_argument("--key", type=Path, help="the key of --cert (PEM)")
    serve.add_argument("--controller-id", help="controller_id to report (default: stable per world)")
    serve.add_argument("--auth-required-status", type=int, choices=(200, 401), default=401,
                       help="HTTP status of AuthRequired replies (default 401)")
    serve.add_argument("--session-timeout", type=float, default=Config.session_idle_timeout,
                       help="idle seconds before a session expires (default 1800)")
    serve.add_argument("--max-body-size", type=int, default=Config.max_body_size,
                       help="largest request body in bytes (default 8 MiB: 8388608)")
    serve.add_argument("--password-reset-mail-dir", type=Path, metavar="DIR",
                       help="write passwordReset mails (with the token) to "
                            "DIR/<email>/email_NNNN.json, as CMON spools them")
    serve.add_argument("--log-file", type=Path, metavar="PATH",
                       help="also append the controller log (what /v2/log lists) to PATH, "
                            "as CMON writes /var/log/cmon.log")
    serve.add_argument("--usermgmt-fifo", type=Path, metavar="PATH",
                       help="read s9s's bootstrap createUser requests from this FIFO (made "
                            "mode 0600 if missing), as CMON reads /var/lib/cmon/usermgmt.fifo")
    serve.add_argument("--journal-size", type=int, default=1000, metavar="N",
                       help="requests kept in the journal of the control API (default 1000)")
    serve.add_argument("--control-token", metavar="TOKEN",
                       default=os.environ.get("FAKECMON_CONTROL_TOKEN") or None,
                       help="token the control API (/_fakecmon/) asks for; needed to reach it "
                            "from other hosts (default FAKECMON_CONTROL_TOKEN; without one, "
                            "loopback clients only)")
    serve.add_argument("--reload", action="store_true",
                       help="watch the world files and swap the world when they change")
    serve.add_argument("--quiet", action="store_true", help="log warnings only")
    serve.add_argument("--verbose", action="store_true",
                       help="log debug details (request bodies, secrets masked)")

    ops = sub.add_parser("operations", help="list the operations fakecmon answers, and "
                         "those of the client contract it does not answer yet")
    ops.add_argument("--contract", type=Path, metavar="TSV",
                     help="operations.tsv to compare with (default ../shared/contract/operations.tsv)")
    ops.add_argument("--markdown", action="store_true", help="print the README table")

    world = sub.add_parser("world", help="world files: generate a production-sized one")
    wsub = world.add_subparsers(dest="world_command", required=True)
    gen = wsub.add_parser("generate", help="write a seeded world file (clusters, hosts, jobs, "
                          "users, backups, alarms) that fakecmon serve --world loads")
    for name, default in (("clusters", 1000), ("hosts", 3), ("jobs", 100_000), ("users", 2000),
                          ("backups", 2000), ("alarms", 500), ("seed", 1)):
        gen.add_argument(f"--{name}", type=int, default=default,
                         help=f"{'hosts per cluster' if name == 'hosts' else name} "
                              f"(default {default})")
    gen.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")

    certs = sub.add_parser("certs", help="make (or refresh) the local CA and server certificate")
    certs.add_argument("--certs-dir", type=Path, default=DEFAULT_CERTS)
    certs.add_argument("--bind", action="append", metavar="ADDR", help="extra host or address")
    return parser


def cmd_certs(args: argparse.Namespace) -> int:
    paths = ensure_certificates(args.certs_dir, bind_addresses(args))
    print(f"CA certificate: {paths.ca_cert}")
    print(f"server certificate: {paths.cert}")
    print(f"server key: {paths.key}")
    return 0


async def _serve(server: CmonServer, ca_path: Path | None, reload: bool = False,
                 usermgmt_fifo: Path | None = None) -> None:
    # Signal handlers first: a script that stops the server as soon as it has read the
    # start lines must get a clean exit, not death by the default SIGTERM action.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    fifo = UsermgmtFifo(server.controller, usermgmt_fifo) if usermgmt_fifo else None
    if fifo is not None:
        fifo.start(loop)
    await server.start()
    watcher = asyncio.create_task(WorldWatcher(server.controller).run()) if reload else None
    for url in server.urls:
        print(f"listening on {url}", flush=True)
    if ca_path is not None:
        print(f"CA certificate: {ca_path}", flush=True)
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        if fifo is not None:
            fifo.stop()
        await server.stop()


def cmd_serve(args: argparse.Namespace) -> int:
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s")
    if not args.verbose:
        logging.getLogger("asyncio").setLevel(logging.WARNING)
    if (args.cert is None) != (args.key is None):
        print("fakecmon: --cert and --key go together", file=sys.stderr)
        return 2
    config = Config(world_paths=args.world or [DEFAULT_WORLD], controller_id=args.controller_id,
                    auth_required_http_status=args.auth_required_status,
                    max_body_size=args.max_body_size, session_idle_timeout=args.session_timeout,
                    journal_size=args.journal_size, control_token=args.control_token,
                    password_reset_mail_dir=args.password_reset_mail_dir,
                    log_file=args.log_file)
    try:
        controller = Controller(config)
    except WorldError as exc:
        print(f"fakecmon: cannot load the world: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:   # world files are WorldErrors: this is --log-file
        print(f"fakecmon: cannot open the log file: {exc}", file=sys.stderr)
        return 1
    binds = bind_addresses(args)
    if not args.control_token and not all(is_loopback(b) for b in binds):
        logging.getLogger("fakecmon").warning(
            "the control API (/_fakecmon/) answers loopback clients only; give "
            "--control-token (or FAKECMON_CONTROL_TOKEN) to reach it from other hosts")
    if args.cert is not None:
        cert, key, ca_path = args.cert, args.key, None
    else:
        paths = ensure_certificates(args.certs_dir, binds)
        cert, key, ca_path = paths.cert, paths.key, paths.ca_cert
    server = CmonServer(controller, server_ssl_context(str(cert), str(key)), binds, args.port)
    # What is loaded now (modules, the startup world) lives as long as the server: out of
    # the cyclic collector's sight, its collections walk only what requests make.
    gc.freeze()
    try:
        asyncio.run(_serve(server, ca_path, args.reload, args.usermgmt_fifo))
    except UsermgmtError as exc:
        print(f"fakecmon: cannot read the user management FIFO: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"fakecmon: cannot listen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if controller.log_file is not None:
            controller.log_file.close()
    return 0


def cmd_world_generate(args: argparse.Namespace) -> int:
    from fakecmon.world.generate import Shape, write
    numbers = {k: getattr(args, k) for k in ("clusters", "hosts", "jobs", "users", "backups",
                                             "alarms", "seed")}
    bad = [k for k, v in numbers.items() if v < 0 or (k == "users" and v < 4)]
    if bad:
        print(f"fakecmon: --{bad[0]} must be {'at least 4' if bad[0] == 'users' else 'positive'}",
              file=sys.stderr)
        return 2
    try:
        size = write(Shape(**numbers), args.output)
    except OSError as exc:
        print(f"fakecmon: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{args.output}: {size:,} bytes")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "certs":
        return cmd_certs(args)
    if args.command == "world":
        return cmd_world_generate(args)
    if args.command == "operations":
        from fakecmon.coverage import report
        print(report(args.contract, args.markdown), end="")
        return 0
    return cmd_serve(args)
