"""`cilium-tune lint`: run the preflight rules against the values a change would install and the facts."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from cilium_tune.cli.facts_cmd import facts_options, snapshot_from_options
from cilium_tune.errors import CiliumTuneError, FindingsError, InputError

if TYPE_CHECKING:
    from cilium_tune.facts.model import Snapshot
    from cilium_tune.rules import RuleContext, Severity

EXAMPLES = """
\b
Examples:
  cilium-tune lint --facts cluster.json                 # skyforge-dev against a saved snapshot
  cilium-tune lint --profile lab --facts live           # collect the facts from the cluster now
  cilium-tune lint --baseline before.yaml --facts cluster.json -o json
  cilium-tune lint -f cilium-values.yaml --facts cluster.json --junit lint.xml --fail-on warning
  cilium-tune lint --select CT2 --ignore CT207          # only datapath rules, minus one
\b
Without --facts only the rules that need no cluster facts can fire. Exit codes: 0 no finding at or above
--fail-on (default error), 1 findings, 2 bad input, 3 the cluster could not be read.
"""

_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def lint_context(
    *,
    profile_ref: str | None,
    value_files: tuple[str, ...],
    baseline_path: str | None,
    baseline_version: str | None,
    facts: Snapshot | None,
    chart: str | None,
) -> RuleContext:
    """Assemble what the rules read: baseline, then the profile's overlays, then -f files, merged as helm does.

    The profile is the named one, or the default (skyforge-dev) when no -f file is given; with only -f
    files there is no profile. One-time overlays (the netkit migration's cleanState) are left out: lint
    judges the state the cluster settles in.
    """
    from cilium_tune.plan.baseline import load_baseline
    from cilium_tune.profile.load import load_profile
    from cilium_tune.rules import BaselineInfo, RuleContext
    from cilium_tune.values.catalog import KeyCatalog
    from cilium_tune.values.loader import load_values, load_values_text
    from cilium_tune.values.merge import merge_values
    from cilium_tune.values.overlays import render_overlays

    layers = []
    baseline = None
    if baseline_path is not None:
        loaded = load_baseline(baseline_path, baseline_version)
        baseline = BaselineInfo(values=loaded.values.values, source=loaded.path, chart_version=loaded.chart_version)
        layers.append(loaded.values)
    profile = load_profile(profile_ref) if profile_ref is not None or not value_files else None
    if profile is not None:
        layers += [load_values_text(o.text, o.filename) for o in render_overlays(profile) if not o.one_time]
    layers += [load_values(path) for path in value_files]
    merged = merge_values(layers)
    catalog = KeyCatalog.from_chart(chart) if chart else None
    return RuleContext(values=merged.values, facts=facts, profile=profile, baseline=baseline, catalog=catalog)


def _split(items: tuple[str, ...]) -> list[str]:
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _style(text: str, severity: Severity) -> str:
    return click.style(text, fg=_COLOURS[str(severity)], bold=True)


@click.command("lint", epilog=EXAMPLES)
@click.option(
    "--profile", "profile_ref", metavar="NAME|FILE", help="Built-in profile or profile file [default: skyforge-dev]."
)
@click.option(
    "-f", "--values", "value_files", multiple=True, metavar="FILE", help="Extra values files, after the overlays."
)
@click.option("--baseline", "baseline_path", metavar="FILE", help="Captured values of the live release (first layer).")
@click.option("--baseline-version", metavar="VERSION", help="Chart version of the baseline, when its header lacks it.")
@click.option("--chart", metavar="DIR|TGZ", help="Check keys against this chart's values.yaml (else a built-in list).")
@facts_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--junit", "junit_file", metavar="FILE", help="Also write a JUnit XML report (one testcase per rule).")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is this severe or worse.",
)
@click.option("--select", multiple=True, metavar="IDS", help="Only these rules (ids, names or prefixes like CT2).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Skip these rules.")
def lint(
    profile_ref: str | None,
    value_files: tuple[str, ...],
    baseline_path: str | None,
    baseline_version: str | None,
    chart: str | None,
    output: str,
    junit_file: str | None,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    **facts_source: Any,
) -> None:
    """Run the preflight rules against values and facts.

    The values are those a change would install: the baseline, the profile's overlays and any -f files,
    merged exactly as helm merges them. The facts come from --facts FILE (a saved snapshot), or from the
    cluster with --facts live. Findings are grouped by severity, each with the evidence it used and a fix.
    """
    from cilium_tune.files import write_atomic
    from cilium_tune.report import json as json_report
    from cilium_tune.report.junit import render_junit, render_junit_setup_error
    from cilium_tune.report.text import render_findings
    from cilium_tune.rules import Severity, run_rules

    try:
        facts = None
        if facts_source.get("facts_file") is not None:
            if facts_source["facts_file"] == "live":
                facts_source["facts_file"] = None
            facts = snapshot_from_options(**facts_source)
        ctx = lint_context(
            profile_ref=profile_ref,
            value_files=value_files,
            baseline_path=baseline_path,
            baseline_version=baseline_version,
            facts=facts,
            chart=chart,
        )
    except CiliumTuneError as exc:
        if junit_file:
            write_atomic(junit_file, render_junit_setup_error(exc.message, exc.hint))
        raise
    try:
        result = run_rules(ctx, select=_split(select), ignore=_split(ignore))
    except KeyError as exc:
        raise InputError(f"no rule {exc.args[0]!r} (--select/--ignore)", hint="run `cilium-tune rules`") from None
    threshold = Severity(fail_on)
    if output == "json":
        click.echo(json_report.render_lint(result, fail_on=threshold), nl=False)
    else:
        style = _style if sys.stdout.isatty() else None
        click.echo(render_findings(result, style=style) if style else render_findings(result), nl=False)
    if junit_file:
        write_atomic(junit_file, render_junit(result, fail_on=threshold))
    if result.failed(threshold):
        worst = sum(1 for f in result.findings if f.severity is not None and f.severity.at_least(threshold))
        raise FindingsError(
            f"lint failed: {worst} finding(s) at {fail_on} or worse",
            hint="fix them (each says how), or --ignore a rule you have judged",
        )
