"""Parse what a Cilium agent says about its datapath (`cilium-dbg status [--verbose]` lines). Pure.

The lines are those the runbook greps and `verify` / `rollout` compare per node with the desired config:

    KubeProxyReplacement:    True   [eth0   198.18.0.11 fd00:18::11 (Direct Routing)]
    Routing:                 Network: Native   Host: BPF
    Attach Mode:             TCX
    Device Mode:             netkit
    Masquerading:            BPF   [eth0]   198.19.0.0/16 [IPv4: Enabled, IPv6: Enabled]
    IPv4 BIG TCP:            Enabled   [196608]
    IPv6 BIG TCP:            Disabled
    Socket LB:               Enabled
    Socket LB Coverage:      Hostns-only

They come from `cilium-dbg status` run in the agent pod (a cluster; `--verbose` indents the socket LB
lines under `KubeProxyReplacement Details:`), or from the log of a lab agent, which prints them at every
start between `### cilium-dbg status node=<node> time=<UTC>` and `### end cilium-dbg status`, adding
`Config Sources` and `Node Config Overrides` (docs/lab.md, "The agent's status block"). With markers the
last complete block is the status and a block cut off is none; without markers any text around the lines
is ignored and, when a label appears more than once, the last one wins. `None` when no status line is there.
"""

from __future__ import annotations

import re

from pydantic import Field

from cilium_tune.facts.model import Frozen

BLOCK_BEGIN = "### cilium-dbg status"
BLOCK_END = "### end cilium-dbg status"

_LABELS = (
    "KubeProxyReplacement",
    "Routing",
    "Attach Mode",
    "Device Mode",
    "Masquerading",
    "IPv4 BIG TCP",
    "IPv6 BIG TCP",
    "Socket LB",
    "Socket LB Coverage",
    "Config Sources",
    "Node Config Overrides",
)
_LINE = re.compile(r"^\s*(" + "|".join(re.escape(label) for label in _LABELS) + r"):\s+(.*?)\s*$")
_ROUTING = re.compile(r"Network:\s*(Native|Tunnel)(?:\s*\[(\w+)\])?\s+Host:\s*(\w+)")
_SIZE = re.compile(r"\[(\d+)\]")
_MARKER = re.compile(r"(\w+)=(\S+)")


class AgentStatus(Frozen):
    """One agent's view of its datapath (what it runs, not what cilium-config asks). None: line absent."""

    node: str | None = Field(default=None, description="From a lab block's first line; None for cilium-dbg output.")
    time: str | None = Field(default=None, description="When the lab agent printed the block (UTC).")
    kube_proxy_replacement: bool | None = None
    routing_network: str | None = Field(default=None, description="'native' or 'tunnel'.")
    tunnel_protocol: str | None = Field(default=None, description="vxlan or geneve, in tunnel mode.")
    host_routing: str | None = Field(default=None, description="'BPF' or 'Legacy'.")
    attach_mode: str | None = None
    device_mode: str | None = Field(default=None, description="veth, netkit or netkit-l2 (the first word: the "
                                    "lab adds `[emulated by the lab]` under `lab up --emulate-netkit`).")
    masquerading: str | None = Field(default=None, description="'BPF', 'IPTables' or 'Disabled'.")
    masquerade_ipv4: bool | None = None
    masquerade_ipv6: bool | None = None
    ipv4_big_tcp: bool | None = None
    ipv4_big_tcp_size: int | None = Field(default=None, description="GSO/GRO size in brackets when enabled.")
    ipv6_big_tcp: bool | None = None
    ipv6_big_tcp_size: int | None = None
    socket_lb: bool | None = None
    socket_lb_coverage: str | None = Field(default=None, description="'Full' or 'Hostns-only'.")
    config_sources: tuple[str, ...] = Field(
        default=(), description="Lab: cilium-config and the CiliumNodeConfigs the agent started with.")
    node_config_overrides: tuple[str, ...] = Field(
        default=(), description="Lab: the cilium-config keys a CiliumNodeConfig set for this node.")
    fields: dict[str, str] = Field(default_factory=dict, description="Label -> the value text as read.")


def parse_agent_status(text: str) -> AgentStatus | None:
    """The agent status in `text` (see the module docstring), or None when it holds none."""
    rows = text.splitlines()
    header: dict[str, str] = {}
    begins = [i for i, row in enumerate(rows) if row.startswith(BLOCK_BEGIN)]
    if begins:
        block = _last_complete_block(rows, begins)
        if block is None:
            return None  # the agent died while printing: no complete status
        header, rows = block
    lines: dict[str, str] = {}
    for row in rows:
        if m := _LINE.match(row):
            lines[m.group(1)] = m.group(2)
    if not lines:
        return None
    routing = _ROUTING.search(lines.get("Routing", ""))
    kpr = lines.get("KubeProxyReplacement")
    masq = lines.get("Masquerading")
    socket_lb = _first_word(lines.get("Socket LB"))
    v4_big, v4_size = _big_tcp(lines.get("IPv4 BIG TCP"))
    v6_big, v6_size = _big_tcp(lines.get("IPv6 BIG TCP"))
    return AgentStatus(
        node=header.get("node"),
        time=header.get("time"),
        kube_proxy_replacement=None if kpr is None else kpr.split()[0].lower() in ("true", "strict"),
        routing_network=routing.group(1).lower() if routing else None,
        tunnel_protocol=routing.group(2) if routing and routing.group(2) else None,
        host_routing=routing.group(3) if routing else None,
        attach_mode=_first_word(lines.get("Attach Mode")),
        device_mode=_first_word(lines.get("Device Mode")),
        masquerading=_first_word(masq),
        masquerade_ipv4=_family_flag(masq, "IPv4"),
        masquerade_ipv6=_family_flag(masq, "IPv6"),
        ipv4_big_tcp=v4_big,
        ipv4_big_tcp_size=v4_size,
        ipv6_big_tcp=v6_big,
        ipv6_big_tcp_size=v6_size,
        socket_lb=None if socket_lb is None else socket_lb == "Enabled",
        socket_lb_coverage=_first_word(lines.get("Socket LB Coverage")),
        config_sources=_list(lines.get("Config Sources")),
        node_config_overrides=_list(lines.get("Node Config Overrides")),
        fields=lines,
    )


def _last_complete_block(rows: list[str], begins: list[int]) -> tuple[dict[str, str], list[str]] | None:
    for start in reversed(begins):
        end = next((j for j in range(start + 1, len(rows)) if rows[j].startswith(BLOCK_END)), None)
        if end is not None:
            return dict(_MARKER.findall(rows[start][len(BLOCK_BEGIN):])), rows[start + 1:end]
    return None


def _first_word(value: str | None) -> str | None:
    return value.split()[0] if value and value.split() else None


def _big_tcp(value: str | None) -> tuple[bool | None, int | None]:
    if value is None:
        return None, None
    enabled = value.lower().startswith("enabled")
    size = _SIZE.search(value)
    return enabled, int(size.group(1)) if enabled and size else None


def _family_flag(value: str | None, family: str) -> bool | None:
    match = re.search(rf"{family}:\s*(Enabled|Disabled)", value or "")
    return match.group(1) == "Enabled" if match else None


def _list(value: str | None) -> tuple[str, ...]:
    if not value or value == "None":
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())
