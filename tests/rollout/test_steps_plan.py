"""The rollout planner, by example: what each kind of change becomes, step by step."""

from __future__ import annotations

from cilium_tune.plan.planner import Effect, Release, Target, plan_failure_recovery, plan_recovery, plan_rollout
from cilium_tune.plan.steps import CheckNode, HelmUpgrade, NodeConfig, step_from_json, step_to_json

RELEASE = Release("kube-system", "cilium", "cilium/cilium", "1.19.0-rc.1")
NODES = ("n1", "n2", "n3")
TARGET = Target(("before.yaml", "tuned.yaml"), "1.19.0-rc.1")
PREVIOUS = Target(("live.yaml",), "1.19.0-rc.1")
VETH = {"datapath-mode": "veth", "routing-mode": "native", "kube-proxy-replacement": "true"}
NETKIT = VETH | {"datapath-mode": "netkit"}


def ids(steps: object) -> list[str]:
    return [step.id for step in steps]  # type: ignore[attr-defined]


def test_a_change_that_no_agent_reads_is_one_helm_upgrade() -> None:
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, VETH)))
    assert ids(steps) == ["helm/apply"]
    assert isinstance(steps[0], HelmUpgrade) and steps[0].wait and steps[0].set_values == ()


def test_a_datapath_switch_holds_pending_nodes_on_their_old_mode_and_drains_each_node() -> None:
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, NETKIT)))
    config = next(s for s in steps if isinstance(s, NodeConfig))
    assert dict(config.defaults) == {"datapath-mode": "veth"}
    assert config.manifest()["spec"]["nodeSelector"] == {"matchLabels": {"cilium-tune.io/pending-switch": "true"}}
    assert ids(steps)[:5] == ["hold/n1/label", "hold/n2/label", "hold/n3/label", "hold/node-config", "hold/helm"]
    assert [i for i in ids(steps) if i.startswith("switch/n2/")] == [
        "switch/n2/cordon", "switch/n2/evict", "switch/n2/delete-daemonset-pods", "switch/n2/unlabel",
        "switch/n2/restart-agent", "switch/n2/check", "switch/n2/uncordon",
    ]
    hold, release = (s for s in steps if isinstance(s, HelmUpgrade))
    assert ("updateStrategy.type", "OnDelete") in hold.set_values and not hold.wait
    assert release.set_values == () and release.wait
    check = next(s for s in steps if isinstance(s, CheckNode) and s.node == "n1")
    assert ("Device Mode", "netkit") in check.expect and check.peers == ("n2", "n3")


def test_a_routing_change_checks_each_node_against_the_nodes_switched_before_it() -> None:
    tunnel = VETH | {"routing-mode": "tunnel"}
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(tunnel, VETH)))
    peers = {s.node: s.peers for s in steps if isinstance(s, CheckNode)}
    assert peers == {"n1": (), "n2": ("n1",), "n3": ("n1", "n2")}
    assert not any(i.endswith("/evict") for i in ids(steps)), "no drain without a datapath-mode change"


def test_clean_state_is_set_for_the_switch_and_set_false_explicitly_at_the_end() -> None:
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, NETKIT),
                              strategy="clean-state"))
    hold, release = (s for s in steps if isinstance(s, HelmUpgrade))
    assert ("cleanState", "true") in hold.set_values
    assert ("cleanState", "false") in release.set_values
    assert not any(isinstance(s, NodeConfig) for s in steps)


def test_a_failed_first_node_is_taken_back_alone_and_the_release_restored() -> None:
    steps = list(plan_failure_recovery(release=RELEASE, nodes=NODES, failed="n1", switched=[], previous=PREVIOUS,
                                       effect=Effect(VETH, NETKIT)))
    restarted = {s.node for s in steps if s.kind == "restart-agent"}  # type: ignore[union-attr]
    assert restarted == {"n1"}, "other nodes are never touched"
    assert ids(steps)[:4] == ["recover/n1/cordon", "recover/n1/evict", "recover/n1/delete-daemonset-pods",
                              "recover/n1/label"]
    assert "recover/n1/uncordon" in ids(steps)
    assert {s.version for s in steps if isinstance(s, HelmUpgrade)} == {"1.19.0-rc.1"}
    assert [s.values_files for s in steps if isinstance(s, HelmUpgrade)][-1] == ("live.yaml",)


def test_a_failed_later_node_leaves_the_switched_ones_alone() -> None:
    steps = list(plan_failure_recovery(release=RELEASE, nodes=NODES, failed="n2", switched=["n1"],
                                       previous=PREVIOUS, effect=Effect(VETH, NETKIT)))
    assert not any(isinstance(s, HelmUpgrade) for s in steps)
    assert {getattr(s, "node", None) for s in steps} == {"n2"}


def test_a_node_that_failed_its_drain_is_only_uncordoned_and_the_release_restored_if_first() -> None:
    """Its agent was not touched (a PodDisruptionBudget held its pods): draining it again would fail the same way."""
    later = list(plan_failure_recovery(release=RELEASE, nodes=NODES, failed="n2", switched=["n1"],
                                       previous=PREVIOUS, effect=Effect(VETH, NETKIT), while_draining=True))
    assert ids(later) == ["recover/n2/uncordon"]
    first = list(plan_failure_recovery(release=RELEASE, nodes=NODES, failed="n1", switched=[], previous=PREVIOUS,
                                       effect=Effect(VETH, NETKIT), while_draining=True))
    assert ids(first)[0] == "recover/n1/uncordon"
    assert not any(s.kind in ("evict", "restart-agent") for s in first)
    assert [s.values_files for s in first if isinstance(s, HelmUpgrade)][-1] == ("live.yaml",)


def test_the_planner_marks_the_steps_that_drain_a_node_before_its_agent_restarts() -> None:
    """Until its agent restarts, a node runs its old settings; the planner says which steps come before that
    (`drains`), and the rollout's recovery reads it from the journaled step, not from the step's id: a node
    that failed there is only uncordoned."""
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, NETKIT)))
    assert [s.id for s in steps if s.drains] == [
        f"switch/{n}/{action}" for n in NODES for action in ("cordon", "evict", "delete-daemonset-pods")
    ]
    assert [step_from_json(step_to_json(s)).drains for s in steps] == [s.drains for s in steps]
    tunnel = VETH | {"routing-mode": "tunnel"}  # no datapath-mode change: no eviction, the cordon still drains
    routing = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(tunnel, VETH)))
    assert [s.id for s in routing if s.drains] == [f"switch/{n}/cordon" for n in NODES]


def test_abort_restores_only_the_touched_nodes() -> None:
    steps = list(plan_recovery(release=RELEASE, nodes=NODES, restore=["n1"], previous=PREVIOUS,
                               effect=Effect(VETH, NETKIT), prefix="abort/"))
    assert {s.node for s in steps if s.kind == "restart-agent"} == {"n1"}  # type: ignore[union-attr]
    assert ids(steps)[-2:] == ["abort/release/helm", "abort/check-pods"]


def test_steps_round_trip_through_the_journal_form() -> None:
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, NETKIT)))
    assert [step_from_json(step_to_json(s)) for s in steps] == steps


def test_clean_state_drains_every_node_even_without_a_datapath_change() -> None:
    """cleanState wipes the endpoints of every agent that starts: the node's pods must go first."""
    tuned = VETH | {"enable-ipv4-big-tcp": "true"}
    steps = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, tuned),
                              strategy="clean-state"))
    assert {f"switch/{n}/evict" for n in NODES} <= set(ids(steps))
    default = list(plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=Effect(VETH, tuned)))
    assert not any(i.endswith("/evict") for i in ids(default))


def test_switch_restore_and_failure_recovery_take_a_node_through_one_sequence() -> None:
    """One sequence a node: cordon, drain, the pending label, restart, check, uncordon. What differs is
    whether the node is drained and what happens to its pending label: dropped when it switches, set again
    when a failed node goes back under the hold, untouched when a restore puts the release back."""
    switch = Effect(VETH, NETKIT)
    runs = {
        "switch": plan_rollout(release=RELEASE, nodes=NODES, target=TARGET, effect=switch),
        "recover": plan_recovery(release=RELEASE, nodes=NODES, restore=["n2"], previous=PREVIOUS, effect=switch),
        "failure": plan_failure_recovery(release=RELEASE, nodes=NODES, failed="n2", switched=["n1"],
                                         previous=PREVIOUS, effect=switch),
    }
    base = {"switch": "switch/n2/", "recover": "recover/n2/", "failure": "recover/n2/"}
    actions: dict[str, list[str]] = {}
    for name, steps in runs.items():
        node = [i.removeprefix(base[name]) for i in ids(steps) if i.startswith(base[name])]
        actions[name] = node[: node.index("uncordon") + 1]  # a restore's labels are cleared after the last node
    drained = ["cordon", "evict", "delete-daemonset-pods"]
    assert actions == {
        "switch": [*drained, "unlabel", "restart-agent", "check", "uncordon"],
        "recover": [*drained, "restart-agent", "check", "uncordon"],
        "failure": [*drained, "label", "restart-agent", "check", "uncordon"],
    }
