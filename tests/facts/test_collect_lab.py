"""collect() against the lab's emulated API server, with a release installed by the real helm binary.

This is the end-to-end check of the facts path: helm writes its release Secret the way it does on a real
cluster, the lab API stores it, the live client lists it page by page and the parsers decode it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from facts_cluster import raw

from cilium_tune.adapters.kube import NODES, PODS, LightkubeAPI
from cilium_tune.facts.collect import CollectOptions, collect
from cilium_tune.lab.apiserver import ApiServer
from cilium_tune.lab.chart import CHART_DIR


def write_kubeconfig(path: Path, url: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        f"clusters:\n- name: lab\n  cluster:\n    server: {url}\n"
        "contexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\n"
        "users:\n- name: lab\n  user: {}\n"
    )
    return path


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[tuple[LightkubeAPI, Path]]:
    server = ApiServer(auto_ready=True, service_cidrs=["198.18.64.0/18", "fd00:64::/112"])
    url = server.start()
    api = LightkubeAPI(str(write_kubeconfig(tmp_path / "kubeconfig", url)))
    try:
        yield api, tmp_path / "kubeconfig"
    finally:
        api.close()
        server.stop()


def _nodes(count: int) -> list[dict[str, object]]:
    template = raw("nodes.NodeFacts", "k3s_server_dualstack")
    out = []
    for i in range(1, count + 1):
        node = json.loads(json.dumps(template))
        node["metadata"]["name"] = f"lab-{i}"
        node["spec"]["podCIDRs"] = [f"198.19.{i}.0/24", f"fd00:19::{i}:0/120"]
        node["spec"]["podCIDR"] = f"198.19.{i}.0/24"
        out.append(node)
    return out


@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_collect_reads_nodes_pages_and_a_helm_written_release(
    lab: tuple[LightkubeAPI, Path], helm4: Path, tmp_path: Path, driver: str
) -> None:
    api, kubeconfig = lab
    for node in _nodes(5):
        api.create(NODES, node)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
        "HELM_DRIVER": driver,
        **{f"HELM_{n}_HOME": str(tmp_path / f"helm-{n.lower()}") for n in ("CACHE", "CONFIG", "DATA")},
    }
    subprocess.run(
        [
            str(helm4),
            "upgrade",
            "--install",
            "cilium",
            str(CHART_DIR),
            "-n",
            "kube-system",
            "--set",
            "routingMode=native",
            "--set",
            "ipv4NativeRoutingCIDR=198.19.0.0/16",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert [n["metadata"]["name"] for n in api.list(NODES, page_size=2)] == [f"lab-{i}" for i in range(1, 6)]
    snap = collect(api, CollectOptions())

    assert [n.name for n in snap.nodes] == [f"lab-{i}" for i in range(1, 6)]
    assert snap.nodes[0].k3s is not None and snap.nodes[0].k3s.flannel_backend == "none"
    release = snap.helm_release
    assert release is not None and (release.revision, release.status, release.chart_name) == (1, "deployed", "cilium")
    assert release.user_values == {"routingMode": "native", "ipv4NativeRoutingCIDR": "198.19.0.0/16"}
    assert release.computed_values["routingMode"] == "native"
    assert snap.cilium_config is not None and snap.cilium_config.get("routing-mode") == "native"
    assert snap.source.server == api.server_info().server and snap.source.server_version
    assert set(snap.unknown) == {"probes"}


def test_probe_pods_are_created_and_removed_on_the_lab_api(lab: tuple[LightkubeAPI, Path]) -> None:
    """With --auto-ready and no kubelet nothing runs the probes: they time out and are still cleaned up."""
    api, _ = lab
    for node in _nodes(2):
        api.create(NODES, node)
    snap = collect(api, CollectOptions(probe_nodes=True, probe_timeout=1.0))
    assert [p.ok for p in snap.probes] == [False, False]
    leftovers = api.list(PODS, "kube-system", label_selector="app.kubernetes.io/managed-by=cilium-tune")
    assert [p for p in leftovers if p.get("metadata", {}).get("deletionTimestamp") is None] == []
