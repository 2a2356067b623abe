"""What `apply` and `rollback` share once their run is proposed: show it, stop for --dry-run, ask, run it.

Rendering and asking only: the proposal, the journal and the executor are `cilium_tune.rollout.run`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cilium_tune.cli.cluster_options import Cluster, echo
from cilium_tune.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from cilium_tune.rollout.journal import Journal
    from cilium_tune.rollout.run import Proposal


def show_proposal(proposal: Proposal) -> None:
    for line in proposal_lines(proposal):
        click.echo(line)


def proposal_lines(proposal: Proposal) -> list[str]:
    """The release and chart versions, the cilium-config keys that change, the notes, then one line a step."""
    from cilium_tune.plan.steps import display_lines

    effect = proposal.effect
    lines = [
        f"Release {proposal.release.namespace}/{proposal.release.name}: chart {proposal.live_version} "
        f"-> {proposal.target_version}, nodes {', '.join(proposal.nodes)}"
    ]
    if effect.changed_keys:
        lines.append("cilium-config changes:")
        lines += [
            f"  {key}: {effect.config_before.get(key, '(unset)')} -> {effect.config_after.get(key, '(unset)')}"
            for key in effect.changed_keys
        ]
    lines += [f"note: {note}" for note in proposal.notes]
    lines.append(f"Steps ({len(proposal.steps)}):")
    lines += [f"  {step.id:<40} {display_lines(step)[0]}" for step in proposal.steps]
    return lines


def confirm(question: str, *, verb: str, yes: bool) -> None:
    """Ask on stderr (unless --yes); no answer, or no, changes nothing (exit 2)."""
    if not yes and not click.confirm(question, default=False, err=True):
        raise InputError("not confirmed: nothing changed", hint=f"pass --yes to {verb} without asking")


def carry_out(
    proposal: Proposal,
    c: Cluster,
    runs_dir: Path,
    *,
    dry_run: bool,
    yes: bool,
    question: str,
    verb: str,
    baseline: str | None,
) -> Journal | None:
    """Show the proposal; unless it is a dry run and once confirmed, journal it and run it (None: nothing ran)."""
    from cilium_tune.rollout import run

    show_proposal(proposal)
    if dry_run:
        click.echo("dry run: nothing changed")
        return None
    confirm(question, verb=verb, yes=yes)
    journal = run.start(proposal, runs_dir, c.kubeconfig, {"baseline": baseline})
    echo(f"run {journal.run_id}: journal {journal.path}")
    run.execute(journal, c.actions(), echo)
    return journal
