#!/usr/bin/env python3
"""Measure issue #11's "Targets on the lab" with the bench itself, on one 2-node lab, and judge each.

The cluster is driven only through the tool's own commands, as a user would: `lab up`, helm install of
the chart's defaults, `baseline capture`, `apply -p lab -f veth.yaml [-f no-big-tcp.yaml]`, `rollback`,
and `bench run` per configuration. The configurations run in the order

    defaults -> native -> tuned -> native -> defaults      (an ABCBA design: linear drift cancels)

    defaults  the chart's: VXLAN tunnel, veth, kube-proxy iptables rules, iptables masquerade
    native    the tuned lab profile (veth) without IPv4 BIG TCP: native routing, KPR, BPF masquerade
    tuned     the tuned lab profile (veth): native + IPv4 BIG TCP (what the demo applies)

Each run measures host-to-host and cross-node pod throughput (IPv4, IPv6) and the loopback drift
control; the first `defaults` and `native` runs also measure churn (TCP_CRR to a ClusterIP with
0/1,000/5,000 other Services). Ratios between configurations pool the two runs of a configuration that
brackets the other (native/defaults: both natives against both defaults; BIG TCP: tuned against both
natives); within-run ratios (pod/host, IPv4/IPv6, churn levels) need no pooling. The load average is
recorded at the start and end of every run. Needs root; takes 15-25 minutes on a quiet 2-core machine.
`--churn-only` runs just the churn: `defaults-1` then `native-1`, each measuring only the churn scenario.

    sudo .venv/bin/python scripts/lab_physics.py -o physics-out [--budget 40s] [--skip-churn]
    sudo .venv/bin/python scripts/lab_physics.py -o churn-out --churn-only [--churn-samples 12]
    .venv/bin/python scripts/lab_physics.py --analyse physics-out [more-out ...]   # the tables again, pooled
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cilium_tune.bench import stats
from cilium_tune.bench.results import BenchRun, load_run
from cilium_tune.profile import load_profile

STREAMS = ["stream/host-to-host/*", "stream/pod-to-pod-cross-node/*"]
CHURN = ["churn/*/ipv4"]
SEQUENCE = [("defaults-1", "defaults", True), ("native-1", "native", True), ("tuned", "tuned", False),
            ("native-2", "native", False), ("defaults-2", "defaults", False)]


def tool(*args: str, env: dict[str, str], timeout: float = 900) -> str:
    """The tool's own command; its progress goes to our stderr, its output is returned."""
    print(f"$ cilium-tune {' '.join(args)}", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "cilium_tune", *args], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, **env}, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cilium-tune {' '.join(args[:2])} failed with exit {done.returncode}")
    return done.stdout


def wait_agents_ready(env: dict[str, str], nodes: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    kubectl = ["kubectl", "-n", "kube-system", "get", "pods", "-l", "k8s-app=cilium", "-o", "json"]
    while time.monotonic() < deadline:
        done = subprocess.run(kubectl, capture_output=True, text=True, env={**os.environ, **env}, timeout=30,
                              check=False)
        pods = json.loads(done.stdout or "{}").get("items", []) if done.returncode == 0 else []
        ready = [p for p in pods if not p["metadata"].get("deletionTimestamp") and any(
            c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]
        if len(pods) == nodes and len(ready) == nodes:
            return
        time.sleep(1)
    raise SystemExit(f"the agents were not ready within {timeout:g} s")


def measure(out: Path, args: argparse.Namespace) -> None:
    name = "phy" + secrets.token_hex(2)
    lab_dir = out / ".lab"
    state = ["--state-dir", str(out / "state")]
    out.mkdir(parents=True, exist_ok=True)
    lab = ["--name", name, "--lab-dir", str(lab_dir)]
    loads: dict[str, list[float]] = {}
    tool("lab", "up", *lab, "--nodes", "2", "--gateway-crds", "standard", env={})
    try:
        env = {"KUBECONFIG": tool("lab", "kubeconfig", *lab, env={}).strip(),
               "HELM_CACHE_HOME": str(lab_dir / "helm-cache"), "HELM_CONFIG_HOME": str(lab_dir / "helm-config"),
               "HELM_DATA_HOME": str(lab_dir / "helm-data")}
        chart = load_profile("lab").release.chart_argument
        subprocess.run(["helm", "upgrade", "--install", "cilium", chart, "-n", "kube-system", "--wait", "--timeout",
                        "2m"], check=True, env={**os.environ, **env}, timeout=300, stdout=subprocess.DEVNULL)
        wait_agents_ready(env, 2)
        tool("baseline", "capture", *state, env=env)
        baseline = max((out / "state" / "baselines").iterdir(), key=lambda p: p.stat().st_mtime)
        (out / "veth.yaml").write_text("bpf:\n  datapathMode: veth  # this kernel has no CONFIG_NETKIT\n")
        (out / "no-big-tcp.yaml").write_text("enableIPv4BIGTCP: false\n")
        tuned = ["-p", "lab", "-f", str(out / "veth.yaml")]
        current = "defaults"
        sequence = [step for step in SEQUENCE if step[2]] if args.churn_only else SEQUENCE
        for label, config, churn in sequence:
            if config != current:
                if config == "defaults":
                    tool("rollback", "--to", str(baseline), "-p", "lab", "--yes", *state, env=env)
                else:
                    extra = ["-f", str(out / "no-big-tcp.yaml")] if config == "native" else []
                    tool("apply", *tuned, *extra, "--yes", "--no-probe-nodes", *state, env=env)
                wait_agents_ready(env, 2)
                current = config
            if args.skip_churn:
                churn = False
            globs = [] if args.churn_only else STREAMS
            scenario = [a for glob in globs + (CHURN if churn else []) for a in ("--scenario", glob)]
            loads[label] = [os.getloadavg()[0]]
            tool("bench", "run", "-p", "lab", "-o", str(out / label), "--label", label, *scenario,
                 "--budget", args.budget, "--seed", str(args.seed), "--churn-samples", str(args.churn_samples),
                 env=env, timeout=3600)
            loads[label].append(os.getloadavg()[0])
            (out / "loads.json").write_text(json.dumps(loads, indent=1) + "\n")
    finally:
        tool("lab", "down", *lab, env={})


def _samples(run: BenchRun, key: str) -> list[float]:
    metric = run.metric(key)
    return list(metric.samples) if metric is not None else []


def _ratio(den: list[float], num: list[float], key: str) -> str:
    if not den or not num:
        return "not measured"
    r = stats.ratio_ci(den, num, key=key)
    return f"{r.value:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"


def _double(num_a: list[float], den_a: list[float], num_b: list[float], den_b: list[float]) -> str:
    """(num_b/den_b) / (num_a/den_a) of medians, each set resampled independently: a ratio with its own
    within-run control, so the drift between runs cancels as far as it moves both metrics alike."""
    sets = [np.asarray(v, dtype=float) for v in (num_a, den_a, num_b, den_b)]
    if any(v.size == 0 for v in sets):
        return "not measured"
    rng = np.random.default_rng(1)
    boots = [np.median(v[rng.integers(0, v.size, size=(4000, v.size))], axis=1) for v in sets]
    ratio = (boots[2] / boots[3]) / (boots[0] / boots[1])
    value = (np.median(sets[2]) / np.median(sets[3])) / (np.median(sets[0]) / np.median(sets[1]))
    low, high = np.quantile(ratio, [0.025, 0.975])
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def _median(values: list[float]) -> str:
    if not values:
        return "-"
    est = stats.median_ci(values)
    return f"{_num(est.median)} [{_num(est.ci_low)}, {_num(est.ci_high)}]"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def analyse(outs: list[Path]) -> None:
    """The tables over one or more output directories (runs of a configuration pooled across them)."""
    runs: dict[str, BenchRun] = {}
    loads: dict[str, list[float]] = {}
    for out in outs:
        tag = f"{out.name}/" if len(outs) > 1 else ""
        runs.update({tag + label: load_run(out / label / "run.json") for label, _, _ in SEQUENCE
                     if (out / label / "run.json").exists()})
        if (out / "loads.json").exists():
            loads.update({tag + k: v for k, v in json.loads((out / "loads.json").read_text()).items()})

    def config(label: str) -> str:
        return label.rsplit("/", 1)[-1].split("-")[0]

    def pooled(prefix: str, key: str) -> list[float]:
        return [v for label, run in runs.items() if config(label) == prefix for v in _samples(run, key)]

    tp = "throughput/{}/ipv{}"
    print("| run | load avg (start-end) | host-to-host v4 / v6 Gbit/s | pod-to-pod cross-node v4 / v6 Gbit/s "
          "| loopback v4 |")
    print("|---|---|---|---|---|")
    for label, run in runs.items():
        cells = [" / ".join(_median(_samples(run, tp.format(s, f))) for f in (4, 6))
                 for s in ("host-to-host", "pod-to-pod-cross-node")]
        load = "-".join(f"{x:.1f}" for x in loads.get(label, []))
        print(f"| {label} | {load} | {cells[0]} | {cells[1]} | {_median(_samples(run, tp.format('loopback', 4)))} |")
    print()
    print("| target | measured (median ratio, 95% bootstrap CI) |")
    print("|---|---|")
    for fam in (4, 6):
        pod, host = tp.format("pod-to-pod-cross-node", fam), tp.format("host-to-host", fam)
        print(f"| native vs VXLAN, pod-to-pod cross-node IPv{fam} (test bed 1.24x) | "
              f"{_ratio(pooled('defaults', pod), pooled('native', pod), pod)} |")
    for fam in (4, 6):
        pod, host = tp.format("pod-to-pod-cross-node", fam), tp.format("host-to-host", fam)
        ratio = _double(pooled("defaults", pod), pooled("defaults", host), pooled("native", pod),
                        pooled("native", host))
        print(f"| the same, each run's pod/host (routing-independent ceiling as the control), IPv{fam} | {ratio} |")
    for s in ("pod-to-pod-cross-node", "host-to-host"):
        key = tp.format(s, 4)
        v6 = tp.format(s, 6)
        print(f"| IPv4 BIG TCP on native, {s}, each run's IPv4/IPv6 (IPv6 as the control) | "
              f"{_double(pooled('native', key), pooled('native', v6), pooled('tuned', key), pooled('tuned', v6))} |")
        print(f"| IPv4 BIG TCP on native, {s} IPv4 (test bed 1.25x) | "
              f"{_ratio(pooled('native', key), pooled('tuned', key), key)} |")
        v6 = tp.format(s, 6)
        print(f"| the same, IPv6 (no BIG TCP: the control) | {_ratio(pooled('native', v6), pooled('tuned', v6), v6)} |")
    for fam in (4, 6):
        pod, host = tp.format("pod-to-pod-cross-node", fam), tp.format("host-to-host", fam)
        for prefix, what in (("native", "native pod-to-pod / host-to-host (test bed 0.8)"),
                             ("tuned", "tuned pod-to-pod / host-to-host (goal >= 0.85)"),
                             ("defaults", "defaults (VXLAN) pod-to-pod / host-to-host")):
            pairs = [_ratio(_samples(r, host), _samples(r, pod), f"{pod}|{host}") for label, r in runs.items()
                     if config(label) == prefix]
            print(f"| {what}, IPv{fam}, per run | {'; '.join(pairs)} |")
        print(f"| tuned / defaults, cross-node pod IPv{fam} (goal >= 1.2x) | "
              f"{_ratio(pooled('defaults', pod), pooled('tuned', pod), pod)} |")
    conn = "connections/pod-to-local-service@{}/ipv4"
    for label, run in runs.items():
        if not _samples(run, conn.format(0)):
            continue
        rates = ", ".join(f"{n:,}: {_median(_samples(run, conn.format(n)))}" for n in (0, 1000, 5000))
        ratios = ", ".join(f"{n:,}/0: {_ratio(_samples(run, conn.format(0)), _samples(run, conn.format(n)), str(n))}"
                           for n in (1000, 5000))
        print(f"| TCP_CRR to a ClusterIP by Service count, {label} (test bed iptables 10.1k/7.9k/5.5k) | "
              f"{rates}; {ratios} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=Path("physics-out"))
    parser.add_argument("--budget", default="40s", help="bench run --budget (sampling time per scenario)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--churn-samples", type=int, default=3, help="bench run --churn-samples (per visit)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--skip-churn", action="store_true")
    only.add_argument("--churn-only", action="store_true", help="only the churn scenario, in defaults-1 and native-1")
    parser.add_argument("--analyse", type=Path, nargs="+", help="only print the tables of earlier output directories")
    args = parser.parse_args()
    if args.analyse:
        analyse(args.analyse)
        return 0
    if os.geteuid() != 0:
        print("error: needs root (the lab)", file=sys.stderr)
        return 2
    measure(args.out, args)
    analyse([args.out])
    return 0


if __name__ == "__main__":
    sys.exit(main())
