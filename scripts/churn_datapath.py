#!/usr/bin/env python3
"""Connection rate to a ClusterIP with 0 / 1,000 / 5,000 Services: the datapath alone, without the lab.

`bench run`'s churn test measures the whole lab: the kernel's NAT lookup, but also the lab agent and
API server, which re-read every Service and EndpointSlice each second (the lab agent polls; Cilium
watches) and so take CPU from the measurement in proportion to the number of Services. This script
keeps only the datapath: one node namespace built by the lab's code with a client and a server pod,
the lab agent's own rule text (`iptables_nat` for kube-proxy's iptables mode, `nft_ruleset` for the
kube-proxy replacement's service map) loaded straight into the kernel with `NodeKernel.apply_nat`, no
API server, no agent process. netperf TCP_CRR (client CPU 0, server CPU 1, as the bench pins them) to
a ClusterIP that DNATs to the server pod; the dummy Services point at the same pod, as the bench's do.
Every round runs every mode x Service count once in a shuffled order, after `conntrack -F`.

    sudo .venv/bin/python scripts/churn_datapath.py [--rounds 6] [--connections 3000] [--levels 0,1000,5000]
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from cilium_tune.lab import topology
from cilium_tune.lab.agent.kernel import KernelError, NodeKernel
from cilium_tune.lab.agent.model import Backend, Service, ServicePort
from cilium_tune.lab.agent.services import iptables_nat, nft_ruleset

CONTROL, DATA = 12865, 12866
VIP = "198.18.64.10"
DUMMIES = ipaddress.IPv4Network("198.18.96.0/19")


def services(count: int, server: str) -> list[Service]:
    probe = Service("default", "netperf", (VIP,), (ServicePort("control", "TCP", CONTROL, (Backend(server, CONTROL),)),
                                                   ServicePort("data", "TCP", DATA, (Backend(server, DATA),))))
    hosts = DUMMIES.hosts()
    dummies = [Service("churn", f"dummy-{i}", (str(next(hosts)),), (ServicePort("http", "TCP", 80,
                                                                                (Backend(server, 8080),)),))
               for i in range(count)]
    return [probe, *dummies]


def crr(client_ns: str, connections: int) -> float:
    argv = ["ip", "netns", "exec", client_ns, "netperf", "-4", "-H", VIP, "-p", str(CONTROL), "-l",
            f"-{connections}", "-P", "0", "-t", "TCP_CRR", "-T", "0,1", "--", "-P", f",{DATA}", "-o", "THROUGHPUT"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--levels", default="0,1000,5000")
    parser.add_argument("--name", default=f"cx{os.getpid() % 100000}")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("error: needs root (it builds network namespaces)", file=sys.stderr)
        return 2
    levels = [int(x) for x in args.levels.split(",")]
    topo = topology.plan_topology(args.name, 1, dual_stack=False)
    node = topo.nodes[0]
    client_ns, server_ns = f"{args.name}-pc", f"{args.name}-ps"
    server_ip = str(node.pod_cidr_v4.network_address + 20)
    rng = random.Random(args.seed)
    samples: list[dict[str, Any]] = []
    loads = [os.getloadavg()[0]]
    server: subprocess.Popen[bytes] | None = None
    try:
        topology.build(topo)
        topology.wire_pod(node, client_ns, [str(node.pod_cidr_v4.network_address + 10)])
        topology.wire_pod(node, server_ns, [server_ip])
        server = subprocess.Popen(["ip", "netns", "exec", server_ns, "netserver", "-D", "-p", str(CONTROL)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        rendered = {n: services(n, server_ip) for n in levels}
        with NodeKernel(node.netns) as kernel:
            for rnd in range(args.rounds):
                cells = [(mode, n) for mode in ("iptables", "kpr") for n in levels]
                rng.shuffle(cells)
                for mode, n in cells:
                    t0 = time.monotonic()
                    kernel.apply_nat(iptables_nat(4, rendered[n], [], kube_proxy=mode == "iptables"),
                                     iptables_nat(6, [], [], kube_proxy=False),
                                     nft_ruleset(rendered[n], [], kube_proxy_replacement=mode == "kpr",
                                                 bpf_masquerade=False))
                    load_s = time.monotonic() - t0
                    with contextlib.suppress(KernelError):  # fails when the table is already empty
                        kernel.run(["conntrack", "-F"])
                    samples.append({"round": rnd, "mode": mode, "services": n, "rate": crr(client_ns, args.connections),
                                    "rules_load_s": load_s})
                loads.append(os.getloadavg()[0])
                print(f"round {rnd + 1}/{args.rounds} done, load {loads[-1]:.1f}", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        topology.teardown(topo.lab)
    report(samples, levels, loads, args)
    return 0


def report(samples: list[dict[str, Any]], levels: list[int], loads: list[float], args: argparse.Namespace) -> None:
    print(f"load average (1 min) over the run: {min(loads):.1f}-{max(loads):.1f}; {args.rounds} rounds, "
          f"{args.connections} connections per sample")
    print(f"{'mode':10} {'Services':>8} {'connections/s median [min, max]':>34} {'/ 0 Services, same round':>26} "
          f"{'rules load s':>12}")
    got = {(s["round"], s["mode"], s["services"]): s for s in samples}
    for mode in ("iptables", "kpr"):
        for n in levels:
            mine = [s for s in samples if s["mode"] == mode and s["services"] == n]
            rates = sorted(s["rate"] for s in mine)
            ratios = sorted(s["rate"] / got[(s["round"], mode, 0)]["rate"] for s in mine
                            if (s["round"], mode, 0) in got)
            ratio = f"{statistics.median(ratios):.2f} [{ratios[0]:.2f}, {ratios[-1]:.2f}]" if ratios else "-"
            print(f"{mode:10} {n:8,} {statistics.median(rates):12,.0f} [{rates[0]:7,.0f}, {rates[-1]:7,.0f}]"
                  f"{ratio:>27} {statistics.median(s['rules_load_s'] for s in mine):12.2f}")


if __name__ == "__main__":
    sys.exit(main())
