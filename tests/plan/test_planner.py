"""The planner, shown through small examples: overlays over a baseline, and the steps that follow."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cilium_tune.desired import Layer
from cilium_tune.errors import InputError
from cilium_tune.plan.baseline import Baseline, chart_version
from cilium_tune.plan.planner import Plan, Release, build_plan
from cilium_tune.plan.steps import HelmUpgrade, command_line
from cilium_tune.profile import load_profile
from cilium_tune.values.loader import load_values_text
from cilium_tune.values.merge import merge_values

RELEASE = Release("kube-system", "cilium", "cilium/cilium", "1.19.0-rc.1")
NODES = ["node-1", "node-2"]


@dataclass(frozen=True)
class Overlay:
    name: str
    filename: str
    text: str


PERFORMANCE = Overlay("performance", "cilium-values.yaml", "routingMode: native\nbpf:\n  datapathMode: netkit\n")
MIGRATE = Overlay("netkit-migrate", "cilium-values-netkit-migrate.yaml", "cleanState: true\n")
BEFORE = "# chart-version: 1.18.6\nroutingMode: tunnel\nbpf:\n  datapathMode: veth\n  masquerade: false\n"


def overlay_layers(overlays: list[Overlay]) -> list[Layer]:
    """The overlays as the desired state layers them: the one-time migration overlay last."""
    layers = [Layer("one-time" if o.name == "netkit-migrate" else "overlay", o.name, f"deploy/{o.filename}",
                    load_values_text(o.text, f"deploy/{o.filename}")) for o in overlays]
    return sorted(layers, key=lambda layer: layer.role == "one-time")


def plan_over(layers: list[Layer], baseline: Baseline | None, release: Release = RELEASE) -> Plan:
    """The plan of these layers, merged (the one-time overlay left out) as the desired state merges them."""
    merged = merge_values([layer.values for layer in layers if layer.role != "one-time"])
    return build_plan(profile_name="test", release=release, nodes=NODES, layers=layers, merged=merged,
                      baseline=baseline)


def plan_for(
    overlays: list[Overlay], baseline_text: str | None, version: str | None = None, release: Release = RELEASE
) -> Plan:
    if baseline_text is None:
        return plan_over(overlay_layers(overlays), None, release)
    baseline = Baseline("before.yaml", load_values_text(baseline_text, "before.yaml"), version)
    return plan_over([Layer("baseline", "baseline", "before.yaml", baseline.values), *overlay_layers(overlays)],
                     baseline, release)


def test_baseline_comes_first_and_the_one_time_overlay_is_kept_apart() -> None:
    plan = plan_for([PERFORMANCE, MIGRATE], BEFORE, "1.18.6")
    assert [layer.path for layer in plan.layers] == ["before.yaml", "deploy/cilium-values.yaml"]
    assert plan.migration_layer is not None
    assert plan.migration_layer.path == "deploy/cilium-values-netkit-migrate.yaml"
    assert "cleanState" not in plan.merged.values


def test_the_diff_names_each_changed_key_and_provenance_names_the_overlay_line() -> None:
    plan = plan_for([PERFORMANCE], BEFORE, "1.18.6")
    assert plan.diff is not None
    assert [(e.kind, e.dotted, e.old, e.new) for e in plan.diff.entries] == [
        ("changed", "bpf.datapathMode", "veth", "netkit"),
        ("changed", "routingMode", "tunnel", "native"),
    ]
    explanation = plan.merged.explain("bpf.datapathMode")
    assert str(explanation.origin) == "deploy/cilium-values.yaml:3:3"
    assert [item.value for item in explanation.overridden] == ["veth"]


def test_a_datapath_switch_holds_the_agents_and_switches_node_by_node() -> None:
    plan = plan_for([PERFORMANCE, MIGRATE], BEFORE, "1.18.6")
    assert plan.migration_needed
    ids = [step.id for step in plan.apply]
    assert ids[:5] == ["hold/node-1/label", "hold/node-2/label", "hold/node-config", "hold/helm", "operator/restart"] \
        or ids[:4] == ["hold/node-1/label", "hold/node-2/label", "hold/node-config", "hold/helm"]
    per_node = ["cordon", "evict", "delete-daemonset-pods", "unlabel", "restart-agent", "check", "uncordon"]
    switch = [i for i in ids if i.startswith("switch/")]
    assert switch == [f"switch/{node}/{action}" for node in NODES for action in per_node]
    assert ids[-3:] == ["release/node-config", "release/helm", "release/check-pods"]
    hold = plan.apply[ids.index("hold/helm")]
    assert isinstance(hold, HelmUpgrade) and not hold.wait
    assert "deploy/cilium-values-netkit-migrate.yaml" not in hold.values_files, "no clean-state overlay is needed"
    assert command_line(plan.apply[ids.index("release/helm")]) == (
        "helm -n kube-system upgrade --install cilium cilium/cilium --version 1.19.0-rc.1 "
        "-f before.yaml -f deploy/cilium-values.yaml --reset-values --wait --timeout 15m"
    )


def test_rollback_is_pinned_to_the_baseline_chart_version() -> None:
    plan = plan_for([PERFORMANCE], BEFORE, chart_version(BEFORE))
    upgrades = [step for step in plan.rollback if isinstance(step, HelmUpgrade)]
    assert [step.id for step in upgrades] == ["rollback/hold/helm", "rollback/release/helm"]
    assert {step.version for step in upgrades} == {"1.18.6"}
    assert command_line(upgrades[-1]) == (
        "helm -n kube-system upgrade --install cilium cilium/cilium --version 1.18.6 "
        "-f before.yaml --reset-values --wait --timeout 15m"
    )
    assert "rollback/switch/node-1/restart-agent" in [step.id for step in plan.rollback]


def test_a_rollback_is_never_planned_with_a_local_chart_of_another_version() -> None:
    """Helm installs a local chart's own version whatever `--version` says: the lab chart (1.19.0-rc.1)
    cannot put a 1.18.6 baseline back, so a plan whose rollback would need it is refused."""
    lab = Release("kube-system", "cilium", load_profile("lab").release.chart_argument, "1.19.0-rc.1")

    with pytest.raises(InputError) as refused:
        plan_for([PERFORMANCE], BEFORE, chart_version(BEFORE), release=lab)

    assert refused.value.message.startswith(
        f"chart {lab.chart} is version 1.19.0-rc.1, but the rollback restores the baseline before.yaml, captured "
        "at 1.18.6")


def test_without_a_known_baseline_version_there_is_no_rollback_command() -> None:
    plan = plan_for([PERFORMANCE], "routingMode: tunnel\n", None)
    assert plan.rollback == ()
    assert any("--baseline-version" in note for note in plan.notes)


def test_without_a_baseline_changes_are_pending_and_live_values_are_kept() -> None:
    plan = plan_for([PERFORMANCE], None)
    assert plan.changes_pending and plan.diff is None
    (apply,) = [s for s in plan.apply if isinstance(s, HelmUpgrade)][-1:]
    assert "--reuse-values" in apply.argv()
    (note,) = [note for note in plan.notes if note.startswith("no baseline: capture one first")]
    assert "cilium-tune baseline capture -n kube-system --release cilium" in note


def test_the_baseline_notes_recommend_a_capture_never_a_hand_made_helm_get_values_file() -> None:
    """A hand-made `helm get values --all > before.yaml` has no user-values.yaml: its nulls delete keys and
    it cannot carry the user's deletions. Both notes that ask for a baseline file point at `baseline capture`."""
    from cilium_tune.plan.baseline import live_baseline

    live = live_baseline("kube-system", "cilium", 7, "1.19.0-rc.1", {"routingMode": "tunnel"})
    from_live = plan_over([Layer("live", "live release", live.path, live.values), *overlay_layers([PERFORMANCE])], live)
    for plan in (plan_for([PERFORMANCE], None), from_live):
        notes = [note for note in plan.notes if "baseline" in note and "capture" in note]
        assert notes and all("cilium-tune baseline capture" in note for note in notes)
        assert not any("-o yaml >" in note for note in plan.notes)  # no hand-made file to write


def test_an_already_applied_profile_plans_no_changes() -> None:
    applied = "routingMode: native\nbpf:\n  datapathMode: netkit\n"
    plan = plan_for([PERFORMANCE], applied, "1.19.0-rc.1")
    assert not plan.changes_pending
    assert not plan.migration_needed
    assert len(plan.apply) == 1


def test_the_live_release_as_baseline_is_diffed_but_not_passed_to_helm() -> None:
    from cilium_tune.plan.baseline import live_baseline
    from cilium_tune.plan.steps import HelmRollback

    live = live_baseline("kube-system", "cilium", 7, "1.19.0-rc.1", {"routingMode": "tunnel", "bpf": {}})
    plan = plan_over([Layer("live", "live release", live.path, live.values), *overlay_layers([PERFORMANCE])], live)
    assert [layer.path for layer in plan.layers] == ["deploy/cilium-values.yaml"]
    assert plan.diff is not None and [e.dotted for e in plan.diff.changed] == ["routingMode"]
    assert str(plan.merged.explain("routingMode").overridden[0].origin).startswith("live:kube-system/cilium@7:")
    final = [s for s in plan.apply if isinstance(s, HelmUpgrade)][-1]
    assert "--reuse-values" in final.argv()
    (rollback,) = plan.rollback
    assert isinstance(rollback, HelmRollback)
    assert command_line(rollback) == "helm -n kube-system rollback cilium 7 --wait --timeout 10m"
