from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT203", name="netkit-with-bpf-tproxy", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """netkit datapath combined with BPF TPROXY.

    What it checks:
        `bpf.datapathMode` is `netkit` or `netkit-l2` while `bpf.tproxy` is true.
    Why it matters:
        The agent rejects the combination at start-up, so the agents on the new configuration never
        become ready and pods lose their network.
    Example:
        bpf: {datapathMode: netkit, tproxy: true}
    Fix:
        Set `bpf.tproxy: false` (the L7 proxy then redirects through iptables), or keep
        `bpf.datapathMode: veth`.
    References:
        - cilium-k3s-facts section 2: netkit is incompatible with bpf.tproxy.
    """
    if derive.netkit_requested(ctx) and ctx.flag("bpf.tproxy"):
        yield Finding(
            f"bpf.datapathMode={derive.datapath_mode(ctx)} cannot run with bpf.tproxy=true",
            evidence={
                "values.bpf.datapathMode": derive.datapath_mode(ctx),
                "values.bpf.tproxy": ctx.value("bpf.tproxy"),
            },
            patch={"bpf": {"tproxy": False}},
        )
