#!/usr/bin/env python3
"""Why did IPv4 BIG TCP collapse the lab's IPv4 throughput? Bisect it on the lab's own network.

Builds a 2-node lab network with the lab's code (`topology.build`, one pod per node with `wire_pod`,
GSO/GRO sizes set by the lab agent's `NodeKernel.apply_device_settings`), no API server, no NAT rules,
then measures iperf3 (1 s samples, client on CPU 0, server on CPU 1, as the bench pins them) for each
configuration below, interleaved: every round runs every configuration x scenario x family once, in a
shuffled order, so the drift of a shared machine spreads over all of them. Per sample it also reads the
fabric's counters: bytes per frame leaving the bridge port towards the server node (what the fabric
hands to the receiver) and leaving the client node's uplink (what the sender hands to the fabric).

Configurations (sizes are gso/gro_ipv4_max_size for "v4 big", gso/gro_max_size for "v6 big"):

    defaults        no BIG TCP anywhere (64 KiB), native routing (every other one too)
    vxlan           the same with the agent's VXLAN tunnel routing instead (native vs VXLAN)
    v4big-ports64k  IPv4 BIG TCP as the agent sets it (node uplink, both pod ends: 196608), the
                    fabric's bridge ports at the kernel's default 65536: the lab before the fix
    v4big-ports64k-gro  the same, with GRO on the receiving side (ethtool -K gro on: veth NAPI GRO)
    v4big           IPv4 BIG TCP, bridge ports at their tso_max_size (the lab's fabric since the fix)
    v6big-ports64k  IPv6 BIG TCP with 64 KiB bridge ports (is it IPv4-specific?)
    v6big           IPv6 BIG TCP with the fixed fabric

Needs root. Namespaces are `<name>-*` (default: bx<pid>), removed at the end, also on failure.

    sudo .venv/bin/python scripts/bigtcp_bisect.py [--rounds 8] [--seconds 1] [--configs a,b] [-o out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Any

from cilium_tune.lab import netns, topology
from cilium_tune.lab.agent.bigtcp import ensure_ipv4_big_tcp_attributes
from cilium_tune.lab.agent.config import parse_config
from cilium_tune.lab.agent.kernel import NodeKernel
from cilium_tune.lab.agent.model import NodeInfo
from cilium_tune.lab.agent.routing import endpoint_mtu, plan_routing

PORT = 5201
LEGACY = 65536
ROUTING = {"enable-ipv6": "true", "ipv4-native-routing-cidr": "198.19.0.0/16",
           "ipv6-native-routing-cidr": "fd00:19::/104", "auto-direct-node-routes": "true"}


@dataclass(frozen=True)
class Config:
    name: str
    ipv4_big_tcp: bool = False
    ipv6_big_tcp: bool = False
    fabric_ports_64k: bool = False
    receiver_gro: bool = False
    tunnel: bool = False


CONFIGS = {c.name: c for c in (
    Config("defaults", fabric_ports_64k=True),
    Config("vxlan", fabric_ports_64k=True, tunnel=True),
    Config("v4big-ports64k", ipv4_big_tcp=True, fabric_ports_64k=True),
    Config("v4big-ports64k-gro", ipv4_big_tcp=True, fabric_ports_64k=True, receiver_gro=True),
    Config("v4big", ipv4_big_tcp=True),
    Config("v6big-ports64k", ipv6_big_tcp=True, fabric_ports_64k=True),
    Config("v6big", ipv6_big_tcp=True),
)}


class Bed:
    """The lab network of two nodes with a pod each, and the knobs the configurations turn."""

    def __init__(self, name: str) -> None:
        self.topo = topology.plan_topology(name, 2)
        topology.build(self.topo)
        self.pod_ns = [f"{name}-pa", f"{name}-pb"]
        self.nodes = [NodeInfo(n.name, n.ipv4, n.ipv6, (ip_network(n.pod_cidr_v4), ip_network(str(n.pod_cidr_v6))))
                      for n in self.topo.nodes]
        self.pod_ips: list[list[str]] = []
        for node, pod_ns in zip(self.topo.nodes, self.pod_ns, strict=True):
            v4 = node.pod_cidr_v4.network_address + 10
            v6 = node.pod_cidr_v6.network_address + 10 if node.pod_cidr_v6 else None
            ips = [str(v4), str(v6)]
            topology.wire_pod(node, pod_ns, ips)
            self.pod_ips.append(ips)
        self.servers = [subprocess.Popen(["ip", "netns", "exec", ns, "iperf3", "-s", "-p", str(PORT)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for ns in (self.topo.nodes[1].netns, self.pod_ns[1])]
        time.sleep(0.5)

    def close(self) -> None:
        for server in self.servers:
            server.kill()
            server.wait(timeout=10)
        topology.teardown(self.topo.lab)

    def apply(self, cfg: Config) -> None:
        agent = parse_config({**ROUTING, "routing-mode": "tunnel" if cfg.tunnel else "native"})
        for node, me in zip(self.topo.nodes, self.nodes, strict=True):
            with NodeKernel(node.netns) as k:
                routing = plan_routing(agent, me, self.nodes, 1500)
                k.apply_routing(routing)
                k.apply_device_settings(k.uplink(str(node.ipv4)), k.endpoints(), mtu=endpoint_mtu(routing, 1500),
                                        ipv4_big_tcp=cfg.ipv4_big_tcp, ipv6_big_tcp=cfg.ipv6_big_tcp)
            gro = "on" if cfg.receiver_gro else "off"
            subprocess.run(["ip", "netns", "exec", node.netns, "ethtool", "-K", topology.NODE_UPLINK, "gro", gro],
                           check=True, capture_output=True, timeout=30)
        with netns.ipr(self.topo.fabric_ns) as fab:
            for node in self.topo.nodes:
                index = fab.link_lookup(ifname=node.fabric_port)[0]
                size = LEGACY if cfg.fabric_ports_64k else int(fab.get_links(index)[0].get("IFLA_TSO_MAX_SIZE"))
                fab.link("set", index=index, gso_max_size=size, gro_max_size=size,
                         gso_ipv4_max_size=size, gro_ipv4_max_size=size)

    def counters(self) -> tuple[int, int, int, int]:
        """(frames, bytes) sent by the fabric port towards node 2, and by node 1's uplink."""
        with netns.ipr(self.topo.fabric_ns) as fab:
            port = fab.get_links(fab.link_lookup(ifname=self.topo.nodes[1].fabric_port)[0])[0].get("IFLA_STATS64")
        with netns.ipr(self.topo.nodes[0].netns) as ns:
            up = ns.get_links(ns.link_lookup(ifname=topology.NODE_UPLINK)[0])[0].get("IFLA_STATS64")
        return port["tx_packets"], port["tx_bytes"], up["tx_packets"], up["tx_bytes"]

    def sample(self, scenario: str, family: int, seconds: int) -> dict[str, Any]:
        if scenario == "host-to-host":
            client, server = self.topo.nodes[0].netns, self.topo.nodes[1]
            address = str(server.ipv4 if family == 4 else server.ipv6)
        else:
            client, address = self.pod_ns[0], self.pod_ips[1][0 if family == 4 else 1]
        before = self.counters()
        done = subprocess.run(["ip", "netns", "exec", client, "iperf3", "-c", address, "-p", str(PORT), "-t",
                               str(seconds), "-J", f"-{family}", "-A", "0,1"],
                              capture_output=True, text=True, timeout=seconds + 20, check=False)
        after = self.counters()
        try:
            gbit = json.loads(done.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
        except (ValueError, KeyError):
            gbit = float("nan")
        frames = [a - b for a, b in zip(after, before, strict=True)]
        return {"gbit": gbit, "fabric_frame": frames[1] / max(frames[0], 1),
                "uplink_frame": frames[3] / max(frames[2], 1)}


def print_paired(samples: list[dict[str, Any]], configs: list[Config], scenarios: list[str]) -> None:
    """Each configuration against `defaults` in the same round (a minute apart at most): drift cancels."""
    if "defaults" not in {c.name for c in configs}:
        return
    got = {(s["round"], s["config"], s["scenario"], s["family"]): s["gbit"] for s in samples}
    print("\nthroughput / defaults in the same round: median [min, max] over the rounds")
    print(f"{'configuration':20} {'scenario':24} {'IPv4':>20} {'IPv6':>20}")
    for cfg in configs:
        if cfg.name == "defaults":
            continue
        for scenario in scenarios:
            cols = []
            for family in (4, 6):
                ratios = sorted(v / got[(r, "defaults", scenario, family)] for (r, c, s, f), v in got.items()
                                if c == cfg.name and s == scenario and f == family
                                and got.get((r, "defaults", scenario, family)))
                cols.append(f"{statistics.median(ratios):5.2f} [{ratios[0]:4.2f}, {ratios[-1]:4.2f}]"
                            if ratios else "-")
            print(f"{cfg.name:20} {scenario:24} {cols[0]:>20} {cols[1]:>20}")


@contextmanager
def bed(name: str) -> Iterator[Bed]:
    b = Bed(name)
    try:
        yield b
    finally:
        b.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=1)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--scenarios", default="host-to-host,pod-to-pod-cross-node")
    parser.add_argument("--name", default=f"bx{os.getpid() % 100000}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", help="write every sample as JSON here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("error: needs root (it builds network namespaces)", file=sys.stderr)
        return 2
    ensure_ipv4_big_tcp_attributes()
    configs = [CONFIGS[c] for c in args.configs.split(",")]
    cells = [(c, s, f) for c in configs for s in args.scenarios.split(",") for f in (4, 6)]
    rng = random.Random(args.seed)
    samples: list[dict[str, Any]] = []
    loads = [os.getloadavg()[0]]
    with bed(args.name) as b:
        for rnd in range(args.rounds):
            order = list(configs)
            rng.shuffle(order)
            for cfg in order:
                b.apply(cfg)
                mine = [cell for cell in cells if cell[0] is cfg]
                rng.shuffle(mine)
                for _, scenario, family in mine:
                    samples.append({"round": rnd, "config": cfg.name, "scenario": scenario, "family": family,
                                    **b.sample(scenario, family, args.seconds)})
            loads.append(os.getloadavg()[0])
            print(f"round {rnd + 1}/{args.rounds} done, load {loads[-1]:.1f}", file=sys.stderr, flush=True)
    print(f"load average (1 min) over the run: {min(loads):.1f}-{max(loads):.1f}; {args.rounds} rounds of "
          f"{args.seconds} s samples; median [min, max] Gbit/s, bytes per frame at the fabric port / sender uplink")
    print(f"{'configuration':20} {'scenario':24} {'IPv4':>24} {'IPv6':>24} {'v4/v6':>6}  "
          "bytes/frame IPv4, IPv6 (fabric port / sender uplink)")
    for cfg in configs:
        for scenario in args.scenarios.split(","):
            cols, med, frames = [], {}, []
            for family in (4, 6):
                got = [s for s in samples if s["config"] == cfg.name and s["scenario"] == scenario
                       and s["family"] == family]
                g = sorted(s["gbit"] for s in got)
                med[family] = statistics.median(g)
                cols.append(f"{med[family]:5.1f} [{g[0]:4.1f}, {g[-1]:4.1f}]")
                frames.append(f"{statistics.median(s['fabric_frame'] for s in got):6.0f} / "
                              f"{statistics.median(s['uplink_frame'] for s in got):6.0f}")
            ratio = med[4] / med[6] if med[6] > 0 else float("inf")
            print(f"{cfg.name:20} {scenario:24} {cols[0]:>24} {cols[1]:>24} {ratio:6.2f}  {', '.join(frames)}")
    print_paired(samples, configs, args.scenarios.split(","))
    if args.output:
        with open(args.output, "w") as out:
            json.dump({"loads": loads, "samples": samples}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
