"""Wiring and lifecycle: one ApiServer = store + API semantics + controllers + aiohttp site.

Runs either on the caller's event loop (`serve()`, used by `python -m cilium_tune.lab.apiserver`) or on
its own loop in a background thread (`start()`/`stop()`, for tests and for code that calls helm or
kubectl as blocking subprocesses while the server answers them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path

from aiohttp import web

from .api import Api
from .app import Routes
from .controllers import Controllers
from .discovery import Registry
from .nodelifecycle import DEFAULT_GRACE, NodeLifecycle
from .services import ServiceAllocator
from .store import Store

DEFAULT_SERVICE_CIDRS = ("198.18.64.0/18",)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class ApiServer:
    """The emulated Kubernetes API server (plain HTTP on loopback, no authentication)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, state_dir: Path | None = None,
                 snapshot: Path | None = None, service_cidrs: list[str] | tuple[str, ...] = DEFAULT_SERVICE_CIDRS,
                 auto_ready: bool = False, node_monitor_grace_period: float = DEFAULT_GRACE) -> None:
        self.host, self.port = host, port
        self.snapshot = snapshot
        self.store = Store()
        self.registry = Registry.builtin()
        self.api = Api(self.store, self.registry, ServiceAllocator(list(service_cidrs)),
                       auto_ready=auto_ready, state_dir=state_dir)
        self.controllers = Controllers(self.api)
        # Without kubelets (auto_ready) nobody heartbeats, so nodes are never marked silent.
        self.node_lifecycle = None if auto_ready else NodeLifecycle(self.api, node_monitor_grace_period)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._state_dir = state_dir
        self._bootstrap()

    def _bootstrap(self) -> None:
        """Load the snapshot if there is one, else create what every cluster has."""
        if self.snapshot is not None and self.snapshot.exists():
            doc = json.loads(self.snapshot.read_text())
            for resource, obj in self.store.load(doc):
                self.api.restore(resource, obj)
            self.controllers.resync()
            return
        ns_rt = self.registry.lookup("", "v1", "namespaces")
        svc_rt = self.registry.lookup("", "v1", "services")
        assert ns_rt is not None and svc_rt is not None
        for ns in SYSTEM_NAMESPACES:
            self.api.create(ns_rt, "", {"metadata": {"name": ns}})
        self.api.create(svc_rt, "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}})

    async def serve(self) -> str:
        """Bind and start serving on the running loop; returns the URL."""
        self._closing = asyncio.Event()
        routes = Routes(self.api, self._closing, self._state_dir)
        self._runner = web.AppRunner(routes.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # aiohttp exposes the bound sockets only here
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.port = port
        self.url = f"http://{self.host}:{port}"
        self._tasks.append(asyncio.get_running_loop().create_task(self.controllers.run()))
        if self.node_lifecycle is not None:
            self._tasks.append(asyncio.get_running_loop().create_task(self.node_lifecycle.run()))
        return self.url

    async def shutdown(self) -> None:
        """Stop watches and controllers, close the listener, write the snapshot."""
        if self._closing is not None:
            self._closing.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.snapshot is not None:
            self.store.dump(self.snapshot)

    # --- background-thread mode -----------------------------------------------------------------------

    def start(self) -> str:
        """Serve from a background thread with its own loop; returns the URL once bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.serve())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.shutdown())
            loop.close()

        self._thread = threading.Thread(target=main, name="lab-apiserver", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.url

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = None
        self._loop = None

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
