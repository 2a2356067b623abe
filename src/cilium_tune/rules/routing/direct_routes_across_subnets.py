from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

# Node objects carry no prefix length: without node probes these segment sizes are assumed.
ASSUMED_PREFIX = {4: 24, 6: 64}


def _segment(ctx: RuleContext, node: str, addr: IPv4Address | IPv6Address) -> tuple[IPv4Network | IPv6Network, bool]:
    """The node address's subnet: the probed interface prefix when known (exact), else the assumed one."""
    probe = ctx.facts.probe(node) if ctx.facts is not None else None
    for entry in (probe.addresses or ()) if probe is not None else ():
        interface = ipaddress.ip_interface(entry)
        if interface.ip == addr:
            return interface.network, True
    return ipaddress.ip_network((addr, ASSUMED_PREFIX[addr.version]), strict=False), False


@rule(
    id="CT303",
    name="direct-routes-across-subnets",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("nodes.internal_ipv4", "nodes.internal_ipv6"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """autoDirectNodeRoutes with nodes whose InternalIPs are in different subnets (not one L2 segment).

    What it checks:
        `autoDirectNodeRoutes: true` with native routing, and the nodes' InternalIPs of one family do
        not all fall into one subnet. The Node API carries no prefix length: node probes
        (`facts --probe-nodes`) record each interface's prefix and make the check exact; without them a
        /24 (IPv4) or /64 (IPv6) is assumed, and the message says which.
    Why it matters:
        Direct node routes send each node's pod block straight to the other node's address as next
        hop, which only works when that address is on the same L2 segment. Across a router the routes
        fail to install or black-hole traffic, and cross-node pod traffic breaks.
    Example:
        skyforge-1 at 10.128.16.58 and skyforge-4 at 10.128.17.10 with autoDirectNodeRoutes: true.
    Fix:
        Keep all nodes on one L2 segment, or turn `autoDirectNodeRoutes` off and let a router (or BGP)
        carry the pod routes, or use tunnel routing.
    References:
        - cilium-k3s-facts section 1: autoDirectNodeRoutes; runbook: "Nodes are L2-adjacent".
    """
    if not ctx.flag("autoDirectNodeRoutes") or derive.routing_mode(ctx) != "native":
        return
    groups: dict[int, dict[IPv4Network | IPv6Network, list[str]]] = defaultdict(lambda: defaultdict(list))
    evidence: dict[int, dict[str, str]] = defaultdict(dict)
    exact: dict[int, bool] = defaultdict(lambda: True)
    for name, addr, path in derive.node_addresses(ctx):
        if addr.is_link_local:
            continue
        network, probed = _segment(ctx, name, addr)
        groups[addr.version][network].append(name)
        evidence[addr.version][path] = str(addr)
        if probed:
            evidence[addr.version][f"probes[{name}].addresses"] = str(network)
        exact[addr.version] &= probed
    for version, segments in sorted(groups.items()):
        if len(segments) > 1:
            shown = "; ".join(f"{net}: {', '.join(sorted(set(names)))}" for net, names in sorted(segments.items()))
            how = "as the node probes show" if exact[version] else f"assuming /{ASSUMED_PREFIX[version]} where unprobed"
            yield Finding(
                f"autoDirectNodeRoutes needs one L2 segment but IPv{version} node addresses span "
                f"{len(segments)} subnets, {how} ({shown})",
                evidence={"values.autoDirectNodeRoutes": True, **evidence[version]},
            )
