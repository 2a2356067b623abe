from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT401",
    name="pod-pool-overlaps-service-cidr",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.k3s.service_cidr",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The pod pool overlaps the cluster's Service CIDR.

    What it checks:
        A cluster-pool pod CIDR of an enabled family overlaps a Service range: k3s's `--service-cidr`
        from the server nodes' args (k3s's default 10.43.0.0/16 when not given), or the profile's
        `distribution.service_cidrs` when there are no facts.
    Why it matters:
        Pods and ClusterIPs would share addresses: a pod that receives an address inside the Service
        range is unreachable for traffic aimed at it, and service translation hijacks it. Cilium's
        default pool 10.0.0.0/8 contains k3s's default Service range 10.43.0.0/16, so an install that
        keeps the defaults hits this.
    Example:
        ipam.operator.clusterPoolIPv4PodCIDRList left at 10.0.0.0/8 on k3s with service-cidr 10.43.0.0/16.
    Fix:
        Choose a pod pool disjoint from the Service range (the runbook uses 100.70.0.0/16), set through
        `ipam.operator.clusterPoolIPv4PodCIDRList` / `clusterPoolIPv6PodCIDRList`.
    References:
        - cilium-k3s-facts section 4: the default cluster-pool 10.0.0.0/8 contains k3s's 10.43.0.0/16.
    """
    services = derive.service_cidrs(ctx)
    for family in derive.enabled_families(ctx):
        for pool in derive.pod_pools(ctx, family):
            for net, path, shown in services:
                if net.version == pool.version and pool.overlaps(net):
                    yield Finding(
                        f"{family} pod pool {pool} overlaps the Service CIDR {net}",
                        evidence={f"values.{derive.pool_key(family)}": str(pool), path: shown},
                    )
