"""`cilium-tune apply`: preflight, baseline, plan, then the change carried out node by node, journaled."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cilium_tune.cli.cluster_options import (
    cluster,
    cluster_options,
    dry_run_option,
    echo,
    state,
    strategy_option,
    yes_option,
)
from cilium_tune.errors import FindingsError

if TYPE_CHECKING:
    from cilium_tune.desired import DesiredState

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
@strategy_option(switched="switched")
@click.option("--ignore", multiple=True, metavar="IDS", help="Preflight rules to skip (judged findings).")
@click.option(
    "--probe-nodes/--no-probe-nodes",
    default=True,
    show_default=True,
    help="Probe every node (kernel config, CNI dirs) for the preflight, as `facts --probe-nodes`.",
)
@dry_run_option
@yes_option
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
    from cilium_tune.cli.proposal import carry_out
    from cilium_tune.rollout import run
    from cilium_tune.rollout.apply_inputs import (
        ApplyRequest,
        desired_for_apply,
        helm_files,
        release_for_apply,
        restore_from,
    )
    from cilium_tune.rollout.runs import refuse_active_run

    st = state(state_dir)
    request = ApplyRequest(profile_ref, baseline_ref, chart, extra_files, probe_nodes, kubeconfig, kube_context)
    with cluster(kubeconfig, kube_context, helm_path) as c, tempfile.TemporaryDirectory(prefix="ct-apply-") as tmp:
        desired = desired_for_apply(request, c.kube, c.helm, st.baselines, echo)
        release = release_for_apply(desired, chart)
        refuse_active_run(st.runs, release.namespace, release.name)
        _preflight(desired, ignore)
        files = helm_files(desired, Path(tmp))
        proposal = run.propose(
            kind="apply",
            helm=c.helm,
            kube=c.kube,
            release=release,
            target_files=files,
            target_version=release.version,
            strategy=strategy,
            restore_from=restore_from(desired, release),
        )
        if proposal.unchanged:
            click.echo(
                f"nothing to change: {release.namespace}/{release.name} already renders exactly this "
                f"(chart {proposal.live_version}, revision {proposal.live_revision})"
            )
            return
        baseline = desired.baseline.path if desired.baseline else None
        journal = carry_out(
            proposal, c, st.runs, dry_run=dry_run, yes=yes, question="apply these steps?", verb="apply",
            baseline=baseline,
        )
        if journal is None:
            return
    click.echo(f"applied: run {journal.run_id} succeeded ({len(proposal.steps)} steps)")


def _preflight(desired: DesiredState, ignore: tuple[str, ...]) -> None:
    """Show the preflight's findings and refuse the apply (exit 1) when one is an error."""
    from cilium_tune.cli.options import rule_ids
    from cilium_tune.report.text import render_findings
    from cilium_tune.rollout.preflight import preflight

    result = preflight(desired, rule_ids(ignore))
    if result.failed():
        click.echo("Preflight findings:")
        click.echo(render_findings(result), nl=False)
        raise FindingsError(
            "preflight refuses the apply: nothing was changed",
            hint="fix what the findings say, or --ignore a rule you have judged",
        )
