"""The ``fakecmon`` command: ``serve`` the RPC v2 API, ``export`` a world, make ``certs``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

from fakecmon import CMON_VERSION, __version__
from fakecmon.certs import CertPaths, check_hostname, ensure_certificates, split_hostnames
from fakecmon.control import is_loopback
from fakecmon.eventstream import QUEUE_LIMIT
from fakecmon.world.logs import AUDIT_LIMIT, LOG_LIMIT
from fakecmon.controller import DEFAULT_WORLD, Config, Controller
from fakecmon.reload import WorldWatcher
from fakecmon.server import CmonServer, server_ssl_context
from fakecmon.persist import StateError, StateKeeper, prepare, write_atomically
from fakecmon.usermgmt import UsermgmtError, UsermgmtFifo
from fakecmon.world.yamlfile import WorldError



def default_certs_dir() -> Path:
    """``FAKECMON_CERTS_DIR`` (the image's volume); ``certs/`` of a source checkout; else
    the user's cache (never site-packages)."""
    if os.environ.get("FAKECMON_CERTS_DIR"):
        return Path(os.environ["FAKECMON_CERTS_DIR"])
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


def cert_hostnames(args: argparse.Namespace) -> list[str]:
    """Extra certificate names: ``--cert-hostname`` and ``FAKECMON_CERT_HOSTNAMES`` (both add).

    ValueError names the one a certificate cannot carry."""
    names = [*(args.cert_hostname or []),
             *split_hostnames(os.environ.get("FAKECMON_CERT_HOSTNAMES", ""))]
    return list(dict.fromkeys(check_hostname(n) for n in names))


def add_cert_hostname(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cert-hostname", action="append", metavar="NAME",
                        help="another name or address the server certificate covers, such "
                             "as the host's name or LAN address (repeatable; also "
                             "FAKECMON_CERT_HOSTNAMES, comma-separated); a certificate that "
                             "lacks one is issued again by the same CA")
BOUNDS_EPILOG = f"""\
everything fakecmon keeps is bounded:
  connections      --max-connections open at once (a silent one is closed to make
                   room; else new ones wait in the backlog); TLS must be done
                   --handshake-timeout seconds after accept; a connection with no
                   request in progress for --idle-timeout seconds is closed (also a
                   request head or body that trickles in)
  request bodies   --max-body-size bytes
  sessions         --max-sessions live logins (then TryAgain), each expiring after
                   --session-timeout idle seconds
  journal          --journal-size requests (a ring)
  jobs             --max-jobs ended jobs with their logs (the oldest ended fall out,
                   as CMON purges old jobs); jobs not ended are always kept
  event streams    --max-subscribers open /v2/subscribe_events streams (then TryAgain);
                   each queues {QUEUE_LIMIT} records at most (a slow reader is cut)
  logs             the controller log keeps {LOG_LIMIT} entries, the audit log
                   {AUDIT_LIMIT} (rings)
  snapshots        --max-snapshots named world snapshots (control API)
"""


def _add_bounds(serve: argparse.ArgumentParser) -> None:
    """The flags of the bounds the epilog lists."""
    serve.add_argument("--max-connections", type=int, default=Config.max_connections,
                       metavar="N", help=f"connections open at once "
                       f"(default {Config.max_connections})")
    serve.add_argument("--handshake-timeout", type=float, default=Config.handshake_timeout,
                       metavar="SECONDS", help="seconds from accept to a finished TLS "
                       f"handshake (default {Config.handshake_timeout:g})")
    serve.add_argument("--idle-timeout", type=float, default=Config.idle_timeout,
                       metavar="SECONDS", help="seconds a connection may be idle between "
                       f"requests (default {Config.idle_timeout:g})")
    serve.add_argument("--max-sessions", type=int, default=Config.max_sessions, metavar="N",
                       help=f"live login sessions (default {Config.max_sessions})")
    serve.add_argument("--max-jobs", type=int, default=Config.max_jobs, metavar="N",
                       help=f"ended jobs kept (default {Config.max_jobs})")
    serve.add_argument("--max-subscribers", type=int, default=Config.max_subscribers,
                       metavar="N", help=f"open event streams (default {Config.max_subscribers})")
    serve.add_argument("--max-snapshots", type=int, default=Config.max_snapshots,
                       metavar="N", help=f"named world snapshots (default {Config.max_snapshots})")


def bounds_config(args: argparse.Namespace) -> dict[str, int | float]:
    """The ``Config`` fields of the bounds flags."""
    return {name: getattr(args, name) for name in (
        "max_connections", "handshake_timeout", "idle_timeout", "max_sessions", "max_jobs",
        "max_subscribers", "max_snapshots")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakecmon", description=__doc__)
    parser.add_argument("--version", action="version",
                        version=f"fakecmon {__version__} (CMON {CMON_VERSION} RPC v2 API)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the CMON RPC v2 API over TLS",
                           epilog=BOUNDS_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--port", type=int, default=9501, help="TLS port (0 picks a free one)")
    serve.add_argument("--bind", action="append", metavar="ADDR",
                       help="address to listen on (repeatable; default RPC_BIND_ADDRESSES or 127.0.0.1)")
    serve.add_argument("--world", action="append", type=Path, metavar="FILE",
                       help="world file (repeatable; later files extend earlier ones)")
    serve.add_argument("--certs-dir", type=Path, default=DEFAULT_CERTS,
                       help=f"where the local CA and server certificate are made and "
                            f"reused (default {DEFAULT_CERTS})")
    add_cert_hostname(serve)
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
    serve.add_argument("--mail-spool", type=Path, metavar="DIR",
                       help="also deliver those mails as the local mail system does: "
                            "appended to the mbox DIR/<local part of the address> "
                            "(e.g. --mail-spool /var/mail)")
    serve.add_argument("--log-file", type=Path, metavar="PATH",
                       help="also append the controller log (what /v2/log lists) to PATH, "
                            "as CMON writes /var/log/cmon.log")
    serve.add_argument("--usermgmt-fifo", type=Path, metavar="PATH",
                       help="read s9s's bootstrap createUser requests from this FIFO (made "
                            "mode 0600 if missing), as CMON reads /var/lib/cmon/usermgmt.fifo")
    serve.add_argument("--journal-size", type=int, default=1000, metavar="N",
                       help="requests kept in the journal of the control API (default 1000)")
    _add_bounds(serve)
    serve.add_argument("--control-token", metavar="TOKEN",
                       default=os.environ.get("FAKECMON_CONTROL_TOKEN") or None,
                       help="token the control API (/_fakecmon/) asks for; needed to reach it "
                            "from other hosts (default FAKECMON_CONTROL_TOKEN; without one, "
                            "loopback clients only)")
    serve.add_argument("--state-dir", type=Path, metavar="DIR",
                       default=os.environ.get("FAKECMON_STATE_DIR") or None,
                       help="keep the world in DIR/world.json across restarts: loaded at "
                            "start if there, saved within a second of every change and at "
                            "exit (default FAKECMON_STATE_DIR)")
    serve.add_argument("--state-reset", action="store_true",
                       help="start over from the --world files, keeping the old state of "
                            "--state-dir as world.json.bad")
    serve.add_argument("--reload", action="store_true",
                       help="watch the world files and swap the world when they change")
    serve.add_argument("--strict", action="store_true",
                       help="log a WARNING for each request that breaks the request contract "
                            "(unknown fields, wrong types, unknown job commands; CMON ignores "
                            "them silently, the reply is the same)")
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

    from fakecmon import contract_cli   # record, diff, import (contract testing)
    contract_cli.add_parsers(sub, DEFAULT_CERTS)
    export = sub.add_parser("export", help="write the world of a running fakecmon as a "
                            "world file (--world loads it back)")
    export.add_argument("--url", default="https://127.0.0.1:9501",
                        help="the server (default https://127.0.0.1:9501)")
    export.add_argument("--format", choices=("yaml", "json"), default="yaml")
    export.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write here (atomically) instead of to standard output")
    export.add_argument("--token", default=os.environ.get("FAKECMON_CONTROL_TOKEN") or None,
                        help="the control API token (default FAKECMON_CONTROL_TOKEN)")
    export.add_argument("--ca", type=Path, metavar="PEM",
                        help="check the server certificate against this CA (default: "
                             "no check, like CMON's own clients)")

    certs = sub.add_parser("certs", help="make (or refresh) the local CA and server certificate")
    certs.add_argument("--certs-dir", type=Path, default=DEFAULT_CERTS)
    certs.add_argument("--bind", action="append", metavar="ADDR", help="extra host or address")
    add_cert_hostname(certs)
    return parser


def make_certificates(args: argparse.Namespace) -> CertPaths | None:
    """The CA and server certificate for the binds and ``--cert-hostname`` names, or None
    after saying on stderr why they cannot be made."""
    try:
        names = cert_hostnames(args)
    except ValueError as exc:
        print(f"fakecmon: --cert-hostname / FAKECMON_CERT_HOSTNAMES: {exc}", file=sys.stderr)
        return None
    try:
        return ensure_certificates(args.certs_dir, [*bind_addresses(args), *names])
    except OSError as exc:
        print(f"fakecmon: cannot make the certificates in {args.certs_dir}: {exc}",
              file=sys.stderr)
        return None


def cmd_certs(args: argparse.Namespace) -> int:
    paths = make_certificates(args)
    if paths is None:
        return 2
    print(f"CA certificate: {paths.ca_cert}")
    print(f"server certificate: {paths.cert}")
    print(f"server key: {paths.key}")
    return 0


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT and SIGTERM set. Installed first: a script that stops the server
    as soon as it has read the start lines must get a clean exit, not death by the
    default SIGTERM action."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    return stop


async def _serve(server: CmonServer, ca_path: Path | None, reload: bool = False,
                 usermgmt_fifo: Path | None = None, keeper: StateKeeper | None = None) -> None:
    stop = stop_on_signals()
    loop = asyncio.get_running_loop()
    fifo = UsermgmtFifo(server.controller, usermgmt_fifo) if usermgmt_fifo else None
    if fifo is not None:
        fifo.start(loop)
    await server.start()
    watcher = asyncio.create_task(WorldWatcher(server.controller).run()) if reload else None
    saver = asyncio.create_task(keeper.run()) if keeper is not None else None
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
        if saver is not None:
            saver.cancel()
        await server.stop()
        if keeper is not None:
            _final_save(keeper)


def _final_save(keeper: StateKeeper) -> None:
    try:
        keeper.save()
    except Exception as exc:  # noqa: BLE001 - say it; the previous state stays whole
        print(f"fakecmon: cannot save the state to {keeper.path}: {exc}", file=sys.stderr)


def open_state(args: argparse.Namespace, controller: Controller) -> StateKeeper:
    """``--state-dir``: the saved world replaces the --world files' one, or is made from it.
    Raises StateError with a sentence for the user."""
    path = prepare(args.state_dir, args.state_reset)
    keeper = StateKeeper(controller, path)
    try:
        loaded = keeper.load()
    except WorldError as exc:
        raise StateError(f"cannot load the saved state: {exc}\n"
                         f"fakecmon: --state-reset starts over from the world files and keeps "
                         f"this state as {path.name}.bad") from None
    try:
        keeper.save(force=not loaded)
    except OSError as exc:
        raise StateError(f"cannot save the state to {path}: {exc.strerror or exc}") from None
    logging.getLogger("fakecmon").info(
        "state %s %s", "loaded from" if loaded else "saved to", path)
    return keeper


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
                    mail_spool=args.mail_spool,
                    password_reset_mail_dir=args.password_reset_mail_dir,
                    log_file=args.log_file, strict=args.strict, **bounds_config(args))
    try:
        controller = Controller(config)
    except WorldError as exc:
        print(f"fakecmon: cannot load the world: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:   # world files are WorldErrors: this is --log-file
        print(f"fakecmon: cannot open the log file: {exc}", file=sys.stderr)
        return 1
    keeper = None
    if args.state_dir is not None:
        try:
            keeper = open_state(args, controller)
        except StateError as exc:
            print(f"fakecmon: {exc}", file=sys.stderr)
            return 1
    elif args.state_reset:
        print("fakecmon: --state-reset needs --state-dir (or FAKECMON_STATE_DIR)", file=sys.stderr)
        return 2
    binds = bind_addresses(args)
    if not args.control_token and not all(is_loopback(b) for b in binds):
        logging.getLogger("fakecmon").warning(
            "the control API (/_fakecmon/) answers loopback clients only; give "
            "--control-token (or FAKECMON_CONTROL_TOKEN) to reach it from other hosts")
    if args.cert is not None:
        cert, key, ca_path = args.cert, args.key, None
    else:
        paths = make_certificates(args)
        if paths is None:
            return 2
        cert, key, ca_path = paths.cert, paths.key, paths.ca_cert
    config.ca_cert = ca_path   # GET /_fakecmon/ca.pem
    server = CmonServer(controller, server_ssl_context(str(cert), str(key)), binds, args.port)
    # What is loaded now (modules, the startup world) lives as long as the server: out of
    # the cyclic collector's sight, its collections walk only what requests make.
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(_serve(server, ca_path, args.reload, args.usermgmt_fifo, keeper))
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


def cmd_export(args: argparse.Namespace) -> int:
    """GET /_fakecmon/world/export of a running server."""
    ctx = ssl.create_default_context(cafile=str(args.ca) if args.ca else None)
    ctx.check_hostname = False
    if args.ca is None:
        ctx.verify_mode = ssl.CERT_NONE  # like CMON's own clients: a local fake's certificate
    url = args.url.rstrip("/")
    url = url[:-3] if url.endswith("/v2") else url
    req = urllib.request.Request(f"{url}/_fakecmon/world/export?format={args.format}")
    if args.token:
        req.add_header("Authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as reply:
            body = reply.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip()
        print(f"fakecmon: cannot export from {url}: HTTP {exc.code} {detail}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"fakecmon: cannot export from {url}: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(body.decode())
        return 0
    try:
        write_atomically(args.output, body)
    except OSError as exc:
        print(f"fakecmon: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "export":
        return cmd_export(args)
    if args.command == "certs":
        return cmd_certs(args)
    if args.command == "world":
        return cmd_world_generate(args)
    if args.command in ("record", "diff", "import", "contract"):
        from fakecmon import contract_cli
        return contract_cli.run(args)
    if args.command == "operations":
        from fakecmon.coverage import report
        print(report(args.contract, args.markdown), end="")
        return 0
    return cmd_serve(args)
