"""Compare two bench runs: per metric B/A with a bootstrap CI, a family-wise verdict, and the headline.

Every datapath metric measured by both runs is one test of one family (`stats.judge`): the whole
comparison's verdict (`Overall`) says "no significant difference" unless some metric passed its
Holm-adjusted test, so its false-alarm rate does not grow with the number of metrics. The loopback drift
control is judged on its own; when it moved, a datapath difference is "inconclusive".

The headline answers the two questions the tuning is for: how close do pods get to the host's own
throughput (tuned cross-node pod throughput / host-to-host, within run B), and what did the tuning buy
(cross-node pod throughput B/A). Churn adds the connection rate with the most Services as a fraction of
the rate with none, per run: the kube-proxy vs service-map difference in one number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
class Overall:
    """The verdict of the whole comparison, family-wise: `no significant difference` means no metric passed
    its Holm-adjusted test. When both runs sample one distribution, at least 95% of comparisons say so."""

    verdict: stats.Verdict
    tests: int
    better: int
    worse: int
    inconclusive: int
    alpha: float
    min_effect: float
    note: str | None = None

    @property
    def decided_by(self) -> str:
        return (f"Holm-adjusted rank tests over {self.tests} datapath metrics, family-wise {self.alpha:.0%}, "
                f"and a change of at least {self.min_effect:.0%}; the loopback drift control alone at "
                f"{self.alpha:.0%}")


@dataclass(frozen=True)
class Comparison:
    a: BenchRun
    b: BenchRun
    items: tuple[MetricComparison, ...]
    headline: tuple[HeadlineFigure, ...]
    overall: Overall

    def item(self, key: str) -> MetricComparison | None:
        return next((i for i in self.items if i.key == key), None)


def compare_runs(a: BenchRun, b: BenchRun, *, min_effect: float = stats.MIN_EFFECT, alpha: float = stats.FAMILY_ALPHA,
                 seed: int = stats.DEFAULT_SEED) -> Comparison:
    """Every datapath metric both runs measured is one test of one family; the drift control gates them."""
    keys = list(dict.fromkeys([m.key for m in a.metrics] + [m.key for m in b.metrics]))
    items: list[MetricComparison] = []
    pairs: list[stats.Pair] = []
    for key in keys:
        ma, mb = a.metric(key), b.metric(key)
        if ma is None or mb is None or not ma.samples or not mb.samples or not ma.median:
            missing = "A" if ma is None or not ma.samples else "B"
            side = ma if missing == "A" else mb
            why = side.note if side is not None and side.note else "not measured"
            items.append(MetricComparison(key, ma, mb, None, f"no samples in {missing}: {why}"))
            continue
        pairs.append(stats.Pair(key, ma.samples, mb.samples, ma.higher_is_better))
        items.append(MetricComparison(key, ma, mb, None))
    # The datapath metrics are one family. The drift control is a gate, judged on its own at alpha: a false
    # alarm only turns verdicts into "inconclusive", a miss would pass the machine's change off as the datapath's.
    family = [p for p in pairs if p.key != CALIBRATION_METRIC]
    control = [p for p in pairs if p.key == CALIBRATION_METRIC]
    judged = dict(zip((p.key for p in family), stats.judge(family, alpha=alpha, min_effect=min_effect, seed=seed),
                      strict=True))
    judged.update(zip((p.key for p in control), stats.judge(control, alpha=alpha, min_effect=min_effect, seed=seed),
                      strict=True))
    items = [MetricComparison(i.key, i.a, i.b, judged[i.key], _split_note(judged[i.key])) if i.key in judged else i
             for i in items]
    checked = _drift_checked(items)
    return Comparison(a, b, tuple(checked), _headline(a, b, seed, checked), _overall(checked, alpha, min_effect))


def _overall(items: list[MetricComparison], alpha: float, min_effect: float) -> Overall:
    verdicts = [i.ratio.verdict for i in items if i.ratio is not None and i.key != CALIBRATION_METRIC]
    count = {v: verdicts.count(v) for v in stats.Verdict}
    control = next((i.ratio for i in items if i.key == CALIBRATION_METRIC and i.ratio is not None), None)
    notes = []
    if control is not None and _moved(control):
        notes.append(f"the drift control moved: loopback throughput B/A {control.value:.2f}")
    datapath = [i for i in items if i.ratio is not None and i.key != CALIBRATION_METRIC]
    tests = len(datapath)
    sizes = [(len(i.a.samples), len(i.b.samples)) for i in datapath if i.a and i.b]
    if sizes and all(stats.smallest_p(*n) * tests > alpha for n in sizes):
        few = min(sizes, key=lambda n: stats.smallest_p(*n))
        notes.append(f"too few samples to call any change: {few[0]} against {few[1]} give a smallest p of "
                     f"{stats.smallest_p(*few):.2g}, {tests} metrics need {alpha / tests:.2g}")
    split = sum(1 for i in datapath if i.ratio is not None and _split_note(i.ratio) is not None)
    if split:
        notes.append(f"{split} metric(s) changed by the rank test against the direction of their medians")
    if count[stats.Verdict.INCONCLUSIVE]:
        verdict = stats.Verdict.INCONCLUSIVE
    elif count[stats.Verdict.BETTER] and count[stats.Verdict.WORSE]:
        verdict = stats.Verdict.MIXED
    elif count[stats.Verdict.BETTER]:
        verdict = stats.Verdict.BETTER
    elif count[stats.Verdict.WORSE]:
        verdict = stats.Verdict.WORSE
    else:
        verdict = stats.Verdict.SAME
    return Overall(verdict, tests, count[stats.Verdict.BETTER], count[stats.Verdict.WORSE],
                   count[stats.Verdict.INCONCLUSIVE], alpha, min_effect, "; ".join(notes) or None)


def _drift_checked(items: list[MetricComparison]) -> list[MetricComparison]:
    """When the drift control (loopback throughput) itself moved between the runs, the machine changed
    under the measurement (a shared machine's load, a CPU governor): a difference elsewhere cannot be
    put down to the datapath, so it is reported as inconclusive, with the control's ratio."""
    control = next((i for i in items if i.key == CALIBRATION_METRIC), None)
    if control is None or control.ratio is None or not _moved(control.ratio):
        return items
    why = f"the machine itself changed: loopback throughput B/A {control.ratio.value:.2f}"
    out = []
    for item in items:
        r = item.ratio
        if item is not control and r is not None and r.verdict in (stats.Verdict.BETTER, stats.Verdict.WORSE):
            item = MetricComparison(item.key, item.a, item.b, replace(r, verdict=stats.Verdict.INCONCLUSIVE),
                                    f"{r.verdict} by itself, but {why}")
        out.append(item)
    return out


def _split_note(ratio: stats.Ratio) -> str | None:
    """Why a judged ratio is inconclusive when its rank test and its medians point opposite ways."""
    if ratio.verdict is not stats.Verdict.INCONCLUSIVE or ratio.superiority is None:
        return None
    if (ratio.value > 1) == (ratio.superiority > 0.5):
        return None
    ranks, medians = ("above", "down") if ratio.superiority > 0.5 else ("below", "up")
    return (f"B's samples rank {ranks} A's (P(B > A) {ratio.superiority:.2f}, p {stats.format_p(ratio.p_adjusted)} "
            f"Holm) but its median moved {medians} (B/A {ratio.value:.3f}): changed, not one way")


def _moved(ratio: stats.Ratio) -> bool:
    """The family-wise test judged the ratio and found a change (better, worse or inconclusive)."""
    return ratio.verdict is not None and ratio.verdict is not stats.Verdict.SAME


def _within(run: BenchRun, num: str, den: str, seed: int) -> stats.Ratio | None:
    n, d = run.metric(num), run.metric(den)
    if n is None or d is None or not n.samples or not d.samples or not d.median:
        return None
    return stats.ratio_ci(d.samples, n.samples, seed=seed, key=f"{num}|{den}")


def _headline(a: BenchRun, b: BenchRun, seed: int, items: list[MetricComparison]) -> tuple[HeadlineFigure, ...]:
    """The headline figures. Tuned vs baseline is a metric of the family, so it carries the family's verdict
    (the same ratio and CI as its row); the others divide two different metrics, which no test judged:
    their verdict stays None and prints as "not tested"."""
    judged = {i.key: i.ratio for i in items}
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
                stats.ratio_ci(ceiling_a.samples, mb_pod.samples, seed=seed, key=f"{pod}|{host}|a")))
        figures.append(HeadlineFigure(f"tuned-vs-baseline/ipv{fam}",
                                      f"cross-node pod throughput, {b.meta.label} / {a.meta.label}, IPv{fam}",
                                      judged.get(pod)))
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
        msg = (f"{stats.verdict_text(r.verdict)}: B/A {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] (95% CI), "
               f"p {stats.format_p(r.p_adjusted)} (Holm)") + (f" ({item.note})" if item.note else "")
        meas = [_measure(run.meta.label, m) for run, m in ((cmp.a, item.a), (cmp.b, item.b))
                if m is not None and m.median is not None]
        meas.append(Measurement(RATIO, "x", r.value, r.ci_low, r.ci_high))
        cases.append(Case(item.key, outcome, msg, evidence=_evidence(item), measurements=tuple(meas)))
    headline = {f.name: {"what": f.what, "ratio": round(f.ratio.value, 4),
                         "ci": [round(f.ratio.ci_low, 4), round(f.ratio.ci_high, 4)],
                         "verdict": None if f.ratio.verdict is None else str(f.ratio.verdict)}
                for f in cmp.headline if f.ratio is not None}
    o = cmp.overall
    verdict = {"overall": str(o.verdict), "decided_by": o.decided_by, "tests": o.tests, "better": o.better,
               "worse": o.worse, "inconclusive": o.inconclusive, "alpha": o.alpha, "min_effect": o.min_effect,
               "note": o.note}
    meta = {"a": cmp.a.meta.label, "b": cmp.b.meta.label, "verdict": verdict, "headline": headline,
            "a_config_digest": cmp.a.meta.config_digest, "b_config_digest": cmp.b.meta.config_digest,
            "b_plan_digest": cmp.b.meta.plan_digest}
    return Report("bench-compare", f"bench compare: {cmp.b.meta.label} vs {cmp.a.meta.label}", tuple(cases), meta)


def resolution_line(run: BenchRun) -> str:
    """What the run resolved: its CI half-widths (first metric of each probe, the one sampling watches),
    how many probes met the target, and the change two runs like it resolve (about sqrt(2) x the ±)."""
    firsts: dict[str, MetricResult] = {}
    for m in run.metrics:
        if m.half_width is not None and m.stop in ("ci-target", "budget", "fixed"):
            firsts.setdefault(m.probe, m)
    if not firsts:
        return "resolution: no metric was measured"
    widths = sorted(firsts.values(), key=lambda m: m.half_width or 0.0)
    median = widths[len(widths) // 2].half_width or 0.0
    widest = widths[-1]
    met = sum(1 for m in firsts.values() if m.stop == "ci-target")
    return (f"resolution (95% CI half-width, each probe's first metric): median ±{median:.1%}, widest "
            f"±{widest.half_width or 0.0:.1%} ({widest.key}); {met} of {len(firsts)} probes met the target "
            f"±{run.meta.target_half_width:.1%}; two runs like this one resolve a change of about "
            f"±{median * 2 ** 0.5:.1%} per metric (sqrt(2) x ±, 95%)")


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
    if item.ratio is not None and item.ratio.p is not None and item.ratio.p_adjusted is not None:
        ev["p"] = round(item.ratio.p, 6)
        ev["p_holm"] = round(item.ratio.p_adjusted, 6)
        ev["resolution"] = round(item.ratio.half_width, 4)
    for side, m in (("a", item.a), ("b", item.b)):
        if m is not None:
            ev[f"{side}.samples"] = len(m.samples)
            ev[f"{side}.stop"] = m.stop
    return ev
