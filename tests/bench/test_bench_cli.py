"""`bench compare` on saved runs: the table, the exit codes, JSON and Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bench_runs import BASELINE, TUNED, make_run

from cilium_tune.bench.results import save_run

Cli = Callable[..., Any]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    save_run(make_run("baseline", BASELINE, seed=1), base / "baseline")
    save_run(make_run("tuned", TUNED, seed=2), base / "tuned")
    save_run(make_run("slower", dict(BASELINE, **{"stream/pod-to-pod-cross-node/ipv4": 12.0}), seed=3), base / "slower")
    return base / "baseline", base / "tuned", base / "slower"


def test_compare_prints_ratios_verdicts_and_the_headline(runs: tuple[Path, Path, Path], cli: Cli) -> None:
    result = cli("bench", "compare", str(runs[0]), str(runs[1]))
    assert result.code == 0, result.err
    line = next(ln for ln in result.out.splitlines() if ln.startswith("throughput/pod-to-pod-cross-node/ipv4"))
    assert line.endswith("better")
    assert "cross-node pod throughput / host ceiling, IPv4: 0.8" in result.out
    pod_vs_host = next(ln for ln in result.out.splitlines() if "/ host ceiling, IPv4:" in ln)
    assert pod_vs_host.endswith(", not tested")  # a within-run ratio: no test judged it
    assert "\nverdict: better (" in result.out and "decided by Holm-adjusted" in result.out
    same = cli("bench", "compare", str(runs[0]), str(runs[0]))
    assert "\nverdict: no significant difference (" in same.out


def test_fail_if_worse_exits_1(runs: tuple[Path, Path, Path], cli: Cli) -> None:
    assert cli("bench", "compare", str(runs[0]), str(runs[2])).code == 0
    result = cli("bench", "compare", str(runs[0]), str(runs[2]), "--fail-if-worse", "5%")
    assert result.code == 1
    assert "error: a metric got worse by more than 5%" in result.err


def test_json_and_markdown(runs: tuple[Path, Path, Path], cli: Cli) -> None:
    doc = json.loads(cli("bench", "compare", str(runs[0]), str(runs[1]), "-o", "json").out)
    assert doc["kind"] == "bench-compare" and doc["meta"]["headline"]["pod-vs-host/ipv4"]["ratio"] > 0.7
    assert doc["meta"]["verdict"]["overall"] == "better" and doc["meta"]["verdict"]["alpha"] == 0.05
    case = doc["cases"]["throughput/pod-to-pod-cross-node/ipv4"]
    assert case["evidence"]["p_holm"] <= 0.05 and case["evidence"]["p"] <= case["evidence"]["p_holm"]
    md = cli("bench", "compare", str(runs[0]), str(runs[1]), "-o", "markdown").out
    assert md.startswith("### bench compare: tuned vs baseline")


def test_bad_input_is_exit_2_without_traceback(tmp_path: Path, runs: tuple[Path, Path, Path], cli: Cli) -> None:
    result = cli("bench", "compare", str(tmp_path / "nope"), str(runs[1]))
    assert result.code == 2 and "Traceback" not in result.err
    assert "no such bench result" in result.err
    assert cli("bench", "compare", str(runs[0]), str(runs[1]), "--fail-if-worse", "x").code == 2
