"""``python -m fakecmon.healthcheck``: exit 0 when the local fakecmon answers, else 1.

The image's HEALTHCHECK (and a compose file's or a CI service's): the image has no
curl, so the standard library asks ``GET /_fakecmon/health`` on the loopback address
over TLS. It sends ``FAKECMON_CONTROL_TOKEN`` when the container has one (the control
API asks for it then). The certificate is not verified: this is the server's own
machine asking whether it is up, not a client trusting it.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request


def check(host: str, port: int, timeout: float) -> str | None:
    """None when the server reports ``status: ok``; else a sentence saying what failed."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = f"https://{'[' + host + ']' if ':' in host else host}:{port}/_fakecmon/health"
    request = urllib.request.Request(url)
    token = os.environ.get("FAKECMON_CONTROL_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ctx) as resp:
            status = json.loads(resp.read()).get("status")
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"
    return None if status == "ok" else f"{url}: status {status!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakecmon.healthcheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to ask (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9501, help="TLS port (default 9501)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    problem = check(args.host, args.port, args.timeout)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
