"""The bare aiohttp TLS baseline of bench/bench.py: every POST gets the same reply bytes
from memory (fakecmon's own reply, recorded by the benchmark). It prints its port.

    python bench/baseline.py REPLY_FILE CERT KEY
"""

from __future__ import annotations

import asyncio
import ssl
import sys

from aiohttp import web


async def main(reply: bytes, cert: str, key: str) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=reply, content_type="application/json",
                            headers={"Server": "cmon/2.3.1"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"listening on https://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        body = f.read()
    try:
        asyncio.run(main(body, sys.argv[2], sys.argv[3]))
    except KeyboardInterrupt:
        pass
