"""`cilium-tune plan`: the merged values, where each came from, the change, and the helm commands."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from cilium_tune.cli.facts_source import facts_options, optional_snapshot
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.cli.options import echo_profile, profile_option
from cilium_tune.errors import CiliumTuneError, FindingsError

if TYPE_CHECKING:
    from cilium_tune.desired import DesiredState
    from cilium_tune.plan.planner import Plan
    from cilium_tune.rendercheck import RenderResult

EXAMPLES = """
\b
Examples:
  cilium-tune render --out deploy && cilium-tune plan   # skyforge-dev, no baseline yet
  cilium-tune plan --overlays profile                  # from the profile alone, before rendering
  cilium-tune plan --baseline cilium-values.before.yaml
  cilium-tune plan --profile my-cluster.yaml --baseline before.yaml -o json
  cilium-tune plan --baseline before.yaml --facts cluster.json  # with the preflight findings
  cilium-tune plan --baseline before.yaml --detailed-exitcode   # 0 none, 2 pending, 1 error
  cilium-tune plan --baseline before.yaml --chart ./cilium-1.19.0-rc.1.tgz   # chart defaults + helm template
\b
The preflight rules run on the planned values (with cluster facts when --facts is given); an error
finding makes the plan exit 1 after printing it, as `lint` does. With --chart (a local chart directory or
.tgz) the chart's values.yaml joins the merge as helm's defaults, and your helm (`--helm`, else PATH;
3.14 or newer) renders every helm upgrade of the plan with `helm template`: a refusal also exits 1.
\b
The plan is built from the overlay files helm will read (--overlay-dir). When they are missing, or their
values differ from what the profile renders, it refuses (exit 2, showing the difference) until told which
wins: --overlays disk plans what the files say, --overlays profile plans the profile's rendering (rewrite
the files with `cilium-tune render --out DIR` before applying). Facts of another cluster than the
profile's (node names, context, release) are refused. With both --baseline and --facts, the baseline is
compared with the live release key by key (Drift) and the rollback pins the chart version the cluster runs.
"""


@click.command("plan", epilog=EXAMPLES)
@profile_option(files_mean_none=False)
@click.option(
    "--baseline", "baseline_path", metavar="FILE", help="Captured values of the live release (helm get values --all)."
)
@click.option(
    "--baseline-version",
    metavar="VERSION",
    help="Chart version the baseline was captured from, when its header does not say.",
)
@click.option(
    "--overlay-dir", default="deploy", show_default=True, help="Where `cilium-tune render --out` wrote the overlays."
)
@click.option(
    "--overlays",
    "overlays_from",
    type=click.Choice(["auto", "disk", "profile"]),
    default="auto",
    show_default=True,
    help="Which wins when the files in --overlay-dir differ from the profile (auto: refuse).",
)
@click.option("--all-values", is_flag=True, help="Show every effective value, not only those the overlays set.")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when nothing changes, 2 when changes are pending, 1 on any error."
)
@click.option("--chart", metavar="DIR|TGZ", help="Local chart: merge its defaults and render-check the plan.")
@click.option("--helm", "helm_path", metavar="PATH", help="The helm binary for --chart [default: helm on PATH].")
@facts_options
def plan(
    profile_ref: str | None,
    baseline_path: str | None,
    baseline_version: str | None,
    overlay_dir: str,
    overlays_from: str,
    all_values: bool,
    output: str,
    detailed_exitcode: bool,
    chart: str | None,
    helm_path: str | None,
    **facts_source: Any,
) -> None:
    """Show what applying the profile would do, without touching any cluster.

    The overlay files helm will read (checked against what the profile renders) are layered over the
    baseline in the order helm will get them, and merged exactly as helm merges -f files. Every effective
    value shows the file and line that set it and what it overrode; the change against the baseline is
    listed by dotted path; and the helm commands (apply, the two-phase veth -> netkit switch when the
    datapath mode changes, and a rollback pinned to the chart version the cluster runs) are printed
    ready to run.
    """
    try:
        code = _plan(
            profile_ref,
            baseline_path,
            baseline_version,
            overlay_dir,
            overlays_from,
            chart,
            helm_path,
            facts_source,
            output,
            all_values,
        )
    except CiliumTuneError as exc:
        if not detailed_exitcode:
            raise
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(1)
    if code == 1:
        if detailed_exitcode:
            click.echo("error: the plan cannot be applied as it is (see above)", err=True)
            sys.exit(1)
        raise FindingsError("the plan cannot be applied as it is", hint="fix what the preflight or render check says")
    if detailed_exitcode and code == 2:
        sys.exit(2)


def _plan(
    profile_ref: str | None,
    baseline_path: str | None,
    baseline_version: str | None,
    overlay_dir: str,
    overlays_from: str,
    chart: str | None,
    helm_path: str | None,
    facts_source: dict[str, Any],
    output: str,
    all_values: bool,
) -> int:
    """Build, check and print the plan; return 1 when it must not be applied, 2 when changes are pending."""
    from cilium_tune.desired import DesiredInputs, OverlayMismatch, load_desired
    from cilium_tune.plan import render
    from cilium_tune.plan.impact import vm_pods_by_node
    from cilium_tune.plan.planner import plan_desired
    from cilium_tune.report.text import render_findings
    from cilium_tune.rules import run_rules

    facts = optional_snapshot(**facts_source)
    try:
        desired = load_desired(
            DesiredInputs(
                profile_ref=profile_ref,
                baseline_path=baseline_path,
                baseline_version=baseline_version,
                chart=chart,
                facts=facts,
                overlay_dir=overlay_dir,
                require_profile=True,
                read_overlays=True,
                overlays_from=overlays_from,  # type: ignore[arg-type]  # click.Choice above
            )
        )
    except OverlayMismatch as exc:
        for line in exc.details:
            click.echo(line, err=True)
        raise
    plan_obj = plan_desired(desired, chart)
    status = {f.path: f.status for f in desired.overlay_files}
    findings = run_rules(desired.rule_context())
    rendered = _render_check(plan_obj, helm_path, desired, facts_source["timeout"]) if chart else None

    vms = vm_pods_by_node(desired.facts.vm_workloads) if desired.facts is not None else None
    if output in MACHINE:
        from cilium_tune.report.json import lint_document

        document = render.to_json(plan_obj, overlay_status=status, vms=vms) | {"preflight": lint_document(findings)}
        document["overlays_from"] = desired.overlays_from
        document["notes"] = [*document["notes"], *desired.notes]
        document["drift"] = None if desired.drift is None else desired.drift.to_dict()
        if rendered is not None:
            document["render_check"] = [vars(result) for result in rendered]
        echo_document(document, output, render.PLAN_SCHEMA)
    else:
        from cilium_tune.cli.terminal import paint, use_color, width
        from cilium_tune.layout import fit

        columns = width()
        echo_profile(desired.profile_choice)
        click.echo(render.to_text(
                plan_obj, overlay_status=status, all_values=all_values, width=columns, vms=vms
            ), nl=False)
        if desired.drift is not None:
            live = desired.facts.helm_release if desired.facts is not None else None
            label = f"the live release {live.namespace}/{live.name}@{live.revision}" if live else "the live release"
            click.echo(f"\nDrift: {desired.baseline.path if desired.baseline else 'the baseline'} against {label}:")
            drift = fit([f"  {entry.line()}" for entry in desired.drift.entries], columns)
            click.echo("\n".join(drift) or "  none")
        if desired.notes:
            click.echo("\nAlso:")
            click.echo("\n".join(fit([f"  - {note}" for note in desired.notes], columns, hang=2)))
        click.echo("\nPreflight findings:")
        style = paint if use_color(sys.stdout) else None
        click.echo(render_findings(findings, width=columns, **({"style": style} if style else {})), nl=False)
        if rendered is not None:
            click.echo("\nRender check (helm template of each helm upgrade, with the chart it installs):")
            for result in rendered:
                label = "skip  " if result.skipped else "ok    " if result.ok else "FAILED"
                why = result.error or result.skipped
                click.echo(f"  {label} {result.purpose}" + (f": {why}" if why else ""))
    if findings.failed() or (rendered is not None and not all(result.ok for result in rendered)):
        return 1
    return 2 if plan_obj.changes_pending else 0


def _render_check(plan_obj: Plan, helm_path: str | None, desired: DesiredState, timeout: float) -> list[RenderResult]:
    from cilium_tune.adapters.helm import find_helm
    from cilium_tune.rendercheck import check_renders

    assert desired.chart is not None  # only with --chart
    return check_renders(find_helm(helm_path, timeout=timeout), plan_obj, desired.chart, desired.overlay_texts)
