"""The rollout's drain against PodDisruptionBudgets on the lab API server (which enforces them as a real one
does): a drain waits while a budget allows no eviction and goes on once it does; a budget that never allows
it fails the node's switch after the step's timeout, naming the pods and the budget, and the node, which was
only cordoned, is uncordoned again (draining it once more would fail the same way).

The steps are run as `apply` runs them (`rollout.run.execute`: journal, executor, the planner's recovery).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.adapters.helm import Helm
from cilium_tune.adapters.kube import DEPLOYMENTS, NODES, PODS, LightkubeAPI, Resource
from cilium_tune.lab.apiserver import ApiServer
from cilium_tune.lab.cluster import kubeconfig_text
from cilium_tune.plan.steps import Cordon, EvictPods, Step
from cilium_tune.rollout.actions import Actions
from cilium_tune.rollout.executor import NodeFailed
from cilium_tune.rollout.journal import Journal, new_run_dir
from cilium_tune.rollout.run import execute

BUDGETS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", namespaced=True)
META: dict[str, Any] = {
    "release": {"namespace": "kube-system", "name": "cilium", "chart": "cilium/cilium", "version": "1.19.0"},
    "nodes": ["node1", "node2"],
    "strategy": "node-config",
    "kubeconfig": None,
    "effect": {"config_before": {"datapath-mode": "veth"}, "config_after": {"datapath-mode": "netkit"},
               "agent_template_changed": False},
    "previous": {"values_files": [], "version": "1.19.0"},
    "target": {"values_files": [], "version": "1.19.0"},
    "live_revision": 1,
}


def steps(timeout_s: int) -> list[Step]:
    """node1 was switched already; node2 is drained (its agent restart and check are left out here). As the
    planner does, the cordon and the eviction before the agent restart are marked `drains`."""
    return [
        Cordon(id="switch/node1/cordon", purpose="switch node1", node="node1", drains=True),
        Cordon(id="switch/node1/uncordon", purpose="switch node1", node="node1", unschedulable=False),
        Cordon(id="switch/node2/cordon", purpose="switch node2", node="node2", drains=True),
        EvictPods(id="switch/node2/evict", purpose="switch node2", node="node2", timeout_s=timeout_s, drains=True),
        Cordon(id="switch/node2/uncordon", purpose="switch node2", node="node2", unschedulable=False),
    ]


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[LightkubeAPI]:
    """A lab API server with two nodes and a Deployment `web` of two Ready pods, both on node2."""
    server = ApiServer(auto_ready=True, service_cidrs=["198.18.64.0/18"], state_dir=tmp_path / "state")
    url = server.start()
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig_text("tdrain", url))
    api = LightkubeAPI(str(config), timeout=10)
    try:
        for i in (1, 2):
            api.create(NODES, {"metadata": {"name": f"node{i}", "labels": {"kubernetes.io/hostname": f"node{i}"}},
                               "spec": {"podCIDRs": [f"198.19.{i}.0/24"], "unschedulable": i == 1},
                               "status": {"addresses": [{"type": "InternalIP", "address": f"198.18.0.{10 + i}"}]}})
        api.create(DEPLOYMENTS, {"metadata": {"name": "web"}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}, namespace="default")
        wait_for(lambda: len(web_pods(api, "node2", ready=True)) == 2)
        api.patch(NODES, "node1", {"spec": {"unschedulable": None}})
        yield api
    finally:
        api.close()
        server.stop()


def web_pods(api: LightkubeAPI, node: str, *, ready: bool = False) -> list[str]:
    return sorted(
        p["metadata"]["name"] for p in api.list(PODS, "default", label_selector="app=web")
        if p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")
        and (not ready or any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]))
    )


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def run(api: LightkubeAPI, tmp_path: Path, timeout_s: int) -> tuple[Journal, list[str]]:
    journal = Journal.create(new_run_dir(tmp_path / "runs"), kind="apply", meta=META, steps=steps(timeout_s),
                             inputs={})
    lines: list[str] = []
    execute(journal, Actions(api, Helm(Path("/bin/false"), (3, 18, 0))), lines.append)
    return journal, lines


def test_the_drain_waits_for_the_budget_and_goes_on_when_it_allows(kube: LightkubeAPI, tmp_path: Path) -> None:
    kube.create(BUDGETS, {"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {
        "matchLabels": {"app": "web"}}}}, namespace="default")
    relax = threading.Timer(1.5, lambda: kube.patch(BUDGETS, "web", {"spec": {"minAvailable": 1}}, "default"))
    relax.start()
    started = time.monotonic()
    try:
        journal, _ = run(kube, tmp_path, timeout_s=20)
    finally:
        relax.cancel()
    assert journal.state == "succeeded"
    assert time.monotonic() - started > 1.5  # it waited for the budget
    assert web_pods(kube, "node2") == []
    wait_for(lambda: len(web_pods(kube, "node1", ready=True)) == 2)  # the replacements run on node1


def test_a_budget_that_never_allows_it_fails_the_node_and_uncordons_it(kube: LightkubeAPI, tmp_path: Path) -> None:
    kube.create(BUDGETS, {"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {
        "matchLabels": {"app": "web"}}}}, namespace="default")
    before = web_pods(kube, "node2")
    with pytest.raises(NodeFailed) as failed:
        run(kube, tmp_path, timeout_s=2)
    message = failed.value.message
    assert "node node2: pods not evicted within 2 s: " + ", ".join(f"default/{p}" for p in before) in message
    assert "The disruption budget web needs 2 healthy pods and has 2 currently" in message
    assert "uncordoned, no other node was touched" in message
    assert not kube.get(NODES, "node2")["spec"].get("unschedulable")
    assert web_pods(kube, "node2", ready=True) == before  # nothing was evicted
    journal = Journal.load(journal_dir(tmp_path))
    assert journal.state == "failed"
    assert [s.id for s in journal.recovery_steps()] == ["recover/node2/uncordon"]


def journal_dir(tmp_path: Path) -> Path:
    return next((tmp_path / "runs").iterdir())
