"""cilium-config (the ConfigMap's data) -> the settings the lab agent acts on. Pure.

The agent reads the same keys as cilium-agent and refuses the same impossible values, so a bad
overlay fails in the lab the way it would fail on a cluster: the pod crash-loops and its log says why.
Keys the lab does not act on are ignored, as the real agent ignores unknown ConfigMap keys.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Literal, cast

RoutingMode = Literal["native", "tunnel"]
DatapathMode = Literal["veth", "netkit", "netkit-l2"]
DATAPATH_MODES: tuple[DatapathMode, ...] = ("veth", "netkit", "netkit-l2")
VXLAN_PORT = 8472
GENEVE_PORT = 6081
BIG_TCP_SIZE = 196608
"""GSO/GRO size the agent sets when BIG TCP is on (what `cilium-dbg status` prints in brackets)."""
DEFAULT_GSO_SIZE = 65536


class AgentConfigError(ValueError):
    """cilium-config holds a value the agent cannot start with; the message is the agent's log line."""


@dataclass(frozen=True)
class AgentConfig:
    """The settings from cilium-config that shape a node's datapath."""

    routing_mode: RoutingMode = "tunnel"
    tunnel_protocol: str = "vxlan"
    tunnel_port: int = VXLAN_PORT
    mtu: int = 0
    auto_direct_node_routes: bool = False
    enable_ipv4: bool = True
    enable_ipv6: bool = False
    ipv4_native_routing_cidr: IPv4Network | None = None
    ipv6_native_routing_cidr: IPv6Network | None = None
    enable_ipv4_masquerade: bool = True
    enable_ipv6_masquerade: bool = True
    enable_bpf_masquerade: bool = False
    enable_ipv4_big_tcp: bool = False
    enable_ipv6_big_tcp: bool = False
    datapath_mode: DatapathMode = "veth"
    kube_proxy_replacement: bool = False
    socket_lb: bool = False
    socket_lb_hostns_only: bool = False
    l2_neigh_discovery: bool = False
    ipam: str = "cluster-pool"
    cluster_pool_ipv4: tuple[IPv4Network, ...] = ()
    cluster_pool_ipv4_mask: int = 24
    cluster_pool_ipv6: tuple[IPv6Network, ...] = ()
    cluster_pool_ipv6_mask: int = 120
    clean_state: bool = False
    clean_bpf_state: bool = False
    enable_gateway_api: bool = False
    gateway_api_hostnetwork: bool = False

    @property
    def socket_lb_active(self) -> bool:
        """kube-proxy replacement forces socket LB on, whatever bpf-lb-sock says."""
        return self.socket_lb or self.kube_proxy_replacement

    @property
    def families(self) -> tuple[int, ...]:
        return tuple(v for v, on in ((4, self.enable_ipv4), (6, self.enable_ipv6)) if on)


def _bool(data: dict[str, str], key: str, default: bool) -> bool:
    raw = data.get(key)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "t"):
        return True
    if value in ("false", "0", "f"):
        return False
    raise AgentConfigError(f'invalid boolean value "{raw}" for flag {key}')


def _int(data: dict[str, str], key: str, default: int) -> int:
    raw = data.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise AgentConfigError(f'invalid integer value "{raw}" for flag {key}') from None


def _cidrs(data: dict[str, str], key: str, version: int) -> tuple[IPv4Network | IPv6Network, ...]:
    result = []
    for item in (data.get(key) or "").replace(",", " ").split():
        try:
            net = ipaddress.ip_network(item, strict=True)
        except ValueError:
            raise AgentConfigError(f'invalid CIDR "{item}" in {key}') from None
        if net.version != version:
            raise AgentConfigError(f'{key} holds "{item}", which is not an IPv{version} CIDR')
        result.append(net)
    return tuple(result)


def parse_config(data: dict[str, str]) -> AgentConfig:
    """Read cilium-config's data; raise AgentConfigError on values the agent would refuse."""
    routing = (data.get("routing-mode") or "tunnel").strip()
    if routing not in ("native", "tunnel"):
        raise AgentConfigError(f'invalid routing mode "{routing}", valid modes = {{tunnel, native}}')
    protocol = (data.get("tunnel-protocol") or "vxlan").strip()
    if protocol not in ("vxlan", "geneve"):
        raise AgentConfigError(f'invalid tunnel protocol "{protocol}", valid protocols = {{vxlan, geneve}}')
    mode = (data.get("datapath-mode") or "veth").strip()
    if mode not in DATAPATH_MODES:
        raise AgentConfigError(f'invalid datapath mode "{mode}", valid modes = {{veth, netkit, netkit-l2}}')
    kpr = (data.get("kube-proxy-replacement") or "false").strip()
    if kpr not in ("true", "false"):
        raise AgentConfigError(f'invalid kube-proxy-replacement "{kpr}", valid values = {{true, false}}')
    native4 = _cidrs(data, "ipv4-native-routing-cidr", 4)
    native6 = _cidrs(data, "ipv6-native-routing-cidr", 6)
    cfg = AgentConfig(
        routing_mode="native" if routing == "native" else "tunnel",
        tunnel_protocol=protocol,
        tunnel_port=_int(data, "tunnel-port", 0) or (VXLAN_PORT if protocol == "vxlan" else GENEVE_PORT),
        mtu=_int(data, "mtu", 0),
        auto_direct_node_routes=_bool(data, "auto-direct-node-routes", False),
        enable_ipv4=_bool(data, "enable-ipv4", True),
        enable_ipv6=_bool(data, "enable-ipv6", False),
        ipv4_native_routing_cidr=cast(IPv4Network, native4[0]) if native4 else None,
        ipv6_native_routing_cidr=cast(IPv6Network, native6[0]) if native6 else None,
        enable_ipv4_masquerade=_bool(data, "enable-ipv4-masquerade", True),
        enable_ipv6_masquerade=_bool(data, "enable-ipv6-masquerade", True),
        enable_bpf_masquerade=_bool(data, "enable-bpf-masquerade", False),
        enable_ipv4_big_tcp=_bool(data, "enable-ipv4-big-tcp", False),
        enable_ipv6_big_tcp=_bool(data, "enable-ipv6-big-tcp", False),
        datapath_mode=mode,
        kube_proxy_replacement=kpr == "true",
        socket_lb=_bool(data, "bpf-lb-sock", False),
        socket_lb_hostns_only=_bool(data, "bpf-lb-sock-hostns-only", False),
        l2_neigh_discovery=_bool(data, "enable-l2-neigh-discovery", False),
        ipam=(data.get("ipam") or "cluster-pool").strip(),
        cluster_pool_ipv4=cast(tuple[IPv4Network, ...], _cidrs(data, "cluster-pool-ipv4-cidr", 4)),
        cluster_pool_ipv4_mask=_int(data, "cluster-pool-ipv4-mask-size", 24),
        cluster_pool_ipv6=cast(tuple[IPv6Network, ...], _cidrs(data, "cluster-pool-ipv6-cidr", 6)),
        cluster_pool_ipv6_mask=_int(data, "cluster-pool-ipv6-mask-size", 120),
        clean_state=_bool(data, "clean-cilium-state", False),
        clean_bpf_state=_bool(data, "clean-cilium-bpf-state", False),
        enable_gateway_api=_bool(data, "enable-gateway-api", False),
        gateway_api_hostnetwork=_bool(data, "gateway-api-hostnetwork-enabled", False),
    )
    _validate(cfg)
    return cfg


def _validate(cfg: AgentConfig) -> None:
    """Start-up refusals of cilium-agent that depend only on the configuration."""
    if not cfg.enable_ipv4 and not cfg.enable_ipv6:
        raise AgentConfigError("either IPv4 or IPv6 addressing must be enabled")
    if cfg.routing_mode == "native":
        if cfg.enable_ipv4 and cfg.enable_ipv4_masquerade and cfg.ipv4_native_routing_cidr is None:
            raise AgentConfigError(
                "routing-mode=native with enable-ipv4-masquerade=true needs ipv4-native-routing-cidr"
            )
        if cfg.enable_ipv6 and cfg.enable_ipv6_masquerade and cfg.ipv6_native_routing_cidr is None:
            raise AgentConfigError(
                "routing-mode=native with enable-ipv6-masquerade=true needs ipv6-native-routing-cidr"
            )
    if cfg.enable_bpf_masquerade and not cfg.kube_proxy_replacement:
        raise AgentConfigError("enable-bpf-masquerade=true needs BPF NodePort (kube-proxy-replacement=true)")
    if cfg.tunnel_protocol == "geneve" and cfg.routing_mode == "tunnel":
        # Not a Cilium refusal: this kernel has no GENEVE, the real agent fails creating the device.
        raise AgentConfigError(
            'failed to create tunnel device "cilium_geneve": operation not supported (kernel has no GENEVE)'
        )
