"""Bench runs made from seeded samples, as `bench run` writes them, for the compare and report tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cilium_tune.bench import stats
from cilium_tune.bench.results import BenchRun, MetricResult, RunMeta, Sample
from cilium_tune.bench.scenarios import METRICS, select


def noisy(median: float, n: int, seed: int, cv: float = 0.05) -> list[float]:
    return [float(x) for x in median * np.random.default_rng(seed).lognormal(0.0, cv, size=n)]


def make_run(label: str, medians: Mapping[str, float], *, n: int = 8, seed: int = 0,
             skipped: Sequence[str] = ()) -> BenchRun:
    """A run whose probes (ids as `bench run` names them) have `n` samples around the given medians of
    their first metric; other metrics of the probe get the same samples scaled."""
    metrics: list[MetricResult] = []
    raw: list[Sample] = []
    by_id = {p.id: p for p in select(["*"], [4, 6], churn=(0, 1000, 5000))}
    for i, (probe_id, median) in enumerate(sorted(medians.items())):
        p = by_id[probe_id]
        first = noisy(median, n, seed * 1000 + i)
        rows = [tuple(v * (1 + k) for k in range(len(METRICS[p.test]))) for v in first]
        raw += [Sample(probe=probe_id, round=r + 1, t=float(r), values=row) for r, row in enumerate(rows)]
        for k, metric in enumerate(METRICS[p.test]):
            values = tuple(row[k] for row in rows)
            est = stats.median_ci(values, key=f"{probe_id}/{metric.name}")
            metrics.append(MetricResult(
                probe=probe_id, scenario=p.scenario.name, test=str(p.test), family=p.family, services=p.services,
                metric=metric.name, unit=metric.unit, higher_is_better=metric.higher_is_better, samples=values,
                median=est.median, ci_low=est.ci_low, ci_high=est.ci_high, stop="ci-target"))
    for probe_id in skipped:
        p = by_id[probe_id]
        for metric in METRICS[p.test]:
            metrics.append(MetricResult(
                probe=probe_id, scenario=p.scenario.name, test=str(p.test), family=p.family, services=p.services,
                metric=metric.name, unit=metric.unit, higher_is_better=metric.higher_is_better, samples=(),
                stop="skipped", note="no IPv6 address on the server side"))
    meta = RunMeta(label=label, started="2026-11-26T14:00:00Z", finished="2026-11-26T14:02:00Z", seed=1,
                   target_half_width=0.025, budget_s=120, sample_seconds=1, pinning="0,1", nodes=("lab-1", "lab-2"),
                   namespace="default", image="host", tool_versions={"iperf3": "iperf 3.12"},
                   config_digest=f"sha256:{label}", facts={"cilium-config": {"routing-mode": "tunnel"}})
    return BenchRun(meta=meta, metrics=tuple(metrics), raw=tuple(raw))


BASELINE = {
    "stream/host-to-host/ipv4": 24.5, "stream/pod-to-pod-cross-node/ipv4": 15.5,
    "rr/pod-to-pod-cross-node/ipv4": 60.0,
    "churn/pod-to-local-service@0/ipv4": 10100, "churn/pod-to-local-service@1000/ipv4": 7900,
    "churn/pod-to-local-service@5000/ipv4": 5500,
}
TUNED = {
    "stream/host-to-host/ipv4": 24.5, "stream/pod-to-pod-cross-node/ipv4": 19.5,
    "rr/pod-to-pod-cross-node/ipv4": 60.0,
    "churn/pod-to-local-service@0/ipv4": 10100, "churn/pod-to-local-service@1000/ipv4": 10000,
    "churn/pod-to-local-service@5000/ipv4": 9900,
}
