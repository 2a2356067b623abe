from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT204",
    name="datapath-mode-change-with-pods",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("cilium_config.data", "pod_ips.pods", "pod_ips.host_network"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The datapath mode changes (veth <-> netkit) while pods exist: a per-node migration is required.

    What it checks:
        The live cilium-config `datapath-mode` and the new `bpf.datapathMode` create different pod
        devices (veth vs netkit / netkit-l2), and at least one node runs pods that are not on the host
        network.
    Why it matters:
        There is no in-place migration. At start the agent compares every restored endpoint's device type
        with the configured mode and refuses to start on a mismatch ("detected N existing endpoint(s)
        using veth datapath mode"), so a plain `helm upgrade` plus agent restart takes the node's
        networking down until its pods are deleted.
    Example:
        cilium-config datapath-mode: veth, values bpf.datapathMode: netkit, 9 pods on skyforge-1.
    Fix:
        Migrate one node at a time (cordon, drain, restart the agent with the new mode, wait until
        ready, uncordon), as `cilium-tune plan` lays out; a one-time `cleanState: true` overlay must be
        removed right after.
    References:
        - cilium/cilium PR #42482: the agent refuses to start on endpoints of the other datapath mode.
        - cilium-k3s-facts section 3: veth -> netkit switch procedure.
    """
    if ctx.facts is None or ctx.facts.cilium_config is None or not ctx.known("pod_ips"):
        return
    live = ctx.facts.cilium_config.get("datapath-mode") or "veth"
    wanted = derive.datapath_mode(ctx)
    if derive.device_family(live) == derive.device_family(wanted):
        return
    busy = {s.node: s.pods - s.host_network for s in ctx.facts.pod_ips if s.pods - s.host_network > 0}
    if busy:
        yield Finding(
            f"datapath mode changes {live} -> {wanted} while {sum(busy.values())} pods run on "
            f"{len(busy)} node(s) ({', '.join(sorted(busy))}): "
            "agents will refuse to start until they are moved",
            evidence={
                "cilium_config.data.datapath-mode": live,
                "values.bpf.datapathMode": wanted,
                **{f"pod_ips[{node}].non_host_network_pods": count for node, count in sorted(busy.items())},
            },
        )
