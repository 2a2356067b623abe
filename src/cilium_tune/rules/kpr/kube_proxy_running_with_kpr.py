from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT602",
    name="kube-proxy-running-with-kpr",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("kube_proxy.pods", "kube_proxy.daemonset", "nodes.k3s.disable_kube_proxy"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """kube-proxy still runs (pods, a DaemonSet or k3s's embedded one) while Cilium replaces it.

    What it checks:
        `kubeProxyReplacement` is "true" and either the facts show kube-proxy pods or a kube-proxy
        DaemonSet, or a k3s server's args lack `--disable-kube-proxy` (k3s runs kube-proxy in process).
    Why it matters:
        Both program Service translation: kube-proxy's iptables KUBE-SVC chains keep costing per
        connection (the tuning's point is to drop them), and the two can disagree during changes.
    Example:
        kubeProxyReplacement: "true" on a k3s server started without --disable-kube-proxy.
    Fix:
        Restart the k3s servers with `--disable-kube-proxy` (or delete the kube-proxy DaemonSet), then
        flush the leftover KUBE-* iptables chains on each node.
    References:
        - cilium-k3s-facts section 4: --disable-kube-proxy for kube-proxy replacement.
        - cilium-k3s-facts section 5: KUBE-SVC/KUBE-SEP chains mean kube-proxy is back.
    """
    if not derive.kpr_enabled(ctx) or ctx.facts is None:
        return
    kube_proxy = ctx.facts.kube_proxy
    if ctx.known("kube_proxy") and kube_proxy is not None and (kube_proxy.pods or kube_proxy.daemonset):
        yield Finding(
            f"kube-proxy runs ({kube_proxy.pods} pod(s)"
            + (f", DaemonSet {kube_proxy.daemonset}" if kube_proxy.daemonset else "")
            + ") while kubeProxyReplacement is on",
            evidence={
                "values.kubeProxyReplacement": "true",
                "kube_proxy.pods": kube_proxy.pods,
                "kube_proxy.daemonset": kube_proxy.daemonset,
            },
        )
    for node in derive.k3s_servers(ctx):
        assert node.k3s is not None
        if not node.k3s.disable_kube_proxy:
            yield Finding(
                f"k3s server {node.name} runs without --disable-kube-proxy while kubeProxyReplacement is on",
                evidence={"values.kubeProxyReplacement": "true", f"nodes[{node.name}].k3s.disable_kube_proxy": False},
            )
