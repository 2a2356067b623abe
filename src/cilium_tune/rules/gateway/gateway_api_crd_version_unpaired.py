from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

# Cilium (major, minor) -> the Gateway API (major, minor) its operator is built against.
PAIRED_BUNDLE = {(1, 19): (1, 4), (1, 20): (1, 6)}


@rule(
    id="CT702",
    name="gateway-api-crd-version-unpaired",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("crds.bundle_version", "helm_release.chart_version"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The installed Gateway API CRD bundle is not the version the Cilium chart pairs with.

    What it checks:
        With `gatewayAPI.enabled`, the `gateway.networking.k8s.io/bundle-version` of the installed
        Gateway API CRDs against the bundle the target chart pairs with (Cilium 1.19: v1.4.x,
        1.20: v1.6.x). A newer bundle is an error; an older one a warning. Charts without a known
        pairing are not judged.
    Why it matters:
        Gateway API v1.5 and later serve TLSRoute only as v1, which the 1.19 operator cannot list: it
        fails and Gateways stop being reconciled. An older bundle lacks fields and kinds the operator
        expects, so some routes are ignored.
    Example:
        Cilium 1.19.0 with Gateway API CRDs bundle-version v1.5.0.
    Fix:
        Install the paired bundle (for Cilium 1.19 the v1.4.x experimental-install.yaml, which also
        carries TLSRoute v1alpha2) before upgrading Cilium.
    References:
        - cilium/cilium issues #44920 and #45139: Gateway API v1.5 breaks the 1.19 operator.
        - cilium-k3s-facts section 2: Cilium 1.19 pairs with v1.4.x, 1.20 with v1.6.x.
    """
    if not derive.gateway_api_enabled(ctx) or ctx.facts is None or not ctx.known("crds"):
        return
    target = derive.target_chart_version(ctx)
    chart = derive.minor_version(target[0]) if target else None
    paired = PAIRED_BUNDLE.get(chart) if chart else None
    if target is None or paired is None:
        return
    bundles = {c.bundle_version for c in ctx.facts.crds if c.group == "gateway.networking.k8s.io" and c.bundle_version}
    for bundle in sorted(bundles):
        installed = derive.minor_version(bundle)
        if installed is None or installed == paired:
            continue
        newer = installed > paired
        yield Finding(
            f"Gateway API CRDs {bundle} with Cilium chart {target[0]}, which pairs with "
            f"v{paired[0]}.{paired[1]}.x" + (": the operator cannot list the newer resources" if newer else ""),
            evidence={target[1]: target[0], "crds[gateway.networking.k8s.io].bundle_version": bundle},
            severity=None if newer else Severity.WARNING,
        )
