from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT402",
    name="pod-pool-overlaps-node-addresses",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.internal_ipv4", "nodes.internal_ipv6"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A node's InternalIP lies inside the pod pool.

    What it checks:
        A node InternalIP (from the facts, else the profile's node list) falls inside a cluster-pool pod
        CIDR of an enabled family.
    Why it matters:
        The operator hands out pod addresses from the whole pool; a pod can get a node's address, and
        routes for the pod block shadow the node network, cutting nodes off from each other.
    Example:
        clusterPoolIPv4PodCIDRList: [10.0.0.0/8] with nodes on 10.128.16.0/24.
    Fix:
        Pick a pod pool disjoint from every node network, set through
        `ipam.operator.clusterPoolIPv4PodCIDRList` / `clusterPoolIPv6PodCIDRList`.
    References:
        - cilium-k3s-facts section 1: ipam.operator.clusterPoolIPv4PodCIDRList defaults to 10.0.0.0/8.
    """
    addresses = derive.node_addresses(ctx)
    for family in derive.enabled_families(ctx):
        for pool in derive.pod_pools(ctx, family):
            inside = [(name, addr, path) for name, addr, path in addresses if addr in pool]
            if inside:
                yield Finding(
                    f"{family} pod pool {pool} contains node address(es) "
                    + ", ".join(f"{name} {addr}" for name, addr, _ in inside),
                    evidence={
                        f"values.{derive.pool_key(family)}": str(pool),
                        **{path: str(addr) for _, addr, path in inside},
                    },
                )
