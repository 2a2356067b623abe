"""`pods/exec` at the API server: its checks and messages, and a kubelet that is not there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apiserver_testkit import Kube, http, node
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def _exec_url(kube: Kube, pod: str, query: str) -> str:
    return f"{kube.url.replace('http://', 'ws://')}/api/v1/namespaces/default/pods/{pod}/exec?{query}"


def test_exec_checks_container_and_node_before_the_kubelet(kube: Kube, kubectl_bin: Path) -> None:
    http(f"{kube.url}/api/v1/namespaces/default/pods", "POST",
         {"metadata": {"name": "two"}, "spec": {"containers": [{"name": "a", "image": "busybox"},
                                                               {"name": "b", "image": "busybox"}],
                                                "initContainers": [{"name": "i", "image": "busybox"}]}})
    code, body = http(f"{kube.url}/api/v1/namespaces/default/pods/two/exec?command=true&stdout=true")
    assert code == 400
    assert body["message"] == "a container name must be specified for pod two, choose one of: [a b] or one of " \
                              "the init containers: [i]"
    assert http(f"{kube.url}/api/v1/namespaces/default/pods/two/exec?command=true&stdout=true&container=c")[1][
        "message"] == "container c is not valid for pod two"
    unbound = kube.run([kubectl_bin, "exec", "two", "-c", "a", "--", "true"], check=False)
    assert "Error from server (BadRequest): pod two does not have a host assigned" in unbound.stderr
    with pytest.raises(InvalidStatus, match="HTTP 400"):
        connect(_exec_url(kube, "two", "command=true&container=a"), subprotocols=["v5.channel.k8s.io"])  # type: ignore[list-item]


def test_without_a_kubelet_v5_gets_the_translators_status_and_older_protocols_an_error(kube: Kube) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    http(f"{kube.url}/api/v1/namespaces/default/pods", "POST",
         {"metadata": {"name": "p"}, "spec": {"nodeName": "node1",
                                              "containers": [{"name": "main", "image": "busybox"}]}})
    url = _exec_url(kube, "p", "command=true&stdout=true")
    with connect(url, subprotocols=["v5.channel.k8s.io"]) as ws:  # type: ignore[list-item]
        frames = list(ws)
    assert frames[0] == b"\x01"
    status = json.loads(frames[1][1:])
    assert (frames[1][0], status["reason"], status["code"]) == (3, "InternalError", 500)
    assert status["message"].startswith("Internal error occurred: unable to upgrade connection: the lab kubelet "
                                        "is not listening")
    with pytest.raises(InvalidStatus, match="HTTP 500"):
        connect(url, subprotocols=["v4.channel.k8s.io"])  # type: ignore[list-item]
