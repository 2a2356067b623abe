"""The lab profile's tuned values (veth datapath) on other real charts than the runbook's 1.19.0-rc.1 (which
gets them through `apply` in test_rollout_lab.py): 1.18.12 installed by `lab up --chart` as a user would,
and the upgrade a runbook user makes next: `apply --chart` 1.19.6 over a running rc.1 release, then
`rollback` to the captured rc.1 baseline. Each ends with agents, operators and envoys Ready on every node
and each node's datapath as the values say (native routes to the peer's pod blocks, IPv4 BIG TCP on the
uplink, the nft service map, no kube-proxy chains).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cilium_tune.adapters.kube import CONFIGMAPS, PODS, LightkubeAPI
from cilium_tune.lab import cluster, topology
from cilium_tune.lab.agent.kernel import NodeKernel
from cilium_tune.profile import load_profile
from cilium_tune.rollout.journal import list_runs

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]
CHARTS = Path("/work/shared/charts")


def ct(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True, timeout=240,
                          env=env)


def in_node(netns: str, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def ready_pods(kubeconfig: Path) -> dict[str, list[str]]:
    """app -> the nodes whose pod of it is Ready (agent, envoy, operator)."""
    kube = LightkubeAPI(str(kubeconfig))
    try:
        return {app: sorted(p["spec"]["nodeName"] for p in kube.list(PODS, "kube-system", label_selector=selector)
                            if not p["metadata"].get("deletionTimestamp")
                            and any(c["type"] == "Ready" and c["status"] == "True"
                                    for c in p["status"].get("conditions", [])))
                for app, selector in (("agent", "k8s-app=cilium"), ("envoy", "k8s-app=cilium-envoy"),
                                      ("operator", "io.cilium/app=operator"))}
    finally:
        kube.close()


def assert_tuned_datapath(nodes: list[topology.LabNode]) -> None:
    """Every node's kernel as the tuned values say, towards every other node."""
    for node in nodes:
        routes = in_node(node.netns, "ip", "route") + in_node(node.netns, "ip", "-6", "route")
        for peer in nodes:
            if peer != node:
                assert f"{peer.pod_cidr_v4} via {peer.ipv4} dev eth0" in routes
                assert f"{peer.pod_cidr_v6} via {peer.ipv6} dev eth0" in routes
        with NodeKernel(node.netns) as kernel:
            assert kernel.gso_sizes("eth0")["gso_ipv4_max_size"] == 196608
        assert "services4" in in_node(node.netns, "nft", "list", "table", "inet", "cilium_tune_lb")
        assert "KUBE-" not in in_node(node.netns, "iptables-save")


def test_the_tuned_values_run_on_the_real_1_18_chart(root: None, real_chart: Path, helm4: Path, lab_name: str,
                                                      tmp_path: Path) -> None:
    chart = CHARTS / "cilium-1.18.12.tgz"
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
        ready = ready_pods(tmp_path / lab_name / "kubeconfig")
        assert ready == {"agent": ["lab-1", "lab-2"], "envoy": ["lab-1", "lab-2"], "operator": ["lab-1", "lab-2"]}
        assert_tuned_datapath(topology.load_topology(tmp_path / lab_name / "lab.json").nodes)
    finally:
        down = ct("lab", "down", *lab)
    assert down.returncode == 0, down.stderr
    assert cluster.leftovers(lab_name, base_dir=tmp_path) == []


def test_apply_upgrades_a_running_rc1_release_to_1_19_6_and_rollback_returns_to_rc1(
        root: None, real_chart: Path, helm4: Path, lab_name: str, tmp_path: Path) -> None:
    newer = CHARTS / "cilium-1.19.6.tgz"
    assert newer.is_file(), f"{newer} missing beside {real_chart.name}"
    # The runbook's starting point: rc.1 with the chart's defaults (tunnel, veth, iptables kube-proxy).
    lab = cluster.up(lab_name, nodes=2, dual_stack=True, base_dir=tmp_path, node_routes=False,
                     chart=str(real_chart), helm=str(helm4))
    env = {**os.environ, "KUBECONFIG": str(lab.kubeconfig), "CILIUM_TUNE_HELM": str(helm4),
           "CILIUM_TUNE_STATE_DIR": str(tmp_path / "state"), **{f"HELM_{kind}_HOME": str(tmp_path / f"helm-{kind}")
                                                              for kind in ("CACHE", "CONFIG", "DATA")}}

    def chart_version() -> str:
        out = subprocess.run([str(helm4), "-n", "kube-system", "get", "metadata", "cilium", "-o", "json"],
                             capture_output=True, text=True, env=env, check=True, timeout=60).stdout
        return str(json.loads(out)["version"])

    try:
        (tmp_path / "veth.yaml").write_text("bpf:\n  datapathMode: veth\n")  # this kernel has no netkit
        upgrade = ct("apply", "-p", "lab", "--chart", str(newer), "-f", str(tmp_path / "veth.yaml"), "--yes",
                     "--no-probe-nodes", env=env)
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        assert "chart 1.19.0-rc.1 -> 1.19.6" in upgrade.stdout
        assert chart_version() == "1.19.6"
        (applied,) = list_runs(tmp_path / "state" / "runs")
        assert applied.meta["restore_chart"] == load_profile("lab").release.chart_argument, (
            "an abort or a failed node's recovery puts rc.1 back with the lab chart (rc.1), not the 1.19.6 package")
        nodes = list(lab.topology.nodes)
        ready = ready_pods(lab.kubeconfig)
        assert ready["agent"] == ready["envoy"] == [n.name for n in nodes] and len(ready["operator"]) == 2, ready
        assert_tuned_datapath(nodes)

        # Back to what was captured before the upgrade, at the version it was captured at: the rc.1 chart.
        wrong = ct("rollback", "-p", "lab", "--chart", str(newer), "--yes", env=env)
        assert wrong.returncode == 2 and "1.19.0-rc.1" in wrong.stderr, wrong.stdout + wrong.stderr
        assert chart_version() == "1.19.6", "a refused rollback changes nothing"
        back = ct("rollback", "-p", "lab", "--chart", str(real_chart), "--yes", env=env)
        assert back.returncode == 0, back.stdout + back.stderr
        assert chart_version() == "1.19.0-rc.1"
        (baseline,) = (tmp_path / "state" / "baselines").iterdir()
        kube = LightkubeAPI(str(lab.kubeconfig))
        try:
            config = kube.get(CONFIGMAPS, "cilium-config", "kube-system")["data"]
        finally:
            kube.close()
        assert config == json.loads((baseline / "cilium-config.json").read_text()), "rc.1's config as captured"
        for node in nodes:  # the defaults again: VXLAN between nodes, kube-proxy's iptables chains
            assert "cilium_vxlan" in in_node(node.netns, "ip", "link", "show")
    finally:
        cluster.down(lab.name, base_dir=tmp_path)
    assert cluster.leftovers(lab_name, base_dir=tmp_path) == []
