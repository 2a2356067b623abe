from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT301", name="native-routing-without-native-cidr", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Native routing without a native routing CIDR for an enabled IP family.

    What it checks:
        `routingMode: native`, and for each enabled family with masquerading on (IPv4 masquerade renders
        true when unset; `enableIPv6Masquerade` defaults to true) and IPAM other than ENI,
        `ipv4NativeRoutingCIDR` / `ipv6NativeRoutingCIDR` is empty.
    Why it matters:
        The chart refuses to render (`helm upgrade` fails before touching the cluster), and the agent
        would not know which destinations to leave un-masqueraded. Dual-stack native routing needs the
        IPv6 CIDR too, which is easy to forget.
    Example:
        routingMode: native, ipv6.enabled: true, ipv4NativeRoutingCIDR: 100.70.0.0/16 and no
        ipv6NativeRoutingCIDR.
    Fix:
        Set the family's native routing CIDR to a range that contains its pod pool (for the runbook
        cluster `ipv4NativeRoutingCIDR: 100.70.0.0/16`, `ipv6NativeRoutingCIDR: fd00::/104`).
    References:
        - cilium-k3s-facts section 1: native routing + masquerade + non-ENI IPAM requires the CIDR,
          for IPv4 and IPv6 alike.
    """
    if derive.routing_mode(ctx) != "native" or ctx.value("ipam.mode") == "eni":
        return
    for family in derive.enabled_families(ctx):
        key = derive.native_cidr_key(family)
        if ctx.value(key) or not derive.masquerade_enabled(ctx, family):
            continue
        pools = derive.pod_pools(ctx, family)
        yield Finding(
            f"routingMode=native with {family} enabled needs {key}; the chart will refuse to render",
            evidence={"values.routingMode": "native", f"values.{family}.enabled": True, f"values.{key}": ""},
            fix=f"Set {key} to a CIDR containing the {family} pod pool"
            + (f" ({', '.join(map(str, pools))})." if pools else "."),
            patch={key: str(pools[0])} if len(pools) == 1 else None,
        )
