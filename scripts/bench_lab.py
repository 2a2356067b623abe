#!/usr/bin/env python3
"""Benchmark the lab's life cycle: `lab up` of N nodes, M pods to Running, `lab down`.

Targets from the issue: up of 3 nodes < 5 s, 20 pods Running < 5 s, down < 2 s. Needs root.
Each round uses its own instance name and state directory, and checks nothing is left after down.

    sudo .venv/bin/python scripts/bench_lab.py [--rounds 3] [--nodes 3] [--pods 20] [-o json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Pod

from cilium_tune.lab import cluster


def pod(name: str) -> Pod:
    return cast(Pod, Pod.from_dict({
        "metadata": {"name": name, "namespace": "default",
                     "labels": {"app.kubernetes.io/managed-by": "cilium-tune", "bench": "lab"}},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}],
                 "terminationGracePeriodSeconds": 1},
    }))


def one_round(nodes: int, pods: int, base: Path) -> dict[str, float]:
    name = "b" + secrets.token_hex(4)
    t0 = time.perf_counter()
    instance = cluster.up(name, nodes=nodes, base_dir=base)
    t_up = time.perf_counter() - t0
    try:
        with Client(KubeConfig.from_file(instance.kubeconfig), field_manager="bench") as client:
            t1 = time.perf_counter()
            for i in range(pods):
                client.create(pod(f"bench-{i}"))
            deadline = t1 + 60
            while True:
                running = [p for p in client.list(Pod, namespace="default", labels={"bench": "lab"})
                           if p.status and p.status.phase == "Running"]
                if len(running) == pods:
                    break
                if time.perf_counter() > deadline:
                    raise SystemExit(f"only {len(running)}/{pods} pods Running after 60 s")
                time.sleep(0.05)
            t_pods = time.perf_counter() - t1
    finally:
        t2 = time.perf_counter()
        cluster.down(name, base_dir=base, purge=True)
        t_down = time.perf_counter() - t2
    left = cluster.leftovers(name, base_dir=base)
    if left:
        raise SystemExit(f"left behind after down: {left}")
    return {"up_s": t_up, "pods_running_s": t_pods, "down_s": t_down}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("-o", "--output", choices=["table", "json"], default="table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        rounds = [one_round(args.nodes, args.pods, Path(tmp)) for _ in range(args.rounds)]
    targets = {"up_s": 5.0, "pods_running_s": 5.0, "down_s": 2.0}
    summary = {
        key: {"median": statistics.median(r[key] for r in rounds), "max": max(r[key] for r in rounds),
              "target": target}
        for key, target in targets.items()
    }
    if args.output == "json":
        print(json.dumps({"nodes": args.nodes, "pods": args.pods, "rounds": rounds, "summary": summary}, indent=2))
    else:
        print(f"lab life cycle, {args.nodes} nodes, {args.pods} pods, {args.rounds} rounds")
        for key, s in summary.items():
            verdict = "ok" if s["max"] < s["target"] else "OVER TARGET"
            print(f"  {key:<15} median {s['median']:6.2f} s   max {s['max']:6.2f} s   "
                  f"target < {s['target']:g} s  {verdict}")
    return 0 if all(s["max"] < s["target"] for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
