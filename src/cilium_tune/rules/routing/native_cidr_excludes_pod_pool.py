from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT302", name="native-cidr-excludes-pod-pool", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A native routing CIDR that does not contain the pod pool of its family.

    What it checks:
        For each enabled family, `ipv4NativeRoutingCIDR` / `ipv6NativeRoutingCIDR` is set and a
        cluster-pool pod CIDR (`ipam.operator.clusterPoolIPv{4,6}PodCIDRList`, chart default
        10.0.0.0/8 and fd00::/104) is not inside it.
    Why it matters:
        Traffic to pod addresses outside the native routing CIDR is masqueraded to the node's address,
        so pod-to-pod traffic across nodes loses its source identity: network policies and logs see
        nodes instead of pods, and some flows break.
    Example:
        ipv4NativeRoutingCIDR: 100.70.0.0/16 while the pool is the chart default 10.0.0.0/8.
    Fix:
        Make the native routing CIDR a supernet of the pod pool, or set the pod pool inside it.
    References:
        - cilium-k3s-facts section 1: ipv4-/ipv6-native-routing-cidr; runbook: the native routing CIDR
          matches the cluster-pool pod CIDR.
    """
    for family in derive.enabled_families(ctx):
        key = derive.native_cidr_key(family)
        native = derive.parse_network(ctx.value(key))
        if native is None:
            continue
        for pool in derive.pod_pools(ctx, family):
            if pool.version == native.version and not pool.subnet_of(native):  # type: ignore[arg-type]
                source = "set" if ctx.is_set(derive.pool_key(family)) else "chart default"
                yield Finding(
                    f"{key}={native} does not contain the {family} pod pool {pool} ({source}): "
                    "pod-to-pod traffic would be masqueraded",
                    evidence={f"values.{key}": str(native), f"values.{derive.pool_key(family)}": str(pool)},
                )
