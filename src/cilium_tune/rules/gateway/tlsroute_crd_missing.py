from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

TLSROUTE_CRD = "tlsroutes.gateway.networking.k8s.io"


@rule(id="CT703", name="tlsroute-crd-missing", severity=Severity.WARNING, since="0.1.0", requires=("crds.name",))
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Gateway API enabled without the experimental TLSRoute CRD.

    What it checks:
        `gatewayAPI.enabled` is true and `tlsroutes.gateway.networking.k8s.io` is not installed, or is
        installed without serving v1alpha2.
    Why it matters:
        The operator logs `no kind is registered for the type v1alpha2.TLSRouteList` ("TLSRouteList not
        registered" in the runbook) and TLS passthrough routes do not work; the standard CRD bundle does
        not include TLSRoute.
    Example:
        Gateway API standard-install.yaml only, gatewayAPI.enabled: true.
    Fix:
        Install the experimental channel of the paired Gateway API bundle (experimental-install.yaml),
        which carries TLSRoute v1alpha2.
    References:
        - cilium/cilium issue #38420: v1alpha2.TLSRouteList not registered.
        - runbook: install Gateway API experimental CRDs on "TLSRouteList not registered".
    """
    if not derive.gateway_api_enabled(ctx) or ctx.facts is None or not ctx.known("crds"):
        return
    crd = ctx.facts.crd(TLSROUTE_CRD)
    if crd is None:
        yield Finding(
            "gatewayAPI.enabled is true but the TLSRoute CRD is not installed (TLSRouteList not registered)",
            evidence={"values.gatewayAPI.enabled": True, f"crds[{TLSROUTE_CRD}]": "absent"},
        )
    elif "v1alpha2" not in crd.served_versions:
        yield Finding(
            f"the TLSRoute CRD serves {', '.join(crd.served_versions)} but not v1alpha2, which the operator lists",
            evidence={f"crds[{TLSROUTE_CRD}].served_versions": ",".join(crd.served_versions)},
        )
