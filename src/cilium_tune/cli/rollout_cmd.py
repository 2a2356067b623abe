"""`cilium-tune rollout status|resume|abort`: look at, continue or undo a journaled run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cilium_tune.cli.cluster_options import cluster, cluster_options, echo, state, yes_option
from cilium_tune.cli.machine import MACHINE, echo_document

if TYPE_CHECKING:
    from cilium_tune.rollout.journal import Journal

EXAMPLES = """
\b
Examples:
  cilium-tune rollout status                 # the newest run, step by step
  cilium-tune rollout status --all           # every run, one line each
  cilium-tune rollout resume                 # continue the newest unfinished run where it stopped
  cilium-tune rollout abort --yes            # take the touched nodes back and restore the release
"""


@click.group("rollout", epilog=EXAMPLES)
def rollout() -> None:
    """Status, resume and abort of apply/rollback runs (journals under STATE/runs)."""


@rollout.command("status")
@click.argument("run_id", required=False)
@click.option("--all", "all_runs", is_flag=True, help="List every run.")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False), help="Where run journals are kept.")
def status(run_id: str | None, all_runs: bool, output: str, state_dir: str | None) -> None:
    """Show a run: its state and every step's last event."""
    from cilium_tune.rollout.journal import list_runs
    from cilium_tune.rollout.runs import pick_run, run_summary

    runs_dir = state(state_dir).runs
    if all_runs:
        runs = list_runs(runs_dir)
        if output in MACHINE:
            echo_document([run_summary(j) for j in runs], output, "cilium-tune/runs/v1")
            return
        for journal in runs:
            s = run_summary(journal)
            click.echo(
                f"{s['run_id']}  {s['kind']:<8} {s['state']:<11} {s['done']}/{s['steps']} steps  "
                f"{s.get('message') or ''}".rstrip()
            )
        return
    journal = pick_run(runs_dir, run_id, active_only=False)
    if output in MACHINE:
        echo_document(journal.data, output, "cilium-tune/run-status/v1")
        return
    s = run_summary(journal)
    click.echo(f"run {journal.run_id} ({journal.kind}): {journal.state}, {s['done']}/{s['steps']} steps done")
    if journal.data.get("message"):
        click.echo(f"  {journal.data['message']}")
    _steps_table(journal, journal.steps())
    if journal.data.get("recovery"):
        click.echo(f"recovery ({journal.data.get('recovery_reason')}):")
        _steps_table(journal, journal.recovery_steps())


@rollout.command("resume")
@click.argument("run_id", required=False)
@cluster_options
def resume(
    run_id: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    helm_path: str | None,
    state_dir: str | None,
) -> None:
    """Continue a run where it stopped (a step that had started runs again)."""
    from cilium_tune.rollout import run
    from cilium_tune.rollout.runs import pick_run

    journal = pick_run(state(state_dir).runs, run_id, active_only=True)
    echo(f"resuming run {journal.run_id} ({journal.state})")
    with cluster(kubeconfig or journal.meta.get("kubeconfig"), kube_context, helm_path) as c:
        run.execute(journal, c.actions(), echo)
    click.echo(f"run {journal.run_id} {journal.state}")


@rollout.command("abort")
@click.argument("run_id", required=False)
@yes_option
@cluster_options
def abort(
    run_id: str | None,
    yes: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    helm_path: str | None,
    state_dir: str | None,
) -> None:
    """Take the nodes a run touched back to the previous settings, node by node, and restore the release."""
    from cilium_tune.cli.proposal import confirm
    from cilium_tune.rollout import run
    from cilium_tune.rollout.runs import pick_run

    journal = pick_run(state(state_dir).runs, run_id, active_only=True)
    confirm(f"abort run {journal.run_id} and go back?", verb="abort", yes=yes)
    with cluster(kubeconfig or journal.meta.get("kubeconfig"), kube_context, helm_path) as c:
        run.abort(journal, c.actions(), echo)
    click.echo(f"run {journal.run_id} {journal.state}")


def _steps_table(journal: Journal, steps: list) -> None:  # type: ignore[type-arg]
    last = journal.last_events()
    for step in steps:
        event = last.get(step.id)
        mark = {"done": "ok", "failed": "FAILED", "started": "running", "reset": "reset"}.get(
            str(event["event"]) if event else "", "-"
        )
        when = str(event["at"])[11:19] if event else ""
        error = (event.get("detail") or {}).get("error") if event else None
        click.echo(f"  {mark:<7} {when:<8} {step.id}" + (f": {error}" if error else ""))
