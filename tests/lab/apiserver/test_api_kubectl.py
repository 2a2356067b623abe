"""Real kubectl 1.35 against the lab API: the commands the tool's users and its runbook use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apiserver_testkit import Kube, eventually, http, node

pytestmark = pytest.mark.helm

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
  labels: {tier: lab}
data: {x: "1", w: "2"}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.invalid/web:1}]
"""


def test_server_side_apply_creates_then_prunes_fields_it_no_longer_applies(kube: Kube, kubectl_bin: Path,
                                                                            tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(CONFIGMAP)
    assert "serverside-applied" in kube.run([kubectl_bin, "apply", "--server-side", "-f", manifest]).stdout
    manifest.write_text(CONFIGMAP.replace('w: "2"', 'z: "3"'))
    kube.run([kubectl_bin, "apply", "--server-side", "-f", manifest])
    got = json.loads(kube.run([kubectl_bin, "get", "cm", "settings", "-o", "json"]).stdout)
    assert got["data"] == {"x": "1", "z": "3"}
    assert got["metadata"]["resourceVersion"].isdigit() and got["metadata"]["uid"]


def test_patch_merge_and_json_then_label_and_selectors(kube: Kube, kubectl_bin: Path) -> None:
    kube.run([kubectl_bin, "create", "-f", "-"], input=CONFIGMAP)
    kube.run([kubectl_bin, "patch", "cm", "settings", "--type", "merge", "-p", '{"data":{"m":"4"}}'])
    kube.run([kubectl_bin, "patch", "cm", "settings", "--type", "json", "-p",
              '[{"op":"remove","path":"/data/x"}]'])
    kube.run([kubectl_bin, "label", "cm", "settings", "owner=test"])
    out = kube.run([kubectl_bin, "get", "cm", "-l", "owner=test,tier in (lab)", "-o",
                    "jsonpath={.items[*].data}"]).stdout
    assert json.loads(out) == {"m": "4", "w": "2"}
    names = kube.run([kubectl_bin, "get", "cm", "--field-selector", "metadata.name=settings", "-o", "name"])
    assert names.stdout.split() == ["configmap/settings"]
    assert kube.run([kubectl_bin, "get", "cm", "-l", "owner!=test", "-o", "name"]).stdout.strip() == ""


def test_get_watch_ends_at_request_timeout(kube: Kube, kubectl_bin: Path) -> None:
    kube.run([kubectl_bin, "create", "-f", "-"], input=CONFIGMAP)
    out = kube.run([kubectl_bin, "get", "cm", "-w", "--request-timeout=2s", "-o", "name"], timeout=20).stdout
    assert "configmap/settings" in out.split()
    table = kube.run([kubectl_bin, "get", "cm", "-w", "--request-timeout=2s"], timeout=20).stdout.splitlines()
    assert table[0].split() == ["NAME", "AGE"] and table[1].split()[0] == "settings"


def test_wait_for_condition_and_delete(kube: Kube, kubectl_bin: Path) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    kube.run([kubectl_bin, "apply", "--server-side", "-f", "-"], input=DEPLOYMENT)
    kube.run([kubectl_bin, "wait", "--for=condition=Available", "deployment/web", "--timeout=20s"])
    kube.run([kubectl_bin, "wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=20s"])
    kube.run([kubectl_bin, "rollout", "status", "deployment/web", "--timeout=20s"])
    kube.run([kubectl_bin, "delete", "deployment", "web", "--wait=true", "--timeout=20s"])
    eventually(lambda: http(f"{kube.url}/api/v1/namespaces/default/pods")[1]["items"] == [])
    gone = kube.run([kubectl_bin, "get", "deployment", "web"], check=False)
    assert gone.returncode == 1 and 'deployments.apps "web" not found' in gone.stderr


def test_cordon_and_drain_move_pods_off_the_node(kube: Kube, kubectl_bin: Path) -> None:
    for i in (1, 2):
        http(f"{kube.url}/api/v1/nodes", "POST", node(f"node{i}", i))
    kube.run([kubectl_bin, "apply", "--server-side", "-f", "-"], input=DEPLOYMENT)
    kube.run([kubectl_bin, "rollout", "status", "deployment/web", "--timeout=20s"])
    kube.run([kubectl_bin, "cordon", "node1"])
    assert http(f"{kube.url}/api/v1/nodes/node1")[1]["spec"]["unschedulable"] is True
    kube.run([kubectl_bin, "drain", "node1", "--ignore-daemonsets", "--timeout=30s"], timeout=60)

    def all_on_node2() -> bool:
        pods = http(f"{kube.url}/api/v1/namespaces/default/pods")[1]["items"]
        return len(pods) == 2 and {p["spec"]["nodeName"] for p in pods} == {"node2"}

    eventually(all_on_node2)
    kube.run([kubectl_bin, "uncordon", "node1"])
    assert not http(f"{kube.url}/api/v1/nodes/node1")[1]["spec"].get("unschedulable")


def test_errors_are_kubernetes_status_messages(kube: Kube, kubectl_bin: Path) -> None:
    missing = kube.run([kubectl_bin, "get", "pod", "nope"], check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): pods "nope" not found' in missing.stderr
    kube.run([kubectl_bin, "create", "-f", "-"], input=CONFIGMAP)
    again = kube.run([kubectl_bin, "create", "-f", "-"], input=CONFIGMAP, check=False)
    assert "Error from server (AlreadyExists)" in again.stderr
    assert 'configmaps "settings" already exists' in again.stderr
    kube.run([kubectl_bin, "run", "p", "--image=registry.invalid/x:1"])
    execd = kube.run([kubectl_bin, "exec", "p", "--", "true"], check=False)
    assert "Error from server (BadRequest): pod p does not have a host assigned" in execd.stderr
    bad = kube.run([kubectl_bin, "create", "configmap", "Bad_Name"], check=False)
    assert bad.returncode == 1
    assert 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in bad.stderr


def test_human_output_has_kubectl_columns(kube: Kube, kubectl_bin: Path) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    kube.run([kubectl_bin, "apply", "--server-side", "-f", "-"], input=DEPLOYMENT)
    kube.run([kubectl_bin, "rollout", "status", "deployment/web", "--timeout=20s"])
    lines = kube.run([kubectl_bin, "get", "pods", "-o", "wide"]).stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert [line.split()[1:3] for line in lines[1:]] == [["1/1", "Running"]] * 2
    nodes = kube.run([kubectl_bin, "get", "nodes"]).stdout.splitlines()
    assert nodes[1].split()[:2] == ["node1", "Ready"]


def test_typed_create_commands_send_protobuf(kube: Kube, kubectl_bin: Path) -> None:
    kube.run([kubectl_bin, "create", "service", "nodeport", "web", "--tcp=80:8080"])
    kube.run([kubectl_bin, "create", "serviceaccount", "robot"])
    kube.run([kubectl_bin, "create", "secret", "generic", "token", "--from-literal=key=value"])
    svc = http(f"{kube.url}/api/v1/namespaces/default/services/web")[1]["spec"]
    assert svc["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080,
                             "nodePort": 30000}]
    assert svc["selector"] == {"app": "web"} and svc["type"] == "NodePort"
    assert http(f"{kube.url}/api/v1/namespaces/default/serviceaccounts/robot")[0] == 200
    assert http(f"{kube.url}/api/v1/namespaces/default/secrets/token")[1]["data"] == {"key": "dmFsdWU="}


GATEWAY_CLASS_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gatewayclasses.gateway.networking.k8s.io}
spec:
  group: gateway.networking.k8s.io
  scope: Cluster
  names: {kind: GatewayClass, listKind: GatewayClassList, plural: gatewayclasses, singular: gatewayclass,
          shortNames: [gc], categories: [gateway-api]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1beta1
    served: true
    storage: false
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def test_multi_version_crd_like_gateway_api(kube: Kube, kubectl_bin: Path) -> None:
    kube.run([kubectl_bin, "apply", "--server-side", "-f", "-"], input=GATEWAY_CLASS_CRD)
    kube.run([kubectl_bin, "wait", "--for=condition=Established", "crd/gatewayclasses.gateway.networking.k8s.io",
              "--timeout=10s"])
    kube.run([kubectl_bin, "apply", "--server-side", "-f", "-"], input=(
        "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: GatewayClass\nmetadata: {name: cilium}\n"
        "spec: {controllerName: io.cilium/gateway-controller}\n"))
    got = json.loads(kube.run([kubectl_bin, "get", "gc", "cilium", "-o", "json"]).stdout)
    assert got["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert got["spec"]["controllerName"] == "io.cilium/gateway-controller"
    old = http(f"{kube.url}/apis/gateway.networking.k8s.io/v1beta1/gatewayclasses")[1]
    assert [i["apiVersion"] for i in old["items"]] == ["gateway.networking.k8s.io/v1beta1"]
    # written through v1beta1, patched through the preferred v1 (what `kubectl patch` does)
    kube.run([kubectl_bin, "patch", "gc", "cilium", "--type", "merge", "-p", '{"spec": {"description": "lab"}}'])
    assert json.loads(kube.run([kubectl_bin, "get", "gc", "cilium", "-o", "json"]).stdout)["spec"]["description"] \
        == "lab"
