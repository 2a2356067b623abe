"""`cilium-tune apply`: preflight, baseline, plan, then the change carried out node by node, journaled."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cilium_tune.cli.cluster_options import Cluster, cluster, cluster_options, echo, state
from cilium_tune.errors import FindingsError, InputError

if TYPE_CHECKING:
    from cilium_tune.plan.planner import Release
    from cilium_tune.profile import Profile
    from cilium_tune.rollout.baseline import CapturedBaseline
    from cilium_tune.rollout.run import Proposal

EXAMPLES = """
\b
Examples:
  cilium-tune apply --profile lab --dry-run          # preflight, baseline, the steps; change nothing
  cilium-tune apply --profile lab --yes              # carry it out
  cilium-tune apply --profile lab -f extra.yaml --yes
  cilium-tune apply --profile lab --ignore CT201 --yes   # a finding you have judged
  cilium-tune apply --strategy clean-state ...       # the runbook's one-time cleanState way
\b
Agent settings change node by node: the release is upgraded with the agents held (updateStrategy
OnDelete), nodes not yet switched are kept on their settings by a CiliumNodeConfig, and each node is
cordoned, (for a datapath-mode change) drained, its agent restarted and checked, then uncordoned.
Ctrl-C stops at the next step boundary: `cilium-tune rollout resume` continues, `rollout abort` goes back.
A node failing its check is taken back and uncordoned; the run stops with exit 3.
"""


@click.command("apply", epilog=EXAMPLES)
@click.option("-p", "--profile", "profile_ref", metavar="NAME|FILE", help="Built-in profile or profile file.")
@click.option("--baseline", "baseline_ref", metavar="DIR|FILE", help="A captured baseline (default: the newest).")
@click.option("--chart", metavar="DIR|TGZ|REF", help="The chart to install [default: the profile's].")
@click.option(
    "-f",
    "--values",
    "extra_files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="More values files, after the profile's overlays (helm -f order).",
)
@click.option(
    "--strategy",
    type=click.Choice(["node-config", "clean-state"]),
    default="node-config",
    show_default=True,
    help="How nodes not yet switched keep their settings.",
)
@click.option("--ignore", multiple=True, metavar="IDS", help="Preflight rules to skip (judged findings).")
@click.option("--dry-run", is_flag=True, help="Stop after showing the steps.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing the cluster.")
@cluster_options
def apply(
    profile_ref: str | None,
    baseline_ref: str | None,
    chart: str | None,
    extra_files: tuple[str, ...],
    strategy: str,
    ignore: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    helm_path: str | None,
    state_dir: str | None,
) -> None:
    """Apply a profile to the cluster, node by node, with a journal to resume or abort from."""
    from cilium_tune.profile.load import load_profile
    from cilium_tune.rollout import run

    st = state(state_dir)
    profile = load_profile(profile_ref)
    with cluster(kubeconfig, kube_context, helm_path) as c, tempfile.TemporaryDirectory(prefix="ct-apply-") as tmp:
        _refuse_active_run(st.runs, profile.release.namespace, profile.release.name)
        release = _release(profile, chart, kube_context, kubeconfig)
        captured = _baseline(c, release, baseline_ref, st.baselines)
        files = _desired_files(profile, captured, extra_files, Path(tmp))
        _preflight(c, profile, release, files, ignore)
        proposal = run.propose(
            kind="apply",
            helm=c.helm,
            kube=c.kube,
            release=release,
            target_files=files,
            target_version=release.version,
            strategy=strategy,
        )
        if proposal.unchanged:
            click.echo(
                f"nothing to change: {release.namespace}/{release.name} already renders exactly this "
                f"(chart {proposal.live_version}, revision {proposal.live_revision})"
            )
            return
        show_proposal(proposal)
        if dry_run:
            click.echo("dry run: nothing changed")
            return
        if not yes and not click.confirm("apply these steps?", default=False, err=True):
            raise InputError("not confirmed: nothing changed", hint="pass --yes to apply without asking")
        journal = run.start(proposal, st.runs, kubeconfig, {"baseline": str(captured.path)})
        echo(f"run {journal.run_id}: journal {journal.path}")
        run.execute(journal, c.actions(), echo)
    click.echo(f"applied: run {journal.run_id} succeeded ({len(proposal.steps)} steps)")


def show_proposal(proposal: Proposal) -> None:
    from cilium_tune.plan.steps import display_lines

    effect = proposal.effect
    click.echo(
        f"Release {proposal.release.namespace}/{proposal.release.name}: chart {proposal.live_version} "
        f"-> {proposal.target_version}, nodes {', '.join(proposal.nodes)}"
    )
    if effect.changed_keys:
        click.echo("cilium-config changes:")
        for key in effect.changed_keys:
            click.echo(
                f"  {key}: {effect.config_before.get(key, '(unset)')} -> {effect.config_after.get(key, '(unset)')}"
            )
    for note in proposal.notes:
        click.echo(f"note: {note}")
    click.echo(f"Steps ({len(proposal.steps)}):")
    for step in proposal.steps:
        click.echo(f"  {step.id:<40} {display_lines(step)[0]}")


def _refuse_active_run(runs_dir: Path, namespace: str, name: str) -> None:
    from cilium_tune.rollout.journal import ACTIVE_STATES, list_runs

    for journal in list_runs(runs_dir):
        rel = journal.meta.get("release") or {}
        if journal.state in ACTIVE_STATES and (rel.get("namespace"), rel.get("name")) == (namespace, name):
            raise InputError(
                f"run {journal.run_id} on {namespace}/{name} is {journal.state}",
                hint=f"`cilium-tune rollout resume {journal.run_id}` or `cilium-tune rollout abort {journal.run_id}`",
            )


def _release(profile: Profile, chart: str | None, kube_context: str | None, kubeconfig: str | None) -> Release:
    from cilium_tune.plan.planner import Release

    return Release(
        profile.release.namespace,
        profile.release.name,
        chart or profile.release.chart_argument,
        profile.release.version,
        kubeconfig=kubeconfig or profile.cluster.kubeconfig,
        kube_context=kube_context or profile.cluster.kube_context,
    )


def _baseline(c: Cluster, release: Release, ref: str | None, baselines: Path) -> CapturedBaseline:
    """The baseline given, else the newest capture of this release, else a new capture."""
    from cilium_tune.adapters.helm import ReleaseRef
    from cilium_tune.rollout import baseline as bl

    if ref is not None:
        return bl.load(Path(ref))
    found = bl.latest(baselines, release.namespace, release.name)
    if found is not None:
        echo(f"baseline: {found.path}")
        return found
    ref_ = ReleaseRef(release.namespace, release.name, release.kube_context, release.kubeconfig)
    captured = bl.capture(c.helm, c.kube, ref_, baselines)
    echo(f"baseline captured: {captured.path}")
    return captured


def _desired_files(profile: Profile, captured: CapturedBaseline, extra: tuple[str, ...], tmp: Path) -> list[Path]:
    """The -f files in helm order: the baseline's values, the profile's permanent overlays, then -f files."""
    from cilium_tune.plan.planner import MIGRATION_OVERLAY
    from cilium_tune.values.overlays import render_overlays

    files = [captured.values_file]
    for overlay in render_overlays(profile):
        if overlay.name == MIGRATION_OVERLAY:
            continue  # the one-time clean-state overlay: the executor's strategy handles the switch
        path = tmp / overlay.filename
        path.write_text(overlay.text, encoding="utf-8")
        files.append(path)
    return files + [Path(f) for f in extra]


def _preflight(c: Cluster, profile: Profile, release: Release, files: list[Path], ignore: tuple[str, ...]) -> None:
    """The preflight rules on the merged values with live facts: error findings refuse the apply (exit 1)."""
    from cilium_tune.facts.collect import CollectOptions, collect
    from cilium_tune.report.text import render_findings
    from cilium_tune.rules import RuleContext, run_rules
    from cilium_tune.values.loader import load_values
    from cilium_tune.values.merge import merge_values

    facts = collect(c.kube, CollectOptions(namespace=release.namespace, release=release.name))
    merged = merge_values([load_values(str(p)) for p in files])
    ids = [part for item in ignore for part in item.split(",") if part]
    try:
        result = run_rules(RuleContext(values=merged.values, facts=facts, profile=profile), ignore=ids)
    except KeyError as exc:
        raise InputError(f"no rule {exc.args[0]!r} (--ignore)", hint="run `cilium-tune rules`") from None
    if result.failed():
        click.echo("Preflight findings:")
        click.echo(render_findings(result), nl=False)
        raise FindingsError(
            "preflight refuses the apply: nothing was changed",
            hint="fix what the findings say, or --ignore a rule you have judged",
        )
