from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

# Node addresses carry no prefix length in the API; these are the segment sizes assumed.
ASSUMED_PREFIX = {4: 24, 6: 64}


def _segment(version: int, key: int) -> str:
    """The subnet a shifted address key stands for, e.g. 10.128.16.0/24."""
    prefix = ASSUMED_PREFIX[version]
    width = 32 if version == 4 else 128
    return str(ipaddress.ip_network((key << (width - prefix), prefix)))


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
        not all fall into one /24 (IPv4) or /64 (IPv6). The Node API carries no prefix length, so
        these sizes are assumed; the message says so.
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
    groups: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    evidence: dict[int, dict[str, str]] = defaultdict(dict)
    for name, addr, path in derive.node_addresses(ctx):
        if addr.is_link_local:
            continue
        width = addr.max_prefixlen
        groups[addr.version][int(addr) >> (width - ASSUMED_PREFIX[addr.version])].append(name)
        evidence[addr.version][path] = str(addr)
    for version, segments in sorted(groups.items()):
        if len(segments) > 1:
            shown = "; ".join(
                f"{_segment(version, key)}: {', '.join(sorted(set(names)))}" for key, names in sorted(segments.items())
            )
            yield Finding(
                f"autoDirectNodeRoutes needs one L2 segment but IPv{version} node addresses span "
                f"{len(segments)} /{ASSUMED_PREFIX[version]} subnets ({shown})",
                evidence={"values.autoDirectNodeRoutes": True, **evidence[version]},
            )
