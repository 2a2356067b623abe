from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT902",
    name="datapath-mode-change-restarts-all-agents",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("cilium_config.data", "helm_release.computed_values"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """`rollOutCiliumPods: true` together with a datapath-mode change: every node switches at once.

    What it checks:
        `rollOutCiliumPods` is true and `bpf.datapathMode` switches the pod device (veth vs netkit)
        from the mode the cluster runs (cilium-config `datapath-mode`, else the baseline or live
        release values).
    Why it matters:
        With rollOutCiliumPods the config checksum on the agent pod template changes, so the DaemonSet
        restarts every agent right after `helm upgrade`. For veth <-> netkit each restarted agent finds
        endpoints of the other mode and refuses to start: the whole cluster loses pod networking at the
        same time, a common cause of failed netkit switches.
    Example:
        rollOutCiliumPods: true with bpf.datapathMode veth -> netkit.
    Fix:
        Set `rollOutCiliumPods: false` for the datapath-mode change and migrate node by node (cordon,
        drain, restart the agent, uncordon): `cilium-tune apply` runs those steps, as `cilium-tune plan`
        lays them out.
    References:
        - cilium-k3s-facts section 1: rollOutCiliumPods restarts every agent on any config change.
        - cilium-k3s-facts section 3: no in-place migration; one node at a time.
    """
    if not ctx.flag("rollOutCiliumPods"):
        return
    wanted = derive.datapath_mode(ctx)
    if ctx.facts is not None and ctx.facts.cilium_config is not None:
        current, path = ctx.facts.cilium_config.get("datapath-mode") or "veth", "cilium_config.data.datapath-mode"
    else:
        previous = derive.previous_values(ctx)
        if previous is None:
            return
        current = str(derive.previous_value(previous[0], "bpf.datapathMode") or "veth")
        path = f"{previous[1]}.bpf.datapathMode"
    if derive.device_family(current) != derive.device_family(wanted):
        yield Finding(
            f"bpf.datapathMode changes {current} -> {wanted} with rollOutCiliumPods=true: every agent restarts at once",
            evidence={"values.rollOutCiliumPods": True, path: current, "values.bpf.datapathMode": wanted},
            patch={"rollOutCiliumPods": False},
        )
