"""``FakeCmon``: the real fakecmon server, started from Python for tests.

    with FakeCmon() as cmon:
        client = cmon.client()
        client.login("system", "secret")

The server runs in a background thread with its own event loop, over TLS on an
ephemeral port, through exactly the code path of ``fakecmon serve``.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fakecmon.certs import CertPaths, ensure_certificates
from fakecmon.client import RpcClient
from fakecmon.clock import Clock
from fakecmon.controller import DEFAULT_WORLD, Config, Controller
from fakecmon.server import CmonServer, server_ssl_context

T = TypeVar("T")


class FakeCmon:
    def __init__(self, world: str | Path | list[str | Path] | None = None, port: int = 0,
                 *, bind: str = "127.0.0.1", certs_dir: str | Path | None = None,
                 controller_id: str | None = None, **config: Any) -> None:
        worlds = [world] if isinstance(world, (str, Path)) else list(world or [DEFAULT_WORLD])
        self.config = Config(world_paths=[Path(w) for w in worlds], controller_id=controller_id,
                             **config)
        self.bind = bind
        self.port = port
        self._certs_dir = Path(certs_dir) if certs_dir else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.certs: CertPaths | None = None
        self.controller: Controller | None = None
        self._server: CmonServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- life cycle

    def start(self) -> "FakeCmon":
        if self._certs_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fakecmon-certs-")
            self._certs_dir = Path(self._tmp.name)
        self.certs = ensure_certificates(self._certs_dir, [self.bind])
        self.controller = Controller(self.config, Clock())
        self._server = CmonServer(self.controller,
                                  server_ssl_context(str(self.certs.cert), str(self.certs.key)),
                                  [self.bind], self.port)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            assert self._loop is not None and self._server is not None
            asyncio.set_event_loop(self._loop)
            try:
                self.port = self._loop.run_until_complete(self._server.start())
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._server.stop())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fakecmon", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop = self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._certs_dir = None

    def __enter__(self) -> "FakeCmon":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what a test needs to reach the server

    @property
    def base_url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"https://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + "/v2"

    @property
    def ca_path(self) -> Path:
        assert self.certs is not None, "start() first"
        return self.certs.ca_cert

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's CA (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    @property
    def controller_id(self) -> str:
        return self.run(lambda c: c.world.controller_id)

    def client(self) -> RpcClient:
        return RpcClient(self.base_url, self.ssl_context())

    # ---- state, changed on the server's own thread

    def run(self, fn: Callable[[Controller], T]) -> T:
        """Run ``fn(controller)`` on the server thread (state is only touched there)."""
        assert self._loop is not None and self.controller is not None, "start() first"
        controller = self.controller

        async def call() -> T:
            return fn(controller)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result()

    def reset(self) -> None:
        """Back to the loaded world: cheap, no restart."""
        self.run(lambda c: c.reset())

    def advance(self, seconds: float) -> float:
        """Move the controller clock forward (jobs progress with it)."""
        return self.run(lambda c: c.clock.advance(seconds))
