#!/usr/bin/env python3
"""Is `cilium-tune plan` as fast as the `helm template` it saves you from? (target: ratio <= 1.0)

Issue 8's target: `plan` (skyforge-dev, offline) takes no longer than `helm template` of the real
1.19.0-rc.1 chart with the same overlays. Both are whole processes, as a user runs them. The commands
are measured paired: each round runs every variant once, in a shuffled order (seeded), so load from
other processes on a shared machine falls on all of them alike. Printed per variant: median, the
interquartile range and the minimum; then the ratio of medians and the median of the per-round ratios
with its interquartile range.

    .venv/bin/python scripts/bench_plan.py [--rounds 21] [--chart CHART.tgz] [--helm HELM]
    .venv/bin/python scripts/bench_plan.py --also OTHER/.venv/bin/cilium-tune   # before/after, same run

Exits 1 when the median per-round ratio plan/helm is above 1.0; 0 (with a note) when the chart or helm
is not on this machine.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared/charts beside the repository (a git worktree one level deeper finds it too)
CHART = (
    next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT.parent / "shared")
    / "charts"
    / "cilium-1.19.0-rc.1.tgz"
)
PINNED_HELM = ROOT / "tools" / "bin" / "helm4"
OVERLAYS = ("cilium-values.yaml", "cilium-values-dualstack.yaml")
TARGET = 1.0


def quartiles(samples: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return q1, median, q3


# As a user runs it: Python may cache bytecode (without it every run compiles the package, ~3x slower).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of `argv`."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--helm", default=str(PINNED_HELM) if PINNED_HELM.exists() else shutil.which("helm"))
    parser.add_argument("--also", action="append", default=[], metavar="CILIUM_TUNE", help="another build to time")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    if not args.chart.exists() or not args.helm:
        print(f"skipped: needs {args.chart} and a helm binary")
        return 0

    exe = str(Path(sys.executable).parent / "cilium-tune")
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        work = Path(tmp)
        subprocess.run([exe, "render", "--out", "deploy"], cwd=work, check=True, capture_output=True, timeout=120)
        files = [arg for name in OVERLAYS for arg in ("-f", f"deploy/{name}")]
        variants = {
            "plan": [exe, "plan"],
            "helm template": [args.helm, "template", "cilium", str(args.chart), "-n", "kube-system", *files],
        }
        for index, other in enumerate(args.also, 1):
            variants[f"plan ({other})" if len(args.also) == 1 else f"plan #{index}"] = [other, "plan"]
        for argv in variants.values():  # warm the page and bytecode caches once; not counted
            timed(argv, work)
        wall: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        order = list(variants)
        shuffle = random.Random(args.seed).shuffle
        for _ in range(args.rounds):
            shuffle(order)
            for name in order:
                took, used = timed(variants[name], work)
                wall[name].append(took)
                cpu[name].append(used)

    width = max(len(name) for name in variants)
    print(f"{args.rounds} rounds, each variant once per round in shuffled order (seed {args.seed})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name in variants:
        q1, median, q3 = quartiles(wall[name])
        print(
            f"  {name:<{width}}  wall median {median * 1e3:5.0f} ms (IQR {q1 * 1e3:4.0f}-{q3 * 1e3:<4.0f}, "
            f"min {min(wall[name]) * 1e3:4.0f})  cpu median {statistics.median(cpu[name]) * 1e3:5.0f} ms"
        )
    ratio = report_ratios("wall", wall)
    report_ratios("cpu ", cpu)
    ok = ratio <= TARGET
    print(f"target: plan / helm template (wall, per-round median) <= {TARGET:.2f}: {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


def report_ratios(label: str, samples: dict[str, list[float]]) -> float:
    """Print plan/helm (and other builds/plan) as per-round ratios; return the plan/helm median."""
    plan, helm = samples["plan"], samples["helm template"]
    ratios = [p / h for p, h in zip(plan, helm, strict=True)]
    r1, ratio, r3 = quartiles(ratios)
    line = f"{label} plan / helm template: per-round median {ratio:.2f} (IQR {r1:.2f}-{r3:.2f})"
    for name, times in samples.items():
        if name.startswith("plan ") or name.startswith("plan #"):
            others = [t / p for t, p in zip(times, plan, strict=True)]
            line += f"; {name} / plan {statistics.median(others):.2f}"
    print(line)
    return ratio


if __name__ == "__main__":
    sys.exit(main())
