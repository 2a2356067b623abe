#!/usr/bin/env python3
"""Benchmark the values engine: load and merge four values files of 5,000 keys each.

Target (issue 8, tightened from issue 2's 1 s): load + merge (with provenance) of four 5,000-key files
under 0.3 s. The files are generated (seeded): nested maps three levels deep, lists, nulls, YAML 1.1
scalars and quoted strings, with about half the keys shared between files so the merge really overrides.
Prints min / median / max of `--runs` runs for each stage, the CPU time of load + merge beside its wall
time (on a shared machine the CPU time is the steadier of the two) and the load average, and exits 1
when the median total (wall) misses the target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cilium_tune.values import diff_values, load_values, merge_values
from cilium_tune.values.catalogs import catalog_for_version

TARGET_S = 0.3
SCALARS = ["yes", "off", "~", "0x1F", "012", "1e3", "1_000", "2001-12-14", '"quoted"', "plain text", "1.5"]


def generate(seed: int, keys: int) -> str:
    """A values file with `keys` leaf keys: sections > groups > leaves, like a large chart's values."""
    rng = random.Random(seed)
    lines: list[str] = []
    written = 0
    section = 0
    while written < keys:
        lines.append(f"section{section}:")
        for group in range(10):
            lines.append(f"  group{group}:")
            names = rng.sample(range(20), 10) if seed else range(10)  # files share about half the names
            for index in names:
                if written >= keys:
                    break
                if rng.random() < 0.1:
                    lines.append(f"    list{index}: [a, b, {rng.randrange(100)}]")
                else:
                    lines.append(f"    key{index}: {rng.choice(SCALARS)}")
                written += 1
        section += 1
    return "\n".join(lines) + "\n"


CPU: list[float] = []  # CPU time of each timed action, in order


def timed(action: object) -> tuple[float, object]:
    start, cpu = time.perf_counter(), time.process_time()
    result = action()  # type: ignore[operator]
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=5000, help="leaf keys per file (default 5000)")
    parser.add_argument("--files", type=int, default=4, help="number of files (default 4)")
    parser.add_argument("--runs", type=int, default=5, help="repetitions (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-values-") as tmp:
        paths = []
        for index in range(args.files):
            path = Path(tmp) / f"values{index}.yaml"
            path.write_text(generate(index, args.keys))
            paths.append(path)
        sizes = sum(path.stat().st_size for path in paths)
        chart = Path(tmp) / "chart-values.yaml"  # chart defaults of the same size, with null defaults
        chart.write_text(generate(99, args.keys).replace("~", "null"))
        defaults = load_values(chart)
        stages: dict[str, list[float]] = {
            "load": [],
            "merge+provenance": [],
            "merge over chart": [],
            "diff": [],
            "key catalog": [],
            "total": [],
            "total (cpu)": [],
        }
        for _ in range(args.runs):
            load_s, layers = timed(lambda: [load_values(path) for path in paths])
            merge_s, merged = timed(lambda: merge_values(layers))  # type: ignore[arg-type]  # noqa: B023
            stages["total (cpu)"].append(CPU[-2] + CPU[-1])
            chart_s, _ = timed(lambda: merge_values(layers, defaults))  # type: ignore[arg-type]  # noqa: B023
            stages["merge over chart"].append(chart_s)
            diff_s, _ = timed(lambda: diff_values(layers[0].values, merged.values))  # type: ignore[attr-defined]  # noqa: B023
            stages["load"].append(load_s)
            stages["merge+provenance"].append(merge_s)
            stages["diff"].append(diff_s)
            stages["total"].append(load_s + merge_s)
            catalog_for_version.cache_clear()  # a cold catalog: what one command pays once
            catalog_s, _ = timed(lambda: catalog_for_version("1.19.0-rc.1"))
            stages["key catalog"].append(catalog_s)
        leaves = sum(1 for _ in merged.leaves())  # type: ignore[attr-defined]

    print(f"{args.files} files x {args.keys} keys ({sizes / 1024:.0f} KiB), {leaves} merged leaves, {args.runs} runs")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, samples in stages.items():
        print(
            f"  {name:17s} min {min(samples) * 1000:7.1f} ms   median {statistics.median(samples) * 1000:7.1f} ms"
            f"   max {max(samples) * 1000:7.1f} ms"
        )
    median = statistics.median(stages["total"])
    verdict = "ok" if median < TARGET_S else "MISSED"
    cpu = statistics.median(stages["total (cpu)"])
    print(f"load + merge median {median:.3f} s, cpu {cpu:.3f} s (target < {TARGET_S:.1f} s): {verdict}")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
