from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

# Options the chart removed; setting them makes the template fail.
REMOVED_KEYS = {
    "tunnel": "routingMode and tunnelProtocol",
    "enableCiliumEndpointSlice": "ciliumEndpointSlice.enabled",
}
CHOICES = {
    "kubeProxyReplacement": ("true", "false"),
    "routingMode": ("", "native", "tunnel"),
    "tunnelProtocol": ("", "vxlan", "geneve"),
    "bpf.datapathMode": ("veth", "netkit", "netkit-l2"),
}
CIDR_KEYS = ("ipv4NativeRoutingCIDR", "ipv6NativeRoutingCIDR")
CIDR_LIST_KEYS = ("ipam.operator.clusterPoolIPv4PodCIDRList", "ipam.operator.clusterPoolIPv6PodCIDRList")


def _shown(value: object) -> str:
    return "true" if value is True else "false" if value is False else str(value)


@rule(id="CT102", name="values-chart-refuses", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A value the chart refuses to render, or the agent refuses to start with.

    What it checks:
        Removed options (`tunnel`, `enableCiliumEndpointSlice`); `kubeProxyReplacement` other than
        "true"/"false"; `routingMode`, `tunnelProtocol` or `bpf.datapathMode` outside the values the
        1.19 chart and agent accept (`auto` arrives in 1.20); native routing CIDRs and pod pool entries
        that are not CIDRs.
    Why it matters:
        `helm upgrade` fails on these before changing anything, or, worse, renders a config the agent
        rejects at start so every agent restarts into a crash loop.
    Example:
        kubeProxyReplacement: strict (accepted by old charts, refused since 1.16).
    Fix:
        Use the replacement option or one of the accepted values named in the finding.
    References:
        - cilium-k3s-facts section 1: kubeProxyReplacement accepts only "true"/"false"; removed options
          fail outright; datapathMode has no `auto` before 1.20.
    """
    for key, replacement in REMOVED_KEYS.items():
        if ctx.is_set(key):
            yield Finding(
                f"{key} was removed from the chart; the template fails while it is set",
                evidence={f"values.{key}": ctx.value(key)},
                fix=f"Remove {key} and use {replacement}.",
                patch={key: None},
            )
    for key, allowed in CHOICES.items():
        value = ctx.value(key)
        if ctx.is_set(key) and value is not None and _shown(value) not in allowed:
            choices = ", ".join(repr(a) for a in allowed if a)
            yield Finding(
                f"{key}={value!r} is not accepted (one of {choices})",
                evidence={f"values.{key}": value},
                fix=f"Set {key} to one of {choices}.",
            )
    for key in CIDR_KEYS:
        value = ctx.value(key)
        if value and derive.parse_network(value) is None:
            yield Finding(f"{key}={value!r} is not a CIDR", evidence={f"values.{key}": value})
    for key in CIDR_LIST_KEYS:
        raw = ctx.value(key) if ctx.is_set(key) else []
        items = raw if isinstance(raw, list) else str(raw or "").split()
        bad = [item for item in items if derive.parse_network(item) is None]
        if bad:
            yield Finding(
                f"{key} holds entries that are not CIDRs: {', '.join(map(repr, bad))}",
                evidence={f"values.{key}": raw},
            )
