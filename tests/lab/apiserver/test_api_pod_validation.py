"""Pod specs a real API server refuses are refused by the lab's too, with the real answer: a wrong JSON
type is a 400 naming the Go field, a wrong value a 422 Invalid whose causes name each field. Pods and the
pod templates of workloads alike; what kubectl prints is what it prints against a real cluster."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from apiserver_testkit import Kube, http

PODS = "/api/v1/namespaces/default/pods"
GOOD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    "spec": {"restartPolicy": "Never", "containers": [{
        "name": "main", "image": "busybox", "command": ["sleep"], "args": ["300"],
        "env": [{"name": "A", "value": "1"},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5}}]},
}


def pod(change: str, value: Any) -> dict[str, Any]:
    """GOOD with one field (a dotted path; digits index lists) set to `value`."""
    doc = copy.deepcopy(GOOD)
    *parents, last = change.split(".")
    cursor: Any = doc
    for part in parents:
        cursor = cursor[int(part)] if part.isdigit() else cursor[part]
    if isinstance(cursor, list):
        cursor[int(last)] = value
    else:
        cursor[last] = value
    return doc


def test_a_valid_pod_is_stored(kube: Kube) -> None:
    assert http(f"{kube.url}{PODS}", "POST", GOOD)[0] == 201


@pytest.mark.parametrize(
    ("change", "value", "message"),
    [
        ("spec.containers.0.command", ["sleep", 300],
         "cannot unmarshal number into Go struct field Container.spec.containers.command of type string"),
        ("spec.containers.0.env", {"A": "1"},
         "cannot unmarshal object into Go struct field Container.spec.containers.env of type []v1.EnvVar"),
        ("spec.containers.0.env.0", {"name": "A", "value": 1},
         "cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value of type string"),
        ("spec.containers.0.ports.0", {"containerPort": "8080"},
         "cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type "
         "int32"),
        ("spec.hostNetwork", "yes",
         "cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
        ("spec.containers", ["main"],
         "cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container"),
    ],
    ids=["command-number", "env-map", "env-value-number", "port-string", "hostnetwork-string", "container-string"],
)
def test_a_wrong_type_is_a_bad_request_naming_the_go_field(kube: Kube, change: str, value: Any, message: str) -> None:
    code, body = http(f"{kube.url}{PODS}", "POST", pod(change, value))
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"] == f'Pod in version "v1" cannot be handled as a Pod: json: {message}'
    assert http(f"{kube.url}{PODS}/p")[0] == 404  # nothing stored


@pytest.mark.parametrize(
    ("change", "value", "field", "message"),
    [
        ("spec.containers.0.env.0", {"value": "1"}, "spec.containers[0].env[0].name", "Required value"),
        ("spec.containers.0.image", "", "spec.containers[0].image", "Required value"),
        ("spec.containers.0.name", "Main_1", "spec.containers[0].name",
         'Invalid value: "Main_1": a lowercase RFC 1123'),
        ("spec.containers.0.env.1.valueFrom", {}, "spec.containers[0].env[1].valueFrom",
         "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
         "`secretKeyRef`"),
        ("spec.containers.0.env.1.valueFrom", {"configMapKeyRef": {"name": "c"}},
         "spec.containers[0].env[1].valueFrom.configMapKeyRef.key", "Required value"),
        ("spec.containers.0.ports.0.containerPort", 70000, "spec.containers[0].ports[0].containerPort",
         "Invalid value: 70000: must be between 1 and 65535, inclusive"),
        ("spec.restartPolicy", "Sometimes", "spec.restartPolicy", 'Unsupported value: "Sometimes"'),
        ("spec.containers", [], "spec.containers", "Required value"),
        ("spec.containers.0", None, "spec.containers[0].name", "Required value"),
        ("spec.containers.0.env.0", None, "spec.containers[0].env[0].name", "Required value"),
        ("spec.containers.0.ports.0", None, "spec.containers[0].ports[0].containerPort", "Required value"),
    ],
    ids=["env-no-name", "no-image", "bad-name", "valuefrom-empty", "configmap-no-key", "port-range",
         "restart-policy", "no-containers", "container-null", "env-null", "port-null"],
)
def test_a_wrong_value_is_invalid_with_a_cause_per_field(
        kube: Kube, change: str, value: Any, field: str, message: str) -> None:
    code, body = http(f"{kube.url}{PODS}", "POST", pod(change, value))
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith(f'Pod "p" is invalid: {field}: {message}')
    cause = body["details"]["causes"][0]
    assert cause["field"] == field and cause["message"].startswith(message)


def test_a_workload_template_is_checked_like_a_pod_and_updates_too(kube: Kube) -> None:
    deployments = f"{kube.url}/apis/apps/v1/namespaces/default/deployments"
    template = {"metadata": {"labels": {"app": "d"}}, "spec": copy.deepcopy(GOOD["spec"])}
    dep = {"metadata": {"name": "d"}, "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "d"}},
                                               "template": template}}
    assert http(deployments, "POST", dep)[0] == 201
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "env": [{"value": "x"}]}]}}}}
    code, body = http(f"{deployments}/d", "PATCH", patch, ctype="application/strategic-merge-patch+json")
    assert (code, body["details"]["causes"][0]["field"]) == (422, "spec.template.spec.containers[0].env[0].name")
    bad = copy.deepcopy(dep)
    bad["metadata"]["name"] = "e"
    bad["spec"]["template"]["spec"]["containers"][0]["args"] = [1]
    code, body = http(deployments, "POST", bad)
    assert code == 400 and 'Deployment in version "apps/v1" cannot be handled as a Deployment' in body["message"]
    assert "Container.spec.template.spec.containers.args of type string" in body["message"]


def test_kubectl_prints_what_a_real_cluster_prints(kube: Kube, kubectl_bin: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  containers:\n  - name: main\n    image: busybox\n    env: [{value: x}]\n")
    result = kube.run([kubectl_bin, "create", "-f", manifest], check=False)
    assert result.returncode == 1
    assert 'The Pod "p" is invalid: spec.containers[0].env[0].name: Required value' in result.stderr
