from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

IPV4_BIG_TCP_MIN_KERNEL = (6, 3)  # (major, minor)


@rule(
    id="CT205",
    name="ipv4-big-tcp-on-old-kernel",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("nodes.kernel",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """IPv4 BIG TCP asked for on a node whose kernel is older than 6.3.

    What it checks:
        `enableIPv4BIGTCP` is true and a node's kernel is known and older than 6.3.
    Why it matters:
        The agent only logs a warning and silently turns IPv4 BIG TCP off on that node, so the tuning
        you expect is not there and throughput differs from node to node.
    Example:
        enableIPv4BIGTCP: true with node skyforge-2 on kernel 6.1.0-18-amd64.
    Fix:
        Upgrade the node's kernel to 6.3 or newer, or set `enableIPv4BIGTCP: false`.
    References:
        - cilium-k3s-facts section 2: IPv4 BIG TCP needs kernel 6.3; too old only warns and disables.
    """
    if not ctx.flag("enableIPv4BIGTCP"):
        return
    for node in derive.nodes_with_kernel_below(ctx, IPV4_BIG_TCP_MIN_KERNEL):
        yield Finding(
            f"node {node.name} runs kernel {node.kernel}: IPv4 BIG TCP needs 6.3 and would be silently off there",
            evidence={"values.enableIPv4BIGTCP": True, f"nodes[{node.name}].kernel": str(node.kernel)},
        )
