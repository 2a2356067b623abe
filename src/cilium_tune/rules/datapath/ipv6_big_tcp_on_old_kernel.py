from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

IPV6_BIG_TCP_MIN_KERNEL = (5, 19)  # (major, minor)


@rule(
    id="CT206",
    name="ipv6-big-tcp-on-old-kernel",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("nodes.kernel",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """IPv6 BIG TCP asked for on a node whose kernel is older than 5.19.

    What it checks:
        `enableIPv6BIGTCP` is true and a node's kernel is known and older than 5.19.
    Why it matters:
        The agent only logs a warning and silently turns IPv6 BIG TCP off on that node, so measurements
        compare a tuning that is not active.
    Example:
        enableIPv6BIGTCP: true with node lab-1 on kernel 5.15.0-105-generic.
    Fix:
        Upgrade the node's kernel to 5.19 or newer, or set `enableIPv6BIGTCP: false`.
    References:
        - cilium-k3s-facts section 2: IPv6 BIG TCP needs kernel 5.19; too old only warns and disables.
    """
    if not ctx.flag("enableIPv6BIGTCP"):
        return
    for node in derive.nodes_with_kernel_below(ctx, IPV6_BIG_TCP_MIN_KERNEL):
        yield Finding(
            f"node {node.name} runs kernel {node.kernel}: IPv6 BIG TCP needs 5.19 and would be silently off there",
            evidence={"values.enableIPv6BIGTCP": True, f"nodes[{node.name}].kernel": str(node.kernel)},
        )
