#!/usr/bin/env python3
"""The repeatability experiment of issue 11: `bench compare` of two runs of one configuration must say
"no significant difference" in at least 9 of 10 repetitions.

On a fresh 2-node lab with the stand-in chart's defaults (VXLAN tunnel, veth, iptables kube-proxy), run
`cilium-tune bench run` 2 x PAIRS times back to back (the same configuration throughout, a different
seed each run), then `cilium-tune bench compare` each consecutive pair (runs 1-2, 3-4, ...), as a user
would. Default selection, as docs/bench.md's first experiment: host-to-host and cross-node pod-to-pod,
stream and TCP_RR, IPv4, plus the loopback drift control: 11 metrics (`--budget` per scenario: 15 s then).
The machine's 1-minute load average is read before and after every run.

Prints (and writes to OUT/summary.md and OUT/summary.json): the load average, the whole-comparison
verdicts x of PAIRS, per-metric counts, the same data judged by the old rule (each metric at 95% on its
own: bootstrap CI excludes 1 and the ratio moved by 2%), the resolution each metric's comparison had (the
median half-width of its 95% CI of B/A: what it could have seen), and each pair's loopback and throughput
ratios.
Needs root. Not a `bench_*.py` script: at about a minute a run it is too long for `make bench`.

    sudo .venv/bin/python scripts/same_config.py -o same-config [--pairs 10] [--budget 20s]
    .venv/bin/python scripts/same_config.py -o same-config --compare-only   # judge the stored runs again
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cilium_tune.lab import cluster

SELECTION = ["--scenario", "host-to-host", "--scenario", "pod-to-pod-cross-node", "--tests", "stream,rr",
             "--families", "4"]
OLD_MIN_EFFECT = 0.02


def cilium_tune(args: list[str], kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run([sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True, env=env,
                          timeout=900, check=False)


def run_all(out: Path, pairs: int, budget: str, kubeconfig: Path) -> list[dict[str, Any]]:
    runs = []
    for i in range(1, 2 * pairs + 1):
        before = os.getloadavg()[0]
        t0 = time.monotonic()
        proc = cilium_tune(["bench", "run", "-o", str(out / f"run-{i:02d}"), "--label", f"run-{i:02d}",
                            "--profile", "lab", "--budget", budget, "--seed", str(1000 + i), *SELECTION], kubeconfig)
        if proc.returncode != 0:
            raise SystemExit(f"bench run {i} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        runs.append({"run": i, "load_before": before, "load_after": os.getloadavg()[0],
                     "seconds": round(time.monotonic() - t0, 1)})
        print(f"run {i:2d}: {runs[-1]['seconds']:5.1f} s, load {before:.1f} -> {runs[-1]['load_after']:.1f}",
              flush=True)
    return runs


def compare_all(out: Path, pairs: int, kubeconfig: Path) -> list[dict[str, Any]]:
    """`bench compare` reads only the two runs' files: the cluster is not needed any more."""
    docs = []
    for k in range(pairs):
        a, b = out / f"run-{2 * k + 1:02d}", out / f"run-{2 * k + 2:02d}"
        proc = cilium_tune(["bench", "compare", str(a), str(b), "-o", "json"], kubeconfig)
        if proc.returncode != 0:
            raise SystemExit(f"bench compare {a.name} {b.name} failed:\n{proc.stderr[-2000:]}")
        (out / f"compare-{k + 1:02d}.json").write_text(proc.stdout)
        docs.append(json.loads(proc.stdout))
    return docs


def summarize(runs: list[dict[str, Any]], docs: list[dict[str, Any]]) -> dict[str, Any]:
    overall = Counter(d["meta"]["verdict"]["overall"] for d in docs)
    per_metric: dict[str, Counter[str]] = {}
    resolution: dict[str, list[float]] = {}
    old_same = Counter[str]()
    samples: list[int] = []
    pair_rows = []
    for d in docs:
        ratios = {}
        for name, case in d["cases"].items():
            ratio = next((m for m in case["measurements"] if m["name"] == "B/A"), None)
            if ratio is None:
                continue
            verdict = case["message"].split(":", 1)[0]
            per_metric.setdefault(name, Counter())[verdict] += 1
            excludes_one = ratio["ci_low"] > 1 or ratio["ci_high"] < 1
            old_same[name] += not (excludes_one and abs(ratio["value"] - 1) >= OLD_MIN_EFFECT)
            ratios[name] = round(ratio["value"], 3)
            resolution.setdefault(name, []).append(case["evidence"]["resolution"])
            samples += [case["evidence"]["a.samples"], case["evidence"]["b.samples"]]
        pair_rows.append({"a": d["meta"]["a"], "b": d["meta"]["b"], "verdict": d["meta"]["verdict"]["overall"],
                          "ratios": ratios})
    loads = [r["load_before"] for r in runs] + [r["load_after"] for r in runs]
    metrics = sorted(per_metric)
    return {
        "pairs": len(docs),
        "load_average_1m": {"min": round(min(loads), 1), "max": round(max(loads), 1),
                            "median": round(sorted(loads)[len(loads) // 2], 1)},
        "run_seconds": [r["seconds"] for r in runs],
        "samples_per_metric": {"min": min(samples), "max": max(samples)},
        "whole_comparisons": dict(overall),
        "whole_same": overall.get("no significant difference", 0),
        "metric_comparisons": sum(sum(c.values()) for c in per_metric.values()),
        "metric_same": sum(c.get("no significant difference", 0) for c in per_metric.values()),
        "per_metric": {m: dict(per_metric[m]) for m in metrics},
        "resolution": {m: round(sorted(resolution[m])[len(resolution[m]) // 2], 4) for m in metrics},
        "old_rule": {"whole_same": sum(all(_old_same(row, m) for m in metrics) for row in docs),
                     "metric_same": sum(old_same.values()), "per_metric": {m: old_same[m] for m in metrics}},
        "pair_ratios": pair_rows,
    }


def _old_same(doc: dict[str, Any], metric: str) -> bool:
    case = doc["cases"].get(metric)
    ratio = next((m for m in (case or {}).get("measurements", []) if m["name"] == "B/A"), None)
    if ratio is None:
        return True
    return not ((ratio["ci_low"] > 1 or ratio["ci_high"] < 1) and abs(ratio["value"] - 1) >= OLD_MIN_EFFECT)


def markdown(s: dict[str, Any]) -> str:
    n = s["pairs"]
    lines = [
        f"load average (1 min) during the runs: {s['load_average_1m']['min']}-{s['load_average_1m']['max']} "
        f"(median {s['load_average_1m']['median']}); a run took {min(s['run_seconds'])}-{max(s['run_seconds'])} s "
        f"and had {s['samples_per_metric']['min']}-{s['samples_per_metric']['max']} samples per metric",
        "",
        "| | family-wise verdict (now) | each metric at 95% (old rule) |",
        "|---|---|---|",
        f"| whole comparisons \"no significant difference\" | {s['whole_same']} of {n} | "
        f"{s['old_rule']['whole_same']} of {n} |",
        f"| single metric comparisons \"no significant difference\" | {s['metric_same']} of "
        f"{s['metric_comparisons']} | {s['old_rule']['metric_same']} of {s['metric_comparisons']} |",
        "",
        "whole-comparison verdicts: " + ", ".join(f"{v} {k}" for k, v in sorted(s["whole_comparisons"].items())),
        "",
        "| metric | verdicts (now) | same by the old rule | resolution (median ± of B/A, 95%) |",
        "|---|---|---|---|",
    ]
    for metric, counts in s["per_metric"].items():
        lines.append(f"| `{metric}` | {', '.join(f'{v} {k}' for k, v in sorted(counts.items()))} | "
                     f"{s['old_rule']['per_metric'][metric]} of {n} | ±{s['resolution'][metric]:.1%} |")
    lines += ["", "| pair | verdict | loopback B/A | host-to-host B/A | cross-node pod B/A |", "|---|---|---|---|---|"]
    for row in s["pair_ratios"]:
        r = row["ratios"]
        lines.append(f"| {row['a']} / {row['b']} | {row['verdict']} | {r.get('throughput/loopback/ipv4', '-')} | "
                     f"{r.get('throughput/host-to-host/ipv4', '-')} | "
                     f"{r.get('throughput/pod-to-pod-cross-node/ipv4', '-')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, required=True, help="directory for the runs and the summary")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--budget", default="20s", help="bench run --budget (per scenario)")
    parser.add_argument("--compare-only", action="store_true", help="compare the runs already in OUT again")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.compare_only:  # judge stored runs again, e.g. after a change to the statistics
        runs = json.loads((out / "runs.json").read_text())
        docs = compare_all(out, len(runs) // 2, Path(os.devnull))
    else:
        name = "sc" + secrets.token_hex(3)
        with tempfile.TemporaryDirectory(prefix="same-config-") as base:
            print(f"lab {name}: 2 nodes, the stand-in chart's defaults", flush=True)
            lab = cluster.up(name, nodes=2, base_dir=Path(base), gateway_crds="none", chart=cluster.LAB_CHART)
            try:
                runs = run_all(out, args.pairs, args.budget, lab.kubeconfig)
            finally:
                cluster.down(name, base_dir=Path(base))
        (out / "runs.json").write_text(json.dumps(runs, indent=2) + "\n")
        docs = compare_all(out, args.pairs, Path(os.devnull))
    summary = summarize(runs, docs)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = markdown(summary)
    (out / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
