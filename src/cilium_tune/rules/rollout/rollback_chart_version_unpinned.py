from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT903", name="rollback-chart-version-unpinned", severity=Severity.WARNING, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The baseline does not record its chart version, so a rollback to it could not pin the chart.

    What it checks:
        A baseline is given and it carries no chart version (a bare `helm get values --all` file).
    Why it matters:
        A rollback is `helm upgrade` with the baseline values; without `--version` Helm takes the newest
        chart in the repository, so "rolling back" can upgrade Cilium and apply the old values to a chart
        they were not captured from (the runbook's rollback command has exactly this gap).
    Example:
        --baseline cilium-values.before.yaml, captured with `helm get values --all` only.
    Fix:
        Capture the baseline with `cilium-tune baseline capture` (it writes a `# chart-version:` header),
        or add that header to the file, or pass `cilium-tune plan --baseline-version`;
        `cilium-tune rollback` then pins that version.
    References:
        - runbook: the rollback command runs `helm upgrade` without --version.
    """
    if ctx.baseline is not None and not ctx.baseline.chart_version:
        live = None
        if ctx.facts is not None and ctx.facts.helm_release is not None:
            live = ctx.facts.helm_release.chart_version
        yield Finding(
            f"baseline {ctx.baseline.source} records no chart version: a rollback would not pin the chart"
            + (f" (the live release runs {live})" if live else ""),
            evidence={
                "baseline.source": ctx.baseline.source,
                "baseline.chart_version": None,
                **({"helm_release.chart_version": live} if live else {}),
            },
        )
