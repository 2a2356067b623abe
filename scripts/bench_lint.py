#!/usr/bin/env python3
"""How long `cilium-tune lint` takes on a 1,000-node facts snapshot (target: under 1 s).

Builds a synthetic snapshot shaped like the runbook cluster but with N nodes (each with k3s args,
IPv4+IPv6 InternalIPs, podCIDRs, a pod-address summary, one VM workload every 10 nodes, and every
node probed), saves it as JSON, then times, over several repeats:
  - load: reading and validating the JSON snapshot,
  - context: the desired state (skyforge-dev's overlays over the live release) and its rule context,
  - rules: `run_rules` over every rule with the skyforge-dev profile's values,
  - render: the text, JSON and JUnit reports,
  - cli: the whole `cilium-tune lint --facts FILE` as a subprocess (Python start-up included).

    .venv/bin/python scripts/bench_lint.py [--nodes 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cilium_tune.desired import DesiredInputs, load_desired  # noqa: E402
from cilium_tune.facts.io import load_snapshot, save_snapshot  # noqa: E402
from cilium_tune.facts.model import Snapshot  # noqa: E402
from cilium_tune.report import json as json_report  # noqa: E402
from cilium_tune.report.junit import render_junit  # noqa: E402
from cilium_tune.report.text import render_findings  # noqa: E402
from cilium_tune.rules import registry, run_rules  # noqa: E402


def synthetic_snapshot(count: int) -> Snapshot:
    nodes: list[dict[str, Any]] = []
    pod_ips: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    vms: list[dict[str, Any]] = []
    base4 = ipaddress.IPv4Address("10.128.0.10")
    base6 = ipaddress.IPv6Address("fd00::")
    for i in range(count):
        name = f"node-{i:04d}"
        v4, v6 = str(base4 + i), f"fd00:128::{i + 10:x}"
        server = i < 3
        k3s: dict[str, Any] = {"role": "server" if server else "agent", "node_ip": [v4, v6]}
        if server:
            k3s |= {
                "cluster_cidr": ["100.70.0.0/16", "fd00::/104"],
                "service_cidr": ["10.43.0.0/16", "fd00:64::/112"],
                "flannel_backend": "none",
                "disable_kube_proxy": True,
                "disable_network_policy": True,
                "disable": ["servicelb", "traefik"],
            }
        nodes.append(
            {
                "name": name,
                "internal_ipv4": [v4],
                "internal_ipv6": [v6],
                "pod_cidrs": [f"100.{64 + i // 256}.{i % 256}.0/24", f"{base6 + i * 256}/120"],
                "kernel": {"major": 6, "minor": 8, "patch": 0, "raw": "6.8.0-45-generic"},
                "ready": True,
                "k3s": k3s,
            }
        )
        pod_ips.append(
            {
                "node": name,
                "pods": 30,
                "host_network": 4,
                "without_ip": 0,
                "by_cidr": {"100.64.0.0/10": 26, "fd00::/104": 26},
            }
        )
        probes.append({"node": name, "ok": True, "kernel_config": {"CONFIG_NETKIT": "y"}})
        if i % 10 == 0:
            vms.append(
                {"kind": "Pod", "namespace": "lab", "name": f"vr-{i}", "node": name, "reasons": ["device:/dev/kvm"]}
            )
    return Snapshot.model_validate(
        {
            "collected_at": datetime.now(UTC),
            "nodes": nodes,
            "pod_ips": pod_ips,
            "probes": probes,
            "vm_workloads": vms,
            "cilium_config": {"namespace": "kube-system", "data": {"datapath-mode": "netkit"}},
            "helm_release": {
                "name": "cilium",
                "namespace": "kube-system",
                "revision": 3,
                "status": "deployed",
                "chart_version": "1.19.0-rc.1",
            },
            "kube_proxy": {"pods": 0},
        }
    )


def timed(func: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def show(label: str, samples: list[float]) -> None:
    print(
        f"{label:<8} median {statistics.median(samples) * 1000:8.1f} ms   "
        f"min {min(samples) * 1000:8.1f}   max {max(samples) * 1000:8.1f}   (n={len(samples)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.json"
        save_snapshot(synthetic_snapshot(args.nodes), path)
        size = path.stat().st_size
        facts = load_snapshot(path)
        ctx = load_desired(DesiredInputs(profile_ref="skyforge-dev", facts=facts)).rule_context()
        result = run_rules(ctx)
        print(
            f"{args.nodes} nodes, snapshot {size / 1e6:.1f} MB, {len(registry)} rules, {len(result.findings)} findings"
        )
        show("load", timed(lambda: load_snapshot(path), args.repeat))
        show(
            "context",
            timed(
                lambda: load_desired(DesiredInputs(profile_ref="skyforge-dev", facts=facts)).rule_context(),
                args.repeat,
            ),
        )
        show("rules", timed(lambda: run_rules(ctx), args.repeat))
        show(
            "render",
            timed(
                lambda: (render_findings(result), json_report.render_lint(result), render_junit(result)), args.repeat
            ),
        )
        cli = [sys.executable, "-m", "cilium_tune", "lint", "--facts", str(path), "-o", "json"]
        show("cli", timed(lambda: subprocess.run(cli, capture_output=True, check=False, timeout=120), args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
