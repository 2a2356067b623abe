"""The profile: one cluster and the Cilium tuning wanted on it, validated before anything is derived.

Everything downstream (overlays, rules, plan, checks) reads a `Profile`, so the model refuses what
is certainly wrong on its own terms: unknown fields, malformed or overlapping address ranges, a
mask size that cannot split its pool, native routing without the CIDR Helm insists on. Whether the
*cluster* can carry the tuning is the rules' job, not the model's.

The field descriptions are the user documentation: they feed the JSON Schema
(`cilium-tune profile schema`) and the comments of `cilium-tune profile init`. The structs are msgspec's
(see `profile.fields` for why, how the field checks run, and why there is no `__future__` import).
"""

import ipaddress
from importlib import resources
from itertools import combinations
from typing import Annotated, Literal, Self

import msgspec
from msgspec import Meta

from cilium_tune.profile.fields import (
    ChartVersion,
    InconsistentProfile,
    Namespace,
    NodeName,
    ReleaseName,
    SingleLine,
    Strict,
    Valid,
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Family = Literal["ipv4", "ipv6"]

BUILTIN_CHART_PREFIX = "builtin:"
# Charts shipped inside the package, by the name used after `builtin:` (folder relative to cilium_tune/).
BUILTIN_CHARTS = {"lab": "lab/chart"}

__all__ = ["InconsistentProfile", "Profile"]


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


def _known_builtin_chart(chart: str) -> str:
    if chart.startswith(BUILTIN_CHART_PREFIX) and chart.removeprefix(BUILTIN_CHART_PREFIX) not in BUILTIN_CHARTS:
        known = ", ".join(BUILTIN_CHART_PREFIX + name for name in BUILTIN_CHARTS)
        raise ValueError(f"unknown built-in chart {chart!r} (known: {known})")
    return chart


IPv4CIDR = Annotated[str, Meta(examples=["10.42.0.0/16"]), Valid(_v4_cidr)]
IPv6CIDR = Annotated[str, Meta(examples=["fd00:42::/56"]), Valid(_v6_cidr)]
IPv4Addr = Annotated[str, Meta(examples=["192.0.2.11"]), Valid(_v4_addr)]
IPv6Addr = Annotated[str, Meta(examples=["2001:db8::11"]), Valid(_v6_addr)]


class DualCIDR(Strict, frozen=True):
    """One CIDR per IP family."""

    ipv4: Annotated[IPv4CIDR | None, Meta(description="The IPv4 CIDR, or null when not used.")] = None
    ipv6: Annotated[IPv6CIDR | None, Meta(description="The IPv6 CIDR, or null when not used.")] = None

    def get(self, family: Family) -> str | None:
        """The CIDR of one family, or None."""
        value: str | None = getattr(self, family)
        return value


class Cluster(Strict, kw_only=True, frozen=True):
    """Which cluster this is and how to reach it."""

    name: Annotated[SingleLine, Meta(min_length=1, description="The cluster's name, used in reports and labels.")]
    kube_context: Annotated[
        SingleLine | None,
        Meta(description="kubeconfig context to use; null means the current context (as kubectl does)."),
    ] = None
    kubeconfig: Annotated[
        SingleLine | None, Meta(description="Path of the kubeconfig file; null means $KUBECONFIG or ~/.kube/config.")
    ] = None


class HelmRelease(Strict, kw_only=True, frozen=True):
    """The Cilium Helm release the overlays are applied to."""

    namespace: Annotated[Namespace, Meta(description="Namespace of the Helm release.")] = "kube-system"
    name: Annotated[ReleaseName, Meta(description="Name of the Helm release.")] = "cilium"
    chart: Annotated[
        SingleLine,
        Meta(
            min_length=1,
            description=(
                "Chart reference as helm takes it (repo/chart, a path or an OCI URL), or `builtin:lab` for the "
                "lab chart shipped with cilium-tune."
            ),
        ),
        Valid(_known_builtin_chart),
    ] = "cilium/cilium"
    repository: Annotated[
        SingleLine | None,
        Meta(
            description=(
                "URL of the Helm repository the chart's repo alias points at (as in `helm repo add`), for the "
                "record; null when the chart is a path or an OCI reference, or when the alias is already set up."
            )
        ),
    ] = None
    version: Annotated[
        ChartVersion, Meta(description="Pinned chart version (helm --version), SemVer.", examples=["1.19.0"])
    ]

    @property
    def chart_argument(self) -> str:
        """The chart as helm takes it: `builtin:lab` becomes the path of the chart shipped in the package."""
        if self.chart.startswith(BUILTIN_CHART_PREFIX):
            folder = BUILTIN_CHARTS[self.chart.removeprefix(BUILTIN_CHART_PREFIX)]
            return str(resources.files("cilium_tune").joinpath(folder))
        return self.chart


class K3s(Strict, kw_only=True, frozen=True):
    """Facts about the k3s distribution Cilium runs on (they are fixed when the cluster is created)."""

    kind: Annotated[Literal["k3s"], Meta(description="Kubernetes distribution; only k3s is supported.")] = "k3s"
    cni_conf_dir: Annotated[
        SingleLine,
        Meta(description="Host directory k3s's containerd reads CNI configs from (rendered as cni.confPath)."),
    ] = "/var/lib/rancher/k3s/agent/etc/cni/net.d"
    cluster_cidrs: Annotated[
        DualCIDR, Meta(description="k3s --cluster-cidr per family (Node podCIDRs come from it).")
    ]
    service_cidrs: Annotated[DualCIDR, Meta(description="k3s --service-cidr per family (ClusterIP ranges).")]
    kube_proxy_disabled: Annotated[
        bool, Meta(description="k3s runs with --disable-kube-proxy (needed for a kube-proxy-free cluster).")
    ] = True


class Node(Strict, kw_only=True, frozen=True):
    """One cluster node and its InternalIP addresses."""

    name: Annotated[NodeName, Meta(description="Kubernetes node name (RFC 1123).")]
    ipv4: Annotated[IPv4Addr, Meta(description="The node's IPv4 InternalIP.")]
    ipv6: Annotated[IPv6Addr | None, Meta(description="The node's IPv6 InternalIP (dual-stack), or null.")] = None


class Ingress(Strict, frozen=True):
    """How traffic reaches the cluster's HTTP(S) services."""

    hostnames: Annotated[
        list[SingleLine],
        Meta(description="Hostnames served by the Gateway (sent as SNI/Host when verifying)."),
    ] = msgspec.field(default_factory=list)


class IPAMPool(Strict, kw_only=True, frozen=True):
    """A Cilium cluster-pool: the pod CIDR and the size of each node's block."""

    cidr: Annotated[str, Meta(description="Pod CIDR the operator splits into per-node blocks.")]
    mask_size: Annotated[
        int, Meta(description="Prefix length of each node's block (e.g. 24 for IPv4, 120 for IPv6).")
    ]


class IPv4Pool(IPAMPool, kw_only=True, frozen=True):
    """The IPv4 pod pool."""

    cidr: Annotated[IPv4CIDR, Meta(description="IPv4 pod CIDR the operator splits into per-node blocks.")]
    mask_size: Annotated[int, Meta(ge=1, le=32, description="Prefix length of each node's IPv4 block.")] = 24


class IPv6Pool(IPAMPool, kw_only=True, frozen=True):
    """The IPv6 pod pool."""

    cidr: Annotated[IPv6CIDR, Meta(description="IPv6 pod CIDR the operator splits into per-node blocks.")]
    mask_size: Annotated[int, Meta(ge=1, le=128, description="Prefix length of each node's IPv6 block.")] = 120


class IPAM(Strict, kw_only=True, frozen=True):
    """Cilium cluster-pool IPAM; an IPv6 pool makes the cluster dual-stack."""

    ipv4: Annotated[IPv4Pool, Meta(description="IPv4 pod pool (always present: IPv4 stays enabled).")]
    ipv6: Annotated[
        IPv6Pool | None, Meta(description="IPv6 pod pool for dual-stack pods; null for IPv4 only.")
    ] = None


class BigTCP(Strict, frozen=True):
    """BIG TCP per family (larger GSO/GRO packets; needs recent kernels and capable NICs)."""

    ipv4: Annotated[bool, Meta(description="enableIPv4BIGTCP (kernel >= 6.3).")] = False
    ipv6: Annotated[bool, Meta(description="enableIPv6BIGTCP (kernel >= 5.19).")] = False


class SocketLB(Strict, frozen=True):
    """Socket-level service load balancing (connect()/sendmsg() time translation)."""

    enabled: Annotated[bool, Meta(description="socketLB.enabled: translate ClusterIPs at the socket.")] = False
    host_namespace_only: Annotated[
        bool | None,
        Meta(
            description=(
                "socketLB.hostNamespaceOnly: only the host namespace uses socket LB, pods use the tc path. "
                "null means: true when vm_workloads is true (VM guests cannot reach ClusterIPs otherwise)."
            )
        ),
    ] = None


class KubeProxyReplacement(Strict, frozen=True):
    """Cilium replaces kube-proxy; the agent then needs a direct address of the API server."""

    enabled: Annotated[bool, Meta(description="kubeProxyReplacement: Cilium serves Services in eBPF.")] = False
    api_server_host: Annotated[
        SingleLine | None,
        Meta(description="k8sServiceHost: address of the API server reachable without a ClusterIP."),
    ] = None
    api_server_port: Annotated[
        Annotated[int, Meta(ge=1, le=65535)] | None, Meta(description="k8sServicePort (k3s: 6443).")
    ] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in ("api_server_host", "api_server_port"):
            if self.enabled and getattr(self, field) is None:
                raise InconsistentProfile(
                    (field,),
                    "is required with kube-proxy replacement: without kube-proxy the agent cannot reach the "
                    "API server through its ClusterIP",
                )


class GatewayAPI(Strict, frozen=True):
    """Cilium's Gateway API implementation."""

    enabled: Annotated[
        bool, Meta(description="gatewayAPI.enabled: Cilium serves Gateway API resources.")
    ] = False
    host_network: Annotated[
        bool, Meta(description="gatewayAPI.hostNetwork.enabled: Envoy listens on every node's own addresses.")
    ] = False
    privileged_ports: Annotated[
        bool,
        Meta(description="Listeners use ports <= 1023 (80/443) on the host network, so Envoy keeps NET_BIND_SERVICE."),
    ] = True


class Tuning(Strict, kw_only=True, frozen=True):
    """The datapath tuning wanted; each choice becomes Helm values in the rendered overlays."""

    routing_mode: Annotated[
        Literal["native", "tunnel"],
        Meta(description="routingMode: native (nodes route pod CIDRs directly) or tunnel (VXLAN/Geneve)."),
    ] = "tunnel"
    auto_direct_node_routes: Annotated[
        bool, Meta(description="autoDirectNodeRoutes: routes to other nodes' pod blocks (nodes share an L2).")
    ] = False
    native_routing_cidrs: Annotated[
        DualCIDR, Meta(description="ipv4/ipv6NativeRoutingCIDR: not masqueraded; must contain the pod pools.")
    ] = DualCIDR()
    datapath_mode: Annotated[
        Literal["veth", "netkit", "netkit-l2"],
        Meta(description="bpf.datapathMode: pod device type; netkit needs kernel >= 6.7 and a migration."),
    ] = "veth"
    big_tcp: Annotated[BigTCP, Meta(description="BIG TCP per family.")] = BigTCP()
    socket_lb: Annotated[SocketLB, Meta(description="Socket-level load balancing.")] = SocketLB()
    l2_neigh_discovery: Annotated[
        bool, Meta(description="l2NeighDiscovery.enabled: the agent keeps ARP/NDP entries of other nodes fresh.")
    ] = False
    kube_proxy_replacement: Annotated[
        KubeProxyReplacement, Meta(description="kube-proxy replacement and the API server address.")
    ] = KubeProxyReplacement()
    bpf_masquerade: Annotated[
        bool, Meta(description="bpf.masquerade: SNAT in eBPF instead of iptables.")
    ] = False
    ipam: Annotated[IPAM, Meta(description="Cluster-pool pod pools per family (an IPv6 pool means dual-stack).")]
    gateway_api: Annotated[
        GatewayAPI, Meta(description="Gateway API and its host-network mode.")
    ] = GatewayAPI()
    vm_workloads: Annotated[
        bool, Meta(description="Pods run VMs (QEMU/vrnetlab, KubeVirt, Kata): guests need socket LB off in pods.")
    ] = False

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


class Profile(Strict, kw_only=True, frozen=True, dict=True):
    """A cluster and the Cilium tuning wanted on it.

    Equal when the content is equal, wherever the two were loaded from: `source` is kept beside the
    fields (in the instance's `__dict__`, hence `dict=True`), not among them.
    """

    description: Annotated[str, Meta(description="Free text: what this cluster is for.")] = ""
    cluster: Annotated[Cluster, Meta(description="Which cluster and how to reach it.")]
    release: Annotated[HelmRelease, Meta(description="The Cilium Helm release.")]
    distribution: Annotated[K3s, Meta(description="Distribution facts (k3s).")]
    nodes: Annotated[list[Node], Meta(min_length=1, description="The cluster's nodes and their InternalIPs.")]
    ingress: Annotated[Ingress, Meta(description="Ingress hostnames.")] = Ingress()
    tuning: Annotated[Tuning, Meta(description="The tuning choices.")]

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nodes(self)
        for family in ("ipv4", "ipv6"):
            _check_family(self, family)
        _check_services(self)

    def __hash__(self) -> int:
        """By content, as equality (the lists inside make the default struct hash fail)."""
        return hash(msgspec.json.encode(self))

    @property
    def source(self) -> str:
        """Where the profile came from: `builtin:NAME` or a file path. A copy or a pickle keeps it;
        `msgspec.structs.replace` does not (a changed profile was not loaded from there: `<memory>`)."""
        source: str = self.__dict__.get("_source", "<memory>")
        return source

    def with_source(self, source: str) -> Self:
        """Record where this profile was loaded from (kept out of the schema and of equality)."""
        self.__dict__["_source"] = source
        return self

    def __copy__(self) -> Self:
        """The same fields and the same `source` (msgspec's own copy knows only the fields)."""
        return msgspec.structs.replace(self).with_source(self.source)

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle and `copy.deepcopy` rebuild the fields and the `source` (msgspec's own: the fields only)."""
        return _rebuilt, (type(self), msgspec.structs.asdict(self), self.source)

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self.cluster.name

    @property
    def families(self) -> tuple[Family, ...]:
        """The IP families pods use."""
        return ("ipv4", "ipv6") if self.tuning.dual_stack else ("ipv4",)


def _rebuilt(cls: type[Profile], fields: dict[str, object], source: str) -> Profile:
    """A pickled or deep-copied profile (`Profile.__reduce__`)."""
    return cls(**fields).with_source(source)  # type: ignore[arg-type]


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
