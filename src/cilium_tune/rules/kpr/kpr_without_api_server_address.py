from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT601", name="kpr-without-api-server-address", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Kube-proxy replacement without a direct address of the API server.

    What it checks:
        `kubeProxyReplacement` is "true" and `k8sServiceHost` or `k8sServicePort` is empty.
    Why it matters:
        Without kube-proxy, nothing translates the `kubernetes` Service ClusterIP until Cilium itself
        runs, and Cilium needs the API server to start: the agent cannot reach it and never becomes
        ready (a chicken-and-egg outage on every node).
    Example:
        kubeProxyReplacement: "true" with k8sServiceHost unset.
    Fix:
        Set `k8sServiceHost` to an address of the API server reachable from every node (on k3s a server
        node's IP) and `k8sServicePort` to its port (k3s: 6443).
    References:
        - cilium-k3s-facts section 1: k8sServiceHost/Port are required in practice with kube-proxy
          replacement.
    """
    if not derive.kpr_enabled(ctx):
        return
    missing = [k for k in ("k8sServiceHost", "k8sServicePort") if not ctx.value(k)]
    if missing:
        server = next((n for n in derive.k3s_servers(ctx) if n.internal_ipv4), None)
        patch: dict[str, object] = {"k8sServicePort": 6443} if "k8sServicePort" in missing else {}
        if server is not None and "k8sServiceHost" in missing:
            patch["k8sServiceHost"] = str(server.internal_ipv4[0])
        yield Finding(
            f"kubeProxyReplacement is on but {' and '.join(missing)} is empty: agents cannot reach the API server",
            evidence={"values.kubeProxyReplacement": "true", **{f"values.{k}": ctx.value(k) for k in missing}},
            patch=patch or None,
        )
