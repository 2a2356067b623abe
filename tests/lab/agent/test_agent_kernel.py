"""The agent's kernel part on real namespaces this test builds (two nodes, one pod each, dual-stack).

Routing native <-> tunnel, kube-proxy iptables chains versus the nft service map, BIG TCP sizes, the
netkit probe and endpoint discovery, all checked with HTTP traffic between the namespaces.
Everything is named `ctag<pid>-*` and removed afterwards, also when a test fails.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path

import pytest

from cilium_tune.lab import topology
from cilium_tune.lab.agent.config import AgentConfig, parse_config
from cilium_tune.lab.agent.kernel import NodeKernel
from cilium_tune.lab.agent.model import Backend, NodeInfo, Service, ServicePort
from cilium_tune.lab.agent.routing import endpoint_mtu, plan_routing
from cilium_tune.lab.agent.services import iptables_nat, nft_ruleset, plan_masquerade

pytestmark = pytest.mark.root

SERVICE_V4 = "198.18.64.10"
SERVICE_V6 = "fd00:64::10"
DUAL = {"enable-ipv6": "true", "ipv4-native-routing-cidr": "198.19.0.0/16",
        "ipv6-native-routing-cidr": "fd00:19::/104", "cluster-pool-ipv4-cidr": "198.19.0.0/16",
        "cluster-pool-ipv6-cidr": "fd00:19::/104"}


@dataclass
class Lab:
    topo: topology.Topology
    nodes: list[NodeInfo]
    pods: list[topology.PodLink]
    pod_ips: list[list[str]]
    server: subprocess.Popen[bytes]

    def kernel(self, i: int) -> NodeKernel:
        return NodeKernel(self.topo.nodes[i].netns)

    def apply(self, cfg: AgentConfig, services: list[Service] | None = None) -> None:
        for i, me in enumerate(self.nodes):
            with self.kernel(i) as k:
                routing = plan_routing(cfg, me, self.nodes, 1500)
                k.apply_routing(routing)
                k.apply_device_settings(k.uplink(str(me.ipv4)), k.endpoints(), mtu=endpoint_mtu(routing, 1500),
                                        ipv4_big_tcp=False, ipv6_big_tcp=False)
                masq = plan_masquerade(cfg, me)
                kube_proxy = not cfg.kube_proxy_replacement
                k.apply_nat(iptables_nat(4, services or [], masq, kube_proxy=kube_proxy),
                            iptables_nat(6, services or [], masq, kube_proxy=kube_proxy),
                            nft_ruleset(services or [], masq, kube_proxy_replacement=cfg.kube_proxy_replacement,
                                        bpf_masquerade=cfg.enable_bpf_masquerade))

    def in_ns(self, ns: str, *argv: str, timeout: float = 5) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def reach(self, src: int, dst_ip: str) -> bool:
        """An HTTP request from pod `src` to the server in pod 2 (the machine has no ping)."""
        return "hello from pod 2" in self.http(src, dst_ip, 8080)

    def http(self, src: int, ip: str, port: int = 80) -> str:
        host = f"[{ip}]" if ":" in ip else ip
        done = self.in_ns(self.pods[src].netns, "curl", "-s", "-m", "3", f"http://{host}:{port}/")
        return done.stdout


@pytest.fixture(scope="module")
def lab(root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    name = f"ctag{os.getpid() % 100000}"
    topo = topology.plan_topology(name, 2, dual_stack=True)
    www = tmp_path_factory.mktemp("www")
    (www / "index.html").write_text("hello from pod 2\n")
    server: subprocess.Popen[bytes] | None = None
    try:
        topology.build(topo)
        nodes, pods, ips = [], [], []
        for i, node in enumerate(topo.nodes):
            addrs = [str(node.pod_cidr_v4.network_address + 5), str(node.pod_cidr_v6.network_address + 5)]  # type: ignore[union-attr]
            pods.append(topology.wire_pod(node, f"{name}-p{i}pod", addrs))
            ips.append(addrs)
            nodes.append(NodeInfo(node.name, node.ipv4, node.ipv6,
                                  (ip_network(node.pod_cidr_v4), ip_network(str(node.pod_cidr_v6)))))
        server = subprocess.Popen(
            ["ip", "netns", "exec", pods[1].netns, "python3", "-m", "http.server", "--bind", "::", "8080",
             "--directory", str(www)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lab = Lab(topo, nodes, pods, ips, server)
        for _ in range(50):  # the server needs a moment; node 2 reaches its own pod without any routing
            if "hello" in lab.in_ns(topo.nodes[1].netns, "curl", "-s", "-m", "1", f"http://{ips[1][0]}:8080/").stdout:
                break
            time.sleep(0.1)
        yield lab
    finally:
        if server is not None:
            server.kill()
            server.wait()
        topology.teardown(name)


def web(lab: Lab) -> Service:
    v4, v6 = lab.pod_ips[1]
    return Service("default", "web", (SERVICE_V4, SERVICE_V6),
                   (ServicePort("http", "TCP", 80, (Backend(v4, 8080), Backend(v6, 8080))),))


def test_tunnel_then_native_keeps_pods_reaching_each_other_in_both_families(lab: Lab) -> None:
    tunnel = parse_config(DUAL)
    lab.apply(tunnel)
    with lab.kernel(0) as k:
        assert k.tunnel_fdb() == {"0a:c7:c6:12:00:0c": "198.18.0.12"}
    assert lab.reach(0, lab.pod_ips[1][0]) and lab.reach(0, lab.pod_ips[1][1])
    out = lab.in_ns(lab.topo.nodes[0].netns, "ip", "-d", "link", "show", "cilium_vxlan").stdout
    assert "mtu 1450" in out and "vxlan id 2" in out

    native = parse_config({**DUAL, "routing-mode": "native", "auto-direct-node-routes": "true"})
    lab.apply(native)
    assert lab.in_ns(lab.topo.nodes[0].netns, "ip", "link", "show", "cilium_vxlan").returncode != 0
    routes = lab.in_ns(lab.topo.nodes[0].netns, "ip", "-6", "route").stdout
    assert "fd00:19::200/120 via fd00:18::12" in routes
    with NodeKernel(lab.pods[0].netns) as pod:
        assert pod.mtu("eth0") == 1500
    assert lab.reach(0, lab.pod_ips[1][0]) and lab.reach(0, lab.pod_ips[1][1])


def test_native_without_direct_routes_cannot_cross_nodes(lab: Lab) -> None:
    lab.apply(parse_config({**DUAL, "routing-mode": "native"}))
    assert not lab.reach(0, lab.pod_ips[1][0])
    lab.apply(parse_config({**DUAL, "routing-mode": "native", "auto-direct-node-routes": "true"}))
    assert lab.reach(0, lab.pod_ips[1][0])


def test_kube_proxy_chains_then_service_map_both_reach_the_service(lab: Lab) -> None:
    base = {**DUAL, "routing-mode": "native", "auto-direct-node-routes": "true"}
    lab.apply(parse_config(base), [web(lab)])
    for node in lab.topo.nodes:
        saved = lab.in_ns(node.netns, "iptables-save", "-t", "nat").stdout
        assert "-A KUBE-SERVICES -d 198.18.64.10/32" in saved and ":KUBE-SVC-" in saved
    assert "hello from pod 2" in lab.http(0, SERVICE_V4)
    assert "hello from pod 2" in lab.http(0, SERVICE_V6)

    lab.apply(parse_config({**base, "kube-proxy-replacement": "true"}), [web(lab)])
    for node in lab.topo.nodes:
        assert "KUBE-" not in lab.in_ns(node.netns, "iptables-save").stdout
        assert "KUBE-" not in lab.in_ns(node.netns, "ip6tables-save").stdout
        assert "services4" in lab.in_ns(node.netns, "nft", "list", "table", "inet", "cilium_tune_lb").stdout
    assert "hello from pod 2" in lab.http(0, SERVICE_V4)
    assert "hello from pod 2" in lab.http(0, SERVICE_V6)


def test_ipv4_big_tcp_sizes_land_on_uplink_and_both_pod_ends(lab: Lab) -> None:
    with lab.kernel(0) as k:
        uplink = k.uplink("198.18.0.11")
        endpoints = k.endpoints()
        k.apply_device_settings(uplink, endpoints, mtu=1500, ipv4_big_tcp=True, ipv6_big_tcp=False)
        assert k.gso_sizes(endpoints[0].ifname)["gso_ipv4_max_size"] == 196608
        assert k.gso_sizes("eth0")["gro_ipv4_max_size"] == 196608
        assert k.gso_sizes("eth0")["gso_max_size"] == 65536
    with NodeKernel(lab.pods[0].netns) as pod:
        assert pod.gso_sizes("eth0")["gso_ipv4_max_size"] == 196608
    with lab.kernel(0) as k:
        k.apply_device_settings(uplink, endpoints, mtu=1500, ipv4_big_tcp=False, ipv6_big_tcp=False)
        assert k.gso_sizes(endpoints[0].ifname)["gso_ipv4_max_size"] == 65536


def test_a_file_in_run_netns_that_is_no_namespace_is_skipped(lab: Lab) -> None:
    """Seen on a shared machine: a half-removed namespace makes the kernel answer EINVAL for its file."""
    stray = Path("/run/netns") / f"{lab.topo.lab}-notns"
    stray.touch()
    try:
        with lab.kernel(0) as k:
            endpoints = k.endpoints()
            k.apply_device_settings(k.uplink("198.18.0.11"), endpoints, mtu=1500, ipv4_big_tcp=False,
                                    ipv6_big_tcp=False)
        with NodeKernel(lab.pods[0].netns) as pod:
            assert pod.mtu("eth0") == 1500  # the pod's end was still found and set
    finally:
        stray.unlink()


def test_endpoints_are_found_and_netkit_cannot_be_created_here(lab: Lab) -> None:
    with lab.kernel(0) as k:
        (ep,) = k.endpoints()
        assert ep.kind == "veth" and set(ep.addresses) == set(lab.pod_ips[0])
        assert k.probe_netkit() == "Operation not supported"


def test_resetting_load_balancing_empties_conntrack_and_the_service_map(lab: Lab) -> None:
    base = {**DUAL, "routing-mode": "native", "auto-direct-node-routes": "true", "kube-proxy-replacement": "true"}
    lab.apply(parse_config(base), [web(lab)])
    assert "hello from pod 2" in lab.http(0, SERVICE_V4)
    with lab.kernel(0) as k:
        assert SERVICE_V4 in k.run(["conntrack", "-L"])
        k.reset_load_balancing()
        assert SERVICE_V4 not in k.run(["conntrack", "-L"])
        assert "cilium_tune_lb" not in k.run(["nft", "list", "tables"])


def test_forgotten_endpoints_lose_connectivity(lab: Lab) -> None:
    """Last in this module: it cuts pod 2 off for good."""
    lab.apply(parse_config({**DUAL, "routing-mode": "native", "auto-direct-node-routes": "true"}))
    with lab.kernel(1) as k:
        k.forget(k.endpoints())
        assert k.endpoints() == []
    assert not lab.reach(0, lab.pod_ips[1][0])
