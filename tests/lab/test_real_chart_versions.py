"""The lab profile's tuned values (veth datapath) on the real 1.19.6 and 1.18.12 charts, installed by
`lab up --chart` as a user would: agents, operators and envoys Ready on every node, and each node's datapath
as the values say (native routes to the peer's pod blocks, IPv4 BIG TCP on the uplink, the nft service map).

The runbook's 1.19.0-rc.1 gets the same values through `apply` in test_rollout_lab.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cilium_tune.adapters.kube import PODS, LightkubeAPI
from cilium_tune.lab import cluster, topology
from cilium_tune.lab.agent.kernel import NodeKernel

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]
CHARTS = Path("/work/shared/charts")


def ct(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True, timeout=240)


def in_node(netns: str, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, check=True,
                          timeout=30).stdout


@pytest.mark.parametrize("version", ["1.19.6", "1.18.12"])
def test_the_tuned_values_run_on_the_real_chart(version: str, root: None, real_chart: Path, helm4: Path,
                                                lab_name: str, tmp_path: Path) -> None:
    chart = CHARTS / f"cilium-{version}.tgz"
    assert chart.is_file(), f"{chart} missing beside {real_chart.name}"
    rendered = ct("render", "-p", "lab", "--out", str(tmp_path / "values"))
    assert rendered.returncode == 0, rendered.stderr
    (tmp_path / "veth.yaml").write_text("bpf:\n  datapathMode: veth\n")  # this kernel has no netkit
    files = [tmp_path / "values" / "cilium-values.yaml", tmp_path / "values" / "cilium-values-dualstack.yaml",
             tmp_path / "veth.yaml"]
    lab = ["--name", lab_name, "--lab-dir", str(tmp_path)]
    try:
        up = ct("lab", "up", *lab, "--nodes", "2", "--chart", str(chart), "--helm", str(helm4),
                *(arg for f in files for arg in ("-f", str(f))))
        assert up.returncode == 0, up.stderr  # helm --wait: every pod of the chart Ready
        kube = LightkubeAPI(str(tmp_path / lab_name / "kubeconfig"))
        try:
            ready = {app: sorted(p["spec"]["nodeName"] for p in kube.list(PODS, "kube-system", label_selector=selector)
                                 if any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in p["status"].get("conditions", [])))
                     for app, selector in (("agent", "k8s-app=cilium"), ("envoy", "k8s-app=cilium-envoy"),
                                           ("operator", "io.cilium/app=operator"))}
        finally:
            kube.close()
        assert ready == {"agent": ["lab-1", "lab-2"], "envoy": ["lab-1", "lab-2"], "operator": ["lab-1", "lab-2"]}
        nodes = topology.load_topology(tmp_path / lab_name / "lab.json").nodes
        for node, peer in (nodes, nodes[::-1]):
            routes = in_node(node.netns, "ip", "route") + in_node(node.netns, "ip", "-6", "route")
            assert f"{peer.pod_cidr_v4} via {peer.ipv4} dev eth0" in routes
            assert f"{peer.pod_cidr_v6} via {peer.ipv6} dev eth0" in routes
            with NodeKernel(node.netns) as kernel:
                assert kernel.gso_sizes("eth0")["gso_ipv4_max_size"] == 196608
            assert "services4" in in_node(node.netns, "nft", "list", "table", "inet", "cilium_tune_lb")
            assert "KUBE-" not in in_node(node.netns, "iptables-save")
    finally:
        down = ct("lab", "down", *lab)
    assert down.returncode == 0, down.stderr
    assert cluster.leftovers(lab_name, base_dir=tmp_path) == []
