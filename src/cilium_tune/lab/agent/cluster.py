"""What the agent reads from the Kubernetes API (lightkube), turned into the agent's plain model.

The agent finds the API the way a pod does: KUBERNETES_SERVICE_HOST/PORT (the chart sets them from
k8sServiceHost/Port; the lab kubelet otherwise points them at the node's API relay). The lab API speaks
plain HTTP; KUBECONFIG, when set, wins (handy for running the agent by hand).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, cast

from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.resources.core_v1 import ConfigMap, Node, Pod, Service
from lightkube.resources.discovery_v1 import EndpointSlice

from cilium_tune.lab.agent import model, nodeconfig
from cilium_tune.lab.agent.config import AgentConfig
from cilium_tune.lab.agent.informers import Informers, Say, Watched
from cilium_tune.lab.agent.ipam import node_pod_cidrs

CONFIG_MAP = "cilium-config"


def kube_config(env: Mapping[str, str]) -> KubeConfig:
    """How to reach the API from the agent's pod (see the module docstring)."""
    if env.get("KUBECONFIG"):
        return KubeConfig.from_file(env["KUBECONFIG"])
    host = env.get("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    port = env.get("KUBERNETES_SERVICE_PORT", "6443")
    if ":" in host:
        host = f"[{host}]"
    return KubeConfig.from_dict({
        "clusters": [{"name": "in-cluster", "cluster": {"server": f"http://{host}:{port}"}}],
        "users": [{"name": "cilium", "user": {}}],
        "contexts": [{"name": "in-cluster", "context": {"cluster": "in-cluster", "user": "cilium"}}],
        "current-context": "in-cluster",
    })


def connect(env: Mapping[str, str]) -> Client:
    return Client(kube_config(env), timeout=10.0)  # type: ignore[arg-type]


def read_config(client: Client, namespace: str) -> dict[str, str] | None:
    """cilium-config's data, or None while it does not exist."""
    try:
        cm = client.get(ConfigMap, CONFIG_MAP, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise
    return dict(cm.data or {})


NODE_CONFIG_TYPES: tuple[type[GenericNamespacedResource], ...] = tuple(
    create_namespaced_resource(nodeconfig.GROUP, v, nodeconfig.KIND, nodeconfig.PLURAL) for v in nodeconfig.VERSIONS)


def read_node_configs(client: Client, namespace: str) -> list[dict[str, Any]]:
    """The CiliumNodeConfigs of the namespace: through v2, else v2alpha1; none while the CRD is missing."""
    for resource in NODE_CONFIG_TYPES:
        try:
            return [cast(dict[str, Any], obj.to_dict())  # type: ignore[no-untyped-call]
                    for obj in client.list(resource, namespace=namespace)]
        except ApiError as exc:
            if exc.status.code != 404:
                raise
    return []


def node_labels(client: Client, node: str) -> dict[str, str]:
    obj = client.get(Node, node)
    return dict((obj.metadata.labels or {}) if obj.metadata else {})


def resolve_config(client: Client, namespace: str, node: str) -> nodeconfig.Resolved | None:
    """What the agent's config init container would write: cilium-config with the node's overrides.
    None while cilium-config does not exist."""
    data = read_config(client, namespace)
    if data is None:
        return None
    configs = read_node_configs(client, namespace)
    labels = node_labels(client, node) if configs else {}
    return nodeconfig.resolve(data, namespace, labels, configs, CONFIG_MAP)


def resolve_from(config_maps: Sequence[ConfigMap], node_configs: Sequence[Any], nodes: Sequence[Node],
                 namespace: str, node: str) -> nodeconfig.Resolved | None:
    """`resolve_config` from watched copies: cilium-config (the one ConfigMap watched), the namespace's
    CiliumNodeConfigs and the Nodes."""
    cm = next((c for c in config_maps if c.metadata and c.metadata.name == CONFIG_MAP), None)
    if cm is None:
        return None
    me = next((n for n in nodes if n.metadata and n.metadata.name == node), None)
    labels = dict((me.metadata.labels or {}) if me is not None and me.metadata else {})
    configs = [cast(dict[str, Any], obj.to_dict()) for obj in node_configs]
    return nodeconfig.resolve(dict(cm.data or {}), namespace, labels, configs, CONFIG_MAP)


def config_flag(client: Client, namespace: str, env_name: str, key: str) -> bool:
    """A boolean setting from the environment when the chart passes it (the lab chart), else from
    cilium-config, as the real operator and envoy read it from their mounted config."""
    if env_name in os.environ:
        return os.environ[env_name] == "true"
    return (read_config(client, namespace) or {}).get(key, "false").strip().lower() == "true"


@dataclass(frozen=True)
class ClusterView:
    """One consistent read of everything the datapath depends on."""

    nodes: tuple[model.NodeInfo, ...]
    services: tuple[model.Service, ...]


def _node_info(obj: Node, cfg: AgentConfig, index: int) -> model.NodeInfo:
    v4: IPv4Address | None = None
    v6: IPv6Address | None = None
    for addr in (obj.status.addresses or []) if obj.status else []:
        if addr.type != "InternalIP":
            continue
        ip = ip_address(addr.address)
        if isinstance(ip, IPv4Address) and v4 is None:
            v4 = ip
        elif isinstance(ip, IPv6Address) and v6 is None:
            v6 = ip
    spec_cidrs = list((obj.spec.podCIDRs or []) if obj.spec else [])
    name = obj.metadata.name if obj.metadata and obj.metadata.name else ""
    return model.NodeInfo(name, v4, v6, node_pod_cidrs(cfg, spec_cidrs, index))


def read_cluster(client: Client, cfg: AgentConfig) -> ClusterView:
    return cluster_view(list(client.list(Node)), read_services(client), cfg)


def cluster_view(nodes: Sequence[Node], services: tuple[model.Service, ...], cfg: AgentConfig) -> ClusterView:
    """The view from Node objects (numbered in name order, which the IPAM fallback needs) and the Services."""
    ordered = sorted(nodes, key=lambda n: (n.metadata.name or "") if n.metadata else "")
    return ClusterView(tuple(_node_info(n, cfg, i) for i, n in enumerate(ordered, start=1)), services)


def read_services(client: Client) -> tuple[model.Service, ...]:
    """ClusterIP Services with the Ready backends of their EndpointSlices (also used by the lab gateway)."""
    return services_view(list(client.list(Service, namespace="*")), list(client.list(EndpointSlice, namespace="*")))


def services_view(services: Sequence[Service], endpoint_slices: Sequence[EndpointSlice]) -> tuple[model.Service, ...]:
    """The ClusterIP Services, sorted by namespace and name, each port with its Ready backends."""
    slices: dict[tuple[str, str], list[Any]] = {}
    for es in sorted(endpoint_slices, key=_meta_key):
        labels = (es.metadata.labels or {}) if es.metadata else {}
        owner = labels.get("kubernetes.io/service-name")
        if owner and es.metadata and es.metadata.namespace:
            slices.setdefault((es.metadata.namespace, owner), []).append(es)
    result = []
    for svc in sorted(services, key=_meta_key):
        if not svc.metadata or not svc.spec:
            continue
        ips = [ip for ip in (svc.spec.clusterIPs or [svc.spec.clusterIP or ""]) if ip and ip != "None"]
        if not ips or svc.spec.type not in (None, "ClusterIP", "NodePort", "LoadBalancer"):
            continue
        ns, name = svc.metadata.namespace or "default", svc.metadata.name or ""
        ports = []
        for port in svc.spec.ports or []:
            backends = _backends(slices.get((ns, name), []), port.name or "")
            ports.append(model.ServicePort(port.name or "", port.protocol or "TCP", port.port, tuple(backends)))
        result.append(model.Service(ns, name, tuple(ips), tuple(ports)))
    return tuple(result)


def _meta_key(obj: Any) -> tuple[str, str]:
    meta = obj.metadata
    return (meta.namespace or "", meta.name or "") if meta else ("", "")


def _backends(slices: list[Any], port_name: str) -> list[model.Backend]:
    """Ready endpoints of the slices for the service port named `port_name` (matched by name, as kube-proxy does)."""
    result: list[model.Backend] = []
    seen: set[tuple[str, int]] = set()
    for es in slices:
        number = next((p.port for p in (es.ports or []) if (p.name or "") == port_name and p.port), None)
        if number is None:
            continue
        for ep in es.endpoints or []:
            ready = ep.conditions.ready if ep.conditions and ep.conditions.ready is not None else True
            if not ready:
                continue
            for address in ep.addresses or []:
                if (address, number) not in seen:
                    seen.add((address, number))
                    result.append(model.Backend(address, number))
    return result


def pods_on_node(client: Client, node: str) -> dict[str, str]:
    """Pod IP -> namespace/name for the pods scheduled to `node` (names the endpoints in messages)."""
    result = {}
    for pod in client.list(Pod, namespace="*", fields={"spec.nodeName": node}):
        if not pod.metadata or not pod.status or (pod.spec and pod.spec.hostNetwork):
            continue
        for ip in pod.status.podIPs or []:
            if ip.ip:
                result[ip.ip] = f"{pod.metadata.namespace}/{pod.metadata.name}"
    return result


CONFIG_INPUTS = ("configmaps", "ciliumnodeconfigs", "nodes")
SERVICE_INPUTS = (Watched("services", (Service,), "*"), Watched("endpointslices", (EndpointSlice,), "*"))


def watched(namespace: str) -> tuple[Watched, ...]:
    """What the running agent keeps a copy of: the datapath's inputs and its configuration's sources."""
    return (Watched("nodes", (Node,)), *SERVICE_INPUTS,
            Watched("configmaps", (ConfigMap,), namespace, {"metadata.name": CONFIG_MAP}),
            Watched("ciliumnodeconfigs", NODE_CONFIG_TYPES, namespace))


class WatchedServices:
    """`read_services` from watched copies, rebuilt only after a Service or EndpointSlice changed.

    For the lab gateway's proxy and operator, which re-read the few Gateway API objects on every resync
    but must not re-read every Service: with 5,000 Services that cost each proxy several percent of a
    core, taken from the connections the churn bench measures (docs/bench.md, "Churn in the whole lab")."""

    def __init__(self, config: KubeConfig, log: Say) -> None:
        self._dirty = threading.Event()
        self._dirty.set()
        self._view: tuple[model.Service, ...] = ()
        self.log = log
        self.informers = Informers(config, SERVICE_INPUTS, lambda _: self._dirty.set(), log)

    def start(self, stop: threading.Event, timeout: float = 60.0) -> bool:
        """Start watching and wait until both resources have been listed; False when `stop` is set first.

        Before that the copy is empty, which would read as "there are no Services": the operator would
        mark every HTTPRoute's backends unresolved, the proxy answer 503. So the caller waits, however
        long the API takes; past `timeout` that is logged, and again once the lists arrive."""
        self.informers.start()
        if self.informers.wait_synced(timeout):
            return True
        self.log("error", f"Services and EndpointSlices not listed within {timeout:g} s; waiting for them")
        while not self.informers.wait_synced(0.5):
            if stop.is_set():
                return False
        self.log("info", "Services and EndpointSlices listed")
        return True

    def stop(self) -> None:
        self.informers.stop()

    def __call__(self) -> tuple[model.Service, ...]:
        if self._dirty.is_set():
            self._dirty.clear()  # before reading: a change that lands meanwhile marks the view stale again
            self._view = services_view(self.informers["services"].items(), self.informers["endpointslices"].items())
        return self._view


def namespace_from_env() -> str:
    return os.environ.get("CILIUM_K8S_NAMESPACE", "kube-system")
