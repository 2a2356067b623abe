"""Make the lab API reachable from inside node and pod namespaces, at `<node IP>:6443`.

The API server listens on the host's loopback, which a network namespace cannot see. On a k3s
cluster the API is at the server node's address, port 6443 (the `lab` profile says 198.18.0.11:6443,
and pods get KUBERNETES_SERVICE_HOST/PORT pointing at their own node). So the kubelet opens a
listening socket *inside* each node namespace (all addresses, both families, port 6443) and relays
every connection to the loopback API. Only lab namespaces and loopback carry this traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Sequence

from cilium_tune.lab import netns

PORT = 6443


def listen_in(ns: str, port: int = PORT) -> socket.socket:
    """A dual-stack listening socket bound inside namespace `ns`."""
    with netns.entered(ns):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()


class ApiRelay:
    """Relays `<node>:6443` in every node namespace to the API's loopback address, in one thread."""

    def __init__(self, namespaces: Sequence[str], api_host: str, api_port: int) -> None:
        self.namespaces = list(namespaces)
        self.api = (api_host, api_port)
        self._loop = asyncio.new_event_loop()
        self._sockets = [listen_in(ns) for ns in self.namespaces]
        self._thread = threading.Thread(target=self._run, name="api-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        for sock in self._sockets:
            self._loop.run_until_complete(asyncio.start_server(self._handle, sock=sock))
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.api)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
