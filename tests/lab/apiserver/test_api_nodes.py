"""Node heartbeats: a node whose Lease goes stale turns Ready=Unknown and is tainted unreachable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apiserver_testkit import http, node

from cilium_tune.lab.apiserver import ApiServer

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


@pytest.fixture
def server() -> Iterator[ApiServer]:
    """No auto-ready (kubelets are expected), a 5 s grace period; the test calls the checks itself."""
    s = ApiServer(node_monitor_grace_period=5.0)
    s.start()
    yield s
    s.stop()


def _renew(url: str, name: str, ago: float) -> None:
    stamp = (datetime.now(UTC) - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lease = {"metadata": {"name": name}, "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                                                  "renewTime": stamp}}
    code, _ = http(f"{url}{LEASES}/{name}?fieldManager=kubelet", "PATCH", lease,
                   "application/apply-patch+yaml")
    assert code in (200, 201)


def _node(url: str, name: str) -> dict:
    return http(f"{url}/api/v1/nodes/{name}")[1]


def test_a_silent_kubelets_node_goes_unknown_and_unreachable_until_it_posts_ready_again(server: ApiServer) -> None:
    url = server.url
    ready = [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}]
    for i, name in enumerate(("beating", "silent", "no-lease"), start=1):
        http(f"{url}/api/v1/nodes", "POST", node(name, i))
        http(f"{url}/api/v1/nodes/{name}/status", "PATCH", {"status": {"conditions": ready}},
             "application/merge-patch+json")
    _renew(url, "beating", 1)
    _renew(url, "silent", 60)
    assert server.node_lifecycle is not None
    server.node_lifecycle.check()

    silent = _node(url, "silent")
    conditions = {c["type"]: (c["status"], c["reason"], c["message"]) for c in silent["status"]["conditions"]}
    assert conditions == dict.fromkeys(("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"), (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."))
    assert [(t["key"], t["effect"]) for t in silent["spec"]["taints"]] == [
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")]
    for name in ("beating", "no-lease"):
        assert _node(url, name)["status"]["conditions"][0]["status"] == "True"
        assert "taints" not in _node(url, name)["spec"]

    _renew(url, "silent", 0)
    http(f"{url}/api/v1/nodes/silent/status", "PATCH", {"status": {"conditions": ready}},
         "application/merge-patch+json")
    server.node_lifecycle.check()
    assert "taints" not in _node(url, "silent")["spec"]
