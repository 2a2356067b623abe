"""The built-in controllers: workloads, scheduling, graceful deletion with a kubelet, EndpointSlices."""

from __future__ import annotations

from typing import Any

from apiserver_testkit import Kube, eventually, http, node

PODS = "/api/v1/namespaces/default/pods"
DS = "/apis/apps/v1/namespaces/default/daemonsets"
NOW = "2026-01-01T00:00:00Z"


def _workload(name: str, image: str = "img:1", **pod_spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image,
                                                           "ports": [{"name": "http", "containerPort": 8080}]}],
                                           **pod_spec}}}}


def _pods(kube: Kube, selector: str = "") -> list[dict[str, Any]]:
    return http(f"{kube.url}{PODS}?labelSelector={selector}")[1]["items"]


def _kubelet_ready(kube: Kube, pod: dict[str, Any]) -> None:
    """What the lab's kubelet does: report the pod Running/Ready through the status subresource."""
    status = {"status": {"phase": "Running", "podIP": "198.19.1.50", "podIPs": [{"ip": "198.19.1.50"}],
                         "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": NOW}]}}
    code, _ = http(f"{kube.url}{PODS}/{pod['metadata']['name']}/status", "PATCH", status,
                   ctype="application/merge-patch+json")
    assert code == 200


def test_daemonset_follows_selector_taints_and_rolls_out_new_templates(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    http(f"{kube.url}/api/v1/nodes", "POST", node("node2", 2, unschedulable=True))
    http(f"{kube.url}/api/v1/nodes", "POST", node("node3", 3, taints=[{"key": "dedicated", "effect": "NoSchedule"}]))
    http(f"{kube.url}{DS}", "POST", _workload("agent"))

    def ready(generation: int) -> dict[str, Any] | None:
        st = http(f"{kube.url}{DS}/agent")[1].get("status", {})
        ok = st.get("observedGeneration") == generation and st.get("numberReady") == st.get(
            "updatedNumberScheduled") == st.get("desiredNumberScheduled")
        return st if ok else None

    # a cordoned node still runs DaemonSet pods; an untolerated taint keeps them off
    assert eventually(lambda: ready(1))["desiredNumberScheduled"] == 2
    assert sorted(p["spec"]["nodeName"] for p in _pods(kube, "app=agent")) == ["node1", "node2"]

    before = {p["metadata"]["name"] for p in _pods(kube, "app=agent")}
    http(f"{kube.url}{DS}/agent", "PATCH", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "img:2"}]}}}}, ctype="application/strategic-merge-patch+json")
    eventually(lambda: ready(2))
    after = _pods(kube, "app=agent")
    assert {p["spec"]["containers"][0]["image"] for p in after} == {"img:2"}
    assert not before & {p["metadata"]["name"] for p in after}


def test_scheduler_honours_node_selector_and_cordon(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    http(f"{kube.url}/api/v1/nodes", "POST", node("node2", 2))
    pod = {"metadata": {"name": "pinned"}, "spec": {"nodeSelector": {"kubernetes.io/hostname": "node2"},
                                                     "containers": [{"name": "c", "image": "busybox"}]}}
    http(f"{kube.url}{PODS}", "POST", pod)
    assert eventually(lambda: http(f"{kube.url}{PODS}/pinned")[1]["spec"].get("nodeName")) == "node2"

    http(f"{kube.url}/api/v1/nodes/node2", "PATCH", {"spec": {"unschedulable": True}},
         ctype="application/strategic-merge-patch+json")
    http(f"{kube.url}{PODS}", "POST", {**pod, "metadata": {"name": "waiting"}})

    def unschedulable() -> bool:
        conds = http(f"{kube.url}{PODS}/waiting")[1]["status"].get("conditions", [])
        return any(c["type"] == "PodScheduled" and c["reason"] == "Unschedulable" for c in conds)

    eventually(unschedulable)
    http(f"{kube.url}/api/v1/nodes/node2", "PATCH", {"spec": {"unschedulable": None}},
         ctype="application/merge-patch+json")
    assert eventually(lambda: http(f"{kube.url}{PODS}/waiting")[1]["spec"].get("nodeName")) == "node2"


def test_pods_wait_for_the_kubelet_and_deletion_is_graceful(kube_graceful: Kube) -> None:
    kube = kube_graceful
    http(f"{kube.url}/api/v1/nodes", "POST", {**node("node1", 1), "status": {"conditions": [
        {"type": "Ready", "status": "True"}]}})
    http(f"{kube.url}/apis/apps/v1/namespaces/default/deployments", "POST",
         {**_workload("web"), "spec": {**_workload("web")["spec"], "replicas": 1}})
    pod = eventually(lambda: [p for p in _pods(kube, "app=web") if p["spec"].get("nodeName")])[0]
    assert pod["status"]["phase"] == "Pending"
    _kubelet_ready(kube, pod)
    dep_url = f"{kube.url}/apis/apps/v1/namespaces/default/deployments/web"
    eventually(lambda: http(dep_url)[1]["status"].get("readyReplicas") == 1)

    name = pod["metadata"]["name"]
    code, evicted = http(f"{kube.url}{PODS}/{name}/eviction", "POST",
                         {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}})
    assert code == 201 and evicted["status"] == "Success"
    terminating = http(f"{kube.url}{PODS}/{name}")[1]
    assert terminating["metadata"]["deletionTimestamp"] and terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    # the kubelet stops the containers, then finishes the deletion
    assert http(f"{kube.url}{PODS}/{name}?gracePeriodSeconds=0", "DELETE")[0] == 200
    assert http(f"{kube.url}{PODS}/{name}")[0] == 404
    replacement = eventually(lambda: [p for p in _pods(kube, "app=web") if p["metadata"]["name"] != name])
    assert replacement[0]["status"]["phase"] == "Pending"


def test_endpoint_slices_per_family_follow_ready_pods(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    http(f"{kube.url}/apis/apps/v1/namespaces/default/deployments", "POST", _workload("web"))
    svc = {"metadata": {"name": "web"}, "spec": {"ipFamilyPolicy": "RequireDualStack", "selector": {"app": "web"},
                                                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    code, created = http(f"{kube.url}/api/v1/namespaces/default/services", "POST", svc)
    assert code == 201 and created["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert created["spec"]["clusterIPs"][0].startswith("198.18.64.")

    def slices() -> dict[str, Any] | None:
        items = http(f"{kube.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?"
                     "labelSelector=kubernetes.io/service-name%3Dweb")[1]["items"]
        by_family = {s["addressType"]: s for s in items}
        ok = len(by_family) == 2 and all(len(s["endpoints"]) == 1 for s in items)
        return by_family if ok else None

    by_family = eventually(slices)
    v4, v6 = by_family["IPv4"], by_family["IPv6"]
    assert v4["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert v4["endpoints"][0]["addresses"][0].startswith("198.19.1.")
    assert v6["endpoints"][0]["addresses"][0].startswith("fd00:19::1:")
    assert v4["endpoints"][0]["conditions"]["ready"] is True and v4["endpoints"][0]["nodeName"] == "node1"

    http(f"{kube.url}/api/v1/namespaces/default/services/web", "DELETE")
    eventually(lambda: http(f"{kube.url}/apis/discovery.k8s.io/v1/endpointslices")[1]["items"] == [])


def test_deleting_a_node_removes_its_pods_and_a_namespace_its_objects(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    http(f"{kube.url}/api/v1/namespaces", "POST", {"metadata": {"name": "team"}})
    http(f"{kube.url}/api/v1/namespaces/team/pods", "POST",
         {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    http(f"{kube.url}/api/v1/namespaces/team/configmaps", "POST", {"metadata": {"name": "c"}})
    eventually(lambda: http(f"{kube.url}/api/v1/namespaces/team/pods/p")[1]["spec"].get("nodeName"))
    http(f"{kube.url}/api/v1/nodes/node1", "DELETE")
    eventually(lambda: http(f"{kube.url}/api/v1/namespaces/team/pods/p")[0] == 404)

    assert http(f"{kube.url}/api/v1/namespaces/team", "DELETE")[0] == 200
    assert http(f"{kube.url}/api/v1/namespaces/team/configmaps/c")[0] == 404
    assert http(f"{kube.url}/api/v1/namespaces/team/configmaps", "POST", {"metadata": {"name": "d"}})[0] == 404


def test_orphan_propagation_keeps_dependents(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    http(f"{kube.url}/apis/apps/v1/namespaces/default/replicasets", "POST",
         {**_workload("rs"), "spec": {**_workload("rs")["spec"], "replicas": 2}})
    eventually(lambda: len(_pods(kube, "app=rs")) == 2)
    http(f"{kube.url}/apis/apps/v1/namespaces/default/replicasets/rs", "DELETE", {"propagationPolicy": "Orphan"})
    pods = _pods(kube, "app=rs")
    assert len(pods) == 2 and all(not p["metadata"].get("ownerReferences") for p in pods)


def test_concurrent_writers_get_distinct_resource_versions(kube: Kube) -> None:
    from concurrent.futures import ThreadPoolExecutor

    api = kube.server.api
    configmaps = api.registry.lookup("", "v1", "configmaps")
    assert configmaps is not None

    def create(i: int) -> str:
        """Half over HTTP (the server's loop), half straight into the store from this worker thread."""
        if i % 2:
            created = api.create(configmaps, "default", {"metadata": {"name": f"c{i}"}})
            return str(created["metadata"]["resourceVersion"])
        code, obj = http(f"{kube.url}/api/v1/namespaces/default/configmaps", "POST", {"metadata": {"name": f"c{i}"}})
        assert code == 201
        return str(obj["metadata"]["resourceVersion"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(create, range(80)))
    assert len(set(versions)) == 80
    assert len(http(f"{kube.url}/api/v1/namespaces/default/configmaps")[1]["items"]) == 80
