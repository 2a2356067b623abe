#!/usr/bin/env python3
"""Benchmark `verify`: a full run on a 3-node lab under 20 s, and work that grows linearly with nodes.

Two parts:

- **model** (no root): for N nodes, verify's own work with the cluster taken out: plan every client's
  targets, parse every client's log (a recorded lab round, re-addressed per node), run every check. It
  reports pods, probes and cases per node and the time per node, which must stay flat from 3 to 100
  nodes (a quadratic step would grow it N-fold).
- **lab** (root, helm): `lab up` of N nodes, the lab profile with veth installed with helm, a Gateway in
  front of a web pod, then `verify` from scratch (pods created and deleted), through a KubeAPI wrapper
  that counts requests. Reports the wall time (median and spread over the rounds) and API requests per
  node. Target: 3 nodes < 20 s.

    .venv/bin/python scripts/bench_verify.py [--model-nodes 3,10,50,100] [--lab-nodes 3,10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from cilium_tune.adapters.kube import LightkubeAPI  # noqa: E402
from cilium_tune.checks.features import Feature, FeatureSet, derive_features  # noqa: E402
from cilium_tune.checks.framework import CheckContext, Selection, run_checks, selected  # noqa: E402
from cilium_tune.checks.observe import ClientView, Observations, parse_rounds  # noqa: E402
from cilium_tune.checks.workload import Listener, NodeSide, plan_targets  # noqa: E402
from cilium_tune.facts.agent_status import parse_agent_status  # noqa: E402
from cilium_tune.facts.model import AgentPod, NodeFacts, Snapshot  # noqa: E402

TARGET_3_NODES_S = 20.0
LOG = (ROOT / "tests" / "checks" / "data" / "client-lab-1.log").read_text()
STATUS = """KubeProxyReplacement:    True   [eth0   198.18.0.11 fd00:18::11 (Direct Routing)]
Routing:                 Network: Native   Host: BPF
Device Mode:             veth
Masquerading:            BPF   [eth0]   198.19.0.0/16 [IPv4: Enabled, IPv6: Enabled]
IPv4 BIG TCP:            Enabled   [196608]
IPv6 BIG TCP:            Disabled
Socket LB Coverage:      Hostns-only
"""
CONFIG = {"enable-ipv4": "true", "enable-ipv6": "true", "routing-mode": "native", "datapath-mode": "veth",
          "kube-proxy-replacement": "true", "enable-bpf-masquerade": "true", "enable-ipv4-big-tcp": "true",
          "enable-ipv6-big-tcp": "false", "bpf-lb-sock-hostns-only": "true", "enable-gateway-api": "true",
          "gateway-api-hostnetwork-enabled": "true"}


def model_once(n: int) -> dict[str, float]:
    nodes = [f"node-{i}" for i in range(n)]
    sides = [NodeSide(name, {"ipv4": f"198.18.{i // 250}.{i % 250 + 1}"}, {"ipv4": f"198.19.{i // 250}.{i % 250 + 2}"},
                      {"ipv4": f"198.18.{64 + i // 250}.{i % 250 + 1}"}) for i, name in enumerate(nodes)]
    facts = Snapshot(collected_at=datetime.now(UTC), nodes=tuple(NodeFacts(name=x) for x in nodes),
                     agents=tuple(AgentPod(name=f"cilium-{x}", namespace="kube-system", node=x, ready=True)
                                  for x in nodes), unknown={"probes": "model"})
    start = time.perf_counter()
    listener = Listener((80,), (443,), ("skyforge.lab.test",))
    plans = {s.node: {t.id: t for t in plan_targets(sides, i, listener)} for i, s in enumerate(sides)}
    views = {}
    for x in nodes:
        rounds = parse_rounds(LOG)
        views[x] = ClientView(x, f"client-{x}", rounds[-1])
    status = {x: parse_agent_status(STATUS) or "" for x in nodes}
    features = derive_features(facts, {}, CONFIG)
    features = FeatureSet({**features.features, "verify-pods": Feature("verify-pods", True, "model")})
    ctx = CheckContext(facts=facts, values={}, config=CONFIG, features=features, agent_status=status,
                       observations=Observations(views, plans))
    cases = list(run_checks(ctx, selected(Selection())))
    elapsed = time.perf_counter() - start
    return {"nodes": n, "pods": 2 * n, "services": n, "probes": sum(len(p) for p in plans.values()),
            "cases": len(cases), "seconds": elapsed}


def model(sizes: list[int], rounds: int) -> list[dict[str, float]]:
    rows = []
    for n in sizes:
        samples = [model_once(n) for _ in range(rounds)]
        row = dict(samples[0])
        row["seconds"] = statistics.median(s["seconds"] for s in samples)
        row["ms_per_node"] = 1000 * row["seconds"] / n
        rows.append(row)
    return rows


class CountingKube(LightkubeAPI):
    """The live client, counting requests by method and resource (for API cost per node)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: Counter[str] = Counter()

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        parts = [p for p in re.sub(r"/namespaces/[^/]+/", "/", path).split("?")[0].split("/") if p]
        resource = parts[2] if parts[:1] == ["api"] else parts[3] if len(parts) > 3 else "/".join(parts)
        if parts[-1] == "log":
            resource = "pods/log"
        self.requests[f"{method} {resource}"] += 1
        return super()._request(method, path, **kw)


def lab_once(n: int, helm: Path, kubectl: Path) -> dict[str, Any]:
    from test_verify_lab import APP

    from cilium_tune.checks.runner import VerifyOptions, run_verify
    from cilium_tune.lab import cluster
    from cilium_tune.lab.chart import CHART_DIR
    from cilium_tune.profile import load_profile
    from cilium_tune.values.overlays import render_overlays

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        base = Path(tmp)
        name = "bv" + secrets.token_hex(3)
        instance = cluster.up(name, nodes=n, dual_stack=True, base_dir=base, node_routes=False,
                              gateway_crds="standard")
        try:
            env = {**os.environ, "KUBECONFIG": str(instance.kubeconfig), "HELM_CACHE_HOME": str(base / "hc"),
                   "HELM_CONFIG_HOME": str(base / "hg"), "HELM_DATA_HOME": str(base / "hd")}
            files = []
            for overlay in render_overlays(load_profile("lab")):
                if not overlay.one_time:
                    (base / overlay.filename).write_text(overlay.text)
                    files += ["-f", str(base / overlay.filename)]
            veth = base / "veth.yaml"
            veth.write_text("bpf:\n  datapathMode: veth\n")
            for argv in ([str(helm), "upgrade", "--install", "cilium", str(CHART_DIR), "-n", "kube-system", *files,
                          "-f", str(veth), "--wait", "--timeout", "300s"],):
                subprocess.run(argv, env=env, check=True, capture_output=True, timeout=400)
            (base / "app.yaml").write_text(APP)
            subprocess.run([str(kubectl), "apply", "-f", str(base / "app.yaml")], env=env, check=True,
                           capture_output=True, timeout=60)
            subprocess.run([str(kubectl), "wait", "--for=condition=Accepted", "gateway/lab", "--timeout=60s"],
                           env=env, check=True, capture_output=True, timeout=90)
            kube = CountingKube(str(instance.kubeconfig))
            start = time.perf_counter()
            report = run_verify(kube, VerifyOptions(profile_ref="lab", value_files=(str(veth),), helm=str(helm),
                                                    timeout=300))
            elapsed = time.perf_counter() - start
            kube.close()
            failed = [c.name for c in report.cases if c.outcome.failed]
            return {"nodes": n, "seconds": elapsed, "cases": len(report.cases), "failed": failed,
                    "requests": sum(kube.requests.values()), "by_kind": dict(kube.requests.most_common(8))}
        finally:
            cluster.down(name, base_dir=base, purge=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-nodes", default="3,10,50,100")
    parser.add_argument("--lab-nodes", default="3,10", help="'' to skip the lab part")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args()
    out: dict[str, Any] = {"model": model([int(x) for x in args.model_nodes.split(",") if x], args.rounds)}
    lab_sizes = [int(x) for x in args.lab_nodes.split(",") if x]
    helm, kubectl = ROOT / "tools" / "bin" / "helm4", ROOT / "tools" / "bin" / "kubectl"
    if lab_sizes and (os.geteuid() != 0 or not helm.exists()):
        print("lab part skipped: needs root and tools/bin/helm4 (scripts/fetch-tools.sh)", file=sys.stderr)
        lab_sizes = []
    lab_rows = []
    for n in lab_sizes:
        runs = [lab_once(n, helm, kubectl) for _ in range(args.rounds if n <= 3 else 1)]
        times = [r["seconds"] for r in runs]
        row = {**runs[-1], "seconds": statistics.median(times), "min": min(times), "max": max(times),
               "runs": len(runs), "requests_per_node": runs[-1]["requests"] / n}
        lab_rows.append(row)
    out["lab"] = lab_rows
    if args.output == "json":
        print(json.dumps(out, indent=2))
    else:
        print("model: verify's own work (targets, log parsing, checks), median of", args.rounds)
        print(f"  {'nodes':>5} {'pods':>5} {'probes':>6} {'cases':>6} {'ms':>8} {'ms/node':>8}")
        for r in out["model"]:
            print(f"  {r['nodes']:>5} {r['pods']:>5} {r['probes']:>6} {r['cases']:>6} "
                  f"{1000 * r['seconds']:>8.1f} {r['ms_per_node']:>8.2f}")
        for r in lab_rows:
            ok = "" if r["nodes"] != 3 else (" OK" if r["seconds"] < TARGET_3_NODES_S else " OVER TARGET")
            print(f"lab: {r['nodes']} nodes: verify {r['seconds']:.1f} s (min {r['min']:.1f}, max {r['max']:.1f}, "
                  f"{r['runs']} run(s)); target 3 nodes < {TARGET_3_NODES_S:g} s{ok}")
            print(f"     {r['cases']} cases, {len(r['failed'])} failed, {r['requests']} API requests "
                  f"({r['requests_per_node']:.1f} per node): {r['by_kind']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
