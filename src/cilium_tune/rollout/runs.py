"""Which run a command means, and one run at a time on a release.

Two runs changing the same release at once would fight over its nodes (one cordons what the other
uncordons, each holds the agents on its own settings), so a new apply or rollback is refused while an
earlier run on that release is unfinished: it must be resumed or aborted first. `rollout status`,
`resume` and `abort` take a run id, or mean the newest run (the newest unfinished one for resume/abort).
"""

from __future__ import annotations

from pathlib import Path

from cilium_tune.errors import InputError
from cilium_tune.rollout.journal import ACTIVE_STATES, Journal, list_runs

LIST_HINT = "`cilium-tune rollout status --all` lists the runs"


def refuse_active_run(runs_dir: Path, namespace: str, name: str) -> None:
    """Raise (exit 2) when a run on `namespace/name` under `runs_dir` is unfinished."""
    for journal in list_runs(runs_dir):
        rel = journal.meta.get("release") or {}
        if journal.state in ACTIVE_STATES and (rel.get("namespace"), rel.get("name")) == (namespace, name):
            raise InputError(
                f"run {journal.run_id} on {namespace}/{name} is {journal.state}",
                hint=f"`cilium-tune rollout resume {journal.run_id}` or `cilium-tune rollout abort {journal.run_id}`",
            )


def pick_run(runs_dir: Path, run_id: str | None, *, active_only: bool) -> Journal:
    """The run named, else the newest one; with `active_only`, only an unfinished run will do."""
    if run_id is not None:
        journal = Journal.load(runs_dir / run_id)
        if active_only and journal.state not in ACTIVE_STATES:
            raise InputError(f"run {run_id} is {journal.state}: nothing to continue", hint=LIST_HINT)
        return journal
    runs = [j for j in list_runs(runs_dir) if not active_only or j.state in ACTIVE_STATES]
    if not runs:
        what = "unfinished run" if active_only else "run"
        raise InputError(f"no {what} under {runs_dir}", hint=LIST_HINT)
    return runs[-1]


def run_summary(journal: Journal) -> dict[str, object]:
    """One run in a line's worth of fields (`rollout status --all`, and its JSON items)."""
    steps = journal.steps()
    done = sum(1 for s in steps if journal.status_of(s.id) == "done")
    return {
        "run_id": journal.run_id,
        "kind": journal.kind,
        "state": journal.state,
        "steps": len(steps),
        "done": done,
        "message": journal.data.get("message"),
    }
