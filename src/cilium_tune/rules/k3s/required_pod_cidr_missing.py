from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT506",
    name="required-pod-cidr-missing",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.pod_cidrs",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The agent is told to wait for a podCIDR family that nodes do not have.

    What it checks:
        `k8s.requireIPv6PodCIDR` (or `k8s.requireIPv4PodCIDR`) is true and a node's `spec.podCIDRs`
        has no range of that family.
    Why it matters:
        The agent waits for the Node object to carry a podCIDR of that family before it starts; on a
        single-stack k3s it never will, so the agent hangs and the node has no pod network.
    Example:
        k8s.requireIPv6PodCIDR: true while skyforge-1 has podCIDRs [10.42.0.0/24].
    Fix:
        Set the require flag to false (cluster-pool IPAM does not use node podCIDRs), or create k3s
        dual-stack so nodes get IPv6 podCIDRs.
    References:
        - cilium-k3s-facts section 1: k8s.requireIPv4PodCIDR / requireIPv6PodCIDR.
    """
    if ctx.facts is None or not ctx.known("nodes"):
        return
    for version, key in ((4, "k8s.requireIPv4PodCIDR"), (6, "k8s.requireIPv6PodCIDR")):
        if not ctx.flag(key):
            continue
        for node in ctx.facts.nodes:
            if not any(net.version == version for net in node.pod_cidrs):
                yield Finding(
                    f"{key} is true but node {node.name} has no IPv{version} podCIDR: its agent would wait forever",
                    evidence={
                        f"values.{key}": True,
                        f"nodes[{node.name}].pod_cidrs": ",".join(map(str, node.pod_cidrs)),
                    },
                    patch={"k8s": {key.split(".")[1]: False}},
                )
