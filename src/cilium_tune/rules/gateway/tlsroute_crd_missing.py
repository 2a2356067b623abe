from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.gateway.gateway_api_crd_version_unpaired import PAIRED_BUNDLE
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
        Install the experimental channel of the Gateway API bundle the cluster has (else the one paired
        with the chart), which carries TLSRoute v1alpha2, as the runbook does: `kubectl apply -f
        https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.2.1/experimental-install.yaml`.
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
            fix=_install(ctx),
        )
    elif "v1alpha2" not in crd.served_versions:
        yield Finding(
            f"the TLSRoute CRD serves {', '.join(crd.served_versions)} but not v1alpha2, which the operator lists",
            evidence={f"crds[{TLSROUTE_CRD}].served_versions": ",".join(crd.served_versions)},
            fix=_install(ctx),
        )


def _install(ctx: RuleContext) -> str | None:
    """The runbook's command for the experimental CRDs, at the bundle version installed (else paired)."""
    assert ctx.facts is not None
    installed = sorted(
        {c.bundle_version for c in ctx.facts.crds if c.group == "gateway.networking.k8s.io" and c.bundle_version}
    )
    version = installed[-1] if installed else None
    if version is None:
        target = derive.target_chart_version(ctx)
        paired = PAIRED_BUNDLE.get(derive.minor_version(target[0]) or (0, 0)) if target else None
        version = f"v{paired[0]}.{paired[1]}.0" if paired else None
    if version is None:
        return None
    url = f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/experimental-install.yaml"
    return f"Install the Gateway API experimental CRDs {version} (TLSRoute v1alpha2 is there): kubectl apply -f {url}."
