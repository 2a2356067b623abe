"""The tool's own client (lightkube, sync) against the lab API."""

from __future__ import annotations

from contextlib import closing

import pytest
from apiserver_testkit import Kube, eventually, http, node
from lightkube import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.apiextensions_v1 import (
    CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion,
    CustomResourceValidation,
    JSONSchemaProps,
)
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.operators import in_, not_equal
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import ConfigMap, Node, Pod


def _pod(name: str, **labels: str) -> Pod:
    return Pod(metadata=ObjectMeta(name=name, namespace="default", labels=labels),
               spec=PodSpec(containers=[Container(name="main", image="registry.invalid/x:1")]))


def _running(kube: Kube, name: str) -> Pod | None:
    pod = kube.client.get(Pod, name, namespace="default")
    return pod if pod.status and pod.status.phase == "Running" else None


def test_list_nodes_and_schedule_a_pod(kube: Kube) -> None:
    for i in (1, 2):
        http(f"{kube.url}/api/v1/nodes", "POST", node(f"node{i}", i))
    assert sorted(n.metadata.name for n in kube.client.list(Node)) == ["node1", "node2"]
    kube.client.create(_pod("solo"))
    pod = eventually(lambda: _running(kube, "solo"))
    assert pod.spec is not None and pod.spec.nodeName in ("node1", "node2")
    assert pod.status is not None and pod.status.podIPs is not None and len(pod.status.podIPs) == 2


def test_watch_sees_create_modify_delete_and_resumes(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    listing = kube.client.list(Pod, namespace="default")
    assert list(listing) == []
    start_rv = listing.resourceVersion
    kube.client.create(_pod("watched", app="w"))
    eventually(lambda: _running(kube, "watched"))
    kube.client.delete(Pod, "watched", namespace="default")
    seen = []
    events = kube.client.watch(Pod, namespace="default", labels={"app": "w"}, resource_version=start_rv)
    with closing(events):
        for kind, pod in events:
            seen.append((kind, pod.status.phase if pod.status else None))
            if kind == "DELETED":
                break
    assert seen[0] == ("ADDED", "Pending") and seen[-1][0] == "DELETED"
    assert ("MODIFIED", "Running") in seen


def test_eviction_deletes_the_pod(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    kube.client.create(_pod("victim"))
    eventually(lambda: _running(kube, "victim"))
    kube.client.create(Pod.Eviction(metadata=ObjectMeta(name="victim", namespace="default")), "victim",
                       namespace="default")
    with pytest.raises(ApiError) as err:
        kube.client.get(Pod, "victim", namespace="default")
    assert err.value.status.code == 404 and err.value.status.reason == "NotFound"


def test_applied_crd_serves_its_resources(kube: Kube) -> None:
    crd = CustomResourceDefinition(
        metadata=ObjectMeta(name="widgets.lab.example.com"),
        spec=CustomResourceDefinitionSpec(
            group="lab.example.com", scope="Namespaced",
            names=CustomResourceDefinitionNames(kind="Widget", plural="widgets", singular="widget",
                                                shortNames=["wd"]),
            versions=[CustomResourceDefinitionVersion(
                name="v1", served=True, storage=True, subresources={"status": {}},
                schema=CustomResourceValidation(openAPIV3Schema=JSONSchemaProps(
                    type="object", x_kubernetes_preserve_unknown_fields=True)))]))
    kube.client.apply(crd)
    got = kube.client.get(CustomResourceDefinition, "widgets.lab.example.com")
    assert got.status is not None and {c.type for c in got.status.conditions or []} >= {"Established"}
    doc = http(f"{kube.url}/apis/lab.example.com/v1")[1]
    assert {r["name"] for r in doc["resources"]} == {"widgets", "widgets/status"}

    widget_cls = create_namespaced_resource("lab.example.com", "v1", "Widget", "widgets")
    kube.client.create(widget_cls(metadata=ObjectMeta(name="w1", namespace="default"), spec={"size": 3}))
    assert [w.spec["size"] for w in kube.client.list(widget_cls, namespace="default")] == [3]

    kube.client.delete(CustomResourceDefinition, "widgets.lab.example.com")
    assert http(f"{kube.url}/apis/lab.example.com/v1/namespaces/default/widgets")[0] == 404


def test_label_and_field_selectors(kube: Kube) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        kube.client.create(ConfigMap(metadata=ObjectMeta(name=name, namespace="default", labels={"tier": tier})))
    names = [c.metadata.name for c in kube.client.list(ConfigMap, namespace="default", labels={"tier": "web"})]
    assert names == ["a", "c"]
    names = [c.metadata.name for c in kube.client.list(ConfigMap, namespace="default",
                                                        labels={"tier": in_(["db", "cache"])})]
    assert names == ["b"]
    names = [c.metadata.name for c in kube.client.list(ConfigMap, namespace="default",
                                                        fields={"metadata.name": not_equal("a")})]
    assert names == ["b", "c"]


def test_conflicts_and_missing_objects_are_status_errors(kube: Kube) -> None:
    cm = kube.client.create(ConfigMap(metadata=ObjectMeta(name="cfg", namespace="default"), data={"a": "1"}))
    kube.client.patch(ConfigMap, "cfg", {"data": {"a": "2"}}, namespace="default")
    stale = cm
    stale.data = {"a": "3"}
    with pytest.raises(ApiError) as err:
        kube.client.replace(stale)
    assert err.value.status.code == 409 and err.value.status.reason == "Conflict"
    with pytest.raises(ApiError) as err:
        kube.client.create(ConfigMap(metadata=ObjectMeta(name="cfg", namespace="default")))
    assert err.value.status.code == 409 and err.value.status.reason == "AlreadyExists"
    with pytest.raises(ApiError) as err:
        kube.client.create(ConfigMap(metadata=ObjectMeta(name="x", namespace="nowhere")))
    assert err.value.status.code == 404 and err.value.status.message == 'namespaces "nowhere" not found'
