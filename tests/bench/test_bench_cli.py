"""`bench compare` on saved runs: the table, the exit codes, JSON and Markdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench_runs import BASELINE, TUNED, make_run

from cilium_tune.bench.results import save_run


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    save_run(make_run("baseline", BASELINE, seed=1), base / "baseline")
    save_run(make_run("tuned", TUNED, seed=2), base / "tuned")
    save_run(make_run("slower", dict(BASELINE, **{"stream/pod-to-pod-cross-node/ipv4": 12.0}), seed=3), base / "slower")
    return base / "baseline", base / "tuned", base / "slower"


def test_compare_prints_ratios_verdicts_and_the_headline(runs: tuple[Path, Path, Path]) -> None:
    result = cli("bench", "compare", str(runs[0]), str(runs[1]))
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("throughput/pod-to-pod-cross-node/ipv4"))
    assert line.endswith("better")
    assert "cross-node pod throughput / host ceiling, IPv4: 0.8" in result.stdout


def test_fail_if_worse_exits_1(runs: tuple[Path, Path, Path]) -> None:
    assert cli("bench", "compare", str(runs[0]), str(runs[2])).returncode == 0
    result = cli("bench", "compare", str(runs[0]), str(runs[2]), "--fail-if-worse", "5%")
    assert result.returncode == 1
    assert "error: a metric got worse by more than 5%" in result.stderr


def test_json_and_markdown(runs: tuple[Path, Path, Path]) -> None:
    doc = json.loads(cli("bench", "compare", str(runs[0]), str(runs[1]), "-o", "json").stdout)
    assert doc["kind"] == "bench-compare" and doc["meta"]["headline"]["pod-vs-host/ipv4"]["ratio"] > 0.7
    md = cli("bench", "compare", str(runs[0]), str(runs[1]), "-o", "markdown").stdout
    assert md.startswith("### bench compare: tuned vs baseline")


def test_bad_input_is_exit_2_without_traceback(tmp_path: Path, runs: tuple[Path, Path, Path]) -> None:
    result = cli("bench", "compare", str(tmp_path / "nope"), str(runs[1]))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no such bench result" in result.stderr
    assert cli("bench", "compare", str(runs[0]), str(runs[1]), "--fail-if-worse", "x").returncode == 2
