from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT503",
    name="flannel-still-enabled",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.k3s.flannel_backend",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A k3s server still runs its embedded flannel next to Cilium.

    What it checks:
        A k3s server node's args lack `--flannel-backend=none` (no flag means k3s's default, vxlan).
    Why it matters:
        k3s keeps writing flannel's CNI config and programming flannel routes and VXLAN devices; pods
        can land on flannel addresses, and flannel's routes fight Cilium's (especially with kube-proxy
        replacement and native routing).
    Example:
        k3s server skyforge-1 started without --flannel-backend.
    Fix:
        Restart the k3s servers with `--flannel-backend=none --disable-network-policy` (in
        /etc/rancher/k3s/config.yaml) and remove flannel's leftovers (cni0, flannel.1, its CNI config).
    References:
        - cilium-k3s-facts section 4: k3s flags for Cilium.
    """
    for node in derive.k3s_servers(ctx):
        assert node.k3s is not None
        backend = node.k3s.flannel_backend
        if backend != "none":
            yield Finding(
                f"k3s server {node.name} runs flannel (--flannel-backend={backend or 'unset, default vxlan'})",
                evidence={f"nodes[{node.name}].k3s.flannel_backend": backend},
            )
