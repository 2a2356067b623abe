from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

CAPS = "envoy.securityContext.capabilities"


def _listener_ports(ctx: RuleContext) -> tuple[dict[str, int], bool]:
    """Privileged listener ports by evidence path, and whether they are known (facts or profile)."""
    if ctx.facts is not None and ctx.known("gateways"):
        ports = {
            f"gateways[{gw.namespace}/{gw.name}].listeners[{ls.name}].port": ls.port
            for gw in ctx.facts.gateways
            for ls in gw.listeners
            if ls.port < 1024
        }
        return ports, True
    if ctx.profile is not None:
        privileged = ctx.profile.tuning.gateway_api.privileged_ports
        return ({"profile.tuning.gateway_api.privileged_ports": 80} if privileged else {}), True
    return {}, False


@rule(
    id="CT704",
    name="privileged-listener-without-bind-capability",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("gateways.listeners",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Host-network Gateway listeners on ports below 1024 while Envoy may not bind them.

    What it checks:
        `gatewayAPI.hostNetwork.enabled` is true, a Gateway listener (from the facts, else the profile's
        `privileged_ports`) uses a port below 1024, and Envoy lacks the capability to bind it:
        `envoy.securityContext.capabilities.keepCapNetBindService` is not true or NET_BIND_SERVICE is not
        in `envoy.securityContext.capabilities.envoy`.
    Why it matters:
        In host-network mode Envoy binds the listener port on every node directly; without
        NET_BIND_SERVICE the bind fails and ports 80/443 stay closed, so ingress is down while the
        Gateway looks configured.
    Example:
        gatewayAPI.hostNetwork.enabled: true with listeners on 80 and 443 and the chart's default Envoy
        capabilities.
    Fix:
        Set `envoy.securityContext.capabilities.keepCapNetBindService: true` and add NET_BIND_SERVICE to
        `envoy.securityContext.capabilities.envoy`.
    References:
        - cilium-k3s-facts section 2: Gateway hostNetwork mode, ports <= 1023 need
          keepCapNetBindService and NET_BIND_SERVICE.
    """
    if not (derive.gateway_api_enabled(ctx) and ctx.flag("gatewayAPI.hostNetwork.enabled")):
        return
    ports, known = _listener_ports(ctx)
    if not known or not ports:
        return
    keep = ctx.flag(f"{CAPS}.keepCapNetBindService")
    caps = ctx.value(f"{CAPS}.envoy")
    has_cap = isinstance(caps, list) and "NET_BIND_SERVICE" in caps
    if keep and has_cap:
        return
    lacking = [w for w, ok in (("keepCapNetBindService", keep), ("NET_BIND_SERVICE", has_cap)) if not ok]
    wanted_caps = [*(caps if isinstance(caps, list) else ["NET_ADMIN", "SYS_ADMIN"]), "NET_BIND_SERVICE"]
    yield Finding(
        f"host-network listeners on port(s) {', '.join(map(str, sorted(set(ports.values()))))} "
        f"but Envoy lacks {' and '.join(lacking)}: the bind fails on every node",
        evidence={
            "values.gatewayAPI.hostNetwork.enabled": True,
            f"values.{CAPS}.keepCapNetBindService": ctx.value(f"{CAPS}.keepCapNetBindService"),
            f"values.{CAPS}.envoy": caps,
            **ports,
        },
        patch={
            "envoy": {
                "securityContext": {"capabilities": {"keepCapNetBindService": True, "envoy": sorted(set(wanted_caps))}}
            }
        },
    )
