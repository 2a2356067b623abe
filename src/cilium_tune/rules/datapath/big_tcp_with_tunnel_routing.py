from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT207", name="big-tcp-with-tunnel-routing", severity=Severity.WARNING, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """BIG TCP enabled while pod traffic is tunnelled (VXLAN/Geneve).

    What it checks:
        `enableIPv4BIGTCP` or `enableIPv6BIGTCP` is true and `routingMode` is `tunnel` (or empty, which
        means tunnel).
    Why it matters:
        BIG TCP pays off with native routing. Through a tunnel device the large packets are segmented
        again or dropped with Packet Too Big; measured in the lab, throughput collapsed, and chart
        1.19.4 fails to set up the VXLAN device on some NICs ("setting up GSO/GRO on VXLAN netdev").
    Example:
        enableIPv4BIGTCP: true with routingMode unset (tunnel).
    Fix:
        Use `routingMode: native` with a native routing CIDR, or turn BIG TCP off.
    References:
        - cilium/cilium issue #46337: GSO/GRO on VXLAN netdev invalid argument with BIG TCP.
        - Cilium tuning guide: BIG TCP wants no tunnel.
        - test-bed findings: BIG TCP with VXLAN collapses throughput in the lab.
    """
    flags = derive.big_tcp_flags(ctx)
    if flags and derive.routing_mode(ctx) == "tunnel":
        protocol = ctx.value("tunnelProtocol") or "vxlan"
        yield Finding(
            f"{', '.join(flags)} with tunnel routing ({protocol}): large packets do not survive the tunnel",
            evidence={"values.routingMode": derive.routing_mode(ctx), **{f"values.{f}": True for f in flags}},
            patch={f: False for f in flags},
        )
