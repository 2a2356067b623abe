from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT202", name="netkit-with-legacy-host-routing", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """netkit datapath combined with legacy (iptables) host routing.

    What it checks:
        `bpf.datapathMode` is `netkit` or `netkit-l2` while `bpf.hostLegacyRouting` is true.
    Why it matters:
        netkit only works with BPF host routing; the agent refuses to start when legacy host routing is
        asked for, so every agent on the new configuration stays down.
    Example:
        bpf: {datapathMode: netkit, hostLegacyRouting: true}
    Fix:
        Remove `bpf.hostLegacyRouting` (BPF host routing needs kube-proxy replacement and BPF masquerade),
        or keep `bpf.datapathMode: veth`.
    References:
        - cilium-k3s-facts section 2: netkit requires BPF host routing
          (the agent rejects enable-host-legacy-routing=true).
    """
    if derive.netkit_requested(ctx) and ctx.flag("bpf.hostLegacyRouting"):
        yield Finding(
            f"bpf.datapathMode={derive.datapath_mode(ctx)} cannot run with bpf.hostLegacyRouting=true",
            evidence={
                "values.bpf.datapathMode": derive.datapath_mode(ctx),
                "values.bpf.hostLegacyRouting": ctx.value("bpf.hostLegacyRouting"),
            },
            patch={"bpf": {"hostLegacyRouting": False}},
        )
