from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT403", name="pod-pool-too-small", severity=Severity.ERROR, since="0.1.0", requires=("nodes.name",))
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The pod pool's mask size cannot give every node a block.

    What it checks:
        For each enabled family, the per-node mask size (`clusterPoolIPv4MaskSize`, default 24;
        `clusterPoolIPv6MaskSize`, default 120) is shorter than a pool's prefix, longer than the address
        width, or the pools hold fewer blocks than there are nodes (from the facts, else the profile).
    Why it matters:
        The operator allocates one block per node; a node that gets no block has no pod addresses, so
        its cilium-agent waits forever and nothing schedules there.
    Example:
        clusterPoolIPv4PodCIDRList: [100.70.0.0/23] with mask size 24 and three nodes (two blocks).
    Fix:
        Widen the pool or lengthen the mask size so the pools hold at least one block per node, with
        room to grow.
    References:
        - cilium-k3s-facts section 1: clusterPoolIPv4MaskSize 24, clusterPoolIPv6MaskSize 120 defaults.
    """
    count = derive.node_count(ctx)
    for family in derive.enabled_families(ctx):
        pools = derive.pod_pools(ctx, family)
        if not pools:
            continue
        mask_key = derive.mask_key(family)
        mask = ctx.value(mask_key)
        width = 32 if family == "ipv4" else 128
        evidence = {f"values.{derive.pool_key(family)}": " ".join(map(str, pools)), f"values.{mask_key}": mask}
        if not isinstance(mask, int) or isinstance(mask, bool) or not 0 < mask <= width:
            yield Finding(f"{mask_key}={mask!r} is not a prefix length between 1 and {width}", evidence=evidence)
            continue
        too_short = [p for p in pools if mask < p.prefixlen]
        if too_short:
            yield Finding(
                f"{mask_key}={mask} is shorter than the pool prefix of {', '.join(map(str, too_short))}: "
                "a node block cannot be larger than its pool",
                evidence=evidence,
            )
            continue
        blocks = sum(2 ** (mask - p.prefixlen) for p in pools)
        if count is not None and blocks < count[0]:
            yield Finding(
                f"{family} pools hold {blocks} /{mask} block(s) but the cluster has {count[0]} nodes",
                evidence={**evidence, f"{count[1]}.count": count[0]},
            )
