"""`cilium-tune lint`: run the preflight rules against the values a change would install and the facts."""

from __future__ import annotations

import sys
from typing import Any

import click

from cilium_tune.cli.facts_source import facts_options, refuse_idle_options, snapshot_from_options
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.cli.options import echo_profile, profile_option, rule_ids
from cilium_tune.errors import CiliumTuneError, FindingsError, InputError

EXAMPLES = """
\b
Examples:
  cilium-tune lint --facts cluster.json                 # skyforge-dev against a saved snapshot
  cilium-tune lint --profile lab --facts live           # collect the facts from the cluster now
  cilium-tune lint --baseline before.yaml --facts cluster.json -o json
  cilium-tune lint -f cilium-values.yaml --facts cluster.json --junit lint.xml --fail-on warning
  cilium-tune lint --select CT2 --ignore CT207          # only datapath rules, minus one
\b
The values are layered as helm will get them: the baseline (or, without one, the live release in the
facts, as --reuse-values keeps it), the profile's overlays, then the -f files. -f files without --profile
are linted on their own (`profile: none (-f files only)`); add --profile NAME to lint them on top of a
profile's overlays. The first line says which profile was used.
Without --facts only the rules that need no cluster facts can fire. Exit codes: 0 no finding at or above
--fail-on (default error), 1 findings, 2 bad input, 3 the cluster could not be read.
"""

@click.command("lint", epilog=EXAMPLES)
@profile_option(files_mean_none=True)
@click.option(
    "-f", "--values", "value_files", multiple=True, metavar="FILE", help="Extra values files, after the overlays."
)
@click.option("--baseline", "baseline_path", metavar="FILE", help="Captured values of the live release (first layer).")
@click.option("--baseline-version", metavar="VERSION", help="Chart version of the baseline, when its header lacks it.")
@click.option(
    "--chart",
    metavar="DIR|TGZ",
    help="The chart being installed (directory, .tgz or its values.yaml): its keys judge the values "
    "[default: the built-in catalog].",
)
@facts_options
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
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

    The values are those a change would install: the baseline or live release, the profile's overlays
    and any -f files, merged exactly as helm merges them (the same desired state `plan` shows). The facts
    come from --facts FILE (a saved snapshot), or from the cluster with --facts live. Findings are grouped
    by severity, each with the evidence it used and a fix.
    """
    from cilium_tune.desired import DesiredInputs, load_desired
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
        else:
            refuse_idle_options(live=False)
        desired = load_desired(
            DesiredInputs(
                profile_ref=profile_ref,
                value_files=value_files,
                baseline_path=baseline_path,
                baseline_version=baseline_version,
                chart=chart,
                facts=facts,
            )
        )
    except CiliumTuneError as exc:
        if junit_file:
            write_atomic(junit_file, render_junit_setup_error(exc.message, exc.hint))
        raise
    try:
        result = run_rules(desired.rule_context(), select=rule_ids(select), ignore=rule_ids(ignore))
    except KeyError as exc:
        raise InputError(f"no rule {exc.args[0]!r} (--select/--ignore)", hint="run `cilium-tune rules`") from None
    if not result.rules:
        raise InputError(
            "--select/--ignore leave no rule to run, so lint would check nothing",
            hint="select rules that --ignore does not remove (`cilium-tune rules` lists them)",
        )
    threshold = Severity(fail_on)
    if output in MACHINE:
        document = json_report.lint_document(result, fail_on=threshold) | {"profile": desired.profile_choice.label}
        echo_document(document, output, json_report.LINT_SCHEMA)
    else:
        echo_profile(desired.profile_choice)
        from cilium_tune.cli.terminal import paint, use_color, width

        style = paint if use_color(sys.stdout) else None
        columns = width()
        click.echo(
            render_findings(result, style=style, width=columns) if style else render_findings(result, width=columns),
            nl=False,
        )
    if junit_file:
        write_atomic(junit_file, render_junit(result, fail_on=threshold))
    if result.failed(threshold):
        worst = sum(1 for f in result.findings if f.severity is not None and f.severity.at_least(threshold))
        raise FindingsError(
            f"lint failed: {worst} finding(s) at {fail_on} or worse",
            hint="fix them (each says how), or --ignore a rule you have judged",
        )
