"""The per-node proxy (the cilium-envoy DaemonSet's pod): Gateway listeners on the node's addresses.

In host-network mode every node binds each listener port on all of its addresses, both families, and
routes requests by Host header and path to the HTTPRoute's Service backends (straight to the Ready
endpoints, as Envoy does, not through the ClusterIP). HTTPS listeners terminate TLS with the
certificate of the listener matching the ClientHello's SNI; a handshake without SNI, or for a name no
listener serves, is reset (TCP RST) before any TLS is spoken, as Envoy does when no filter chain
matches. The Gateway API objects are re-read every second, the Services come from watched copies
(`WatchedServices`); changes apply without dropping unchanged listeners.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import signal
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lightkube import Client

from cilium_tune.lab.agent.cluster import WatchedServices, config_flag, connect, kube_config, namespace_from_env
from cilium_tune.lab.agent.model import Backend, Service
from cilium_tune.lab.agent.run import Health, Log, serve_health
from cilium_tune.lab.gateway import api, model
from cilium_tune.lab.gateway.sni import NotClientHello, server_name

RESYNC_SECONDS = 1.0
HEALTH_ADDRESS = ("127.0.0.1", 9878)
"""cilium-envoy's health port, where the Cilium chart's probes ask /healthz."""
_PEEK_BYTES = 16384
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade"}


@dataclass
class Config:
    """One consistent view: listeners per port, route rules, Services, TLS contexts per host name."""

    listeners: dict[int, list[model.Listener]] = field(default_factory=dict)
    rules: list[model.RouteRule] = field(default_factory=list)
    services: dict[tuple[str, str], Service] = field(default_factory=dict)
    tls: dict[str, ssl.SSLContext] = field(default_factory=dict)  # hostname -> context

    def listener_for(self, port: int, host: str) -> model.Listener | None:
        host = host.split(":", 1)[0].lower()
        for li in self.listeners.get(port, []):
            if li.hostname is None or li.hostname.lower() == host or (
                    li.hostname.startswith("*.") and host.endswith(li.hostname[1:].lower())):
                return li
        return None

    def backends(self, ref: model.BackendRef) -> list[Backend]:
        svc = self.services.get((ref.namespace, ref.service))
        if svc is None:
            return []
        return [b for p in svc.ports if p.port == ref.port for b in p.backends]


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN (SO_LINGER with a zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class ListenerServer(ThreadingHTTPServer):
    """One port on all addresses of the node, both families."""

    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, tls: bool, proxy: Proxy) -> None:
        self.tls = tls
        self.proxy = proxy
        super().__init__(("::", port), Handler)
        self.port: int = self.server_address[1]

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def get_request(self) -> tuple[Any, Any]:
        sock, peer = self.socket.accept()
        if not self.tls:
            return sock, peer
        name = self._peek_sni(sock)
        context = self.proxy.config.tls.get(name) if name else None
        if context is None:
            _reset(sock)
            raise OSError(f"TLS connection without a served SNI ({name!r}) reset")
        sock.settimeout(10)
        return context.wrap_socket(sock, server_side=True), (*peer[:2], name)

    @staticmethod
    def _peek_sni(sock: socket.socket) -> str | None:
        sock.settimeout(5)
        for _ in range(20):
            try:
                data = sock.recv(_PEEK_BYTES, socket.MSG_PEEK)
            except OSError:
                return None
            if not data:
                return None
            try:
                return server_name(data)
            except NotClientHello:
                return None
            except (IndexError, struct.error):
                if len(data) >= _PEEK_BYTES:
                    return None
                threading.Event().wait(0.05)
        return None


class Handler(BaseHTTPRequestHandler):
    server: ListenerServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _respond(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("content-length", str(len(body)))
        self.send_header("content-type", "text/plain")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _proxy(self) -> None:
        config = self.server.proxy.config
        host = self.headers.get("Host", "")
        listener = config.listener_for(self.server.port, host)
        rule = model.route_for(config.rules, listener, host, self.path) if listener else None
        if rule is None:
            self._respond(404, b"")
            return
        backends = [b for ref in rule.backends for b in config.backends(ref)]
        if not backends:
            self._respond(503, b"no healthy upstream")
            return
        backend = random.choice(backends)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["x-forwarded-proto"] = "https" if self.server.tls else "http"
        try:
            upstream = http.client.HTTPConnection(backend.ip, backend.port, timeout=10)
            upstream.request(self.command, self.path, body=body, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
        except OSError:
            self._respond(503, b"upstream connect error or disconnect/reset before headers")
            return
        self.send_response(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy


class Proxy:
    def __init__(self, client: Client, log: Log, services: Callable[[], Sequence[Service]]) -> None:
        self.client = client
        self.log = log
        self.services = services
        self.config = Config()
        self.servers: dict[int, ListenerServer] = {}
        self._tls_material: dict[str, tuple[str, str]] = {}

    def refresh(self) -> None:
        classes = model.cilium_classes(api.list_dicts(self.client, api.GatewayClass))
        listeners = model.listeners(api.list_dicts(self.client, api.Gateway), classes)
        config = Config(rules=model.http_rules(api.list_dicts(self.client, api.HTTPRoute)),
                        services={(s.namespace, s.name): s for s in self.services()})
        for li in listeners:
            config.listeners.setdefault(li.port, []).append(li)
        config.tls = self._tls_contexts(listeners)
        self.config = config
        self._reconcile_servers()

    def _tls_contexts(self, listeners: Sequence[model.Listener]) -> dict[str, ssl.SSLContext]:
        contexts = {}
        material = {}
        for li in listeners:
            if li.protocol != "HTTPS" or not li.hostname:
                continue
            for namespace, name in li.certificate_refs:
                pair = api.read_tls_secret(self.client, namespace, name)
                if pair is None:
                    continue
                material[li.hostname.lower()] = pair
                old = self.config.tls.get(li.hostname.lower())
                if old is not None and self._tls_material.get(li.hostname.lower()) == pair:
                    contexts[li.hostname.lower()] = old
                else:
                    contexts[li.hostname.lower()] = _context(*pair)
                break
        self._tls_material = material
        return contexts

    def _reconcile_servers(self) -> None:
        wanted = {port: any(li.protocol == "HTTPS" for li in items) for port, items in self.config.listeners.items()}
        for port in list(self.servers):
            if port not in wanted or self.servers[port].tls != wanted[port]:
                self.servers.pop(port).shutdown()
                self.log("info", "Listener removed", port=port)
        for port, is_tls in wanted.items():
            if port in self.servers:
                continue
            try:
                server = ListenerServer(port, is_tls, self)
            except OSError as exc:
                self.log("error", "Cannot bind listener", port=port, error=str(exc))
                continue
            threading.Thread(target=server.serve_forever, name=f"listener-{port}", daemon=True).start()
            self.servers[port] = server
            self.log("info", "Listener up", port=port, protocol="HTTPS" if is_tls else "HTTP", address="[::]")

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        self.servers.clear()


def _context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        with open(cert_path, "w") as f:
            f.write(cert)
        with open(key_path, "w") as f:
            f.write(key)
        context.load_cert_chain(cert_path, key_path)
    return context


def main() -> int:
    log = Log()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    node = os.environ.get("NODE_NAME") or os.environ.get("K8S_NODE_NAME", "")
    client = connect(os.environ)
    health = Health(ready=True)
    server = serve_health(health, HEALTH_ADDRESS)
    try:
        host_network = _retry(lambda: config_flag(client, namespace_from_env(), "GATEWAY_HOST_NETWORK",
                                                  "gateway-api-hostnetwork-enabled"), stop)
        if not host_network:
            log("warning", "gatewayAPI.hostNetwork is off: listeners would sit behind LoadBalancer Services, "
                           "which the lab does not provide; this proxy serves nothing", node=node)
            stop.wait()
            return 0
        log("info", "Starting cilium-tune lab gateway proxy (host network)", node=node)
        services = WatchedServices(kube_config(os.environ), log)
        try:
            return _serve(Proxy(client, log, services), stop) if services.start(stop) else 0
        finally:
            services.stop()
    finally:
        if server is not None:
            server.shutdown()


def _serve(proxy: Proxy, stop: threading.Event) -> int:
    """Serve the Gateway API configuration, read again every RESYNC_SECONDS, until `stop`."""
    try:
        while True:
            try:
                proxy.refresh()
            except Exception as exc:  # the API can blip; keep serving the last configuration
                proxy.log("error", "Gateway configuration refresh failed", error=str(exc))
            if stop.wait(RESYNC_SECONDS):
                return 0
    finally:
        proxy.stop()


def _retry(read: Callable[[], bool], stop: threading.Event) -> bool:
    """Read a setting, retrying while the API is not reachable yet."""
    while True:
        try:
            return read()
        except Exception:
            if stop.wait(0.5):
                return False
