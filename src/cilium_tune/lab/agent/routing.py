"""Routing between nodes as data: native routes or a VXLAN overlay with static forwarding entries. Pure.

Native: each other node's pod blocks are routed via that node's underlay address, but only with
auto-direct-node-routes (as in Cilium, without it the network is expected to route pod CIDRs; the lab's
fabric is a plain bridge, so cross-node pod traffic then fails exactly as it would on a flat L2 network).

Tunnel: one VXLAN device (`cilium_vxlan`, learning off). Every other node gets a deterministic MAC, a
forwarding entry MAC -> its underlay address, a permanent neighbour for a per-node tunnel gateway address
(the network address of its IPv4 pod block, onlink; a link-local address for IPv6) and routes of its pod
blocks via that gateway. Both families ride the same IPv4 underlay (IPv6 when the cluster is
IPv6-only), so the device MTU is the underlay MTU minus the encapsulation overhead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address

from cilium_tune.lab.agent.config import AgentConfig
from cilium_tune.lab.agent.model import IPNetwork, NodeInfo

TUNNEL_DEVICE = "cilium_vxlan"
TUNNEL_VNI = 2
VXLAN_OVERHEAD = {4: 50, 6: 70}


@dataclass(frozen=True)
class Route:
    dst: str
    gateway: str
    onlink: bool = False
    device: str | None = None

    @property
    def version(self) -> int:
        return 6 if ":" in self.dst else 4


@dataclass(frozen=True)
class TunnelPeer:
    node: str
    mac: str
    underlay: str
    gateways: tuple[str, ...]


@dataclass(frozen=True)
class Tunnel:
    device: str
    vni: int
    port: int
    local: str
    mtu: int
    mac: str
    peers: tuple[TunnelPeer, ...]


@dataclass(frozen=True)
class Routing:
    """Everything about inter-node routing on one node."""

    mode: str
    routes: tuple[Route, ...]
    tunnel: Tunnel | None
    managed_cidrs: tuple[str, ...]
    """All other nodes' pod blocks: any route to these that is not in `routes` is stale."""


def node_mac(node: NodeInfo) -> str:
    """A stable, locally administered MAC for a node's tunnel device, derived from its underlay address."""
    addr = node.ipv4 if node.ipv4 is not None else node.ipv6
    if addr is None:
        raise ValueError(f"node {node.name} has no underlay address")
    tail = addr.packed[-4:]
    return "0a:c7:" + ":".join(f"{b:02x}" for b in tail)


def _tunnel_gateway(cidr: IPNetwork, node: NodeInfo) -> str:
    """IPv4: the network address of the peer's block, onlink. IPv6: a link-local address derived from the
    peer's MAC (IPv6 routes take link-local gateways on the device without needing onlink)."""
    if cidr.version == 4:
        return str(cidr.network_address)
    tail = node_mac(node).split(":")[2:]
    return str(IPv6Address(f"fe80::c7:{tail[0]}{tail[1]}:{tail[2]}{tail[3]}"))


def plan_routing(cfg: AgentConfig, me: NodeInfo, nodes: Sequence[NodeInfo], underlay_mtu: int) -> Routing:
    others = [n for n in nodes if n.name != me.name]
    managed = tuple(str(c) for n in others for c in n.pod_cidrs if c.version in cfg.families)
    if cfg.routing_mode == "native":
        routes: list[Route] = []
        if cfg.auto_direct_node_routes:
            for node in others:
                for cidr in node.pod_cidrs:
                    via = node.address(cidr.version)
                    if cidr.version in cfg.families and via is not None:
                        routes.append(Route(dst=str(cidr), gateway=str(via)))
        return Routing("native", tuple(routes), None, managed)

    underlay_version = 4 if me.ipv4 is not None else 6
    local = me.address(underlay_version)
    if local is None:
        raise ValueError(f"node {me.name} has no IPv{underlay_version} address for the tunnel")
    mtu = (cfg.mtu or underlay_mtu) - VXLAN_OVERHEAD[underlay_version]
    peers = []
    routes = []
    for node in others:
        remote = node.address(underlay_version)
        if remote is None:
            continue
        gateways = []
        for cidr in node.pod_cidrs:
            if cidr.version not in cfg.families:
                continue
            gateway = _tunnel_gateway(cidr, node)
            gateways.append(gateway)
            routes.append(Route(dst=str(cidr), gateway=gateway, onlink=cidr.version == 4, device=TUNNEL_DEVICE))
        peers.append(TunnelPeer(node.name, node_mac(node), str(remote), tuple(gateways)))
    tunnel = Tunnel(TUNNEL_DEVICE, TUNNEL_VNI, cfg.tunnel_port, str(local), mtu, node_mac(me), tuple(peers))
    return Routing("tunnel", tuple(routes), tunnel, managed)


def endpoint_mtu(routing: Routing, underlay_mtu: int, configured: int = 0) -> int:
    """The MTU pods get: the tunnel device's in tunnel mode, else the configured or underlay MTU."""
    return routing.tunnel.mtu if routing.tunnel is not None else (configured or underlay_mtu)
