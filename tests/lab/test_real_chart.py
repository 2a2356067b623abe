"""`lab up --chart cilium-1.19.0-rc.1.tgz`: the real Cilium chart, installed with helm as a user would, with
the lab's programs standing in for its images; then the rollout's OnDelete window, through the chart's
own `updateStrategy` value.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.apps_v1 import DaemonSet
from lightkube.resources.core_v1 import Pod

from cilium_tune.facts.agent_status import parse_agent_status
from cilium_tune.lab import cluster

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]
REAL_CHART = Path("/work/shared/charts/cilium-1.19.0-rc.1.tgz")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (last := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return last


@pytest.mark.skipif(not REAL_CHART.exists(), reason=f"{REAL_CHART} not present")
def test_the_real_chart_runs_on_the_lab_and_on_delete_holds_its_agents(
        root: None, lab_name: str, tmp_path: Path, helm4: Path, helm3: Path) -> None:
    env = {**os.environ, "PATH": f"{helm4.parent}:{os.environ.get('PATH', '')}"}
    lab = ["--name", lab_name, "--lab-dir", str(tmp_path)]
    try:
        up = subprocess.run([sys.executable, "-m", "cilium_tune", "lab", "up", *lab, "--nodes", "2", "--single-stack",
                             "--chart", str(REAL_CHART)], capture_output=True, text=True, timeout=240, env=env)
        assert up.returncode == 0, up.stderr  # helm --wait: agents, operators and envoys Ready
        status = subprocess.run([sys.executable, "-m", "cilium_tune", "lab", "status", *lab],
                                capture_output=True, text=True, timeout=60)
        assert "chart       cilium 1.19.0-rc.1 (the real chart, images stood in), revision 1" in status.stdout
        kubeconfig = tmp_path / lab_name / "kubeconfig"
        with Client(KubeConfig.from_file(kubeconfig)) as client:
            agents = list(client.list(Pod, namespace="kube-system", labels={"k8s-app": "cilium"}))
            assert len(agents) == 2
            for pod in agents:
                assert pod.metadata is not None and pod.metadata.name is not None
                assert pod.spec is not None and pod.spec.containers[0].args == ["--config-dir=/tmp/cilium/config-map"]
                log = "".join(client.log(pod.metadata.name, namespace="kube-system", container="cilium-agent"))
                agent = parse_agent_status(log)
                assert agent is not None and agent.node == pod.spec.nodeName
                assert agent.device_mode == "veth" and agent.routing_network == "tunnel"

            # the rollout's window: OnDelete through the chart's own value, with a pod template change
            values = tmp_path / "on-delete.yaml"
            values.write_text("updateStrategy: {type: OnDelete}\nextraEnv: [{name: LAB_PHASE, value: '1'}]\n")
            before = {p.metadata.uid for p in agents if p.metadata}

            def helm(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run([str(binary), "upgrade", "cilium", str(REAL_CHART), "-n", "kube-system",
                                       "--reuse-values", *args], capture_output=True, text=True, timeout=120,
                                      env={**env, "KUBECONFIG": str(kubeconfig)})

            # helm 3's legacy waiter skips DaemonSets that are not RollingUpdate: done, nothing restarted
            assert helm(helm3, "-f", str(values), "--wait", "--timeout", "60s").returncode == 0
            ds = client.get(DaemonSet, "cilium", namespace="kube-system")
            assert ds.status is not None and not ds.status.updatedNumberScheduled
            assert {p.metadata.uid for p in client.list(Pod, namespace="kube-system", labels={
                "k8s-app": "cilium"}) if p.metadata} == before
            # helm 4's watcher (kstatus) waits for every agent to be updated, which OnDelete never does alone
            waited = helm(helm4, "--wait", "--timeout", "4s")
            assert waited.returncode != 0 and "Updated: 0/2" in waited.stderr
    finally:
        down = subprocess.run([sys.executable, "-m", "cilium_tune", "lab", "down", *lab],
                              capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert cluster.leftovers(lab_name, base_dir=tmp_path) == []
