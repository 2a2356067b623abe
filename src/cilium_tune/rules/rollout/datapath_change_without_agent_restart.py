from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

# Values whose effect lives in the agent's datapath: a new cilium-config only takes effect when
# each agent restarts.
DATAPATH_KEYS = (
    "bpf.datapathMode",
    "routingMode",
    "tunnelProtocol",
    "autoDirectNodeRoutes",
    "ipv4NativeRoutingCIDR",
    "ipv6NativeRoutingCIDR",
    "enableIPv4BIGTCP",
    "enableIPv6BIGTCP",
    "bpf.masquerade",
    "bpf.hostLegacyRouting",
    "bpf.tproxy",
    "kubeProxyReplacement",
    "socketLB.enabled",
    "socketLB.hostNamespaceOnly",
    "l2NeighDiscovery.enabled",
    "ipv4.enabled",
    "ipv6.enabled",
    "enableIPv4Masquerade",
    "enableIPv6Masquerade",
    "encryption.enabled",
)


def changed_datapath_keys(ctx: RuleContext) -> tuple[dict[str, tuple[object, object]], str] | None:
    """Datapath keys whose value differs from the previous values: key -> (old, new), and the source."""
    previous = derive.previous_values(ctx)
    if previous is None:
        return None
    old_values, source = previous
    changed = {}
    for key in DATAPATH_KEYS:
        old, new = derive.previous_value(old_values, key), ctx.value(key)
        if not derive.same_setting(old, new):
            changed[key] = (old, new)
    return changed, source


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value) if value == "" else str(value)


@rule(
    id="CT901",
    name="datapath-change-without-agent-restart",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("helm_release.computed_values",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A datapath change with `rollOutCiliumPods: false`: helm alone changes nothing until agents restart.

    What it checks:
        A datapath key (datapath mode, routing, BIG TCP, masquerading, kube-proxy replacement, socket LB,
        IP families...) differs between the previous values (the baseline, else the live release) and
        the new ones, while `rollOutCiliumPods` is false (the chart default).
    Why it matters:
        `helm upgrade` rewrites cilium-config but does not restart the agents, which read it only at
        start. Run by hand, the cluster keeps the old datapath, and verification or benchmarks right after
        the upgrade measure the old configuration; later, unrelated restarts switch nodes one by one at
        random times. `cilium-tune apply` does not leave it there: it holds the agents (OnDelete), then
        restarts them one node at a time and checks each node (docs/rollout.md).
    Example:
        enableIPv4BIGTCP false -> true with rollOutCiliumPods unset.
    Fix:
        Roll it out with `cilium-tune apply`, which restarts the agents node by node and checks each one
        (`cilium-tune plan` shows the steps). With helm alone, delete each node's agent pod in turn after
        the upgrade and wait for it to be Ready, and restart pods that must pick up BIG TCP.
    References:
        - cilium-k3s-facts section 1: rollOutCiliumPods default false; settings take effect on agent restart.
    """
    if ctx.flag("rollOutCiliumPods"):
        return
    found = changed_datapath_keys(ctx)
    if not found or not found[0]:
        return
    changed, source = found
    yield Finding(
        f"{len(changed)} datapath setting(s) change ({', '.join(changed)}) but rollOutCiliumPods is false: "
        "a plain helm upgrade leaves the agents on the old datapath until they restart "
        "(cilium-tune apply restarts them node by node)",
        evidence={
            "values.rollOutCiliumPods": ctx.value("rollOutCiliumPods"),
            "previous": source,
            **{f"values.{key}": f"{_shown(old)} -> {_shown(new)}" for key, (old, new) in changed.items()},
        },
    )
