"""`cilium-tune demo --quick`, CI's smoke run of the README's main job, as a user runs it: a fresh lab, the
chart's defaults, a baseline, a bench, the tuned profile applied and verified, a second bench, the
comparison and the HTML report, the rollback, and the lab gone at the end.

It is the one test of the chain itself (the CLI commands the demo runs, with their flags, one after
another on one cluster); each step has its own tests elsewhere. About 55 s on an idle 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cilium_tune.lab import topology

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]


def test_the_quick_demo_tells_the_story_and_leaves_nothing_behind(root: None, helm4: Path) -> None:
    # A short directory: the lab's kubelet socket lives under it, and xdist's tmp_path can exceed the
    # 107 bytes a Unix socket path may have.
    with tempfile.TemporaryDirectory(prefix="ctdq-", dir="/tmp") as short:
        check_quick_demo(Path(short) / "demo-out", helm4)


def check_quick_demo(out: Path, helm4: Path) -> None:
    env = {**os.environ, "CILIUM_TUNE_HELM": str(helm4)}
    proc = subprocess.run([sys.executable, "-m", "cilium_tune", "demo", "--quick", "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=400, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    name = re.search(r"lab (ctdemo[0-9a-f]+) up", proc.stderr)
    assert name is not None
    assert topology.lab_namespaces(name.group(1)) == []  # the lab is down

    steps = [line.split("== ", 1)[1] for line in proc.stderr.splitlines() if "] == " in line]
    story = ["lab ctdemo", "install the chart's defaults", "cilium-tune baseline capture", "bench baseline",
             "cilium-tune apply -p lab", "cilium-tune verify", "bench tuned", "compare and write the report",
             "--quick: the netkit rehearsal is left out", "cilium-tune rollback", "lab down"]
    assert [s.split(". ", 1)[1][: len(want)] for s, want in zip(steps, story, strict=True)] == story
    assert "routing-mode=tunnel kube-proxy-replacement=false: the defaults again" in proc.stderr

    assert "cross-node pod throughput, tuned / baseline, IPv4:" in proc.stdout
    assert re.search(r"^verdict, tuned vs baseline: [a-z ]+ \(", proc.stdout, re.M)
    html = Path(proc.stdout.rsplit("report: ", 1)[1].strip())
    assert html == (out / "report.html").resolve() and "<img" in html.read_text()
    for label in ("baseline", "tuned"):
        run = json.loads((out / label / "run.json").read_text())
        throughput = {m["scenario"]: m for m in run["metrics"] if m["metric"] == "throughput"}
        assert len(throughput["pod-to-pod-cross-node"]["samples"]) >= 2 and throughput["host-to-host"]["median"] > 0
    verify = json.loads((out / "verify.report.json").read_text())
    assert verify["summary"]["fail"] == 0
    assert (out / "plan.txt").read_text().startswith("Release kube-system/cilium: chart ")
