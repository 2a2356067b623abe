"""Compare two bench runs metric by metric (B/A with a bootstrap CI and a verdict) and derive the headline.

The headline answers the two questions the tuning is for: how close do pods get to the host's own
throughput (tuned cross-node pod throughput / host-to-host, within run B), and what did the tuning buy
(cross-node pod throughput B/A). Churn adds the connection rate with the most Services as a fraction of
the rate with none, per run: the kube-proxy vs service-map difference in one number.
"""

from __future__ import annotations

from dataclasses import dataclass

from cilium_tune.bench import stats
from cilium_tune.bench.results import BenchRun, MetricResult
from cilium_tune.bench.scenarios import CALIBRATION_METRIC
from cilium_tune.report.model import Case, Measurement, Outcome, Report

RATIO = "B/A"
"""The name of a comparison case's ratio measurement; its other measurements are named by run label."""


@dataclass(frozen=True)
class MetricComparison:
    key: str
    a: MetricResult | None
    b: MetricResult | None
    ratio: stats.Ratio | None
    note: str | None = None

    @property
    def reference(self) -> MetricResult:
        ref = self.b or self.a
        assert ref is not None  # a comparison always has at least one side
        return ref


@dataclass(frozen=True)
class HeadlineFigure:
    name: str
    what: str
    ratio: stats.Ratio | None


@dataclass(frozen=True)
class Comparison:
    a: BenchRun
    b: BenchRun
    items: tuple[MetricComparison, ...]
    headline: tuple[HeadlineFigure, ...]

    def item(self, key: str) -> MetricComparison | None:
        return next((i for i in self.items if i.key == key), None)


def compare_runs(a: BenchRun, b: BenchRun, *, min_effect: float = stats.MIN_EFFECT,
                 seed: int = stats.DEFAULT_SEED) -> Comparison:
    keys = list(dict.fromkeys([m.key for m in a.metrics] + [m.key for m in b.metrics]))
    items: list[MetricComparison] = []
    for key in keys:
        ma, mb = a.metric(key), b.metric(key)
        if ma is None or mb is None or not ma.samples or not mb.samples or not ma.median:
            missing = "A" if ma is None or not ma.samples else "B"
            side = ma if missing == "A" else mb
            why = side.note if side is not None and side.note else "not measured"
            items.append(MetricComparison(key, ma, mb, None, f"no samples in {missing}: {why}"))
            continue
        ratio = stats.ratio_ci(ma.samples, mb.samples, higher_is_better=ma.higher_is_better, seed=seed, key=key,
                               min_effect=min_effect)
        items.append(MetricComparison(key, ma, mb, ratio))
    return Comparison(a, b, tuple(_drift_checked(items)), _headline(a, b, seed))


def _drift_checked(items: list[MetricComparison]) -> list[MetricComparison]:
    """When the drift control (loopback throughput) itself moved between the runs, the machine changed
    under the measurement (a shared machine's load, a CPU governor): a difference elsewhere cannot be
    put down to the datapath, so it is reported as inconclusive, with the control's ratio."""
    control = next((i for i in items if i.key == CALIBRATION_METRIC), None)
    if control is None or control.ratio is None or control.ratio.verdict is stats.Verdict.SAME:
        return items
    why = f"the machine itself changed: loopback throughput B/A {control.ratio.value:.2f}"
    out = []
    for item in items:
        r = item.ratio
        if item is not control and r is not None and r.verdict in (stats.Verdict.BETTER, stats.Verdict.WORSE):
            item = MetricComparison(item.key, item.a, item.b,
                                    stats.Ratio(r.value, r.ci_low, r.ci_high, stats.Verdict.INCONCLUSIVE),
                                    f"{r.verdict} by itself, but {why}")
        out.append(item)
    return out


def _within(run: BenchRun, num: str, den: str, seed: int) -> stats.Ratio | None:
    n, d = run.metric(num), run.metric(den)
    if n is None or d is None or not n.samples or not d.samples or not d.median:
        return None
    return stats.ratio_ci(d.samples, n.samples, higher_is_better=True, seed=seed, key=f"{num}|{den}")


def _headline(a: BenchRun, b: BenchRun, seed: int) -> tuple[HeadlineFigure, ...]:
    figures = []
    for fam in (4, 6):
        pod, host = f"throughput/pod-to-pod-cross-node/ipv{fam}", f"throughput/host-to-host/ipv{fam}"
        figures.append(HeadlineFigure(f"pod-vs-host/ipv{fam}",
                                      f"{b.meta.label}: cross-node pod throughput / host ceiling, IPv{fam}",
                                      _within(b, pod, host, seed)))
        ceiling_a = a.metric(host)
        if ceiling_a is not None and ceiling_a.samples and (mb_pod := b.metric(pod)) is not None and mb_pod.samples:
            figures.append(HeadlineFigure(
                f"pod-vs-baseline-host/ipv{fam}",
                f"{b.meta.label} cross-node pod throughput / {a.meta.label} host ceiling, IPv{fam}",
                stats.ratio_ci(ceiling_a.samples, mb_pod.samples, higher_is_better=True, seed=seed,
                               key=f"{pod}|{host}|a")))
        ma, mb = a.metric(pod), b.metric(pod)
        tuned = (stats.ratio_ci(ma.samples, mb.samples, higher_is_better=True, seed=seed, key=pod)
                 if ma and mb and ma.samples and mb.samples and ma.median else None)
        figures.append(HeadlineFigure(f"tuned-vs-baseline/ipv{fam}",
                                      f"cross-node pod throughput, {b.meta.label} / {a.meta.label}, IPv{fam}", tuned))
        for run in (a, b):
            levels = sorted({m.services for m in run.metrics if m.services is not None and m.samples})
            if len(levels) >= 2:
                top, zero = (f"connections/pod-to-local-service@{n}/ipv{fam}" for n in (levels[-1], levels[0]))
                figures.append(HeadlineFigure(
                    f"churn-{run.meta.label}/ipv{fam}",
                    f"{run.meta.label}: connection rate with {levels[-1]:,} Services / with {levels[0]:,}, IPv{fam}",
                    _within(run, top, zero, seed)))
    return tuple(f for f in figures if f.ratio is not None)


def to_report(cmp: Comparison, *, fail_if_worse: float | None = None) -> Report:
    """The comparison as neutral cases: `metric/scenario[@N]/ipvF`, outcome from the verdict.

    better and no-difference pass; worse warns, or fails when `fail_if_worse` (a fraction) is given and
    the metric got worse by more than that; inconclusive (the drift control moved) warns.
    """
    cases = []
    for item in cmp.items:
        ref = item.reference
        if item.ratio is None:
            cases.append(Case(item.key, Outcome.SKIP, reason=item.note, evidence=_evidence(item)))
            continue
        r = item.ratio
        outcome = Outcome.PASS
        if r.verdict is stats.Verdict.WORSE:
            loss = (1 - r.value) if ref.higher_is_better else (r.value - 1)
            outcome = Outcome.FAIL if fail_if_worse is not None and loss > fail_if_worse else Outcome.WARN
        if r.verdict is stats.Verdict.INCONCLUSIVE or (item.key == CALIBRATION_METRIC and outcome is Outcome.FAIL):
            outcome = Outcome.WARN  # the drift control judges the machine, not the datapath
        msg = f"{r.verdict}: B/A {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" + (
            f" ({item.note})" if item.note else "")
        meas = [_measure(run.meta.label, m) for run, m in ((cmp.a, item.a), (cmp.b, item.b))
                if m is not None and m.median is not None]
        meas.append(Measurement(RATIO, "x", r.value, r.ci_low, r.ci_high))
        cases.append(Case(item.key, outcome, msg, evidence=_evidence(item), measurements=tuple(meas)))
    headline = {f.name: {"what": f.what, "ratio": round(f.ratio.value, 4), "ci": [round(f.ratio.ci_low, 4),
                                                                                    round(f.ratio.ci_high, 4)]}
                for f in cmp.headline if f.ratio is not None}
    meta = {"a": cmp.a.meta.label, "b": cmp.b.meta.label, "headline": headline,
            "a_config_digest": cmp.a.meta.config_digest, "b_config_digest": cmp.b.meta.config_digest,
            "b_plan_digest": cmp.b.meta.plan_digest}
    return Report("bench-compare", f"bench compare: {cmp.b.meta.label} vs {cmp.a.meta.label}", tuple(cases), meta)


def run_report(run: BenchRun) -> Report:
    """One run on its own, as neutral cases: each metric's median and CI, and why its sampling ended."""
    cases = []
    for m in run.metrics:
        if m.median is None:
            outcome = Outcome.ERROR if m.stop == "failed" else Outcome.SKIP
            cases.append(Case(m.key, outcome, m.note or m.stop, reason=m.note, evidence={"stop": m.stop}))
            continue
        hw = m.half_width
        msg = f"{len(m.samples)} samples, ±{hw:.1%}, ended by {m.stop}" if hw is not None else m.stop
        cases.append(Case(m.key, Outcome.PASS, msg, evidence={"stop": m.stop, "samples": len(m.samples)},
                          measurements=(_measure(run.meta.label, m),)))
    return Report("bench-run", f"bench run: {run.meta.label}", tuple(cases), {"label": run.meta.label})


def _measure(label: str, m: MetricResult) -> Measurement:
    assert m.median is not None
    return Measurement(label, m.unit, m.median, m.ci_low, m.ci_high, len(m.samples))


def _evidence(item: MetricComparison) -> dict[str, object]:
    ev: dict[str, object] = {}
    for side, m in (("a", item.a), ("b", item.b)):
        if m is not None:
            ev[f"{side}.samples"] = len(m.samples)
            ev[f"{side}.stop"] = m.stop
    return ev
