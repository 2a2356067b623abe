"""Misbehaving Kubernetes API servers on 127.0.0.1, started by the test that needs them."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EMPTY_LIST = {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}


def _handler(mode: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads the CLI's output, not the server's."""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/version":
                if mode == "html-version":
                    return self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
                if mode == "list-version":
                    return self._json(200, ["v1.33.0"])
                return self._json(200, {"gitVersion": "v1.33.5+k3s1"})
            if mode == "malformed-items" and path == "/api/v1/nodes":
                return self._json(200, {"kind": "NodeList", "items": [1, "node-a", {"metadata": "x"}]})
            if mode == "items-not-list" and path == "/api/v1/nodes":
                return self._json(200, {"kind": "NodeList", "items": {"a": 1}})
            if path.count("/") in (5, 7) and "configmaps/" in path:
                return self._json(404, {"kind": "Status", "message": "configmaps not found", "code": 404})
            return self._json(200, EMPTY_LIST)

        def _json(self, code: int, body: object) -> None:
            self._send(code, json.dumps(body).encode(), "application/json")

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def api_server(mode: str) -> Iterator[str]:
    """An HTTP 'API server' behaving as `mode` says; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (a wedged apiserver or a black-holing proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def kubeconfig(server: str, *, token: str, exec_command: str | None = None) -> str:
    """A kubeconfig for `server` whose user holds `token` (or runs an exec plugin)."""
    user: dict[str, object] = {"token": token}
    if exec_command is not None:
        user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": exec_command}}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "hostile", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "hostile",
        }
    )
