"""Results round-trip as versioned data; compare gives ratios, verdicts and the headline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from bench_runs import BASELINE, TUNED, make_run

from cilium_tune.bench import stats
from cilium_tune.bench.compare import compare_runs, resolution_line, to_report
from cilium_tune.bench.results import SCHEMA, BenchRun, load_run, save_run
from cilium_tune.errors import InputError
from cilium_tune.report.html import render_html
from cilium_tune.report.model import Outcome
from cilium_tune.report.pr_comment import render_markdown


def test_a_run_round_trips_with_a_csv_per_metric(tmp_path: Path) -> None:
    run = make_run("baseline", BASELINE, skipped=["stream/pod-to-pod-cross-node/ipv6"])
    paths = save_run(run, tmp_path)
    assert {p.name for p in paths} >= {"run.json", "throughput.csv", "latency-p99.csv", "connections.csv"}
    assert load_run(tmp_path) == run
    rows = list(csv.DictReader((tmp_path / "throughput.csv").read_text().splitlines()))
    assert len(rows) == 16 and rows[0]["family"] == "ipv4" and float(rows[0]["value"]) > 0
    assert json.loads((tmp_path / "run.json").read_text())["schema_version"] == SCHEMA


def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    save_run(make_run("a", BASELINE), tmp_path)
    doc = json.loads((tmp_path / "run.json").read_text())
    doc["schema_version"] = 99
    (tmp_path / "run.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="schema 99"):
        load_run(tmp_path)
    with pytest.raises(InputError, match="no such bench result"):
        load_run(tmp_path / "missing")


def test_compare_finds_the_tuning_and_the_unchanged() -> None:
    cmp = compare_runs(make_run("baseline", BASELINE, seed=1), make_run("tuned", TUNED, seed=2))
    pod = cmp.item("throughput/pod-to-pod-cross-node/ipv4")
    assert pod is not None and pod.ratio is not None
    assert pod.ratio.verdict is stats.Verdict.BETTER
    assert pod.ratio.value == pytest.approx(19.5 / 15.5, rel=0.06)
    host = cmp.item("throughput/host-to-host/ipv4")
    assert host is not None and host.ratio is not None and host.ratio.verdict is stats.Verdict.SAME
    churn = cmp.item("connections/pod-to-local-service@5000/ipv4")
    assert churn is not None and churn.ratio is not None and churn.ratio.verdict is stats.Verdict.BETTER
    assert cmp.overall.verdict is stats.Verdict.BETTER and cmp.overall.worse == 0 and cmp.overall.better >= 2


def test_the_whole_comparison_has_one_family_wise_verdict() -> None:
    same = compare_runs(make_run("a", BASELINE, seed=1), make_run("b", BASELINE, seed=2))
    assert same.overall.verdict is stats.Verdict.SAME
    assert same.overall.tests == len([m for m in same.a.metrics if m.samples]) and same.overall.better == 0
    assert "Holm" in same.overall.decided_by
    worse = compare_runs(make_run("a", BASELINE, seed=1),
                         make_run("b", dict(BASELINE, **{"stream/pod-to-pod-cross-node/ipv4": 12.0}), seed=2))
    assert worse.overall.verdict is stats.Verdict.WORSE and worse.overall.worse == 1
    mixed = compare_runs(make_run("a", BASELINE, seed=1), make_run("b", dict(
        TUNED, **{"stream/host-to-host/ipv4": 18.0}), seed=2))
    assert mixed.overall.verdict is stats.Verdict.MIXED
    assert worse.overall.note is None
    few = compare_runs(make_run("a", BASELINE, n=4, seed=1), make_run("b", TUNED, n=4, seed=2))
    assert few.overall.verdict is stats.Verdict.SAME  # 4 against 4: no p below 2/70
    assert (few.overall.note or "").startswith("too few samples to call any change: 4 against 4 give a smallest p")
    meta = to_report(worse).meta["verdict"]
    assert isinstance(meta, dict) and meta["overall"] == "worse" and meta["tests"] == worse.overall.tests


def test_headline_pod_vs_host_tuned_vs_baseline_and_churn() -> None:
    cmp = compare_runs(make_run("baseline", BASELINE, seed=1), make_run("tuned", TUNED, seed=2))
    figures = {f.name: f.ratio for f in cmp.headline}
    assert figures["pod-vs-host/ipv4"].value == pytest.approx(19.5 / 24.5, rel=0.06)  # type: ignore[union-attr]
    assert figures["tuned-vs-baseline/ipv4"].value == pytest.approx(1.26, rel=0.06)  # type: ignore[union-attr]
    assert figures["churn-baseline/ipv4"].value == pytest.approx(0.54, rel=0.08)  # type: ignore[union-attr]
    assert figures["churn-tuned/ipv4"].value == pytest.approx(0.98, rel=0.06)  # type: ignore[union-attr]


def test_a_headline_ratio_no_test_judged_says_not_tested() -> None:
    """Pod throughput over the host ceiling divides two metrics of one run: a size that no test judged, so
    every report says "not tested" rather than "no significant difference". Tuned vs baseline is a metric
    of the family and carries the family's verdict."""
    cmp = compare_runs(make_run("baseline", BASELINE, seed=1), make_run("tuned", TUNED, seed=2))
    figures = {f.name: f.ratio for f in cmp.headline if f.ratio is not None}
    assert figures["pod-vs-host/ipv4"].verdict is None
    assert figures["tuned-vs-baseline/ipv4"] == cmp.item("throughput/pod-to-pod-cross-node/ipv4").ratio  # type: ignore[union-attr]
    assert figures["tuned-vs-baseline/ipv4"].verdict is stats.Verdict.BETTER
    report = to_report(cmp)
    headline = report.meta["headline"]
    assert headline["pod-vs-host/ipv4"]["verdict"] is None  # JSON: null
    assert headline["tuned-vs-baseline/ipv4"]["verdict"] == "better"
    markdown = render_markdown(report)
    assert "host ceiling, IPv4 | **0.8" in markdown and "| not tested |" in markdown
    page = render_html("bench", [report])
    assert "<td>not tested</td>" in page and "<td>better</td>" in page
    assert stats.verdict_text(stats.ratio_ci([1.0, 1.1], [1.2, 1.3]).verdict) == "not tested"


def test_report_cases_and_fail_if_worse() -> None:
    worse = dict(BASELINE, **{"stream/pod-to-pod-cross-node/ipv4": 12.0})
    cmp = compare_runs(make_run("baseline", BASELINE, seed=1), make_run("b", worse, seed=2))
    report = to_report(cmp)
    case = next(c for c in report.cases if c.name == "throughput/pod-to-pod-cross-node/ipv4")
    assert case.outcome is Outcome.WARN and case.message.startswith("worse")
    assert not report.failed
    strict = to_report(cmp, fail_if_worse=0.05)
    assert strict.failed
    assert not to_report(cmp, fail_if_worse=0.5).failed  # 23% worse is within a 50% allowance


def test_missing_side_is_a_skip_with_the_reason() -> None:
    a = make_run("a", BASELINE, skipped=["stream/pod-to-pod-cross-node/ipv6"])
    report = to_report(compare_runs(a, make_run("b", TUNED, skipped=["stream/pod-to-pod-cross-node/ipv6"])))
    case = next(c for c in report.cases if c.name == "throughput/pod-to-pod-cross-node/ipv6")
    assert case.outcome is Outcome.SKIP and "no IPv6 address" in (case.reason or "")


def test_markdown_for_a_pr_comment() -> None:
    report = to_report(compare_runs(make_run("baseline", BASELINE, seed=1), make_run("tuned", TUNED, seed=2)))
    text = render_markdown(report)
    assert text.startswith("### bench compare: tuned vs baseline")
    assert "| headline | ratio | 95% CI |" in text
    assert "Verdict: **better** (Holm-adjusted rank tests over" in text
    assert "`throughput/pod-to-pod-cross-node/ipv4`" in text and "better: B/A 1.2" in text


def test_a_difference_while_the_machine_itself_changed_is_inconclusive() -> None:
    control = "stream/loopback/ipv4"
    a = make_run("a", dict(BASELINE, **{control: 40.0}), seed=1)
    b = make_run("b", dict(BASELINE, **{control: 20.0, "stream/pod-to-pod-cross-node/ipv4": 10.0}), seed=2)
    cmp = compare_runs(a, b)
    pod = cmp.item("throughput/pod-to-pod-cross-node/ipv4")
    assert pod is not None and pod.ratio is not None
    assert pod.ratio.verdict is stats.Verdict.INCONCLUSIVE and "loopback throughput B/A 0.5" in (pod.note or "")
    report = to_report(cmp, fail_if_worse=0.05)
    case = next(c for c in report.cases if c.name == "throughput/pod-to-pod-cross-node/ipv4")
    assert case.outcome is Outcome.WARN and not report.failed
    assert cmp.overall.verdict is stats.Verdict.INCONCLUSIVE and "loopback" in (cmp.overall.note or "")
    gate = cmp.item("throughput/loopback/ipv4")
    assert gate is not None and gate.ratio is not None and gate.ratio.p == gate.ratio.p_adjusted  # judged alone
    assert cmp.overall.tests == len(cmp.items) - 1  # the family is the datapath metrics
    steady = compare_runs(make_run("a", dict(BASELINE, **{control: 40.0}), seed=1),
                          make_run("b", dict(BASELINE, **{control: 40.0, "stream/pod-to-pod-cross-node/ipv4": 10.0}),
                                   seed=2))
    assert steady.item("throughput/pod-to-pod-cross-node/ipv4").ratio.verdict is stats.Verdict.WORSE  # type: ignore[union-attr]


def test_ranks_and_medians_pointing_opposite_ways_warn_and_say_so() -> None:
    """B's cross-node throughput: 32 of 60 samples a little above A's median, 28 far below. Its median is
    higher, its ranks significantly lower: the comparison warns that it changed, not one way."""
    key = "throughput/pod-to-pod-cross-node/ipv4"

    def with_samples(run: BenchRun, samples: list[float]) -> BenchRun:
        metrics = tuple(m.model_copy(update={"samples": tuple(samples)}) if m.key == key else m for m in run.metrics)
        return run.model_copy(update={"metrics": metrics})

    a = with_samples(make_run("a", BASELINE, seed=1), [20 * 1.02 ** (i / 2) for i in range(-30, 30)])
    b = with_samples(make_run("b", BASELINE, seed=2),
                     [20.3 + 0.025 * i for i in range(32)] + [12 + 0.05 * i for i in range(28)])
    cmp = compare_runs(a, b)
    item = cmp.item(key)
    assert item is not None and item.ratio is not None and item.ratio.value > 1.02
    assert item.ratio.verdict is stats.Verdict.INCONCLUSIVE
    assert "B's samples rank below A's (P(B > A) 0.30" in (item.note or "")
    assert "but its median moved up (B/A 1.02" in (item.note or "")
    case = next(c for c in to_report(cmp).cases if c.name == key)
    assert case.outcome is Outcome.WARN and case.message.startswith("inconclusive: B/A 1.02")
    assert cmp.overall.verdict is stats.Verdict.INCONCLUSIVE
    assert "1 metric(s) changed by the rank test against the direction of their medians" in (cmp.overall.note or "")


def test_a_run_states_its_resolution_and_what_two_such_runs_resolve() -> None:
    run = make_run("a", BASELINE, seed=1)
    line = resolution_line(run)
    widths = sorted(m.half_width for m in run.metrics if m.metric in ("throughput", "latency-p50", "connections")
                    and m.half_width is not None)
    median = widths[len(widths) // 2]
    assert f"median ±{median:.1%}" in line and f"about ±{median * 2 ** 0.5:.1%} per metric" in line
    assert f"{len(widths)} of {len(widths)} probes met the target ±2.5%" in line  # make_run: every probe ci-target
