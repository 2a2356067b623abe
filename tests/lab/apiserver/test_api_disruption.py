"""PodDisruptionBudgets on the eviction subresource, as a real API server enforces them: 429 TooManyRequests
with a DisruptionBudget cause while the budget allows no disruption, and the budget's status as the
disruption controller writes it (the rollout's drain against it: tests/rollout/test_drain_budget_lab.py)."""

from __future__ import annotations

from typing import Any

import pytest
from apiserver_testkit import Kube, eventually, http, node

NS = "/api/v1/namespaces/default"
BUDGETS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture
def nodes(kube: Kube) -> Kube:
    for i in (1, 2):
        assert http(f"{kube.url}/api/v1/nodes", "POST", node(f"node{i}", i))[0] == 201
    return kube


def deployment(kube: Kube, replicas: int, **spec: Any) -> list[str]:
    """A Deployment `web` of `replicas` pods; the names of its pods once all are Ready."""
    body = {"metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx"}], **spec}}}}
    assert http(f"{kube.url}/apis/apps/v1/namespaces/default/deployments", "POST", body)[0] == 201
    return eventually(lambda: ready_pods(kube) if len(ready_pods(kube)) == replicas else None)


def ready_pods(kube: Kube) -> list[str]:
    items = http(f"{kube.url}{NS}/pods?labelSelector=app%3Dweb")[1]["items"]
    return sorted(p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp")
                  and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))


def budget(kube: Kube, name: str = "web", **spec: Any) -> None:
    body = {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}
    assert http(f"{kube.url}{BUDGETS}", "POST", body)[0] == 201


def evict(kube: Kube, pod: str) -> tuple[int, Any]:
    return http(f"{kube.url}{NS}/pods/{pod}/eviction", "POST",
                {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": "default"}})


def test_a_budget_that_allows_no_disruption_answers_429_with_its_cause(nodes: Kube) -> None:
    pods = deployment(nodes, 2)
    budget(nodes, minAvailable=2)
    code, body = evict(nodes, pods[0])
    assert (code, body["reason"], body["message"]) == (429, "TooManyRequests", TOO_MANY)
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget web needs 2 healthy pods and has 2 "
                                                     "currently"}]
    assert ready_pods(nodes) == pods  # nothing was evicted
    status = http(f"{nodes.url}{BUDGETS}/web")[1]["status"]
    assert {k: status[k] for k in ("currentHealthy", "desiredHealthy", "expectedPods", "disruptionsAllowed")} == \
        {"currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2, "disruptionsAllowed": 0}
    assert status["conditions"][0]["reason"] == "InsufficientPods"


def cordon(kube: Kube, name: str, unschedulable: bool) -> None:
    http(f"{kube.url}/api/v1/nodes/{name}", "PATCH", {"spec": {"unschedulable": unschedulable}},
         ctype="application/merge-patch+json")


def test_max_unavailable_counts_the_deployments_replicas_and_each_eviction_uses_one_disruption(nodes: Kube) -> None:
    pods = deployment(nodes, 3, nodeSelector={"kubernetes.io/hostname": "node1"})
    budget(nodes, maxUnavailable=1)
    status = eventually(lambda: http(f"{nodes.url}{BUDGETS}/web")[1].get("status"))
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)
    cordon(nodes, "node1", True)  # the replacement of an evicted pod stays Pending
    assert evict(nodes, pods[0])[0] == 201
    assert evict(nodes, pods[1])[0] == 429
    cordon(nodes, "node1", False)  # the replacement runs: the budget allows one more
    eventually(lambda: len(ready_pods(nodes)) == 3)
    assert evict(nodes, pods[1])[0] == 201


def test_a_percentage_is_of_the_expected_pods_rounded_up(nodes: Kube) -> None:
    deployment(nodes, 3)
    budget(nodes, minAvailable="50%")
    status = eventually(lambda: http(f"{nodes.url}{BUDGETS}/web")[1].get("status"))
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)


def test_two_budgets_for_one_pod_are_an_error_and_a_pending_pod_ignores_budgets(nodes: Kube) -> None:
    pods = deployment(nodes, 1)
    budget(nodes, "a", minAvailable=1)
    budget(nodes, "b", maxUnavailable=0)
    code, body = evict(nodes, pods[0])
    assert (code, body["message"]) == (500, "This pod has more than one PodDisruptionBudget, which the eviction "
                                             "subresource does not support.")
    pending = {"metadata": {"name": "waiting", "labels": {"app": "web"}},
               "spec": {"nodeSelector": {"no": "such-node"}, "containers": [{"name": "c", "image": "busybox"}]}}
    assert http(f"{nodes.url}{NS}/pods", "POST", pending)[0] == 201
    assert evict(nodes, "waiting")[0] == 201
