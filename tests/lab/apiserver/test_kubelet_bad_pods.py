"""The lab kubelet keeps running when a pod is one it cannot read: its watch takes pods as plain JSON (the
typed model refuses some objects a server may hold), and a pod it cannot make sense of is logged and skipped.

The API server now refuses such pods itself (test_api_pod_validation.py), so the bad object is put in
its store directly, as a snapshot from an older lab, or another writer, could have left it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from apiserver_testkit import Kube, http

from cilium_tune.lab import topology
from cilium_tune.lab.kubelet import Kubelet, RawPod

GOOD = {"metadata": {"name": "good"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
UNREADABLE = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "bad", "namespace": "default", "uid": "bad-uid"}, "status": {"phase": "Pending"},
              "spec": {"containers": [{"name": "c", "image": "busybox", "command": [1],
                                       "env": [{"value": "no name"}]}]}}


def _next_events(events: queue.Queue[tuple[str, dict[str, Any]]], until: str) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while until not in seen:
        _kind, pod = events.get(timeout=max(0.01, deadline - time.monotonic()))
        seen.append(pod["metadata"]["name"])
    return seen


def test_the_watch_reads_a_pod_the_typed_model_refuses_and_goes_on(kube_graceful: Kube, tmp_path: Path) -> None:
    kube = kube_graceful
    kubelet = Kubelet(kube.client, topology.plan_topology("tbadpod", 1), tmp_path)
    listing = kube.client.list(RawPod, namespace="*")
    list(listing)
    kube.server.store.put("/pods", dict(UNREADABLE))
    assert http(f"{kube.url}/api/v1/namespaces/default/pods", "POST", GOOD)[0] == 201
    watcher = threading.Thread(target=kubelet._watch, args=(listing.resourceVersion,), daemon=True)
    watcher.start()
    try:
        seen = _next_events(kubelet.events, until="good")
        assert "bad" in seen and seen[-1] == "good", seen  # the bad pod is an event (the controllers may add one)
        assert watcher.is_alive()
    finally:
        kubelet.stopping.set()
        kubelet.pool.shutdown()


def test_a_pod_the_kubelet_cannot_handle_is_logged_once_and_skipped(
        kube_graceful: Kube, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    topo = topology.plan_topology("tbadpod", 1)
    kubelet = Kubelet(kube_graceful.client, topo, tmp_path)
    broken = {"metadata": {"name": "odd", "namespace": "default", "uid": "odd-uid"}, "spec": ["not", "a", "map"]}
    with caplog.at_level(logging.ERROR, logger="cilium_tune.lab.kubelet"):
        kubelet._handle_safely("ADDED", broken)
        kubelet._apply_relist([broken])  # the relist meets it again: no second log line
    kubelet.pool.shutdown()
    assert [r.getMessage() for r in caplog.records] == ["pod default/odd skipped: the kubelet cannot read it"]
