"""The agent's datapath-mode refusals and its cilium-dbg-style status lines."""

from __future__ import annotations

import io
from ipaddress import IPv4Address, IPv6Address

import pytest

from cilium_tune.lab.agent.config import parse_config
from cilium_tune.lab.agent.endpoints import NETKIT_PROBE_FAILED, incompatible_endpoints_error
from cilium_tune.lab.agent.model import Endpoint, NodeInfo
from cilium_tune.lab.agent.run import Log, kernel_version
from cilium_tune.lab.agent.status import Observed, status_lines

PODS = [Endpoint("default/b", ("198.19.1.6",), "lxcb", "veth"), Endpoint("default/a", ("198.19.1.5",), "lxca", "veth")]


def test_veth_endpoints_block_a_netkit_start_with_the_agent_message() -> None:
    message = incompatible_endpoints_error("netkit", PODS, {"default/a": 101, "default/b": 102})
    assert message == (
        "Cannot start cilium-agent with datapath-mode=netkit: detected 2 existing endpoint(s) using veth "
        "datapath mode. Endpoints using veth datapath mode: [default/a (endpoint-101) default/b (endpoint-102)]. "
        "Please delete these pods or change the datapath mode back to veth before starting the agent "
        "with netkit mode"
    )


def test_matching_endpoints_pass() -> None:
    assert incompatible_endpoints_error("veth", PODS, {}) is None
    assert incompatible_endpoints_error("netkit-l2", [], {}) is None


def test_probe_message_is_the_agents() -> None:
    assert NETKIT_PROBE_FAILED == "netkit devices need kernel 6.7.0 or newer and CONFIG_NETKIT"


def test_status_lines_read_like_cilium_dbg_status() -> None:
    cfg = parse_config({"routing-mode": "native", "ipv4-native-routing-cidr": "198.19.0.0/16",
                        "kube-proxy-replacement": "true", "enable-bpf-masquerade": "true",
                        "enable-ipv4-big-tcp": "true", "bpf-lb-sock-hostns-only": "true"})
    me = NodeInfo("n1", IPv4Address("198.18.0.11"), IPv6Address("fd00:18::11"))
    lines = status_lines(cfg, me, Observed("eth0", ipv4_big_tcp=True, ipv6_big_tcp=False))
    text = "\n".join(lines)
    assert "KubeProxyReplacement:    True   [eth0   198.18.0.11 fd00:18::11 (Direct Routing)]" in text
    assert "Routing:                 Network: Native   Host: BPF" in text
    assert "Device Mode:             veth" in text
    assert "Masquerading:            BPF   [eth0]   198.19.0.0/16 [IPv4: Enabled, IPv6: Disabled]" in text
    assert "IPv4 BIG TCP:            Enabled   [196608]" in text
    assert "IPv6 BIG TCP:            Disabled" in text
    assert "Socket LB Coverage:      Hostns-only" in text


def test_tunnel_with_iptables_masquerading() -> None:
    cfg = parse_config({})
    lines = status_lines(cfg, NodeInfo("n1", IPv4Address("198.18.0.11"), None), Observed("eth0", False, False))
    assert "Routing:                 Network: Tunnel [vxlan]   Host: Legacy" in lines
    assert "Masquerading:            IPTables [IPv4: Enabled, IPv6: Disabled]" in lines
    assert "KubeProxyReplacement:    False" in lines


def test_log_lines_are_logfmt_like_cilium_agent() -> None:
    out = io.StringIO()
    Log(out)("fatal", 'Cannot start: "x" failed', node="lab-1")
    line = out.getvalue()
    assert line.startswith("time=") and line.endswith('subsys=daemon node=lab-1\n')
    assert 'level=fatal msg="Cannot start: \\"x\\" failed"' in line


@pytest.mark.parametrize(("release", "version"), [("6.18.44-fc-v657", (6, 18)), ("5.19.0", (5, 19)),
                                                  ("6.3rc1", (6, 3)), ("weird", (0, 0))])
def test_kernel_release_parsing(release: str, version: tuple[int, int]) -> None:
    assert kernel_version(release) == version
