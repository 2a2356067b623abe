"""The pods and Services verify runs, as plain manifests, and what each client probes. Pure.

Per node, one *server* pod (a small HTTP server on both families answering with its pod and node name)
and one *client* pod, both pinned with `nodeName`, plus one PreferDualStack Service per node whose only
backend is that node's server. The client on node i probes, every round:

- its own node's server (pod -> pod, same node) and node i+1's (cross node), over IPv4 and IPv6;
- node i+1's Service ClusterIPs (pod -> Service, the backend on another node, both families);
- the Gateway listeners on node i's own addresses: HTTP with the Host header, HTTPS with each hostname as
  SNI (`--resolve`), and HTTPS to the bare address (no SNI), which Envoy resets.

Each check thus names the node whose client saw it, and cross-node ones name both ends; the work is one
client and one server per node, linear in nodes. Targets are handed to the client in its environment
(`CTV_TARGETS`, one `id kind address port host` line each, every field validated), so the client needs no
API access: results come back through its log, in rounds (`@@ctv round N begin ... end`), which
`checks.observe` parses. Reading logs needs `get pods/log`, not `create pods/exec`.

The client uses sh, curl (`-w '%{json}'`, 7.70+) and iproute2's `ip`; the server python3. On the lab the
kubelet runs the host's tools; on a cluster the default image carries all three.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MANAGED_BY = {"app.kubernetes.io/managed-by": "cilium-tune"}
APP = "cilium-tune-verify"
ROLE_LABEL = "cilium-tune.io/verify-role"
NODE_LABEL = "cilium-tune.io/verify-node"  # a hash: label values cannot hold every node name
NODE_ANNOTATION = "cilium-tune.io/node"
DIGEST_ANNOTATION = "cilium-tune.io/targets-digest"
NAMESPACE = "cilium-tune-verify"
DEFAULT_IMAGE = "nicolaka/netshoot:v0.13"
SERVER_PORT = 8080
SERVICE_PORT = 80
PROBE_TIMEOUT = 3.0
ROUND_PERIOD = 2.0

Family = Literal["ipv4", "ipv6"]
Kind = Literal["http", "https", "nosni"]

_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,80}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9*]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")

SERVER_SCRIPT = """\
import json, os, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = (json.dumps({"pod": os.environ.get("POD_NAME", ""), "node": os.environ.get("NODE_NAME", "")}) + "\\n").encode()
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
port = int(os.environ.get("CTV_PORT", "8080"))
try:
    server = Server(("::", port), Handler)
except OSError:
    Server.address_family = socket.AF_INET
    Server.server_bind = ThreadingHTTPServer.server_bind
    server = Server(("0.0.0.0", port), Handler)
server.serve_forever()
"""

CLIENT_SCRIPT = """\
T=${CTV_TIMEOUT:-3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ctv.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 0' TERM INT
ca=-k
if [ -n "${CTV_CA:-}" ]; then printf '%s\\n' "$CTV_CA" > "$dir/ca.pem"; ca="--cacert $dir/ca.pem"; fi
probe() {
  id=$1; out="$dir/$1"; addr=$3; port=$4; host=$5
  case $addr in *:*) h="[$addr]" ;; *) h=$addr ;; esac
  case $2 in
    http) if [ "$host" = - ]; then set -- "http://$h:$port/"; else set -- -H "Host: $host" "http://$h:$port/"; fi ;;
    https) set -- $ca --resolve "$host:$port:$h" "https://$host:$port/" ;;
    *) set -- -k "https://$h:$port/" ;;
  esac
  curl -s --noproxy '*' -m "$T" --connect-timeout "$T" -o "$out.body" -w '%{json}' "$@" > "$out.w" 2>/dev/null
  rc=$?
  { echo "@@ctv probe $id rc=$rc"; cat "$out.w"; echo; echo "@@ctv body"
    head -c 400 "$out.body" 2>/dev/null | tr '\\n\\r' '  '; echo; } > "$out.txt"
}
n=0
while :; do
  n=$((n+1))
  echo "@@ctv round $n begin"
  echo "@@ctv addrs"; ip -o addr show 2>&1
  echo "@@ctv links"; ip -d -o link show 2>&1
  while read -r id kind addr port host; do
    [ -n "$id" ] && probe "$id" "$kind" "$addr" "$port" "$host" &
  done <<EOF
$CTV_TARGETS
EOF
  wait
  while read -r id rest; do
    [ -n "$id" ] && cat "$dir/$id.txt"
  done <<EOF
$CTV_TARGETS
EOF
  echo "@@ctv round $n end"
  rm -f "$dir"/*.w "$dir"/*.body "$dir"/*.txt
  sleep "${CTV_PERIOD:-2}"
done
"""


@dataclass(frozen=True)
class Target:
    """One thing a client probes. `id` keys the result in the client's log."""

    id: str
    kind: Kind
    address: str
    port: int
    family: Family
    purpose: str  # same-node, cross-node, service, ingress-http, ingress-https, ingress-no-sni
    peer: str  # the node at the other end (the server's or the listener's)
    host: str | None = None

    def line(self) -> str:
        return f"{self.id} {self.kind} {self.address} {self.port} {self.host or '-'}"


@dataclass(frozen=True)
class Listener:
    """Where the Gateway listens on every node (host network) and for which names."""

    http_ports: tuple[int, ...] = ()
    https_ports: tuple[int, ...] = ()
    hostnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeSide:
    """What verify knows about one node before its client starts."""

    node: str
    node_addresses: Mapping[Family, str] = field(default_factory=dict)
    server_ips: Mapping[Family, str] = field(default_factory=dict)
    service_ips: Mapping[Family, str] = field(default_factory=dict)


def node_key(node: str) -> str:
    """A short, stable, DNS-safe key for a node (pod and Service names, label values)."""
    return hashlib.sha256(node.encode()).hexdigest()[:10]


def server_name(node: str) -> str:
    return f"ctv-server-{node_key(node)}"


def client_name(node: str) -> str:
    return f"ctv-client-{node_key(node)}"


def service_name(node: str) -> str:
    return f"ctv-{node_key(node)}"


def family_of(address: str) -> Family:
    return "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"


def _suffix(family: Family) -> str:
    return "v4" if family == "ipv4" else "v6"


def plan_targets(sides: Sequence[NodeSide], index: int, listener: Listener | None) -> tuple[Target, ...]:
    """What the client on `sides[index]` probes (see the module docstring)."""
    me = sides[index]
    peer = sides[(index + 1) % len(sides)]
    targets: list[Target] = []
    for family, ip in me.server_ips.items():
        targets.append(Target(f"same-{_suffix(family)}", "http", ip, SERVER_PORT, family, "same-node", me.node))
    if len(sides) > 1:
        for family, ip in peer.server_ips.items():
            targets.append(Target(f"cross-{_suffix(family)}", "http", ip, SERVER_PORT, family, "cross-node", peer.node))
    for family, ip in (peer if len(sides) > 1 else me).service_ips.items():
        targets.append(Target(f"svc-{_suffix(family)}", "http", ip, SERVICE_PORT, family, "service", peer.node))
    if listener is not None:
        names = listener.hostnames or (None,)
        for family, ip in me.node_addresses.items():
            fam = _suffix(family)
            for port in listener.http_ports:
                for i, host in enumerate(names):
                    targets.append(Target(f"ing-http-{port}-{i}-{fam}", "http", ip, port, family, "ingress-http",
                                          me.node, host))
            for port in listener.https_ports:
                for i, host in enumerate(listener.hostnames):
                    targets.append(Target(f"ing-https-{port}-{i}-{fam}", "https", ip, port, family,
                                          "ingress-https", me.node, host))
                targets.append(Target(f"ing-nosni-{port}-{fam}", "nosni", ip, port, family, "ingress-no-sni",
                                      me.node))
    for t in targets:
        _validate(t)
    return tuple(targets)


def _validate(t: Target) -> None:
    """Everything that reaches the client's environment is checked: ids, addresses, ports, names."""
    if not _ID.match(t.id):
        raise ValueError(f"bad probe id {t.id!r}")
    ipaddress.ip_address(t.address)
    if not 0 < t.port < 65536:
        raise ValueError(f"bad port {t.port}")
    if t.host is not None and not _HOST.match(t.host):
        raise ValueError(f"bad host name {t.host!r}")


def targets_text(targets: Sequence[Target]) -> str:
    return "\n".join(t.line() for t in targets)


def digest(targets: Sequence[Target], ca_bundle: str | None, image: str, settings: str = "") -> str:
    """What a kept client was started with: a reused pod must probe exactly what this run would."""
    blob = json.dumps([targets_text(targets), ca_bundle or "", image, settings])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _labels(role: str, node: str) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/name": APP, ROLE_LABEL: role, NODE_LABEL: node_key(node)}


def _downward() -> list[dict[str, Any]]:
    return [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]


# The Pod Security "restricted" profile: verify's pods need no privilege (curl, ip and an HTTP server on
# 8080 run as nobody), so they run in namespaces that enforce it.
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _pod(name: str, namespace: str, role: str, node: str, container: dict[str, Any],
         annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    container = {**container, "securityContext": RESTRICTED}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": _labels(role, node),
            "annotations": {NODE_ANNOTATION: node, **(annotations or {})},
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [container],
        },
    }


def namespace_manifest(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {**MANAGED_BY, "app.kubernetes.io/name": APP}}}


def server_pod(node: str, namespace: str, image: str) -> dict[str, Any]:
    container = {
        "name": "server",
        "image": image,
        "command": ["python3", "-c", SERVER_SCRIPT],
        "env": [*_downward(), {"name": "CTV_PORT", "value": str(SERVER_PORT)}],
        "ports": [{"name": "http", "containerPort": SERVER_PORT}],
        "readinessProbe": {"httpGet": {"path": "/", "port": SERVER_PORT}, "periodSeconds": 1,
                           "timeoutSeconds": 1},
    }
    return _pod(server_name(node), namespace, "server", node, container)


def client_pod(node: str, namespace: str, image: str, targets: Sequence[Target], *, ca_bundle: str | None = None,
               timeout: float = PROBE_TIMEOUT, period: float = ROUND_PERIOD) -> dict[str, Any]:
    env = [
        *_downward(),
        {"name": "CTV_TARGETS", "value": targets_text(targets)},
        {"name": "CTV_TIMEOUT", "value": f"{timeout:g}"},
        {"name": "CTV_PERIOD", "value": f"{period:g}"},
    ]
    if ca_bundle:
        env.append({"name": "CTV_CA", "value": ca_bundle})
    container = {"name": "client", "image": image, "command": ["sh", "-c", CLIENT_SCRIPT], "env": env}
    return _pod(client_name(node), namespace, "client", node, container,
                {DIGEST_ANNOTATION: digest(targets, ca_bundle, image, f"{timeout:g}/{period:g}")})


def service_manifest(node: str, namespace: str) -> dict[str, Any]:
    """PreferDualStack, so the check that both families get a ClusterIP has a Service to read."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service_name(node), "namespace": namespace, "labels": _labels("service", node),
                     "annotations": {NODE_ANNOTATION: node}},
        "spec": {
            "ipFamilyPolicy": "PreferDualStack",
            "selector": {ROLE_LABEL: "server", NODE_LABEL: node_key(node)},
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": SERVER_PORT, "protocol": "TCP"}],
        },
    }


def cluster_ips(service: Mapping[str, Any]) -> dict[Family, str]:
    """A Service's ClusterIPs by family (headless and unassigned ones left out)."""
    out: dict[Family, str] = {}
    for ip in (service.get("spec") or {}).get("clusterIPs") or []:
        try:
            out.setdefault(family_of(ip), ip)
        except ValueError:
            continue
    return out


def pod_ips(pod: Mapping[str, Any]) -> dict[Family, str]:
    out: dict[Family, str] = {}
    for entry in (pod.get("status") or {}).get("podIPs") or []:
        try:
            out.setdefault(family_of(str(entry.get("ip"))), str(entry.get("ip")))
        except ValueError:
            continue
    return out
