from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT904",
    name="baseline-from-other-chart-version",
    severity=Severity.WARNING,
    since="0.1.0",
    requires=("helm_release.chart_version",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The baseline was captured from a different chart version than the one being installed.

    What it checks:
        The baseline's chart version differs from the target chart version (the `--chart` package's,
        else the profile's pinned `release.version`, else the live release's chart version), and the change layers the
        baseline's `--all` values (a `baseline capture` also keeps the user-supplied values, which an
        upgrade layers instead: then there is nothing to warn about).
    Why it matters:
        A baseline from `helm get values --all` holds every chart default of its version. Layered under
        the overlays on another chart version, it pins the old defaults (and removed keys) and hides the
        new ones; rolling back to it on the new chart is not the state it was captured from.
    Example:
        baseline captured from 1.18.4, profile pins 1.19.0-rc.1.
    Fix:
        Capture the baseline again with `cilium-tune baseline capture` (it keeps the user-supplied values
        apart, and an upgrade layers those), or capture it from the release running the target chart
        version.
    References:
        - cilium-k3s-facts section 1: `helm get values --all` equals the coalesced chart defaults.
    """
    target = derive.target_chart_version(ctx)
    if ctx.baseline is None or not ctx.baseline.chart_version or target is None or ctx.baseline.user_values_layered:
        return
    if ctx.baseline.chart_version.lstrip("v") != target[0].lstrip("v"):
        yield Finding(
            f"baseline {ctx.baseline.source} comes from chart {ctx.baseline.chart_version}, "
            f"the change installs {target[0]}",
            evidence={"baseline.chart_version": ctx.baseline.chart_version, target[1]: target[0]},
        )
