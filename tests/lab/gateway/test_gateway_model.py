"""The gateway's pure parts: SNI from a real ClientHello, listeners and routing, statuses, lab certificates."""

from __future__ import annotations

import ssl

import pytest
from cryptography import x509

from cilium_tune.lab.gateway import model, tls
from cilium_tune.lab.gateway.crds import gateway_api_crds
from cilium_tune.lab.gateway.sni import NotClientHello, server_name

GATEWAY = {
    "metadata": {"name": "gw", "namespace": "infra", "generation": 2},
    "spec": {"gatewayClassName": "cilium", "listeners": [
        {"name": "http", "port": 80, "protocol": "HTTP"},
        {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "app.lab.test",
         "tls": {"certificateRefs": [{"name": "app-tls"}]}},
        {"name": "tcp", "port": 5000, "protocol": "TCP"},
    ]},
}
ROUTE = {
    "metadata": {"name": "app", "namespace": "web", "generation": 1},
    "spec": {"parentRefs": [{"name": "gw", "namespace": "infra"}], "hostnames": ["app.lab.test"],
             "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                        "backendRefs": [{"name": "api", "port": 8080}]},
                       {"backendRefs": [{"name": "web", "port": 80}]}]},
}


def client_hello(hostname: str | None) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = hostname is not None
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = context.wrap_bio(incoming, outgoing, server_hostname=hostname)
    with pytest.raises(ssl.SSLWantReadError):
        conn.do_handshake()
    return outgoing.read()


def test_sni_is_read_from_a_real_client_hello() -> None:
    assert server_name(client_hello("App.Lab.Test")) == "app.lab.test"
    assert server_name(client_hello(None)) is None


def test_plain_http_is_not_a_client_hello() -> None:
    with pytest.raises(NotClientHello):
        server_name(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def test_listeners_of_cilium_gateways_only() -> None:
    classes = model.cilium_classes([
        {"metadata": {"name": "cilium"}, "spec": {"controllerName": "io.cilium/gateway-controller"}},
        {"metadata": {"name": "other"}, "spec": {"controllerName": "example.com/gw"}},
    ])
    assert classes == {"cilium"}
    items = model.listeners([GATEWAY], classes)
    assert [(li.name, li.port, li.protocol) for li in items] == [("http", 80, "HTTP"), ("https", 443, "HTTPS")]
    assert items[1].certificate_refs == (("infra", "app-tls"),)
    assert model.listeners([GATEWAY], {"other"}) == []


def test_routing_by_host_and_longest_path() -> None:
    http, https = model.listeners([GATEWAY], {"cilium"})
    rules = model.http_rules([ROUTE])
    api = model.route_for(rules, https, "app.lab.test:443", "/api/v1?x=1")
    assert api is not None and api.backends[0].service == "api"
    root = model.route_for(rules, http, "APP.lab.test", "/apiary")
    assert root is not None and root.backends[0].service == "web"
    assert model.route_for(rules, http, "other.test", "/") is None
    assert model.route_for(rules, https, "other.test", "/") is None  # listener hostname


def test_host_network_gateway_is_accepted_but_not_programmed() -> None:
    status = model.gateway_status(GATEWAY, model.http_rules([ROUTE]), True, "2026-01-01T00:00:00Z")
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Accepted"]["status"] == "True"
    assert conds["Programmed"]["status"] == "False" and conds["Programmed"]["reason"] == "AddressNotAssigned"
    assert [(li["name"], li["attachedRoutes"]) for li in status["listeners"]] == [("http", 1), ("https", 1)]


def test_route_status_names_a_missing_backend() -> None:
    status = model.route_status(ROUTE, {("web", "web")}, "2026-01-01T00:00:00Z")
    (parent,) = status["parents"]
    resolved = next(c for c in parent["conditions"] if c["type"] == "ResolvedRefs")
    assert resolved["status"] == "False" and resolved["message"] == "Service web/api not found"


def test_lab_ca_issues_certificates_for_the_hostname() -> None:
    ca = tls.new_ca()
    leaf = tls.issue(ca, "app.lab.test")
    cert = x509.load_pem_x509_certificate(leaf.cert.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["app.lab.test"]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.cert.encode()))


def test_standard_crds_leave_tlsroute_to_the_experimental_channel() -> None:
    standard = {c["spec"]["names"]["kind"] for c in gateway_api_crds()}
    assert standard == {"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant"}
    (tlsroute,) = [c for c in gateway_api_crds(experimental=True) if c["spec"]["names"]["kind"] == "TLSRoute"]
    assert [v["name"] for v in tlsroute["spec"]["versions"]] == ["v1alpha2"]
