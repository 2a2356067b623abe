"""Which agent's log verify reads per node: while an agent restarts, the old pod lingers beside the new
one, and only the new one says what the node does now."""

from __future__ import annotations

from datetime import UTC, datetime

from cilium_tune.adapters.kube import PODS, FakeKube
from cilium_tune.checks.runner import read_agent_statuses
from cilium_tune.facts.agent_status import AgentStatus
from cilium_tune.facts.cilium import parse_agent_pod
from cilium_tune.facts.model import NodeFacts, Snapshot


def status_log(node: str, routing: str) -> str:
    return (f"### cilium-dbg status node={node} time=2026-11-26T21:00:00Z\n"
            f"Routing:                 Network: {routing}   Host: Legacy\n"
            "### end cilium-dbg status\n")


def agent(name: str, *, terminating: bool) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "cilium"}}
    if terminating:
        meta["deletionTimestamp"] = "2026-11-26T21:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": "n1", "containers": [{"name": "cilium-agent"}]}}


def test_a_terminating_agent_pod_is_never_read_even_when_it_sorts_first() -> None:
    logs = {"cilium-aaaaa": status_log("n1", "Native"), "cilium-zzzzz": status_log("n1", "Tunnel [vxlan]")}
    kube = FakeKube(on_create_pod=lambda pod: ("Running", logs[pod["metadata"]["name"]]))
    old = kube.create(PODS, agent("cilium-aaaaa", terminating=True), "kube-system")
    new = kube.create(PODS, agent("cilium-zzzzz", terminating=False), "kube-system")
    facts = Snapshot.model_validate({"collected_at": datetime(2026, 11, 26, tzinfo=UTC),
                                     "nodes": (NodeFacts(name="n1"),),
                                     "agents": (parse_agent_pod(old), parse_agent_pod(new))})

    status = read_agent_statuses(kube, facts)["n1"]

    assert isinstance(status, AgentStatus) and status.routing_network == "tunnel"
    assert ("logs", "kube-system/cilium-aaaaa") not in kube.calls


def test_a_node_whose_only_agent_pod_is_terminating_says_so() -> None:
    kube = FakeKube(on_create_pod=lambda pod: ("Running", status_log("n1", "Native")))
    old = kube.create(PODS, agent("cilium-aaaaa", terminating=True), "kube-system")
    facts = Snapshot.model_validate({"collected_at": datetime(2026, 11, 26, tzinfo=UTC),
                                     "nodes": (NodeFacts(name="n1"),), "agents": (parse_agent_pod(old),)})

    assert read_agent_statuses(kube, facts) == {
        "n1": "the agent pod cilium-aaaaa is terminating; wait for its successor"}
