"""Which run a command means, and one unfinished run at a time on a release."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_tune.errors import InputError
from cilium_tune.plan.steps import Cordon
from cilium_tune.rollout.journal import Journal, list_runs
from cilium_tune.rollout.runs import pick_run, refuse_active_run, run_summary

STEPS = [Cordon(id="switch/n1/cordon", purpose="p", node="n1"),
         Cordon(id="switch/n1/uncordon", purpose="p", node="n1", unschedulable=False)]


def new_run(runs: Path, state: str, release: str = "cilium") -> Journal:
    """A run in `state`, newer than those before it (run ids sort by time; these are one second apart)."""
    meta = {"release": {"namespace": "kube-system", "name": release}, "nodes": ["n1"]}
    run_dir = runs / f"20261126-1200{len(list_runs(runs)):02d}-abcdef"
    run_dir.mkdir(parents=True)
    journal = Journal.create(run_dir, kind="apply", meta=meta, steps=STEPS, inputs={})
    journal.set_state(state)
    return journal


def test_an_unfinished_run_on_the_release_refuses_a_new_one(tmp_path: Path) -> None:
    new_run(tmp_path, "succeeded")
    new_run(tmp_path, "interrupted", release="other")
    refuse_active_run(tmp_path, "kube-system", "cilium")  # finished runs and other releases do not count

    stuck = new_run(tmp_path, "interrupted")
    with pytest.raises(InputError, match=f"run {stuck.run_id} on kube-system/cilium is interrupted") as err:
        refuse_active_run(tmp_path, "kube-system", "cilium")
    assert err.value.hint == (
        f"`cilium-tune rollout resume {stuck.run_id}` or `cilium-tune rollout abort {stuck.run_id}`"
    )


def test_the_newest_run_is_meant_unless_one_is_named(tmp_path: Path) -> None:
    first = new_run(tmp_path, "failed")
    second = new_run(tmp_path, "succeeded")
    assert pick_run(tmp_path, None, active_only=False).run_id == second.run_id
    assert pick_run(tmp_path, None, active_only=True).run_id == first.run_id, "resume/abort: the newest unfinished"
    assert pick_run(tmp_path, first.run_id, active_only=True).run_id == first.run_id


def test_a_finished_run_has_nothing_to_continue(tmp_path: Path) -> None:
    done = new_run(tmp_path, "succeeded")
    with pytest.raises(InputError, match=f"run {done.run_id} is succeeded: nothing to continue"):
        pick_run(tmp_path, done.run_id, active_only=True)
    with pytest.raises(InputError, match="no unfinished run under"):
        pick_run(tmp_path, None, active_only=True)
    with pytest.raises(InputError, match="no run under"):
        pick_run(tmp_path / "none", None, active_only=False)


def test_a_summary_counts_the_steps_done(tmp_path: Path) -> None:
    journal = new_run(tmp_path, "interrupted")
    journal.record("switch/n1/cordon", "started")
    journal.record("switch/n1/cordon", "done")
    journal.record("switch/n1/uncordon", "started")
    journal.set_state("interrupted", "stopped by SIGTERM")
    assert run_summary(journal) == {"run_id": journal.run_id, "kind": "apply", "state": "interrupted",
                                    "steps": 2, "done": 1, "message": "stopped by SIGTERM"}
