"""The profile: one cluster and the Cilium tuning wanted on it, validated before anything is derived.

Everything downstream (overlays, rules, plan, checks) reads a `Profile`, so the model refuses what
is certainly wrong on its own terms: unknown fields, malformed or overlapping address ranges, a
mask size that cannot split its pool, native routing without the CIDR Helm insists on. Whether the
*cluster* can carry the tuning is the rules' job, not the model's.

The field descriptions are the user documentation: they feed the JSON Schema
(`cilium-tune profile schema`) and the comments of `cilium-tune profile init`.
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from itertools import combinations
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from cilium_tune import names

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Family = Literal["ipv4", "ipv6"]

BUILTIN_CHART_PREFIX = "builtin:"
# Charts shipped inside the package, by the name used after `builtin:` (folder relative to cilium_tune/).
BUILTIN_CHARTS = {"lab": "lab/chart"}


class InconsistentProfile(ValueError):
    """A cross-field contradiction, carrying the location of the field to fix."""

    def __init__(self, loc: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.loc = loc
        self.hint = hint


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside a field annotation (`X`, `X | None`, `list[X]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = nested_model(arg)
        if found is not None:
            return found
    return None


def _network(value: str, family: Family) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        loose = _loose_network(value)
        if loose is not None and loose.with_prefixlen != value:
            raise ValueError(f"{value!r} has host bits set; did you mean {loose.with_prefixlen}?") from None
        raise ValueError(f"{value!r} is not a CIDR ({exc})") from None
    if f"ipv{net.version}" != family:
        raise ValueError(f"{value!r} is an IPv{net.version} CIDR where an {_label(family)} CIDR is expected")
    return net.with_prefixlen


def _loose_network(value: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _address(value: str, family: Family) -> str:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None
    if f"ipv{addr.version}" != family:
        raise ValueError(f"{value!r} is an IPv{addr.version} address, not an {_label(family)} one")
    return str(addr)


def _label(family: Family) -> str:
    return "IPv4" if family == "ipv4" else "IPv6"


def _v4_cidr(value: str) -> str:
    return _network(value, "ipv4")


def _v6_cidr(value: str) -> str:
    return _network(value, "ipv6")


def _v4_addr(value: str) -> str:
    return _address(value, "ipv4")


def _v6_addr(value: str) -> str:
    return _address(value, "ipv6")


NodeName = Annotated[str, AfterValidator(names.node_name)]
Namespace = Annotated[str, AfterValidator(names.namespace)]
ReleaseName = Annotated[str, AfterValidator(names.release_name)]
ChartVersion = Annotated[str, AfterValidator(names.chart_version)]
SingleLine = Annotated[str, AfterValidator(names.single_line)]
IPv4CIDR = Annotated[str, AfterValidator(_v4_cidr), Field(examples=["10.42.0.0/16"])]
IPv6CIDR = Annotated[str, AfterValidator(_v6_cidr), Field(examples=["fd00:42::/56"])]
IPv4Addr = Annotated[str, AfterValidator(_v4_addr), Field(examples=["192.0.2.11"])]
IPv6Addr = Annotated[str, AfterValidator(_v6_addr), Field(examples=["2001:db8::11"])]


class _Strict(BaseModel):
    """Shared config: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DualCIDR(_Strict):
    """One CIDR per IP family."""

    ipv4: IPv4CIDR | None = Field(default=None, description="The IPv4 CIDR, or null when not used.")
    ipv6: IPv6CIDR | None = Field(default=None, description="The IPv6 CIDR, or null when not used.")

    def get(self, family: Family) -> str | None:
        """The CIDR of one family, or None."""
        value: str | None = getattr(self, family)
        return value


class Cluster(_Strict):
    """Which cluster this is and how to reach it."""

    name: SingleLine = Field(min_length=1, description="The cluster's name, used in reports and labels.")
    kube_context: SingleLine | None = Field(
        default=None,
        description="kubeconfig context to use; null means the current context (as kubectl does).",
    )
    kubeconfig: SingleLine | None = Field(
        default=None, description="Path of the kubeconfig file; null means $KUBECONFIG or ~/.kube/config."
    )


class HelmRelease(_Strict):
    """The Cilium Helm release the overlays are applied to."""

    namespace: Namespace = Field(default="kube-system", min_length=1, description="Namespace of the Helm release.")
    name: ReleaseName = Field(default="cilium", min_length=1, description="Name of the Helm release.")
    chart: SingleLine = Field(
        default="cilium/cilium",
        min_length=1,
        description=(
            "Chart reference as helm takes it (repo/chart, a path or an OCI URL), or `builtin:lab` for the "
            "lab chart shipped with cilium-tune."
        ),
    )
    repository: SingleLine | None = Field(
        default=None,
        description=(
            "URL of the Helm repository the chart's repo alias points at (as in `helm repo add`), for the "
            "record; null when the chart is a path or an OCI reference, or when the alias is already set up."
        ),
    )
    version: ChartVersion = Field(
        min_length=1, description="Pinned chart version (helm --version), SemVer.", examples=["1.19.0"]
    )

    @field_validator("chart")
    @classmethod
    def _known_builtin_chart(cls, chart: str) -> str:
        if chart.startswith(BUILTIN_CHART_PREFIX) and chart.removeprefix(BUILTIN_CHART_PREFIX) not in BUILTIN_CHARTS:
            known = ", ".join(BUILTIN_CHART_PREFIX + name for name in BUILTIN_CHARTS)
            raise ValueError(f"unknown built-in chart {chart!r} (known: {known})")
        return chart

    @property
    def chart_argument(self) -> str:
        """The chart as helm takes it: `builtin:lab` becomes the path of the chart shipped in the package."""
        if self.chart.startswith(BUILTIN_CHART_PREFIX):
            folder = BUILTIN_CHARTS[self.chart.removeprefix(BUILTIN_CHART_PREFIX)]
            return str(resources.files("cilium_tune").joinpath(folder))
        return self.chart


class K3s(_Strict):
    """Facts about the k3s distribution Cilium runs on (they are fixed when the cluster is created)."""

    kind: Literal["k3s"] = Field(default="k3s", description="Kubernetes distribution; only k3s is supported.")
    cni_conf_dir: SingleLine = Field(
        default="/var/lib/rancher/k3s/agent/etc/cni/net.d",
        description="Host directory k3s's containerd reads CNI configs from (rendered as cni.confPath).",
    )
    cluster_cidrs: DualCIDR = Field(description="k3s --cluster-cidr per family (Node podCIDRs come from it).")
    service_cidrs: DualCIDR = Field(description="k3s --service-cidr per family (ClusterIP ranges).")
    kube_proxy_disabled: bool = Field(
        default=True, description="k3s runs with --disable-kube-proxy (needed for a kube-proxy-free cluster)."
    )


class Node(_Strict):
    """One cluster node and its InternalIP addresses."""

    name: NodeName = Field(min_length=1, description="Kubernetes node name (RFC 1123).")
    ipv4: IPv4Addr = Field(description="The node's IPv4 InternalIP.")
    ipv6: IPv6Addr | None = Field(default=None, description="The node's IPv6 InternalIP (dual-stack), or null.")


class Ingress(_Strict):
    """How traffic reaches the cluster's HTTP(S) services."""

    hostnames: list[SingleLine] = Field(
        default_factory=list, description="Hostnames served by the Gateway (sent as SNI/Host when verifying)."
    )


class IPAMPool(_Strict):
    """A Cilium cluster-pool: the pod CIDR and the size of each node's block."""

    cidr: str = Field(description="Pod CIDR the operator splits into per-node blocks.")
    mask_size: int = Field(description="Prefix length of each node's block (e.g. 24 for IPv4, 120 for IPv6).")


class IPv4Pool(IPAMPool):
    """The IPv4 pod pool."""

    cidr: IPv4CIDR = Field(description="IPv4 pod CIDR the operator splits into per-node blocks.")
    mask_size: int = Field(default=24, ge=1, le=32, description="Prefix length of each node's IPv4 block.")


class IPv6Pool(IPAMPool):
    """The IPv6 pod pool."""

    cidr: IPv6CIDR = Field(description="IPv6 pod CIDR the operator splits into per-node blocks.")
    mask_size: int = Field(default=120, ge=1, le=128, description="Prefix length of each node's IPv6 block.")


class IPAM(_Strict):
    """Cilium cluster-pool IPAM; an IPv6 pool makes the cluster dual-stack."""

    ipv4: IPv4Pool = Field(description="IPv4 pod pool (always present: IPv4 stays enabled).")
    ipv6: IPv6Pool | None = Field(default=None, description="IPv6 pod pool for dual-stack pods; null for IPv4 only.")


class BigTCP(_Strict):
    """BIG TCP per family (larger GSO/GRO packets; needs recent kernels and capable NICs)."""

    ipv4: bool = Field(default=False, description="enableIPv4BIGTCP (kernel >= 6.3).")
    ipv6: bool = Field(default=False, description="enableIPv6BIGTCP (kernel >= 5.19).")


class SocketLB(_Strict):
    """Socket-level service load balancing (connect()/sendmsg() time translation)."""

    enabled: bool = Field(default=False, description="socketLB.enabled: translate ClusterIPs at the socket.")
    host_namespace_only: bool | None = Field(
        default=None,
        description=(
            "socketLB.hostNamespaceOnly: only the host namespace uses socket LB, pods use the tc path. "
            "null means: true when vm_workloads is true (VM guests cannot reach ClusterIPs otherwise)."
        ),
    )


class KubeProxyReplacement(_Strict):
    """Cilium replaces kube-proxy; the agent then needs a direct address of the API server."""

    enabled: bool = Field(default=False, description="kubeProxyReplacement: Cilium serves Services in eBPF.")
    api_server_host: SingleLine | None = Field(
        default=None, description="k8sServiceHost: address of the API server reachable without a ClusterIP."
    )
    api_server_port: int | None = Field(default=None, ge=1, le=65535, description="k8sServicePort (k3s: 6443).")

    @model_validator(mode="after")
    def _needs_api_server(self) -> KubeProxyReplacement:
        for field in ("api_server_host", "api_server_port"):
            if self.enabled and getattr(self, field) is None:
                raise InconsistentProfile(
                    (field,),
                    "is required with kube-proxy replacement: without kube-proxy the agent cannot reach the "
                    "API server through its ClusterIP",
                )
        return self


class GatewayAPI(_Strict):
    """Cilium's Gateway API implementation."""

    enabled: bool = Field(default=False, description="gatewayAPI.enabled: Cilium serves Gateway API resources.")
    host_network: bool = Field(
        default=False,
        description="gatewayAPI.hostNetwork.enabled: Envoy listens on every node's own addresses.",
    )
    privileged_ports: bool = Field(
        default=True,
        description=("Listeners use ports <= 1023 (80/443) on the host network, so Envoy keeps NET_BIND_SERVICE."),
    )


class Tuning(_Strict):
    """The datapath tuning wanted; each choice becomes Helm values in the rendered overlays."""

    routing_mode: Literal["native", "tunnel"] = Field(
        default="tunnel",
        description="routingMode: native (nodes route pod CIDRs directly) or tunnel (VXLAN/Geneve).",
    )
    auto_direct_node_routes: bool = Field(
        default=False,
        description="autoDirectNodeRoutes: routes to other nodes' pod blocks (nodes share an L2).",
    )
    native_routing_cidrs: DualCIDR = Field(
        default=DualCIDR(),
        description="ipv4/ipv6NativeRoutingCIDR: not masqueraded; must contain the pod pools.",
    )
    datapath_mode: Literal["veth", "netkit", "netkit-l2"] = Field(
        default="veth",
        description="bpf.datapathMode: pod device type; netkit needs kernel >= 6.7 and a migration.",
    )
    big_tcp: BigTCP = Field(default=BigTCP(), description="BIG TCP per family.")
    socket_lb: SocketLB = Field(default=SocketLB(), description="Socket-level load balancing.")
    l2_neigh_discovery: bool = Field(
        default=False,
        description="l2NeighDiscovery.enabled: the agent keeps ARP/NDP entries of other nodes fresh.",
    )
    kube_proxy_replacement: KubeProxyReplacement = Field(
        default=KubeProxyReplacement(), description="kube-proxy replacement and the API server address."
    )
    bpf_masquerade: bool = Field(default=False, description="bpf.masquerade: SNAT in eBPF instead of iptables.")
    ipam: IPAM = Field(description="Cluster-pool pod pools per family (an IPv6 pool means dual-stack).")
    gateway_api: GatewayAPI = Field(default=GatewayAPI(), description="Gateway API and its host-network mode.")
    vm_workloads: bool = Field(
        default=False,
        description="Pods run VMs (QEMU/vrnetlab, KubeVirt, Kata): guests need socket LB off in pods.",
    )

    @property
    def dual_stack(self) -> bool:
        """True when pods get IPv6 addresses too."""
        return self.ipam.ipv6 is not None

    @property
    def socket_lb_host_namespace_only(self) -> bool:
        """The effective socketLB.hostNamespaceOnly (defaults to vm_workloads)."""
        explicit = self.socket_lb.host_namespace_only
        return self.vm_workloads if explicit is None else explicit

    def pool(self, family: Family) -> IPAMPool | None:
        """The pod pool of one family, or None."""
        pool: IPAMPool | None = getattr(self.ipam, family)
        return pool


class Profile(_Strict):
    """A cluster and the Cilium tuning wanted on it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="cilium-tune profile",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    description: str = Field(default="", description="Free text: what this cluster is for.")
    cluster: Cluster = Field(description="Which cluster and how to reach it.")
    release: HelmRelease = Field(description="The Cilium Helm release.")
    distribution: K3s = Field(description="Distribution facts (k3s).")
    nodes: list[Node] = Field(min_length=1, description="The cluster's nodes and their InternalIPs.")
    ingress: Ingress = Field(default=Ingress(), description="Ingress hostnames.")
    tuning: Tuning = Field(description="The tuning choices.")

    _source: str = PrivateAttr(default="<memory>")

    @property
    def source(self) -> str:
        """Where the profile came from: `builtin:NAME` or a file path."""
        return self._source

    def __eq__(self, other: object) -> bool:
        """Equal when the content is equal, wherever the two were loaded from."""
        if not isinstance(other, Profile):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(self.model_dump_json())

    def with_source(self, source: str) -> Profile:
        """Record where this profile was loaded from (kept out of the schema and of equality)."""
        self._source = source
        return self

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self.cluster.name

    @property
    def families(self) -> tuple[Family, ...]:
        """The IP families pods use."""
        return ("ipv4", "ipv6") if self.tuning.dual_stack else ("ipv4",)

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        _check_nodes(self)
        for family in ("ipv4", "ipv6"):
            _check_family(self, family)
        _check_services(self)
        return self


def _check_nodes(profile: Profile) -> None:
    seen_names: dict[str, int] = {}
    seen_addrs: dict[str, str] = {}
    for i, node in enumerate(profile.nodes):
        if node.name in seen_names:
            raise InconsistentProfile(("nodes", i, "name"), f"node name {node.name!r} appears more than once")
        seen_names[node.name] = i
        for family in ("ipv4", "ipv6"):
            addr = getattr(node, family)
            if addr is None:
                continue
            if addr in seen_addrs:
                raise InconsistentProfile(
                    ("nodes", i, family), f"address {addr} is also the address of node {seen_addrs[addr]}"
                )
            seen_addrs[addr] = node.name
        if profile.tuning.dual_stack and node.ipv6 is None:
            raise InconsistentProfile(
                ("nodes", i), f"node {node.name} has no ipv6, but tuning.ipam.ipv6 makes pods dual-stack"
            )


def _check_family(profile: Profile, family: Family) -> None:
    tuning, k3s = profile.tuning, profile.distribution
    pool = tuning.pool(family)
    native = tuning.native_routing_cidrs.get(family)
    service = k3s.service_cidrs.get(family)
    cluster_cidr = k3s.cluster_cidrs.get(family)
    label = _label(family)
    ranges: list[tuple[tuple[str, ...], IPNetwork]] = []
    if pool is not None:
        net = ipaddress.ip_network(pool.cidr)
        if pool.mask_size < net.prefixlen:
            raise InconsistentProfile(
                ("tuning", "ipam", family, "mask_size"),
                f"{pool.mask_size} is shorter than the pool prefix /{net.prefixlen}: "
                f"a node block cannot be larger than the pool {pool.cidr}",
            )
        ranges.append((("tuning", "ipam", family, "cidr"), net))
        if tuning.routing_mode == "native" and native is None:
            raise InconsistentProfile(
                ("tuning", "native_routing_cidrs"),
                f"{family} is required with native routing and an {label} pod pool "
                f"(Helm refuses native routing with masquerading and no {family}NativeRoutingCIDR)",
            )
        if native is not None and not _contains(native, net):
            raise InconsistentProfile(
                ("tuning", "native_routing_cidrs", family),
                f"{native} does not contain the pod pool {pool.cidr}: pod traffic would be masqueraded",
            )
        if service is None:
            raise InconsistentProfile(("distribution", "service_cidrs"), f"{family} is required when pods use {label}")
        if cluster_cidr is None:
            raise InconsistentProfile(("distribution", "cluster_cidrs"), f"{family} is required when pods use {label}")
    elif native is not None:
        raise InconsistentProfile(
            ("tuning", "native_routing_cidrs", family), f"is set but there is no tuning.ipam.{family} pool"
        )
    if service is not None:
        ranges.append((("distribution", "service_cidrs", family), ipaddress.ip_network(service)))
    if cluster_cidr is not None and service is not None and _overlap(cluster_cidr, service):
        raise InconsistentProfile(
            ("distribution", "cluster_cidrs", family),
            f"{cluster_cidr} overlaps distribution.service_cidrs.{family} {service}",
            hint="pod pools, service CIDRs and node addresses must not overlap; pick disjoint ranges",
        )
    for (loc_a, a), (loc_b, b) in combinations(ranges, 2):
        if a.overlaps(b):
            raise InconsistentProfile(
                loc_a,
                f"{a} overlaps {'.'.join(loc_b)} {b}",
                hint="pod pools, service CIDRs and node addresses must not overlap; pick disjoint ranges",
            )
    node_ranges = list(ranges)
    if cluster_cidr is not None:
        node_ranges.append((("distribution", "cluster_cidrs", family), ipaddress.ip_network(cluster_cidr)))
    for i, node in enumerate(profile.nodes):
        raw = getattr(node, family)
        if raw is None:
            continue
        addr = ipaddress.ip_address(raw)
        for loc, net in node_ranges:
            if addr in net:
                raise InconsistentProfile(
                    ("nodes", i, family),
                    f"node {node.name} address {addr} lies inside {'.'.join(loc)} {net}",
                    hint="pod pools, service CIDRs and node addresses must not overlap; pick disjoint ranges",
                )


def _maybe_address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None  # a hostname


def _contains(outer: str, inner: IPNetwork) -> bool:
    container = ipaddress.ip_network(outer)
    return container.version == inner.version and inner.subnet_of(container)  # type: ignore[arg-type]


def _overlap(a: str, b: str) -> bool:
    return ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b))


def _check_services(profile: Profile) -> None:
    kpr = profile.tuning.kube_proxy_replacement
    if profile.distribution.kube_proxy_disabled and not kpr.enabled:
        raise InconsistentProfile(
            ("tuning", "kube_proxy_replacement", "enabled"),
            "is false but distribution.kube_proxy_disabled is true: nothing would serve ClusterIP Services",
        )
    host = kpr.api_server_host
    address = _maybe_address(host)
    for family in ("ipv4", "ipv6"):
        service = profile.distribution.service_cidrs.get(family)
        if address is not None and service is not None and address in ipaddress.ip_network(service):
            raise InconsistentProfile(
                ("tuning", "kube_proxy_replacement", "api_server_host"),
                f"{host} is a ClusterIP (inside {service}); without kube-proxy nothing translates it",
                hint="use the API server's node address (e.g. the k3s server node's InternalIP)",
            )
    gateway = profile.tuning.gateway_api
    if gateway.host_network and not gateway.enabled:
        raise InconsistentProfile(("tuning", "gateway_api", "host_network"), "needs gateway_api.enabled")
