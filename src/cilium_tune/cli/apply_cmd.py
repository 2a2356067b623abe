"""`cilium-tune apply`: preflight, baseline, plan, then the change carried out node by node, journaled."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cilium_tune.cli.cluster_options import Cluster, cluster, cluster_options, echo, state
from cilium_tune.errors import FindingsError, InputError

if TYPE_CHECKING:
    from cilium_tune.desired import DesiredState
    from cilium_tune.plan.planner import Release
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
@click.option(
    "--probe-nodes/--no-probe-nodes",
    default=True,
    show_default=True,
    help="Probe every node (kernel config, CNI dirs) for the preflight, as `facts --probe-nodes`.",
)
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
    probe_nodes: bool,
    dry_run: bool,
    yes: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    helm_path: str | None,
    state_dir: str | None,
) -> None:
    """Apply a profile to the cluster, node by node, with a journal to resume or abort from."""
    from cilium_tune.rollout import run

    st = state(state_dir)
    with cluster(kubeconfig, kube_context, helm_path) as c, tempfile.TemporaryDirectory(prefix="ct-apply-") as tmp:
        desired = _desired(
            c, profile_ref, baseline_ref, chart, extra_files, st.baselines, kube_context, kubeconfig, probe_nodes
        )
        release = _release(desired, chart)
        _refuse_active_run(st.runs, release.namespace, release.name)
        _preflight(desired, ignore)
        files = _helm_files(desired, Path(tmp))
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
        baseline_path = desired.baseline.path if desired.baseline else None
        journal = run.start(proposal, st.runs, kubeconfig, {"baseline": baseline_path})
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


def _desired(
    c: Cluster,
    profile_ref: str | None,
    baseline_ref: str | None,
    chart: str | None,
    extra_files: tuple[str, ...],
    baselines: Path,
    kube_context: str | None,
    kubeconfig: str | None,
    probe_nodes: bool,
) -> DesiredState:
    """The one desired state (cilium_tune.desired) over the baseline and fresh facts of the live cluster."""
    from cilium_tune.desired import DesiredInputs, load_desired
    from cilium_tune.facts.collect import CollectOptions, collect
    from cilium_tune.profile.load import load_profile

    profile = load_profile(profile_ref)
    ns, name = profile.release.namespace, profile.release.name
    if probe_nodes:
        echo("collecting facts, with a probe on every node...")
    facts = collect(c.kube, CollectOptions(namespace=ns, release=name, probe_nodes=probe_nodes))
    captured = _baseline(c, ns, name, kube_context, kubeconfig, baseline_ref, baselines)
    local_chart = chart if chart and Path(chart).exists() else None
    return load_desired(
        DesiredInputs(
            profile_ref=profile_ref,
            value_files=extra_files,
            baseline_path=str(captured.values_file),
            chart=local_chart,
            facts=facts,
            require_profile=True,
        )
    )


def _release(desired: DesiredState, chart: str | None) -> Release:
    from cilium_tune.plan.planner import Release

    identity = desired.release
    if identity is None:
        raise InputError("apply needs a profile naming the release", hint="pass --profile NAME|FILE")
    return Release(
        identity.namespace,
        identity.name,
        chart or identity.chart,
        identity.version,
        kubeconfig=identity.kubeconfig,
        kube_context=identity.kube_context,
    )


def _baseline(
    c: Cluster,
    namespace: str,
    name: str,
    kube_context: str | None,
    kubeconfig: str | None,
    ref: str | None,
    baselines: Path,
) -> CapturedBaseline:
    """The baseline given, else the newest capture of this release, else a new capture."""
    from cilium_tune.adapters.helm import ReleaseRef
    from cilium_tune.rollout import baseline as bl

    if ref is not None:
        return bl.load(Path(ref))
    found = bl.latest(baselines, namespace, name)
    if found is not None:
        echo(f"baseline: {found.path}")
        return found
    captured = bl.capture(c.helm, c.kube, ReleaseRef(namespace, name, kube_context, kubeconfig), baselines)
    echo(f"baseline captured: {captured.path}")
    return captured


def _helm_files(desired: DesiredState, tmp: Path) -> list[Path]:
    """The permanent layers as files helm reads, in -f order (the profile's overlays written out as rendered;
    the one-time clean-state overlay is left out: the executor's strategy carries out the switch)."""
    texts = {overlay.name: overlay for overlay in desired.overlays}
    files = []
    for layer in desired.permanent_layers:
        if layer.role == "overlay":
            path = tmp / texts[layer.name].filename
            path.write_text(texts[layer.name].text, encoding="utf-8")
            files.append(path)
        elif layer.role == "live":
            raise InputError("apply needs a captured baseline file", hint="`cilium-tune baseline capture`")
        else:
            files.append(Path(layer.path))
    return files


def _preflight(desired: DesiredState, ignore: tuple[str, ...]) -> None:
    """The preflight rules on the desired state with live facts: error findings refuse the apply (exit 1)."""
    from cilium_tune.report.text import render_findings
    from cilium_tune.rules import run_rules

    ids = [part for item in ignore for part in item.split(",") if part]
    try:
        result = run_rules(desired.rule_context(), ignore=ids)
    except KeyError as exc:
        raise InputError(f"no rule {exc.args[0]!r} (--ignore)", hint="run `cilium-tune rules`") from None
    if result.failed():
        click.echo("Preflight findings:")
        click.echo(render_findings(result), nl=False)
        raise FindingsError(
            "preflight refuses the apply: nothing was changed",
            hint="fix what the findings say, or --ignore a rule you have judged",
        )
