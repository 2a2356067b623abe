"""`bench run` on a lab cluster: real iperf3/netperf in pod and node namespaces, results with CIs, and
nothing of the bench left in the cluster afterwards, also when the run is interrupted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cilium_tune.adapters.kube import PODS, SERVICES, LightkubeAPI
from cilium_tune.bench import scenarios
from cilium_tune.bench.pods import MANAGED_BY
from cilium_tune.bench.results import load_run, save_run
from cilium_tune.bench.runner import BenchRunner, RunConfig
from cilium_tune.bench.tools import Pinning
from cilium_tune.lab.cluster import LabInstance

pytestmark = [pytest.mark.root, pytest.mark.lab]
LABEL = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())


@pytest.fixture
def kube(lab: LabInstance) -> Iterator[LightkubeAPI]:
    api = LightkubeAPI(str(lab.kubeconfig))
    yield api
    api.close()


def leftovers(kube: LightkubeAPI) -> list[str]:
    return [o["metadata"]["name"] for res in (PODS, SERVICES) for o in kube.list(res, "default", label_selector=LABEL)
            if str(o["metadata"]["name"]).startswith("ct-bench-")]


def test_a_quick_bench_measures_both_families_and_cleans_up(kube: LightkubeAPI, tmp_path: Path) -> None:
    probes = scenarios.select(["stream/host-to-host/ipv4", "stream/pod-to-pod-cross-node/*",
                               "rr/pod-to-pod-cross-node/ipv4"], [4, 6])
    progress: list[str] = []
    run = BenchRunner(kube, RunConfig(probes=probes, label="quick", budget_s=4, min_samples=3, pin=Pinning(0, 1)),
                      progress=progress.append).run()
    by_key = {m.key: m for m in run.metrics}
    for key in ("throughput/host-to-host/ipv4", "throughput/pod-to-pod-cross-node/ipv6",
                "latency-p99/pod-to-pod-cross-node/ipv4"):
        m = by_key[key]
        assert m.samples and m.median is not None and m.ci_low is not None and m.ci_high is not None, key
        assert m.ci_low <= m.median <= m.ci_high and m.stop in ("ci-target", "budget")
    assert by_key["throughput/pod-to-pod-cross-node/ipv4"].median > 0.05  # Gbit/s: traffic really flowed
    assert run.meta.tool_versions["iperf3"].startswith("iperf 3") and run.meta.pinning == "0,1"
    assert any(line.startswith("round 1:") for line in progress)
    assert leftovers(kube) == []
    save_run(run, tmp_path)
    assert load_run(tmp_path) == run


def test_an_interrupted_bench_removes_its_pods(kube: LightkubeAPI) -> None:
    def interrupt(line: str) -> None:
        if line.startswith("warm-up"):
            raise KeyboardInterrupt

    probes = scenarios.select(["stream/pod-to-pod-cross-node/ipv4"], [4])
    with pytest.raises(KeyboardInterrupt):
        BenchRunner(kube, RunConfig(probes=probes, budget_s=5), progress=interrupt).run()
    assert leftovers(kube) == []
