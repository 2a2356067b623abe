"""How the chart and the agent interpret the merged values, in one place so every rule agrees.

Each function answers one question ("is kube-proxy replacement on?", "which pod pools?") from a
`RuleContext`, applying the chart's defaults and the agent's forcing rules (for example kube-proxy
replacement turns socket LB on whatever `socketLB.enabled` says).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network

from cilium_tune.facts.model import KernelVersion, NodeFacts
from cilium_tune.rules.context import RuleContext, lookup, truthy

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


def netkit_requested(ctx: RuleContext) -> bool:
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
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def pod_pools(ctx: RuleContext, family: str) -> list[Network]:
    """The cluster-pool pod CIDRs of one family (chart default when unset); only for cluster-pool IPAM."""
    if str(ctx.value("ipam.mode") or "cluster-pool") != "cluster-pool":
        return []
    raw = ctx.value(pool_key(family))
    items = raw if isinstance(raw, list) else str(raw or "").split()
    return [net for net in map(parse_network, items) if net is not None]


def nodes_with_kernel_below(ctx: RuleContext, minimum: KernelVersion) -> Iterator[NodeFacts]:
    """Nodes whose kernel is known and older than `minimum`; unknown kernels are skipped, not guessed."""
    if ctx.facts is None or not ctx.facts.is_known("nodes"):
        return
    for node in ctx.facts.nodes:
        if node.kernel is not None and node.kernel < minimum:
            yield node


def live_value(ctx: RuleContext, path: str) -> object:
    """The value the live release runs with (`helm get values --all`), None when unknown or unset."""
    if ctx.facts is None or ctx.facts.helm_release is None:
        return None
    return lookup(ctx.facts.helm_release.computed_values, path)
