"""`cilium-tune rollback`: back to a captured baseline, pinned to its chart version, node by node."""

from __future__ import annotations

import click

from cilium_tune.cli.cluster_options import cluster, cluster_options, dry_run_option, state, strategy_option, yes_option

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
@strategy_option(switched="switched back")
@dry_run_option
@yes_option
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
    from cilium_tune.cli.proposal import carry_out
    from cilium_tune.restore_chart import RestoreFrom
    from cilium_tune.rollout import run
    from cilium_tune.rollout.rollback_inputs import rollback_target
    from cilium_tune.rollout.runs import refuse_active_run

    st = state(state_dir)
    target = rollback_target(
        profile_ref=profile_ref,
        to=to,
        chart=chart,
        baselines=st.baselines,
        kubeconfig=kubeconfig,
        kube_context=kube_context,
    )
    release, captured = target.release, target.baseline
    with cluster(kubeconfig, kube_context, helm_path) as c:
        refuse_active_run(st.runs, release.namespace, release.name)
        proposal = run.propose(
            kind="rollback",
            helm=c.helm,
            kube=c.kube,
            release=release,
            target_files=target.files,
            target_version=captured.chart_version,
            strategy=strategy,
            restore_from=RestoreFrom(release.chart, release.chart, required=False),
            prefix="rollback/",
        )
        if proposal.unchanged:
            click.echo(
                f"nothing to change: the release already renders the baseline {captured.path.name} "
                f"(chart {captured.chart_version})"
            )
            return
        journal = carry_out(
            proposal, c, st.runs, dry_run=dry_run, yes=yes, question="roll back with these steps?",
            verb="roll back", baseline=str(captured.path),
        )
        if journal is None:
            return
    click.echo(f"rolled back to {captured.path.name}: run {journal.run_id} succeeded")
