from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT504",
    name="dual-stack-on-single-stack-k3s",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.k3s.cluster_cidr", "nodes.k3s.service_cidr", "nodes.k3s.node_ip"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Dual-stack Cilium on a k3s cluster created single-stack.

    What it checks:
        `ipv4.enabled` and `ipv6.enabled` are both true, and a k3s server's `--cluster-cidr` or
        `--service-cidr` has no IPv6 range (unset means k3s's IPv4-only defaults), or a node's
        `--node-ip` was given without an IPv6 address.
    Why it matters:
        Dual-stack is fixed when the k3s cluster is created: Services get no IPv6 ClusterIPs, nodes get
        no IPv6 podCIDRs, and k3s refuses mixed settings ("cluster-cidr and node-ip must share the same
        IP version"). Cilium then half-works for IPv6.
    Example:
        ipv6.enabled: true on k3s started with --cluster-cidr=10.42.0.0/16 only.
    Fix:
        Create the k3s cluster dual-stack (`--cluster-cidr=<v4>,<v6> --service-cidr=<v4>,<v6>
        --node-ip=<v4>,<v6>`), or keep `ipv6.enabled: false`.
    References:
        - cilium-k3s-facts section 4: dual-stack must be chosen at creation (k3s-io/k3s issue #11735).
    """
    if not (derive.family_enabled(ctx, "ipv4") and derive.family_enabled(ctx, "ipv6")):
        return
    for node in derive.k3s_servers(ctx):
        assert node.k3s is not None
        for flag, nets in (("cluster_cidr", node.k3s.cluster_cidr), ("service_cidr", node.k3s.service_cidr)):
            if not any(net.version == 6 for net in nets or ()):
                shown = ",".join(map(str, nets)) if nets else "unset (IPv4-only default)"
                yield Finding(
                    f"k3s server {node.name} --{flag.replace('_', '-')} has no IPv6 range ({shown})",
                    evidence={"values.ipv6.enabled": True, f"nodes[{node.name}].k3s.{flag}": shown},
                )
    if ctx.facts is None:
        return
    for node in ctx.facts.nodes:
        node_ip = node.k3s.node_ip if node.k3s is not None else None
        if node_ip is not None and not any(ip.version == 6 for ip in node_ip):
            yield Finding(
                f"k3s node {node.name} --node-ip={','.join(map(str, node_ip))} has no IPv6 address",
                evidence={"values.ipv6.enabled": True, f"nodes[{node.name}].k3s.node_ip": ",".join(map(str, node_ip))},
            )
