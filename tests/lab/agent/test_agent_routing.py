"""Inter-node routing as data: native routes versus a VXLAN overlay, both families."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from cilium_tune.lab.agent.config import parse_config
from cilium_tune.lab.agent.ipam import node_pod_cidrs, outside_pool, pool_block
from cilium_tune.lab.agent.model import NodeInfo
from cilium_tune.lab.agent.routing import TUNNEL_DEVICE, endpoint_mtu, node_mac, plan_routing

DUAL = {"enable-ipv6": "true", "ipv4-native-routing-cidr": "198.19.0.0/16",
        "ipv6-native-routing-cidr": "fd00:19::/104"}


def lab_nodes() -> list[NodeInfo]:
    return [
        NodeInfo(f"n{i}", IPv4Address(f"198.18.0.{10 + i}"), IPv6Address(f"fd00:18::{10 + i}"),
                 (ip_network(f"198.19.{i}.0/24"), ip_network(f"fd00:19::{i}00/120")))
        for i in (1, 2, 3)
    ]


def test_native_with_auto_direct_node_routes_routes_pod_blocks_via_node_addresses() -> None:
    cfg = parse_config({**DUAL, "routing-mode": "native", "auto-direct-node-routes": "true"})
    nodes = lab_nodes()
    plan = plan_routing(cfg, nodes[0], nodes, 1500)
    assert plan.tunnel is None
    assert {(r.dst, r.gateway) for r in plan.routes} == {
        ("198.19.2.0/24", "198.18.0.12"), ("fd00:19::200/120", "fd00:18::12"),
        ("198.19.3.0/24", "198.18.0.13"), ("fd00:19::300/120", "fd00:18::13"),
    }


def test_native_without_auto_direct_node_routes_leaves_routing_to_the_network() -> None:
    cfg = parse_config({**DUAL, "routing-mode": "native"})
    nodes = lab_nodes()
    plan = plan_routing(cfg, nodes[0], nodes, 1500)
    assert plan.routes == ()
    assert "198.19.2.0/24" in plan.managed_cidrs  # so stale routes to it are removed


def test_tunnel_uses_vxlan_with_static_peers_and_a_lower_mtu() -> None:
    cfg = parse_config(DUAL)
    nodes = lab_nodes()
    plan = plan_routing(cfg, nodes[0], nodes, 1500)
    assert plan.tunnel is not None
    assert plan.tunnel.device == TUNNEL_DEVICE and plan.tunnel.mtu == 1450 and plan.tunnel.port == 8472
    assert plan.tunnel.local == "198.18.0.11"
    assert [(p.underlay, p.mac) for p in plan.tunnel.peers] == [
        ("198.18.0.12", node_mac(nodes[1])), ("198.18.0.13", node_mac(nodes[2]))]
    assert all(r.device == TUNNEL_DEVICE and r.onlink == (r.version == 4) for r in plan.routes)
    assert {r.gateway for r in plan.routes if r.dst == "fd00:19::200/120"} == {"fe80::c7:c612:c"}
    assert {r.dst for r in plan.routes} == {"198.19.2.0/24", "fd00:19::200/120", "198.19.3.0/24",
                                            "fd00:19::300/120"}


def test_configured_mtu_wins_over_the_device() -> None:
    cfg = parse_config({"mtu": "9000"})
    nodes = lab_nodes()
    plan = plan_routing(cfg, nodes[0], nodes, 1500)
    assert plan.tunnel is not None and plan.tunnel.mtu == 8950


def test_cluster_pool_blocks_follow_the_pool_list() -> None:
    pools = [ip_network("198.19.0.0/23"), ip_network("198.20.0.0/24")]
    assert [str(pool_block(pools, 24, i)) for i in range(3)] == ["198.19.0.0/24", "198.19.1.0/24",
                                                                  "198.20.0.0/24"]


def test_node_spec_pod_cidrs_win_and_the_pool_fills_the_missing_family() -> None:
    cfg = parse_config({"enable-ipv6": "true", "cluster-pool-ipv6-cidr": "fd00:19::/104"})
    assert [str(c) for c in node_pod_cidrs(cfg, ["198.19.2.0/24"], 2)] == ["198.19.2.0/24", "fd00:19::200/120"]


def test_blocks_outside_the_cluster_pool_are_reported() -> None:
    cfg = parse_config({"cluster-pool-ipv4-cidr": "10.0.0.0/8"})
    assert outside_pool(cfg, [ip_network("198.19.1.0/24")]) == ["198.19.1.0/24"]
    assert outside_pool(cfg, [ip_network("10.0.1.0/24")]) == []


def test_pods_get_the_tunnel_mtu_in_tunnel_mode_only() -> None:
    nodes = lab_nodes()
    tunnel = plan_routing(parse_config(DUAL), nodes[0], nodes, 1500)
    native = plan_routing(parse_config({**DUAL, "routing-mode": "native"}), nodes[0], nodes, 1500)
    assert (endpoint_mtu(tunnel, 1500), endpoint_mtu(native, 1500), endpoint_mtu(native, 1500, 9000)) == (
        1450, 1500, 9000)
