#!/usr/bin/env python3
"""Idle CPU of the lab's agents by Service count: what keeping the datapath current costs while nothing changes.

One 2-node lab (`lab up`, helm install of the lab chart's defaults: kube-proxy iptables rules), one
backend pod, then N ClusterIP Services selecting it (each gets an EndpointSlice with that backend, as
the bench's churn creates them), for each N in --counts. After each level has settled, the CPU time
(utime + stime from /proc/<pid>/stat) of both agents together, of the API server and of the lab's
other processes is read over --windows windows of 5 s; the table gives each window's share of one
core as median [min, max], with the load average before and after. This is the method of
docs/bench.md's "Churn in the whole lab"; the CPU an idle agent uses is taken from netperf during
the churn bench.

    sudo .venv/bin/python scripts/agent_idle_cpu.py [--counts 0,1000,5000] [--windows 6]

The lab runs the agent code of the Python that runs this script (its venv's `python3`), so running it
with another checkout's venv measures that checkout's agent.
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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Pod, Service

from cilium_tune.profile import load_profile

WINDOW = 5.0
NAMESPACE = "default"
BACKEND = {"app": "idle-cpu-backend"}


def tool(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "cilium_tune", *args], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, **(env or {})}, timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cilium-tune {' '.join(args[:2])} failed with exit {done.returncode}")
    return done.stdout


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in ticks) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def lab_processes(state_dir: Path) -> dict[str, list[int]]:
    """The lab's processes by role: its API server, its agents and the rest, found as the processes whose
    command line names the lab's state directory and their descendants (other labs on the machine are not)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parent[int(entry.name)] = st[0]
    roots = {pid for pid in parent if str(state_dir) in _cmdline(pid)}
    members = set(roots)
    changed = True
    while changed:
        grown = {pid for pid, ppid in parent.items() if ppid in members} - members
        members |= grown
        changed = bool(grown)
    roles: dict[str, list[int]] = {"agents": [], "apiserver": [], "other": []}
    for pid in members:
        cmd = _cmdline(pid)
        role = ("agents" if "cilium_tune.lab.agent" in cmd else
                "apiserver" if "cilium_tune.lab.apiserver" in cmd else "other")
        roles[role].append(pid)
    return roles


def _ticks(pids: Iterable[int]) -> dict[int, int]:
    return {pid: st[1] for pid in pids if (st := _stat(pid)) is not None}


def cpu_windows(state_dir: Path, windows: int) -> dict[str, list[float]]:
    """Per role, each window's CPU time as a share of one core (processes alive over the whole window)."""
    hz = os.sysconf("SC_CLK_TCK")
    shares: dict[str, list[float]] = {"agents": [], "apiserver": [], "other": []}
    for _ in range(windows):
        roles = lab_processes(state_dir)
        before = {role: _ticks(pids) for role, pids in roles.items()}
        start = time.monotonic()
        time.sleep(WINDOW)
        elapsed = time.monotonic() - start
        for role, pids in roles.items():
            after = _ticks(pids)
            used = sum(after[p] - before[role][p] for p in after if p in before[role])
            shares[role].append(used / hz / elapsed)
    return shares


def set_services(client: Client, have: int, want: int) -> None:
    def make(i: int) -> None:
        client.create(Service.from_dict({
            "metadata": {"name": f"idle-{i}", "namespace": NAMESPACE},
            "spec": {"selector": BACKEND, "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
                     "ports": [{"name": "p80", "port": 80, "targetPort": 80, "protocol": "TCP"}]}}))

    def drop(i: int) -> None:
        client.delete(Service, f"idle-{i}", namespace=NAMESPACE)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(have, want)) if want > have else pool.map(drop, range(want, have)))


def wait_agents_ready(client: Client, nodes: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = [p for p in client.list(Pod, namespace="kube-system", labels={"k8s-app": "cilium"})
                if p.metadata and not p.metadata.deletionTimestamp]
        ready = [p for p in pods if p.status and any(c.type == "Ready" and c.status == "True"
                                                     for c in p.status.conditions or [])]
        if len(pods) == nodes and len(ready) == nodes:
            return
        time.sleep(1)
    raise SystemExit(f"the agents were not ready within {timeout:g} s")


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):.1%} [{min(values):.1%}, {max(values):.1%}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--counts", default="0,1000,5000")
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds to wait after each level, plus 5 s "
                        "per 1,000 Services")
    parser.add_argument("--json", type=Path, help="also write the windows here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("error: needs root (the lab)", file=sys.stderr)
        return 2
    counts = [int(c) for c in args.counts.split(",")]
    name = "idl" + secrets.token_hex(2)
    base = Path(tempfile.mkdtemp(prefix="agent-idle-cpu-"))
    lab = ["--name", name, "--lab-dir", str(base)]
    tool("lab", "up", *lab, "--nodes", "2")
    results: dict[str, dict[str, object]] = {}
    try:
        kubeconfig = tool("lab", "kubeconfig", *lab).strip()
        env = {"KUBECONFIG": kubeconfig, "HELM_CACHE_HOME": str(base / "hc"), "HELM_CONFIG_HOME": str(base / "hg"),
               "HELM_DATA_HOME": str(base / "hd")}
        chart = load_profile("lab").release.chart_argument
        subprocess.run(["helm", "upgrade", "--install", "cilium", chart, "-n", "kube-system", "--wait", "--timeout",
                        "3m"], check=True, env={**os.environ, **env}, timeout=300, stdout=subprocess.DEVNULL)
        client = Client(KubeConfig.from_file(kubeconfig), field_manager="agent-idle-cpu")
        wait_agents_ready(client, 2)
        node = next(p.spec.nodeName for p in client.list(Pod, namespace="kube-system", labels={"k8s-app": "cilium"})
                    if p.spec)
        client.create(Pod.from_dict({"metadata": {"name": "idle-backend", "namespace": NAMESPACE, "labels": BACKEND},
                                     "spec": {"nodeName": node, "containers": [
                                         {"name": "b", "image": "lab", "command": ["sleep", "36000"]}]}}))
        state_dir = base / name
        state_dir = state_dir if state_dir.exists() else base
        have = 0
        for count in counts:
            set_services(client, have, count)
            have = count
            time.sleep(args.settle + 5 * count / 1000)
            load = [os.getloadavg()[0]]
            shares = cpu_windows(state_dir, args.windows)
            load.append(os.getloadavg()[0])
            results[str(count)] = {"load": load, **shares}
            print(f"{count:>5} Services: agents {_cell(shares['agents'])}, API server {_cell(shares['apiserver'])}, "
                  f"rest of the lab {_cell(shares['other'])}, load {load[0]:.1f}-{load[1]:.1f}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
    finally:
        tool("lab", "down", *lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
