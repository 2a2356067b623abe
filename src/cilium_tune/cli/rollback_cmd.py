"""`cilium-tune rollback`: back to a captured baseline, pinned to its chart version, node by node."""

from __future__ import annotations

from pathlib import Path

import click

from cilium_tune.cli.cluster_options import cluster, cluster_options, echo, state
from cilium_tune.errors import InputError

EXAMPLES = """
\b
Examples:
  cilium-tune rollback --dry-run                     # the steps back to the newest baseline
  cilium-tune rollback --yes
  cilium-tune rollback --to .cilium-tune/baselines/kube-system-cilium-r1-... --yes
\b
The baseline's values are restored with the chart version recorded at capture (never an unpinned
chart). When agent settings differ, nodes are switched back one by one, each checked before uncordon.
"""


@click.command("rollback", epilog=EXAMPLES)
@click.option("--to", "to", metavar="DIR", help="The baseline to restore [default: the newest capture].")
@click.option("-p", "--profile", "profile_ref", metavar="NAME|FILE", help="Profile naming the release and chart.")
@click.option("--chart", metavar="DIR|TGZ|REF", help="The chart [default: the profile's].")
@click.option(
    "--strategy",
    type=click.Choice(["node-config", "clean-state"]),
    default="node-config",
    show_default=True,
    help="How nodes not yet switched back keep their settings.",
)
@click.option("--dry-run", is_flag=True, help="Stop after showing the steps.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing the cluster.")
@cluster_options
def rollback(
    to: str | None,
    profile_ref: str | None,
    chart: str | None,
    strategy: str,
    dry_run: bool,
    yes: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    helm_path: str | None,
    state_dir: str | None,
) -> None:
    """Restore a captured baseline: its values, its chart version, node by node."""
    from cilium_tune.cli.apply_cmd import _refuse_active_run, show_proposal
    from cilium_tune.plan.planner import Release
    from cilium_tune.profile.load import load_profile
    from cilium_tune.rollout import baseline as bl
    from cilium_tune.rollout import run

    st = state(state_dir)
    profile = load_profile(profile_ref)
    namespace, release_name = profile.release.namespace, profile.release.name
    captured = bl.load(Path(to)) if to else bl.latest(st.baselines, namespace, release_name)
    if captured is None:
        raise InputError(
            f"no baseline of {namespace}/{release_name} under {st.baselines}",
            hint="pass --to DIR (a `cilium-tune baseline capture` directory)",
        )
    problems = bl.verify(captured.path)
    if problems:
        raise InputError(f"baseline {captured.path} does not verify: {problems[0]}", hint="pass another with --to")
    release = Release(
        namespace,
        release_name,
        chart or profile.release.chart_argument,
        captured.chart_version,
        kubeconfig=kubeconfig or profile.cluster.kubeconfig,
        kube_context=kube_context or profile.cluster.kube_context,
    )
    with cluster(kubeconfig, kube_context, helm_path) as c:
        _refuse_active_run(st.runs, namespace, release_name)
        proposal = run.propose(
            kind="rollback",
            helm=c.helm,
            kube=c.kube,
            release=release,
            target_files=[captured.values_file],
            target_version=captured.chart_version,
            strategy=strategy,
            prefix="rollback/",
        )
        if proposal.unchanged:
            click.echo(
                f"nothing to change: the release already renders the baseline {captured.path.name} "
                f"(chart {captured.chart_version})"
            )
            return
        show_proposal(proposal)
        if dry_run:
            click.echo("dry run: nothing changed")
            return
        if not yes and not click.confirm("roll back with these steps?", default=False, err=True):
            raise InputError("not confirmed: nothing changed", hint="pass --yes to roll back without asking")
        journal = run.start(proposal, st.runs, kubeconfig, {"baseline": str(captured.path)})
        echo(f"run {journal.run_id}: journal {journal.path}")
        run.execute(journal, c.actions(), echo)
    click.echo(f"rolled back to {captured.path.name}: run {journal.run_id} succeeded")
