"""PodDisruptionBudgets: the eviction subresource refuses what a budget forbids, as a real server does.

A drain evicts pods through `POST .../pods/<name>/eviction`; a real API server answers 429
TooManyRequests ("Cannot evict pod as it would violate the pod's disruption budget.", with a
`DisruptionBudget` cause saying how many healthy pods the budget needs and has) while the pod's budget
allows no disruption, and the client retries. Without this, the rollout's retry path never ran in the lab.

What Kubernetes does, and the lab with it (pkg/registry/core/pod/storage/eviction.go and the disruption
controller):
- a pod that is finished, Pending or already being deleted is evicted without looking at budgets;
- no budget selecting the pod: evicted; more than one: 500, which the subresource does not support;
- the budget's status: `currentHealthy` (Ready pods it selects that are not being deleted),
  `desiredHealthy` (from `minAvailable`, or `expectedPods` minus `maxUnavailable`), and
  `disruptionsAllowed` = currentHealthy - desiredHealthy, at least 0, and 0 when no pod is expected.
  `expectedPods` is the pod count for an integer `minAvailable`, else the replicas of the pods' controllers
  (Deployment, ReplicaSet, StatefulSet; pods without one are left out); with neither field it is 0;
- a Ready pod is evicted only while disruptionsAllowed > 0, which the eviction uses up; a pod that is not
  Ready is evicted when the budget is healthy anyway (`IfHealthyBudget`, the default) or always (`AlwaysAllow`).

One difference, on purpose: the real server decides on the status the disruption controller last wrote
(and refuses while it is stale); the lab computes the status afresh under the store's lock, so there is
nothing stale to refuse on. The status is written back to the budget, so `kubectl get pdb` shows it.
"""

from __future__ import annotations

import math
from typing import Any

from . import errors
from .api import PODS, Api
from .defaults import now
from .discovery import ResourceType
from .scheduling import pod_ready
from .selectors import match_label_selector

BUDGETS = "policy/poddisruptionbudgets"
_CONTROLLERS = {"ReplicaSet": "apps/replicasets", "StatefulSet": "apps/statefulsets",
                "Deployment": "apps/deployments", "ReplicationController": "/replicationcontrollers"}
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."


def evict(api: Api, rt: ResourceType, ns: str, name: str, delete_options: dict[str, Any]) -> None:
    """Delete the pod as an eviction: unless its disruption budget forbids it (429, or 500 for two budgets)."""
    with api.store.lock:
        pod = api.get(rt, ns, name)
        if not _ignores_budgets(pod):
            budgets = budgets_of(api, pod)
            if len(budgets) > 1:
                raise errors.ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which "
                                      "the eviction subresource does not support.")
            if budgets:
                _take_disruption(api, budgets[0], pod)
        api.delete(rt, ns, name, delete_options)


def budgets_of(api: Api, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The budgets in the pod's namespace whose selector selects it (a budget without a selector selects none)."""
    labels = pod["metadata"].get("labels") or {}
    return [b for b in api.store.objects(BUDGETS, pod["metadata"]["namespace"])
            if (b.get("spec") or {}).get("selector") is not None
            and match_label_selector(b["spec"]["selector"], labels)]


def budget_status(api: Api, budget: dict[str, Any]) -> dict[str, Any]:
    """The status the disruption controller would write for `budget` now."""
    spec = budget.get("spec") or {}
    selector = spec.get("selector")
    ns = budget["metadata"]["namespace"]
    pods = [] if selector is None else [
        p for p in api.store.objects(PODS, ns)
        if match_label_selector(selector, p["metadata"].get("labels") or {})
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    healthy = sum(1 for p in pods if pod_ready(p) and not p["metadata"].get("deletionTimestamp"))
    expected, desired = _expected_and_desired(api, spec, pods)
    allowed = max(0, healthy - desired) if expected > 0 else 0
    old = budget.get("status") or {}
    condition = {"type": "DisruptionAllowed", "status": "True" if allowed > 0 else "False",
                 "reason": "SufficientPods" if allowed > 0 else "InsufficientPods", "message": "",
                 "observedGeneration": budget["metadata"].get("generation", 1)}
    previous: dict[str, Any] = next(
        (c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), {})
    condition["lastTransitionTime"] = (previous.get("lastTransitionTime") if previous.get("status") ==
                                       condition["status"] else None) or now()
    status = {"observedGeneration": budget["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
              "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
              "conditions": [condition]}
    disrupted = {k: v for k, v in (old.get("disruptedPods") or {}).items()
                 if any(p["metadata"]["name"] == k and not p["metadata"].get("deletionTimestamp") for p in pods)}
    if disrupted:
        status["disruptedPods"] = disrupted
    return status


def _expected_and_desired(api: Api, spec: dict[str, Any], pods: list[dict[str, Any]]) -> tuple[int, int]:
    """(expectedPods, desiredHealthy), as the disruption controller's getExpectedPodCount computes them."""
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if max_unavailable is not None:
        expected = _controller_replicas(api, pods)
        return expected, max(0, expected - _scaled(max_unavailable, expected))
    if isinstance(min_available, int):
        return len(pods), min_available
    if min_available is not None:
        expected = _controller_replicas(api, pods)
        return expected, _scaled(min_available, expected)
    return 0, 0


def _scaled(value: Any, total: int) -> int:
    """An int, or a percentage of `total` rounded up (as the disruption controller rounds)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def _controller_replicas(api: Api, pods: list[dict[str, Any]]) -> int:
    """Sum of `spec.replicas` of the pods' controllers (a Deployment's, for its ReplicaSets' pods)."""
    seen: dict[str, int] = {}
    for pod in pods:
        ref: dict[str, Any] = next(
            (r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), {})
        kind = ref.get("kind", "")
        owner = api.store.get(_CONTROLLERS[kind], pod["metadata"]["namespace"], ref["name"]) \
            if kind in _CONTROLLERS else None
        if owner is None:
            continue  # an unmanaged pod: not expected by any controller
        parent = next((r for r in owner["metadata"].get("ownerReferences") or []
                       if r.get("controller") and r.get("kind") == "Deployment"), None)
        if kind == "ReplicaSet" and parent is not None:
            deployment = api.store.get(_CONTROLLERS["Deployment"], pod["metadata"]["namespace"], parent["name"])
            owner = deployment or owner
        seen[owner["metadata"]["uid"]] = int((owner.get("spec") or {}).get("replicas", 1))
    return sum(seen.values())


def _ignores_budgets(pod: dict[str, Any]) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def _take_disruption(api: Api, budget: dict[str, Any], pod: dict[str, Any]) -> None:
    """Refuse (429) unless the budget allows this pod's eviction; record it in the budget's status."""
    status = budget_status(api, budget)
    if not pod_ready(pod):
        policy = (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
        if policy == "AlwaysAllow" or (status["desiredHealthy"] > 0
                                       and status["currentHealthy"] >= status["desiredHealthy"]):
            return
    if status["disruptionsAllowed"] <= 0:
        _write_status(api, budget, status)
        raise errors.ApiError(429, "TooManyRequests", TOO_MANY, {"causes": [{
            "reason": "DisruptionBudget",
            "message": f"The disruption budget {budget['metadata']['name']} needs {status['desiredHealthy']} "
                       f"healthy pods and has {status['currentHealthy']} currently"}]})
    status["disruptionsAllowed"] -= 1
    status["disruptedPods"] = {**status.get("disruptedPods", {}), pod["metadata"]["name"]: now()}
    _write_status(api, budget, status)


def _write_status(api: Api, budget: dict[str, Any], status: dict[str, Any]) -> None:
    if budget.get("status") == status:
        return
    rt = api.registry.by_kind("policy", "PodDisruptionBudget")
    assert rt is not None
    api.update(rt, budget["metadata"]["namespace"], budget["metadata"]["name"], {**budget, "status": status},
               sub="status")
