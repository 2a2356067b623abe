"""The report directory: Markdown, PNG plots and one self-contained HTML page, checked in real headless
Chromium (Debian's package): it renders, and the figures are in the page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bench_runs import BASELINE, TUNED, make_run

from cilium_tune.bench.results import save_run
from cilium_tune.report.json import render_report
from cilium_tune.report.model import Case, Outcome, Report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory as `cilium-tune demo` leaves it: two runs, the plan, a verify report."""
    out = tmp_path_factory.mktemp("demo")
    save_run(make_run("baseline", BASELINE, seed=1), out / "baseline")
    save_run(make_run("tuned", TUNED, seed=2), out / "tuned")
    (out / "plan.txt").write_text("helm upgrade cilium <chart> -f deploy/cilium-values.yaml\n")
    verify = Report("verify", "verify", (Case("dual-stack/pod-to-pod/ipv6", Outcome.PASS, "reached"),
                                          Case("kube-proxy/iptables/lab-1", Outcome.FAIL, "KUBE-SVC chains left")))
    (out / "verify.report.json").write_text(render_report(verify))
    return out


def test_report_writes_markdown_plots_and_a_self_contained_page(demo_dir: Path, cli: Callable[..., Any]) -> None:
    result = cli("report", str(demo_dir), "--html")
    assert result.code == 0, result.err
    assert {Path(p).name for p in result.out.split()} == {
        "report.md", "throughput.png", "latency.png", "churn.png", "ratios.png", "report.html"}
    page = (demo_dir / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from a network
    assert "&lt;chart&gt;" in page and "<chart>" not in page  # input is escaped
    assert "kube-proxy/iptables/lab-1" in page and "KUBE-SVC chains left" in page
    assert "Verdict: <b>better</b>" in page and "Holm-adjusted rank tests" in page
    assert (demo_dir / "plots" / "churn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (demo_dir / "report.md").read_text()
    assert "### bench compare: tuned vs baseline" in md and "### verify" in md


def test_report_of_a_directory_without_runs_is_bad_input(tmp_path: Path, cli: Callable[..., Any]) -> None:
    result = cli("report", str(tmp_path))
    assert result.code == 2 and "no run.json" in result.err


def test_the_page_renders_in_headless_chromium_with_its_figures(demo_dir: Path, cli: Callable[..., Any]) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        reason = "chromium is not installed (scripts/install-system-packages.sh)"
        if os.environ.get("CILIUM_TUNE_REQUIRE_ALL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    cli("report", str(demo_dir), "--html")
    page = (demo_dir / "report.html").resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        flags = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=60, check=True)
        shot = demo_dir / "shot.png"
        subprocess.run([*flags, "--window-size=1200,1600", f"--screenshot={shot}", page], capture_output=True,
                       timeout=60, check=True)
    figures = re.findall(r'<figure id="fig-(\w+)"><img alt="[^"]*" src="data:image/png;base64,', dom.stdout)
    assert figures == ["throughput", "latency", "churn", "ratios"]
    assert "Headline" in dom.stdout
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a blank page compresses to a few kB
