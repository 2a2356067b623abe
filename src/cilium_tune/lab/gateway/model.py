"""Gateway API objects -> listeners, HTTP routing and statuses. Pure (plain dicts in, data out).

Only what the lab serves: Gateways of a GatewayClass whose controller is Cilium's, HTTP and HTTPS
listeners (TLS terminated at the listener with its certificateRefs), HTTPRoutes with hostnames,
PathPrefix / Exact matches and Service backendRefs. Statuses are shaped as Cilium 1.19.0-rc.1 reports
them in host-network mode: Accepted, but Programmed=False with AddressNotAssigned (cilium #42786).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CONTROLLER = "io.cilium/gateway-controller"
NOT_PROGRAMMED_MESSAGE = "No addresses have been assigned to the Gateway"


@dataclass(frozen=True)
class Listener:
    gateway: str  # namespace/name
    name: str
    port: int
    protocol: str  # HTTP | HTTPS
    hostname: str | None
    certificate_refs: tuple[tuple[str, str], ...]  # (namespace, secret name)


@dataclass(frozen=True)
class BackendRef:
    namespace: str
    service: str
    port: int


@dataclass(frozen=True)
class RouteRule:
    route: str  # namespace/name
    parents: tuple[tuple[str, str | None, int | None], ...]  # (gateway ns/name, sectionName, port)
    hostnames: tuple[str, ...]
    path_type: str  # PathPrefix | Exact
    path: str
    backends: tuple[BackendRef, ...]


def _meta(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", "default"), meta.get("name", "")


def cilium_classes(classes: Iterable[dict[str, Any]]) -> set[str]:
    return {c["metadata"]["name"] for c in classes if c.get("spec", {}).get("controllerName") == CONTROLLER}


def listeners(gateways: Iterable[dict[str, Any]], classes: set[str]) -> list[Listener]:
    result = []
    for gw in gateways:
        if gw.get("spec", {}).get("gatewayClassName") not in classes:
            continue
        ns, name = _meta(gw)
        for item in gw.get("spec", {}).get("listeners") or []:
            protocol = item.get("protocol", "HTTP")
            if protocol not in ("HTTP", "HTTPS"):
                continue
            refs = tuple((r.get("namespace", ns), r["name"])
                         for r in (item.get("tls") or {}).get("certificateRefs") or [] if r.get("name"))
            result.append(Listener(f"{ns}/{name}", item["name"], int(item["port"]), protocol,
                                   item.get("hostname"), refs))
    return result


def http_rules(routes: Iterable[dict[str, Any]]) -> list[RouteRule]:
    result = []
    for route in routes:
        ns, name = _meta(route)
        spec = route.get("spec", {})
        parents = tuple(
            (f"{p.get('namespace', ns)}/{p['name']}", p.get("sectionName"), p.get("port"))
            for p in spec.get("parentRefs") or [] if p.get("kind", "Gateway") == "Gateway"
        )
        hostnames = tuple(h.lower() for h in spec.get("hostnames") or [])
        for rule in spec.get("rules") or [{}]:
            backends = tuple(
                BackendRef(b.get("namespace", ns), b["name"], int(b.get("port", 80)))
                for b in rule.get("backendRefs") or [] if b.get("kind", "Service") == "Service"
            )
            for match in rule.get("matches") or [{}]:
                path = match.get("path") or {}
                result.append(RouteRule(f"{ns}/{name}", parents, hostnames, path.get("type", "PathPrefix"),
                                        path.get("value", "/"), backends))
    return result


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") >= pattern.count(".")
    return host == pattern


def _path_matches(rule: RouteRule, path: str) -> bool:
    path = path.split("?", 1)[0] or "/"
    if rule.path_type == "Exact":
        return path == rule.path
    prefix = rule.path.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def attached(rule: RouteRule, listener: Listener) -> bool:
    return any(gw == listener.gateway and section in (None, listener.name) and port in (None, listener.port)
               for gw, section, port in rule.parents)


def route_for(rules: Sequence[RouteRule], listener: Listener, host: str, path: str) -> RouteRule | None:
    """The rule serving a request: attached to the listener, host and path matching, longest path first."""
    host = host.split(":", 1)[0].lower().rstrip(".")
    if listener.hostname and not _host_matches(listener.hostname.lower(), host):
        return None
    candidates = [r for r in rules if attached(r, listener)
                  and (not r.hostnames or any(_host_matches(h, host) for h in r.hostnames))
                  and _path_matches(r, path)]
    candidates.sort(key=lambda r: (r.path_type != "Exact", -len(r.path)))
    return candidates[0] if candidates else None


def _cond(kind: str, status: bool, reason: str, message: str, generation: int, now: str) -> dict[str, Any]:
    return {"type": kind, "status": "True" if status else "False", "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": now}


def gateway_status(gw: dict[str, Any], rules: Sequence[RouteRule], host_network: bool, now: str) -> dict[str, Any]:
    """Accepted; not Programmed for want of an address (host network, or no load balancer in the lab)."""
    gen = int(gw.get("metadata", {}).get("generation", 1))
    ns, name = _meta(gw)
    items = listeners([gw], {gw.get("spec", {}).get("gatewayClassName", "")})
    why = "host network mode publishes no address" if host_network else "the lab has no load balancer"
    return {
        "conditions": [
            _cond("Accepted", True, "Accepted", "Gateway successfully scheduled", gen, now),
            _cond("Programmed", False, "AddressNotAssigned", f"{NOT_PROGRAMMED_MESSAGE} ({why})", gen, now),
        ],
        "listeners": [
            {"name": li.name, "attachedRoutes": len({r.route for r in rules if attached(r, li)}),
             "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
             "conditions": [_cond("Accepted", True, "Accepted", "Listener accepted", gen, now),
                            _cond("Programmed", True, "Programmed", "Listener programmed", gen, now),
                            _cond("ResolvedRefs", True, "ResolvedRefs", "Resolved Refs", gen, now)]}
            for li in items if li.gateway == f"{ns}/{name}"
        ],
    }


def route_status(route: dict[str, Any], known_services: set[tuple[str, str]], now: str) -> dict[str, Any]:
    gen = int(route.get("metadata", {}).get("generation", 1))
    missing = [b for r in http_rules([route]) for b in r.backends if (b.namespace, b.service) not in known_services]
    message = f"Service {missing[0].namespace}/{missing[0].service} not found" if missing else \
        "Service reference is valid"
    resolved = _cond("ResolvedRefs", not missing, "BackendNotFound" if missing else "ResolvedRefs", message,
                     gen, now)
    return {"parents": [
        {"parentRef": ref, "controllerName": CONTROLLER,
         "conditions": [_cond("Accepted", True, "Accepted", "Accepted HTTPRoute", gen, now), resolved]}
        for ref in route.get("spec", {}).get("parentRefs") or []
    ]}
