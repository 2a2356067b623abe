from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT505",
    name="nodes-without-ipv6-address",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.internal_ipv6",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """IPv6 enabled in Cilium while nodes have no IPv6 InternalIP.

    What it checks:
        `ipv6.enabled` is true and a node in the facts reports no IPv6 InternalIP.
    Why it matters:
        Cilium routes IPv6 pod traffic between nodes via their IPv6 node addresses; a node without one
        gets no IPv6 routes, so IPv6 pod and Service traffic to or from it fails.
    Example:
        ipv6.enabled: true while skyforge-3 lists only 10.128.16.55.
    Fix:
        Give every node an IPv6 address and pass it to k3s (`--node-ip=<v4>,<v6>`), or keep
        `ipv6.enabled: false`.
    References:
        - cilium-k3s-facts section 4: --node-ip=<v4>,<v6> for dual-stack.
        - runbook: nodes are configured with IPv4 + IPv6 InternalIPs.
    """
    if not derive.family_enabled(ctx, "ipv6") or ctx.facts is None or not ctx.known("nodes"):
        return
    for node in ctx.facts.nodes:
        if not node.internal_ipv6:
            yield Finding(
                f"node {node.name} has no IPv6 InternalIP but ipv6.enabled is true",
                evidence={
                    "values.ipv6.enabled": True,
                    f"nodes[{node.name}].internal_ipv4": ",".join(map(str, node.internal_ipv4)),
                    f"nodes[{node.name}].internal_ipv6": "",
                },
            )
