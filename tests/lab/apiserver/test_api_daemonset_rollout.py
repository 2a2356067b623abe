"""DaemonSet update strategies as the real controller runs them: the Cilium agent's rollout.

The test plays the kubelet (no --auto-ready): it reports pods Ready and finishes their deletion, so
every step of a rollout can be observed between two kubelet actions.
"""

from __future__ import annotations

from typing import Any

from apiserver_testkit import Kube, eventually, http, node

DS = "/apis/apps/v1/namespaces/default/daemonsets"
PODS = "/api/v1/namespaces/default/pods"
NOW = "2026-01-01T00:00:00Z"


def _agent(strategy: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": strategy,
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "img:1"}]}}}}


def _pods(kube: Kube) -> list[dict[str, Any]]:
    return sorted(http(f"{kube.url}{PODS}?labelSelector=app%3Dagent")[1]["items"],
                  key=lambda p: p["spec"]["nodeName"])


def _ready(kube: Kube, pod: dict[str, Any]) -> None:
    status = {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": NOW}]}}
    assert http(f"{kube.url}{PODS}/{pod['metadata']['name']}/status", "PATCH", status,
                ctype="application/merge-patch+json")[0] == 200


def _finish_deletion(kube: Kube, pod: dict[str, Any]) -> None:
    assert http(f"{kube.url}{PODS}/{pod['metadata']['name']}?gracePeriodSeconds=0", "DELETE")[0] == 200


def _status(kube: Kube) -> dict[str, Any]:
    status: dict[str, Any] = http(f"{kube.url}{DS}/agent")[1]["status"]
    return status


def _three_ready_agents(kube: Kube, strategy: dict[str, Any]) -> list[dict[str, Any]]:
    for i in (1, 2, 3):
        http(f"{kube.url}/api/v1/nodes", "POST", node(f"node{i}", i))
    assert http(f"{kube.url}{DS}", "POST", _agent(strategy))[0] == 201
    pods = eventually(lambda: (p := _pods(kube)) and len(p) == 3 and p)
    for pod in pods:
        _ready(kube, pod)
    eventually(lambda: _status(kube).get("numberReady") == 3)
    return pods


def _new_image(kube: Kube, image: str) -> None:
    http(f"{kube.url}{DS}/agent", "PATCH", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": image}]}}}}, ctype="application/strategic-merge-patch+json")


def _terminating(kube: Kube) -> list[str]:
    return [p["spec"]["nodeName"] for p in _pods(kube) if p["metadata"].get("deletionTimestamp")]


def test_rolling_update_replaces_at_most_max_unavailable_agents(kube_graceful: Kube) -> None:
    kube = kube_graceful
    old = _three_ready_agents(kube, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}})
    _new_image(kube, "img:2")

    # two of three are stopped at once (the chart's maxUnavailable: 2), the third keeps running
    assert eventually(lambda: len(_terminating(kube)) == 2 and _terminating(kube)) == ["node1", "node2"]
    st = _status(kube)
    assert st["observedGeneration"] == 2 and st.get("updatedNumberScheduled", 0) == 0 and st["numberReady"] == 3
    for pod in old[:2]:
        _finish_deletion(kube, pod)
    fresh = eventually(lambda: len(f := [p for p in _pods(kube) if p["spec"]["containers"][0]["image"] == "img:2"])
                       == 2 and f)
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in fresh} == {"2"}
    # what helm 3's waiter checks: updated == desired is not reached while the third still runs the old one
    st = eventually(lambda: (s := _status(kube)).get("updatedNumberScheduled") == 2 and s)
    assert st["desiredNumberScheduled"] == 3 and st["numberReady"] == 1 and st["numberUnavailable"] == 2
    assert _terminating(kube) == []

    _ready(kube, fresh[0])  # one node unavailable of the 2 allowed: the third agent goes now
    assert eventually(lambda: _terminating(kube)) == ["node3"]
    _ready(kube, fresh[1])
    _finish_deletion(kube, old[2])
    last = eventually(lambda: [p for p in _pods(kube) if p["spec"]["nodeName"] == "node3"
                               and p["spec"]["containers"][0]["image"] == "img:2"])[0]
    _ready(kube, last)
    st = eventually(lambda: (s := _status(kube)).get("numberAvailable") == 3 and s)
    assert st["updatedNumberScheduled"] == st["numberReady"] == st["desiredNumberScheduled"] == 3


def test_rolling_update_replaces_unready_old_agents_at_once(kube_graceful: Kube) -> None:
    kube = kube_graceful
    for i in (1, 2, 3):
        http(f"{kube.url}/api/v1/nodes", "POST", node(f"node{i}", i))
    http(f"{kube.url}{DS}", "POST", _agent({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}))
    eventually(lambda: len(_pods(kube)) == 3)
    _new_image(kube, "img:2")  # none Ready (crash-looping agents): all are replaced, whatever the budget
    assert eventually(lambda: len(_terminating(kube)) == 3)


def test_on_delete_replaces_an_agent_only_when_its_pod_is_deleted(kube_graceful: Kube) -> None:
    kube = kube_graceful
    old = _three_ready_agents(kube, {"type": "OnDelete"})
    _new_image(kube, "img:2")
    st = eventually(lambda: (s := _status(kube)).get("observedGeneration") == 2 and s)
    assert st.get("updatedNumberScheduled", 0) == 0 and st["numberReady"] == 3
    assert _terminating(kube) == []

    assert http(f"{kube.url}{PODS}/{old[1]['metadata']['name']}", "DELETE")[0] == 200
    _finish_deletion(kube, old[1])
    images = eventually(lambda: (p := _pods(kube)) and len(p) == 3 and [x["spec"]["containers"][0]["image"]
                                                                          for x in p])
    assert images == ["img:1", "img:2", "img:1"]
    assert {p["metadata"]["uid"] for p in _pods(kube)} & {p["metadata"]["uid"] for p in old} == {
        old[0]["metadata"]["uid"], old[2]["metadata"]["uid"]}
    assert eventually(lambda: _status(kube).get("updatedNumberScheduled") == 1)


def test_on_delete_then_back_to_rolling_update_rolls_the_rest(kube_graceful: Kube) -> None:
    """What the rollout tool does: OnDelete during the switch, the chart's strategy restored after it."""
    kube = kube_graceful
    _three_ready_agents(kube, {"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 2}})
    _new_image(kube, "img:2")
    eventually(lambda: _status(kube).get("observedGeneration") == 2)
    assert _terminating(kube) == []
    http(f"{kube.url}{DS}/agent", "PATCH", {"spec": {"updateStrategy": {"type": "RollingUpdate"}}},
         ctype="application/merge-patch+json")
    assert eventually(lambda: len(_terminating(kube)) == 2)


def test_update_strategy_is_validated_as_the_real_server_does(kube: Kube) -> None:
    code, body = http(f"{kube.url}{DS}", "POST", _agent({"type": "Sometimes"}))
    assert code == 422
    assert 'spec.updateStrategy.type: Unsupported value: "Sometimes"' in body["message"]
    code, body = http(f"{kube.url}{DS}", "POST", _agent({"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": 0}}))
    assert code == 422 and "may not be 0 when maxSurge is 0" in body["message"]
    code, created = http(f"{kube.url}{DS}", "POST", _agent({}))
    assert code == 201
    assert created["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                                 "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
