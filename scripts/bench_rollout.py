#!/usr/bin/env python3
"""Disruption while `apply` switches nodes: failed requests between pods on the nodes *not* being switched
(goal 0) and the time per node (goal on the lab: under 10 s), on a 3-node lab (root, helm).

A server pod and a client pod run on every node; each client sends an HTTP request to every other node's
server every 0.1 s (1 s timeout) and logs each outcome with its time. `cilium-tune apply` (a separate
process, as a user runs it) then switches the nodes one by one. For each node's window (from its
`cordon` starting to its `uncordon` done, read from the run's journal) the script counts the requests
between two other nodes, and how many failed; requests to or from the node being switched are shown
apart (they may fail while its agent restarts).

Two changes are measured:

- **settings**: the tuned profile already in place but for IPv4 BIG TCP and BPF masquerading, which the
  apply turns on (the agents restart node by node; routing and address families unchanged);
- **routing**: from the chart's defaults (tunnel) to the tuned profile (native): the plan warns that
  switched and pending nodes cannot reach each other's pods during the window, and this measures it.

    sudo .venv/bin/python scripts/bench_rollout.py [--scenario settings,routing]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from cilium_tune.adapters.kube import CRDS, PODS, LightkubeAPI, NotFound, pod_ready
from cilium_tune.lab import cluster
from cilium_tune.lab.chart import CHART_DIR

TARGET_FAILED = 0
TARGET_NODE_S = 10.0
NODES = ("lab-1", "lab-2", "lab-3")
LABELS = {"app.kubernetes.io/managed-by": "cilium-tune", "bench": "rollout"}
SERVER = (
    "import http.server,socket\n"
    "class S(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self): self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
    "    def log_message(self, *a): pass\n"
    "S(('::', 8080), H).serve_forever()\n"
)
CLIENT = (
    "import json,sys,time,urllib.request\n"
    "targets = json.loads(sys.argv[1])\n"
    "while True:\n"
    "    for node, url in targets:\n"
    "        t = time.time()\n"
    "        try:\n"
    "            urllib.request.urlopen(url, timeout=1).read(); ok = 1\n"
    "        except Exception:\n"
    "            ok = 0\n"
    "        print(f'{t:.3f} {node} {ok}', flush=True)\n"
    "    time.sleep(0.1)\n"
)
# The "settings" scenario starts from the tuned profile with these two settings off.
SETTINGS_OFF = "enableIPv4BIGTCP: false\nbpf:\n  masquerade: false\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="settings,routing")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("skipped: the lab needs root")
        return 0
    ok = True
    for scenario in args.scenario.split(","):
        ok &= run(scenario)
    return 0 if ok else 1


def run(scenario: str) -> bool:
    helm = str(Path(__file__).resolve().parent.parent / "tools" / "bin" / "helm4")
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp_name:
        tmp = Path(tmp_name)
        lab = cluster.up("ctb" + secrets.token_hex(3), nodes=3, dual_stack=True, base_dir=tmp, node_routes=False)
        env = {**os.environ, "KUBECONFIG": str(lab.kubeconfig), "CILIUM_TUNE_HELM": helm,
               "CILIUM_TUNE_STATE_DIR": str(tmp / "state")}
        try:
            base = [helm, "-n", "kube-system", "upgrade", "--install", "cilium", str(CHART_DIR), "--wait"]
            (tmp / "veth.yaml").write_text("bpf:\n  datapathMode: veth\n")
            if scenario == "settings":
                subprocess.run([sys.executable, "-m", "cilium_tune", "render", "-p", "lab", "--out", str(tmp / "d")],
                               env=env, check=True, capture_output=True, timeout=60)
                (tmp / "off.yaml").write_text(SETTINGS_OFF)
                for name in ("cilium-values.yaml", "cilium-values-dualstack.yaml", "veth.yaml", "off.yaml"):
                    base += ["-f", str(tmp / "d" / name if name.startswith("cilium") else tmp / name)]
            subprocess.run(base, env=env, check=True, capture_output=True, timeout=180)
            kube = LightkubeAPI(str(lab.kubeconfig))
            try:
                if strategy(kube) != "node-config":
                    # clean-state drains every node (cleanState wipes its endpoints): the traffic pods would go.
                    print(f"scenario {scenario}: skipped: the lab does not serve CiliumNodeConfig")
                    return True
                start_traffic(kube)
                t0 = time.monotonic()
                done = subprocess.run(
                    [sys.executable, "-m", "cilium_tune", "apply", "-p", "lab", "-f", str(tmp / "veth.yaml"),
                     "--yes", "--no-probe-nodes"],
                    env=env, capture_output=True, text=True, timeout=600, check=False,
                )
                total = time.monotonic() - t0
                if done.returncode != 0:
                    print(done.stdout, done.stderr)
                    return False
                time.sleep(1)
                samples = {node: parse(kube.logs(f"bench-client-{node}", "default")) for node in NODES}
            finally:
                kube.close()
            journal = json.loads(next((tmp / "state" / "runs").glob("*/journal.json")).read_text())
            return report(scenario, journal, samples, total)
        finally:
            cluster.down(lab.name, base_dir=tmp)


def strategy(kube: LightkubeAPI) -> str:
    """The default CiliumNodeConfig strategy where the lab serves the CRD, else the runbook's clean-state."""
    try:
        kube.get(CRDS, "ciliumnodeconfigs.cilium.io")
        return "node-config"
    except NotFound:
        return "clean-state"


def start_traffic(kube: LightkubeAPI) -> None:
    for node in NODES:
        kube.create(PODS, pod(f"bench-server-{node}", node, ["python3", "-c", SERVER], probe=True), "default")
    servers = {node: wait_ready(kube, f"bench-server-{node}") for node in NODES}
    for node in NODES:
        targets = [(peer, f"http://{servers[peer]['status']['podIP']}:8080/") for peer in NODES if peer != node]
        command = ["python3", "-c", CLIENT, json.dumps(targets)]
        kube.create(PODS, pod(f"bench-client-{node}", node, command, probe=False), "default")
    for node in NODES:
        wait_ready(kube, f"bench-client-{node}")
    time.sleep(2)


def pod(name: str, node: str, command: list[str], *, probe: bool) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "python:3.12-slim", "command": command}
    if probe:
        container["readinessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    spec = {"nodeName": node, "terminationGracePeriodSeconds": 1, "tolerations": [{"operator": "Exists"}],
            "containers": [container]}
    return {"metadata": {"name": name, "namespace": "default", "labels": LABELS}, "spec": spec}


def wait_ready(kube: LightkubeAPI, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        obj = kube.get(PODS, name, "default")
        if pod_ready(obj):
            return obj
        time.sleep(0.3)
    raise SystemExit(f"pod {name} not Ready")


def parse(log: str) -> list[tuple[float, str, bool]]:
    out = []
    for line in log.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in ("0", "1"):
            out.append((float(parts[0]), parts[1], parts[2] == "1"))
    return out


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def report(scenario: str, journal: dict[str, Any], samples: dict[str, list[tuple[float, str, bool]]],
           total: float) -> bool:
    events = journal["events"]
    started = {e["id"]: epoch(e["at"]) for e in events if e["event"] == "started"}
    finished = {e["id"]: epoch(e["at"]) for e in events if e["event"] == "done"}
    strategy_used = journal["meta"]["strategy"]
    print(f"scenario {scenario}: apply took {total:.1f} s ({len(journal['steps'])} steps, strategy {strategy_used})")
    print(f"  {'node':<6} {'window s':>8} {'others: requests':>17} {'failed':>7} {'to/from node: failed':>21}")
    durations, failed_others = [], 0
    for node in NODES:
        lo, hi = started[f"switch/{node}/cordon"], finished[f"switch/{node}/uncordon"]
        others = [(t, src, dst, ok) for src, rows in samples.items() for t, dst, ok in rows
                  if lo <= t <= hi and node not in (src, dst)]
        involved = [(t, ok) for src, rows in samples.items() for t, dst, ok in rows
                    if lo <= t <= hi and node in (src, dst)]
        bad = sum(1 for *_, ok in others if not ok)
        failed_others += bad
        durations.append(hi - lo)
        print(f"  {node:<6} {hi - lo:8.1f} {len(others):17d} {bad:7d} "
              f"{sum(1 for _, ok in involved if not ok):>10d} of {len(involved)}")
    median = statistics.median(durations)
    print(f"  time per node: median {median:.1f} s (min {min(durations):.1f}, max {max(durations):.1f}); "
          f"target < {TARGET_NODE_S:.0f} s")
    print(f"  failed requests between nodes not being switched: {failed_others}; target {TARGET_FAILED}")
    if scenario == "routing":
        print("  (routing changes in the window: pairs of a switched and a pending node are expected to fail)")
        return median < TARGET_NODE_S
    return failed_others == TARGET_FAILED and median < TARGET_NODE_S


if __name__ == "__main__":
    sys.exit(main())
