from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT502",
    name="pods-on-flannel-addresses",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("pod_ips.by_cidr", "nodes.k3s.cluster_cidr"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Pods hold addresses from k3s's flannel range instead of Cilium's pool: flannel is still the CNI.

    What it checks:
        With cluster-pool IPAM, the pod address summary of a node counts pods inside k3s's
        `--cluster-cidr` (10.42.0.0/16 by default) that are outside every Cilium pod pool.
    Why it matters:
        Those pods were wired by flannel, not Cilium: Cilium's routing, policies and tuning do not
        apply to them and cross-node traffic between flannel and Cilium pods breaks.
    Example:
        skyforge-2 runs 4 pods in 10.42.0.0/16 while the Cilium pool is 100.70.0.0/16.
    Fix:
        Point `cni.confPath` at k3s's CNI directory, run k3s with `--flannel-backend=none`, remove
        flannel's config from the node, and recreate the affected pods.
    References:
        - cilium-k3s-facts section 4: pods with 10.42.x.x addresses mean flannel is still in use.
        - runbook: symptom "pods get 10.42.x.x IPs and cross-node networking breaks".
    """
    facts = ctx.facts
    if facts is None or not ctx.known("pod_ips") or ctx.value("ipam.mode") != "cluster-pool":
        return
    pools = [p for f in derive.enabled_families(ctx) for p in derive.pod_pools(ctx, f)]
    flannel = derive.cluster_cidrs(ctx)
    for summary in facts.pod_ips:
        stray: dict[str, int] = {}
        for cidr, count in summary.by_cidr.items():
            net = derive.parse_network(cidr)
            if net is None or count <= 0:
                continue
            in_pool = any(net.version == p.version and net.subnet_of(p) for p in pools)  # type: ignore[arg-type]
            in_flannel = any(net.version == f.version and net.subnet_of(f) for f, _ in flannel)  # type: ignore[arg-type]
            if in_flannel and not in_pool:
                stray[str(ipaddress.ip_network(cidr, strict=False))] = count
        if stray:
            yield Finding(
                f"node {summary.node} runs {sum(stray.values())} pod(s) on flannel addresses "
                f"({', '.join(sorted(stray))}) outside the Cilium pool(s) {', '.join(map(str, pools))}",
                evidence={
                    **{f"pod_ips[{summary.node}].by_cidr.{cidr}": n for cidr, n in sorted(stray.items())},
                    **{path: str(net) for net, path in flannel},
                },
            )
