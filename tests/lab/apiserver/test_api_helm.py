"""Real helm 4 and helm 3 against the lab API: the release lifecycle the tool relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apiserver_testkit import Kube, http, node

CHART = Path(__file__).parent / "chart"
pytestmark = pytest.mark.helm


@pytest.fixture
def nodes(kube: Kube) -> Kube:
    for i in (1, 2):
        assert http(f"{kube.url}/api/v1/nodes", "POST", node(f"node{i}", i))[0] == 201
    return kube


def test_upgrade_install_wait_history_rollback_uninstall(nodes: Kube, helm_bin: Path) -> None:
    kube = nodes
    helm = [helm_bin, "-n", "demo"]
    kube.run([*helm, "upgrade", "--install", "demo", CHART, "--create-namespace", "--wait", "--timeout", "30s"])
    kube.run([*helm, "upgrade", "--install", "demo", CHART, "--set", "replicas=3", "--set", "message=bye",
              "--wait", "--timeout", "30s"])

    values = json.loads(kube.run([*helm, "get", "values", "demo", "--all", "-o", "json"]).stdout)
    assert values == {"image": "registry.invalid/demo:1", "message": "bye", "replicas": 3}
    dep = http(f"{kube.url}/apis/apps/v1/namespaces/demo/deployments/demo-web")[1]
    assert dep["status"]["readyReplicas"] == 3
    ds = http(f"{kube.url}/apis/apps/v1/namespaces/demo/daemonsets/demo-agent")[1]
    assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 2

    kube.run([*helm, "rollback", "demo", "1", "--wait", "--timeout", "30s"])
    history = json.loads(kube.run([*helm, "history", "demo", "-o", "json"]).stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "superseded"),
                                                                (3, "deployed")]
    cm = http(f"{kube.url}/api/v1/namespaces/demo/configmaps/demo-config")[1]
    assert cm["data"] == {"message": "hello"}

    kube.run([*helm, "uninstall", "demo", "--wait"])
    for path in ("apps/v1/namespaces/demo/deployments", "apps/v1/namespaces/demo/replicasets"):
        assert http(f"{kube.url}/apis/{path}")[1]["items"] == []
    assert http(f"{kube.url}/api/v1/namespaces/demo/pods")[1]["items"] == []
    secrets = http(f"{kube.url}/api/v1/namespaces/demo/secrets?labelSelector=owner%3Dhelm")[1]["items"]
    assert secrets == []


def test_configmap_driver_stores_release_in_configmaps(nodes: Kube, helm_bin: Path) -> None:
    kube = nodes
    kube.env["HELM_DRIVER"] = "configmap"
    kube.run([helm_bin, "-n", "default", "upgrade", "--install", "cmrel", CHART, "--wait"])
    stored = http(f"{kube.url}/api/v1/namespaces/default/configmaps?labelSelector=owner%3Dhelm,name%3Dcmrel")[1]
    assert [c["metadata"]["labels"]["status"] for c in stored["items"]] == ["deployed"]
    listed = json.loads(kube.run([helm_bin, "-n", "default", "list", "-o", "json"]).stdout)
    assert [r["name"] for r in listed] == ["cmrel"]


def test_install_without_create_namespace_fails_clearly(kube: Kube, helm_bin: Path) -> None:
    proc = kube.run([helm_bin, "-n", "absent", "install", "x", CHART], check=False)
    assert proc.returncode != 0
    assert 'namespaces "absent" not found' in proc.stderr


def test_helm4_upgrade_after_a_kubectl_patch_conflicts_until_forced(nodes: Kube, helm4: Path,
                                                                      kubectl_bin: Path) -> None:
    kube = nodes
    helm = [helm4, "-n", "default", "upgrade", "--install", "ssa", CHART]
    kube.run(helm)
    kube.run([kubectl_bin, "-n", "default", "patch", "deployment", "ssa-web", "-p", '{"spec":{"replicas":5}}'])
    managers = http(f"{kube.url}/apis/apps/v1/namespaces/default/deployments/ssa-web")[1]["metadata"]["managedFields"]
    assert [(m["manager"], m["operation"]) for m in managers] == [("helm", "Apply"), ("kubectl-patch", "Update")]

    refused = kube.run([*helm, "--set", "message=again"], check=False)
    assert refused.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas' in \
        refused.stderr
    kube.run([*helm, "--set", "message=again", "--force-conflicts"])
    dep = http(f"{kube.url}/apis/apps/v1/namespaces/default/deployments/ssa-web")[1]
    assert dep["spec"]["replicas"] == 2
    assert [m["manager"] for m in dep["metadata"]["managedFields"]] == ["helm"]
