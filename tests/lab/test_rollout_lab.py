"""apply, resume after SIGKILL at every step boundary, a no-op second apply, rollback, and the netkit refusal,
on one 3-node lab (the `cilium-tune` CLI as a user runs it, as separate processes).

The lab starts from the stand-in chart's defaults (tunnel, veth, iptables kube-proxy, single-stack). The
target is the lab profile with `bpf.datapathMode: veth` (this kernel has no netkit): native routing, BIG
TCP, KPR, BPF masquerade, dual-stack, socket LB, Gateway API on the host network.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.adapters.kube import NODES, PODS, LightkubeAPI
from cilium_tune.lab import cluster
from cilium_tune.lab.chart import CHART_DIR
from cilium_tune.rollout.executor import KILL_ENV

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm, pytest.mark.xdist_group("rollout-lab")]


@dataclass
class Env:
    lab: cluster.LabInstance
    tmp: Path
    helm: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.lab.kubeconfig),
            "CILIUM_TUNE_HELM": str(self.helm),
            "CILIUM_TUNE_STATE_DIR": str(self.tmp / "state"),
            "HELM_CACHE_HOME": str(self.tmp / "hc"),
            "HELM_CONFIG_HOME": str(self.tmp / "hg"),
            "HELM_DATA_HOME": str(self.tmp / "hd"),
            **extra,
        }

    def ct(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "cilium_tune", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=self.env(**extra), timeout=300, check=False)

    def helm_values(self) -> dict[str, Any]:
        argv = [str(self.helm), "-n", "kube-system", "get", "values", "cilium", "--all", "-o", "json"]
        out = subprocess.run(argv, capture_output=True, text=True, env=self.env(), check=True, timeout=60)
        return dict(json.loads(out.stdout))

    def agents(self) -> dict[str, dict[str, Any]]:
        """node -> the node's agent pod."""
        kube = LightkubeAPI(str(self.lab.kubeconfig))
        try:
            pods = kube.list(PODS, "kube-system", label_selector="k8s-app=cilium")
        finally:
            kube.close()
        return {p["spec"]["nodeName"]: p for p in pods if not p["metadata"].get("deletionTimestamp")}

    def nodes(self) -> list[dict[str, Any]]:
        kube = LightkubeAPI(str(self.lab.kubeconfig))
        try:
            return kube.list(NODES)
        finally:
            kube.close()

    def journal(self) -> dict[str, Any]:
        runs = sorted((self.tmp / "state" / "runs").iterdir())
        return dict(json.loads((runs[-1] / "journal.json").read_text()))


@pytest.fixture(scope="module")
def env(root: None, helm4: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = Path(tmp_path_factory.mktemp("rollout"))
    instance = cluster.up("ctr" + secrets.token_hex(3), nodes=3, dual_stack=True, base_dir=tmp, node_routes=False)
    try:
        e = Env(instance, tmp, helm4)
        (tmp / "veth.yaml").write_text("bpf:\n  datapathMode: veth\n")
        install = [str(helm4), "-n", "kube-system", "upgrade", "--install", "cilium", str(CHART_DIR), "--wait",
                   "--timeout", "2m"]
        subprocess.run(install, capture_output=True, text=True, env=e.env(), check=True, timeout=150)
        yield e
    finally:
        cluster.down(instance.name, base_dir=tmp)


def test_apply_killed_at_every_step_boundary_resumes_to_a_switched_cluster(env: Env) -> None:
    before = {node: pod["metadata"]["uid"] for node, pod in env.agents().items()}
    apply = ["apply", "-p", "lab", "-f", str(env.tmp / "veth.yaml"), "--yes", "--no-probe-nodes"]
    first = env.ct(*apply, **{KILL_ENV: "1"})
    assert first.returncode == -9, first.stderr  # SIGKILL after its first step
    kills = 1
    while True:
        resumed = env.ct("rollout", "resume", **{KILL_ENV: "1"})
        if resumed.returncode == 0:
            break
        assert resumed.returncode == -9, resumed.stderr
        kills += 1
        assert kills < 60, "the run never finishes"

    journal = env.journal()
    assert journal["state"] == "succeeded" and journal["meta"]["strategy"] == "node-config"
    assert kills == len(journal["steps"]), "killed once at every boundary between steps"
    assert not any(n["spec"].get("unschedulable") for n in env.nodes()), "no node left cordoned"
    assert not any("cilium-tune.io/pending-switch" in n["metadata"].get("labels", {}) for n in env.nodes())
    values = env.helm_values()
    assert values.get("cleanState") is not True and values["updateStrategy"]["type"] == "RollingUpdate"
    # Each agent was replaced exactly once, by its own node's step, and never restarted since.
    agents = env.agents()
    done = {e["id"]: e.get("detail", {}) for e in journal["events"] if e["event"] == "done"}
    for node, pod in agents.items():
        restart = done[f"switch/{node}/restart-agent"]
        assert (restart["old_uid"], restart["new_uid"]) == (before[node], pod["metadata"]["uid"])
        assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
    # The last node's check had every other node as peer: pods reach pods across all nodes, both families.
    assert done["switch/lab-3/check"]["reached"] == {f"lab-{i}/{f}": "ok" for i in (1, 2) for f in ("ipv4", "ipv6")}
    assert done["switch/lab-1/check"]["status"]["Routing"].startswith("Network: Native")


def test_a_second_apply_has_nothing_to_do(env: Env) -> None:
    again = env.ct("apply", "-p", "lab", "-f", str(env.tmp / "veth.yaml"), "--yes", "--no-probe-nodes")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to change")


def test_rollback_restores_the_baseline_values_with_its_chart_version(env: Env) -> None:
    back = env.ct("rollback", "-p", "lab", "--yes")
    assert back.returncode == 0, back.stderr
    (baseline,) = (env.tmp / "state" / "baselines").iterdir()
    captured = yaml.safe_load((baseline / "values.yaml").read_text())
    assert env.helm_values() == {k: v for k, v in captured.items() if v is not None}
    assert json.loads((baseline / "release.json").read_text())["version"] in back.stdout + back.stderr
    assert not any(n["spec"].get("unschedulable") for n in env.nodes())


def test_netkit_is_refused_then_a_failing_first_node_is_taken_back(env: Env) -> None:
    refused = env.ct("apply", "-p", "lab", "--dry-run")
    assert refused.returncode == 1 and "CT201" in refused.stdout

    others = {node: pod["metadata"]["uid"] for node, pod in env.agents().items() if node != "lab-1"}
    failed = env.ct("apply", "-p", "lab", "--ignore", "CT201", "--yes", "--no-probe-nodes")
    assert failed.returncode == 3, failed.stderr
    assert "node lab-1" in failed.stderr and "netkit" in failed.stderr and "taken back" in failed.stderr
    assert {n: p["metadata"]["uid"] for n, p in env.agents().items() if n != "lab-1"} == others, "others untouched"
    assert not any(n["spec"].get("unschedulable") for n in env.nodes())
    assert all(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
               for p in env.agents().values())
    status = env.ct("rollout", "status")
    assert "FAILED" in status.stdout and "switch/lab-1/restart-agent" in status.stdout
