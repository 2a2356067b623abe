"""How the chart and the agent interpret the merged values, in one place so every rule agrees.

Each function answers one question ("is kube-proxy replacement on?", "which pod pools?") from a
`RuleContext`, applying the chart's defaults and the agent's forcing rules (for example kube-proxy
replacement turns socket LB on whatever `socketLB.enabled` says).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any

from cilium_tune.facts.k3s_defaults import K3S_DEFAULT_CLUSTER_CIDR, K3S_DEFAULT_SERVICE_CIDR
from cilium_tune.rules.context import CHART_DEFAULTS, RuleContext, truthy
from cilium_tune.values.paths import MISSING, get_path

if TYPE_CHECKING:
    from cilium_tune.facts.model import NodeFacts

Network = IPv4Network | IPv6Network
FAMILIES = ("ipv4", "ipv6")
NETKIT_MODES = ("netkit", "netkit-l2")


def kpr_enabled(ctx: RuleContext) -> bool:
    """kubeProxyReplacement is "true" (the chart's only other valid value is "false")."""
    return truthy(ctx.value("kubeProxyReplacement"))


def routing_mode(ctx: RuleContext) -> str:
    """ "native" or "tunnel" (an empty routingMode means tunnel)."""
    return str(ctx.value("routingMode") or "tunnel")


def datapath_mode(ctx: RuleContext) -> str:
    """bpf.datapathMode, "veth" when unset."""
    return str(ctx.value("bpf.datapathMode") or "veth")


def device_family(mode: str) -> str:
    """The pod device a datapath mode creates: "netkit" for netkit and netkit-l2, else "veth"."""
    return "netkit" if mode in NETKIT_MODES else "veth"


def netkit_requested(ctx: RuleContext) -> bool:
    """bpf.datapathMode asks for netkit pod devices (netkit or netkit-l2)."""
    return datapath_mode(ctx) in NETKIT_MODES


def big_tcp_flags(ctx: RuleContext) -> list[str]:
    """The BIG TCP values that are on (enableIPv4BIGTCP / enableIPv6BIGTCP)."""
    return [key for key in ("enableIPv4BIGTCP", "enableIPv6BIGTCP") if ctx.flag(key)]


def family_enabled(ctx: RuleContext, family: str) -> bool:
    """ipv4.enabled / ipv6.enabled with the chart defaults (v4 on, v6 off)."""
    return truthy(ctx.value(f"{family}.enabled"))


def enabled_families(ctx: RuleContext) -> list[str]:
    return [f for f in FAMILIES if family_enabled(ctx, f)]


def masquerade_enabled(ctx: RuleContext, family: str) -> bool:
    """enableIPv4Masquerade renders "true" when null; enableIPv6Masquerade defaults to true."""
    key = "enableIPv4Masquerade" if family == "ipv4" else "enableIPv6Masquerade"
    value = ctx.value(key)
    return True if value is None else truthy(value)


def socket_lb_in_pods(ctx: RuleContext) -> bool:
    """Socket LB runs inside pod namespaces: on (forced by KPR or asked for) and not host-namespace-only."""
    active = kpr_enabled(ctx) or ctx.flag("socketLB.enabled")
    return active and not ctx.flag("socketLB.hostNamespaceOnly")


def native_cidr_key(family: str) -> str:
    return "ipv4NativeRoutingCIDR" if family == "ipv4" else "ipv6NativeRoutingCIDR"


def pool_key(family: str) -> str:
    return f"ipam.operator.clusterPool{'IPv4' if family == 'ipv4' else 'IPv6'}PodCIDRList"


def mask_key(family: str) -> str:
    return f"ipam.operator.clusterPool{'IPv4' if family == 'ipv4' else 'IPv6'}MaskSize"


def parse_network(text: object) -> Network | None:
    """A CIDR from values, None when empty or not a CIDR (values rules report malformed ones)."""
    if not isinstance(text, str) or not text.strip():
        return None
    return _parse_cidr(text.strip())


@lru_cache(maxsize=4096)
def _parse_cidr(text: str) -> Network | None:
    """Cached: snapshots repeat the same CIDR strings on every node."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def pod_pools(ctx: RuleContext, family: str) -> list[Network]:
    """The cluster-pool pod CIDRs of one family (chart default when unset); only for cluster-pool IPAM."""
    if str(ctx.value("ipam.mode") or "cluster-pool") != "cluster-pool":
        return []
    raw = ctx.value(pool_key(family))
    items = raw if isinstance(raw, list) else str(raw or "").split()
    return [net for net in map(parse_network, items) if net is not None]


def nodes_with_kernel_below(ctx: RuleContext, minimum: tuple[int, int]) -> Iterator[NodeFacts]:
    """Nodes whose kernel is known and older than `minimum` (major, minor); unknown kernels are skipped,
    not guessed."""
    if ctx.facts is None or not ctx.facts.is_known("nodes"):
        return
    for node in ctx.facts.nodes:
        if node.kernel is not None and node.kernel.key < minimum:
            yield node


def previous_values(ctx: RuleContext) -> tuple[Mapping[str, Any], str] | None:
    """The values the cluster runs with before this change, and where they came from: the baseline
    when given, else the live release's `helm get values --all` (never empty when collected, so an
    empty map counts as unknown); None when neither is known."""
    if ctx.baseline is not None:
        return ctx.baseline.values, "baseline"
    if ctx.facts is not None and ctx.facts.helm_release is not None and ctx.facts.helm_release.computed_values:
        return ctx.facts.helm_release.computed_values, "helm_release.computed_values"
    return None


def previous_value(previous: Mapping[str, Any], path: str) -> Any:
    """A key of the previous values, with the chart default when the key is absent there."""
    found = get_path(previous, path, MISSING)
    return CHART_DEFAULTS.get(path) if found is MISSING else found


def same_setting(a: Any, b: Any) -> bool:
    """Equal as the chart renders them: true == "true", 6443 == "6443", null == ""."""
    return bool(_rendered(a) == _rendered(b))


def _rendered(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value).strip().lower() if isinstance(value, str) else str(value)
    return value


def k3s_servers(ctx: RuleContext) -> list[NodeFacts]:
    """Nodes whose k3s args are known and say `server` (cluster-wide flags live on servers)."""
    if ctx.facts is None or not ctx.facts.is_known("nodes"):
        return []
    return [n for n in ctx.facts.nodes if n.k3s is not None and n.k3s.role == "server"]


def service_cidrs(ctx: RuleContext) -> list[tuple[Network, str, str]]:
    """(CIDR, evidence path, shown value) of the cluster's Service ranges.

    From the k3s server args in the facts (k3s's default 10.43.0.0/16 when a server names none),
    else from the profile's `distribution.service_cidrs`; empty when neither is known.
    """
    found: dict[Network, tuple[str, str]] = {}
    for node in k3s_servers(ctx):
        assert node.k3s is not None
        key = f"nodes[{node.name}].k3s.service_cidr"
        if node.k3s.service_cidr is None:
            found.setdefault(K3S_DEFAULT_SERVICE_CIDR, (key, f"unset (k3s default {K3S_DEFAULT_SERVICE_CIDR})"))
        for net in node.k3s.service_cidr or ():
            found.setdefault(net, (key, ",".join(map(str, node.k3s.service_cidr or ()))))
    if not found and ctx.profile is not None:
        cidrs = ctx.profile.distribution.service_cidrs
        for family, cidr in (("ipv4", cidrs.ipv4), ("ipv6", cidrs.ipv6)):
            parsed = parse_network(cidr)
            if parsed is not None:
                found[parsed] = (f"profile.distribution.service_cidrs.{family}", str(parsed))
    return [(net, key, shown) for net, (key, shown) in found.items()]


def node_addresses(ctx: RuleContext) -> list[tuple[str, IPv4Address | IPv6Address, str]]:
    """(node name, InternalIP, evidence path) from the facts, else from the profile's node list."""
    out: list[tuple[str, IPv4Address | IPv6Address, str]] = []
    if ctx.facts is not None and ctx.facts.is_known("nodes") and ctx.facts.nodes:
        for node in ctx.facts.nodes:
            for v4 in node.internal_ipv4:
                out.append((node.name, v4, f"nodes[{node.name}].internal_ipv4"))
            for v6 in node.internal_ipv6:
                out.append((node.name, v6, f"nodes[{node.name}].internal_ipv6"))
        return out
    if ctx.profile is not None:
        for pnode in ctx.profile.nodes:
            for family, raw in (("ipv4", pnode.ipv4), ("ipv6", pnode.ipv6)):
                if raw:
                    out.append((pnode.name, ipaddress.ip_address(raw), f"profile.nodes[{pnode.name}].{family}"))
    return out


def node_count(ctx: RuleContext) -> tuple[int, str] | None:
    """How many nodes the cluster has and where that came from (facts, else profile), None if unknown."""
    if ctx.facts is not None and ctx.facts.is_known("nodes") and ctx.facts.nodes:
        return len(ctx.facts.nodes), "nodes"
    if ctx.profile is not None:
        return len(ctx.profile.nodes), "profile.nodes"
    return None


def cluster_cidrs(ctx: RuleContext) -> list[tuple[Network, str]]:
    """(CIDR, evidence path) of k3s's --cluster-cidr on the servers (k3s's 10.42.0.0/16 when not given)."""
    found: dict[Network, str] = {}
    for node in k3s_servers(ctx):
        assert node.k3s is not None
        for net in node.k3s.cluster_cidr or (K3S_DEFAULT_CLUSTER_CIDR,):
            found.setdefault(net, f"nodes[{node.name}].k3s.cluster_cidr")
    return list(found.items())


def gateway_api_enabled(ctx: RuleContext) -> bool:
    return ctx.flag("gatewayAPI.enabled")


def target_chart_version(ctx: RuleContext) -> tuple[str, str] | None:
    """(chart version the change installs, evidence path), as the desired state decided it
    (`desired.chart_target`); None when nothing says."""
    return ctx.target_version


def minor_version(version: str) -> tuple[int, int] | None:
    """(major, minor) of '1.19.0-rc.1' or 'v1.4.1'; None when it does not start with two numbers."""
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1].split("-")[0])
    except (IndexError, ValueError):
        return None
