"""The agent's report in the shape of `cilium-dbg status`, for the pod log. Pure.

Only the lines the tool's checks read are produced (facts section 5): KubeProxyReplacement, Routing,
Attach Mode, Device Mode, Masquerading, IPv4/IPv6 BIG TCP, plus the socket LB lines of `--verbose`
and, the lab's own, where the configuration came from (Config Sources, Node Config Overrides).
Column layout follows cilium-dbg: the label padded to a fixed width, then the value. Every agent start
prints the lines between BLOCK_BEGIN and BLOCK_END markers, so a tool reading the current pod's log
takes the last block (`cilium_tune.facts.agent_status.parse_agent_status`; format in docs/lab.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cilium_tune.facts.agent_status import BLOCK_BEGIN, BLOCK_END
from cilium_tune.lab.agent.config import BIG_TCP_SIZE, AgentConfig
from cilium_tune.lab.agent.model import NodeInfo
from cilium_tune.lab.agent.nodeconfig import Resolved

_WIDTH = 25


@dataclass(frozen=True)
class Observed:
    """What the agent found when it applied the config (kernel facts, not wishes)."""

    uplink: str
    ipv4_big_tcp: bool
    ipv6_big_tcp: bool
    netkit_emulated: bool = False


def _line(label: str, value: str) -> str:
    return f"{label + ':':<{_WIDTH}}{value}"


def host_routing(cfg: AgentConfig) -> str:
    """BPF host routing needs kube-proxy replacement and BPF masquerading; otherwise Legacy."""
    return "BPF" if cfg.kube_proxy_replacement and cfg.enable_bpf_masquerade else "Legacy"


def status_lines(cfg: AgentConfig, me: NodeInfo, seen: Observed) -> list[str]:
    addrs = " ".join(str(a) for a in (me.ipv4, me.ipv6) if a is not None)
    kpr = f"True   [{seen.uplink}   {addrs} (Direct Routing)]" if cfg.kube_proxy_replacement else "False"
    network = "Native" if cfg.routing_mode == "native" else f"Tunnel [{cfg.tunnel_protocol}]"
    v4 = _on(cfg.enable_ipv4_masquerade and cfg.enable_ipv4)
    fams = f"[IPv4: {v4}, IPv6: {_on(cfg.enable_ipv6_masquerade and cfg.enable_ipv6)}]"
    if not (cfg.enable_ipv4_masquerade or cfg.enable_ipv6_masquerade):
        masq = "Disabled"
    elif cfg.enable_bpf_masquerade:
        native = cfg.ipv4_native_routing_cidr or cfg.ipv6_native_routing_cidr
        masq = f"BPF   [{seen.uplink}]   {native} {fams}" if native else f"BPF   [{seen.uplink}]   {fams}"
    else:
        masq = f"IPTables {fams}"
    lines = [
        _line("KubeProxyReplacement", kpr),
        _line("Routing", f"Network: {network}   Host: {host_routing(cfg)}"),
        _line("Attach Mode", "TCX"),
        _line("Device Mode", cfg.datapath_mode + ("   [emulated by the lab]" if seen.netkit_emulated else "")),
        _line("Masquerading", masq),
        _line("IPv4 BIG TCP", f"Enabled   [{BIG_TCP_SIZE}]" if seen.ipv4_big_tcp else "Disabled"),
        _line("IPv6 BIG TCP", f"Enabled   [{BIG_TCP_SIZE}]" if seen.ipv6_big_tcp else "Disabled"),
    ]
    if cfg.kube_proxy_replacement or cfg.socket_lb:
        coverage = "Hostns-only" if cfg.socket_lb_hostns_only else "Full"
        lines.append(_line("Socket LB", "Enabled (not emulated in the lab)"))
        lines.append(_line("Socket LB Coverage", coverage))
    else:
        lines.append(_line("Socket LB", "Disabled"))
    return lines


def status_block(node: str, cfg: AgentConfig, me: NodeInfo, seen: Observed, config: Resolved,
                 when: datetime | None = None) -> list[str]:
    """The status lines between the markers, with the configuration's sources."""
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        f"{BLOCK_BEGIN} node={node} time={stamp}",
        *status_lines(cfg, me, seen),
        _line("Config Sources", ",".join(config.sources)),
        _line("Node Config Overrides", ",".join(config.overridden) or "None"),
        BLOCK_END,
    ]


def _on(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"
