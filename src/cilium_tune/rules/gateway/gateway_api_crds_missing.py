from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

# CRDs the Cilium 1.19 operator needs before it starts its Gateway API controller.
REQUIRED_CRDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
)


@rule(id="CT701", name="gateway-api-crds-missing", severity=Severity.ERROR, since="0.1.0", requires=("crds.name",))
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Gateway API enabled in Cilium before the Gateway API CRDs are installed.

    What it checks:
        `gatewayAPI.enabled` is true and the cluster lacks one of the CRDs the operator needs:
        gatewayclasses, gateways, httproutes, grpcroutes and referencegrants
        (gateway.networking.k8s.io).
    Why it matters:
        The operator checks for these CRDs at start and leaves the Gateway API controller off when one
        is missing: Gateways are never programmed and ingress silently does not work.
    Example:
        gatewayAPI.enabled: true on a cluster without grpcroutes.gateway.networking.k8s.io.
    Fix:
        Install the Gateway API CRD bundle the chart pairs with (v1.4.x for Cilium 1.19) before the
        upgrade, then restart the operator.
    References:
        - cilium-k3s-facts section 2: required CRDs of the 1.19 operator; CRDs must be installed first.
    """
    if not derive.gateway_api_enabled(ctx) or ctx.facts is None or not ctx.known("crds"):
        return
    missing = [name for name in REQUIRED_CRDS if ctx.facts.crd(name) is None]
    if missing:
        yield Finding(
            f"gatewayAPI.enabled is true but {len(missing)} Gateway API CRD(s) are missing: "
            + ", ".join(m.split(".")[0] for m in missing),
            evidence={"values.gatewayAPI.enabled": True, **{f"crds[{m}]": "absent" for m in missing}},
        )
