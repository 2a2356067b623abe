"""The per-node proxy on loopback: routing by Host, TLS by SNI, and the reset without SNI."""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cilium_tune.lab.agent.model import Backend, Service, ServicePort
from cilium_tune.lab.agent.run import Log
from cilium_tune.lab.gateway import model, tls
from cilium_tune.lab.gateway.proxy import Config, ListenerServer, Proxy, _context

HOST = "app.lab.test"


class Backend200(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"backend saw {self.headers['Host']} {self.path}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend200)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def ca() -> tls.Pem:
    return tls.new_ca()


def start(proxy: Proxy, is_tls: bool) -> ListenerServer:
    server = ListenerServer(0, is_tls, proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy.servers[server.server_address[1]] = server
    return server


@pytest.fixture
def proxy(backend: int, ca: tls.Pem, tmp_path: Path) -> Iterator[tuple[Proxy, int, int, Path]]:
    # No API: the configuration, Services included, is set below.
    p = Proxy(client=None, log=Log(io.StringIO()), services=tuple)  # type: ignore[arg-type]
    http_server, https_server = start(p, False), start(p, True)
    http_port, https_port = http_server.server_address[1], https_server.server_address[1]
    leaf = tls.issue(ca, HOST)
    route = model.RouteRule("web/app", (("infra/gw", None, None),), (HOST,), "PathPrefix", "/",
                            (model.BackendRef("web", "web", 80),))
    p.config = Config(
        listeners={http_port: [model.Listener("infra/gw", "http", http_port, "HTTP", None, ())],
                   https_port: [model.Listener("infra/gw", "https", https_port, "HTTPS", HOST, ())]},
        rules=[route],
        services={("web", "web"): Service("web", "web", ("198.18.64.10",),
                                          (ServicePort("http", "TCP", 80, (Backend("127.0.0.1", backend),)),))},
        tls={HOST: _context(leaf.cert, leaf.key)},
    )
    ca_path = tmp_path / "ca.pem"
    ca_path.write_text(ca.cert)
    yield p, http_port, https_port, ca_path
    p.stop()


def test_http_is_routed_by_host_header(proxy: tuple[Proxy, int, int, Path]) -> None:
    _, port, _, _ = proxy
    conn = http.client.HTTPConnection("::1", port, timeout=5)
    conn.request("GET", "/status", headers={"Host": HOST})
    reply = conn.getresponse()
    assert (reply.status, reply.read()) == (200, b"backend saw app.lab.test /status")
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/", headers={"Host": "other.test"})
    assert conn.getresponse().status == 404
    conn.close()


def test_https_with_sni_is_terminated_with_the_lab_certificate(proxy: tuple[Proxy, int, int, Path]) -> None:
    _, _, port, ca_path = proxy
    context = ssl.create_default_context(cafile=str(ca_path))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=HOST) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"backend saw app.lab.test /")


@pytest.mark.parametrize("name", [None, "unknown.test"])
def test_https_without_a_served_sni_is_reset(proxy: tuple[Proxy, int, int, Path], name: str | None) -> None:
    _, _, port, _ = proxy
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, pytest.raises(ConnectionResetError):
        context.wrap_socket(raw, server_hostname=name)
