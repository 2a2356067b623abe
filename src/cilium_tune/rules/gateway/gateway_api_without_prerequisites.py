from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT705", name="gateway-api-without-prerequisites", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Gateway API enabled with kube-proxy replacement (NodePort) off or the L7 proxy off.

    What it checks:
        `gatewayAPI.enabled` is true while `kubeProxyReplacement` is not "true" and `nodePort.enabled`
        is not true, or while `l7Proxy` is false.
    Why it matters:
        The chart refuses to render these combinations, so `helm upgrade` fails; Cilium's Gateway API
        needs BPF NodePort to steer traffic and the Envoy L7 proxy to serve it.
    Example:
        gatewayAPI.enabled: true with kubeProxyReplacement "false".
    Fix:
        Turn on `kubeProxyReplacement: "true"` (or `nodePort.enabled: true`) and keep `l7Proxy` true,
        or leave `gatewayAPI.enabled` false.
    References:
        - cilium-k3s-facts section 1: Gateway API with l7Proxy=false or kube-proxy replacement disabled
          fails to render.
    """
    if not derive.gateway_api_enabled(ctx):
        return
    if not derive.kpr_enabled(ctx) and not ctx.flag("nodePort.enabled"):
        yield Finding(
            "gatewayAPI.enabled needs BPF NodePort, but kubeProxyReplacement and nodePort.enabled are off; "
            "the chart will refuse to render",
            evidence={
                "values.gatewayAPI.enabled": True,
                "values.kubeProxyReplacement": ctx.value("kubeProxyReplacement"),
                "values.nodePort.enabled": ctx.value("nodePort.enabled"),
            },
        )
    if not ctx.flag("l7Proxy"):
        yield Finding(
            "gatewayAPI.enabled needs the L7 proxy, but l7Proxy is false; the chart will refuse to render",
            evidence={"values.gatewayAPI.enabled": True, "values.l7Proxy": ctx.value("l7Proxy")},
            patch={"l7Proxy": True},
        )
