"""A run gives back the proposal it was started from: what `apply` showed, read from the run's journal."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cilium_tune.cli.proposal import proposal_lines
from cilium_tune.plan.planner import Effect, Release, Target, plan_rollout, rollout_notes
from cilium_tune.rollout.run import Proposal, recorded_proposal, start


def test_the_applied_plan_is_read_back_from_the_run_not_from_apply_output(tmp_path: Path) -> None:
    """The demo's plan.txt: the lines apply printed before it ran (release, cilium-config changes, notes,
    one line a step), rebuilt from the run's journal; the steps name the copies of the values files the
    run gave helm instead of apply's temporary files."""
    release = Release("kube-system", "cilium", "cilium/cilium", "1.19.0")
    effect = Effect({"routing-mode": "tunnel", "datapath-mode": "veth"},
                    {"routing-mode": "native", "datapath-mode": "veth", "enable-ipv4-big-tcp": "true"},
                    agent_template_changed=True)
    tuned = tmp_path / "apply-tmp" / "lab.yaml"
    tuned.parent.mkdir()
    tuned.write_text("routingMode: native\nenableIPv4BIGTCP: true\n")
    nodes = ("lab-1", "lab-2")
    proposal = Proposal(
        kind="apply", release=release, nodes=nodes, strategy="node-config", target_files=(tuned,),
        target_version="1.19.0", live_values="routingMode: tunnel\n", live_version="1.19.0", live_revision=2,
        effect=effect, steps=tuple(plan_rollout(release=release, nodes=nodes, target=Target((str(tuned),), "1.19.0"),
                                                effect=effect)),
        notes=tuple(rollout_notes(effect, "node-config")), unchanged=False)

    journal = start(proposal, tmp_path / "runs", None)
    recorded = recorded_proposal(journal)

    copy = journal.run_dir / "values" / "01-lab.yaml"
    assert recorded == replace(proposal, target_files=(copy,), steps=recorded.steps)
    assert [s.id for s in recorded.steps] == [s.id for s in proposal.steps]
    shown = proposal_lines(proposal)
    assert shown[0] == "Release kube-system/cilium: chart 1.19.0 -> 1.19.0, nodes lab-1, lab-2"
    assert "  routing-mode: tunnel -> native" in shown
    assert proposal_lines(recorded) == [line.replace(str(tuned), str(copy)) for line in shown]
