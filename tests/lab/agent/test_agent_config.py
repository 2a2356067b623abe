"""cilium-config -> agent settings: defaults, the managed keys, and the refusals."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from cilium_tune.lab.agent.config import AgentConfigError, parse_config


def test_empty_config_means_the_agent_defaults() -> None:
    cfg = parse_config({})
    assert cfg.routing_mode == "tunnel" and cfg.tunnel_port == 8472
    assert cfg.datapath_mode == "veth"
    assert cfg.families == (4,)
    assert not cfg.kube_proxy_replacement and not cfg.socket_lb_active


def test_runbook_settings_are_read_from_the_real_keys() -> None:
    cfg = parse_config({
        "routing-mode": "native", "auto-direct-node-routes": "true", "enable-ipv6": "true",
        "ipv4-native-routing-cidr": "198.19.0.0/16", "ipv6-native-routing-cidr": "fd00:19::/104",
        "enable-ipv4-big-tcp": "true", "kube-proxy-replacement": "true", "enable-bpf-masquerade": "true",
        "datapath-mode": "netkit", "cluster-pool-ipv4-cidr": "198.19.0.0/17 198.19.128.0/17",
        "clean-cilium-state": "true",
    })
    assert cfg.routing_mode == "native" and cfg.auto_direct_node_routes
    assert cfg.ipv6_native_routing_cidr == ip_network("fd00:19::/104")
    assert cfg.enable_ipv4_big_tcp and not cfg.enable_ipv6_big_tcp
    assert cfg.socket_lb_active  # forced on by kube-proxy replacement
    assert cfg.datapath_mode == "netkit" and cfg.clean_state
    assert len(cfg.cluster_pool_ipv4) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"routing-mode": "direct"}, 'invalid routing mode "direct"'),
        ({"datapath-mode": "auto"}, 'invalid datapath mode "auto"'),
        ({"kube-proxy-replacement": "strict"}, 'invalid kube-proxy-replacement "strict"'),
        ({"routing-mode": "native"}, "needs ipv4-native-routing-cidr"),
        ({"enable-bpf-masquerade": "true"}, "needs BPF NodePort"),
        ({"enable-ipv4": "false"}, "either IPv4 or IPv6"),
        ({"enable-ipv6": "yes please"}, 'invalid boolean value "yes please" for flag enable-ipv6'),
        ({"ipv4-native-routing-cidr": "fd00::/8"}, "not an IPv4 CIDR"),
    ],
)
def test_values_the_agent_refuses(data: dict[str, str], message: str) -> None:
    with pytest.raises(AgentConfigError, match=message):
        parse_config(data)
