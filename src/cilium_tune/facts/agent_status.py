"""Parse what a Cilium agent says about its datapath (`cilium-dbg status [--verbose]` lines). Pure.

The lines are those the runbook greps and `verify` compares per node with the desired cilium-config:

    KubeProxyReplacement:    True   [eth0   198.18.0.11 fd00:18::11 (Direct Routing)]
    Routing:                 Network: Native   Host: BPF
    Attach Mode:             TCX
    Device Mode:             netkit
    Masquerading:            BPF   [eth0]   198.19.0.0/16 [IPv4: Enabled, IPv6: Enabled]
    IPv4 BIG TCP:            Enabled   [196608]
    IPv6 BIG TCP:            Disabled
    Socket LB Coverage:      Hostns-only

They may come from `cilium-dbg status` run in the agent pod, or from an agent log that prints the same
block (the lab agent does, each time it programs the node). Any text around them is ignored; when a label
appears more than once the last one wins (the newest block of a log). `None` when no status line is there.
"""

from __future__ import annotations

import re

from pydantic import Field

from cilium_tune.facts.model import Frozen

_LABELS = (
    "KubeProxyReplacement",
    "Routing",
    "Attach Mode",
    "Device Mode",
    "Masquerading",
    "IPv4 BIG TCP",
    "IPv6 BIG TCP",
    "Socket LB Coverage",
)
_LINE = re.compile(r"^\s*(" + "|".join(re.escape(label) for label in _LABELS) + r"):\s+(.*?)\s*$")
_ROUTING = re.compile(r"Network:\s*(Native|Tunnel)(?:\s*\[(\w+)\])?\s+Host:\s*(\w+)")
_SIZE = re.compile(r"\[(\d+)\]")


class AgentStatus(Frozen):
    """One agent's view of its datapath. A field is None when its line was absent."""

    kube_proxy_replacement: bool | None = None
    routing_network: str | None = Field(default=None, description="'native' or 'tunnel'.")
    tunnel_protocol: str | None = Field(default=None, description="vxlan or geneve, in tunnel mode.")
    host_routing: str | None = Field(default=None, description="'BPF' or 'Legacy'.")
    attach_mode: str | None = None
    device_mode: str | None = Field(default=None, description="veth, netkit or netkit-l2.")
    masquerading: str | None = Field(default=None, description="'BPF', 'IPTables' or 'Disabled'.")
    ipv4_big_tcp: bool | None = None
    ipv4_big_tcp_size: int | None = Field(default=None, description="GSO/GRO size in brackets when enabled.")
    ipv6_big_tcp: bool | None = None
    ipv6_big_tcp_size: int | None = None
    socket_lb_coverage: str | None = Field(default=None, description="'Full' or 'Hostns-only'.")
    fields: dict[str, str] = Field(default_factory=dict, description="Label -> the value text as read.")


def parse_agent_status(text: str) -> AgentStatus | None:
    """The agent status in `text` (see the module docstring), or None when it holds no status line."""
    lines: dict[str, str] = {}
    for line in text.splitlines():
        if m := _LINE.match(line):
            lines[m.group(1)] = m.group(2)
    if not lines:
        return None
    routing = _ROUTING.search(lines.get("Routing", ""))
    kpr = lines.get("KubeProxyReplacement")
    v4_big, v4_size = _big_tcp(lines.get("IPv4 BIG TCP"))
    v6_big, v6_size = _big_tcp(lines.get("IPv6 BIG TCP"))
    return AgentStatus(
        kube_proxy_replacement=None if kpr is None else kpr.split()[0].lower() in ("true", "strict"),
        routing_network=routing.group(1).lower() if routing else None,
        tunnel_protocol=routing.group(2) if routing and routing.group(2) else None,
        host_routing=routing.group(3) if routing else None,
        attach_mode=_first_word(lines.get("Attach Mode")),
        device_mode=_first_word(lines.get("Device Mode")),
        masquerading=_first_word(lines.get("Masquerading")),
        ipv4_big_tcp=v4_big,
        ipv4_big_tcp_size=v4_size,
        ipv6_big_tcp=v6_big,
        ipv6_big_tcp_size=v6_size,
        socket_lb_coverage=_first_word(lines.get("Socket LB Coverage")),
        fields=lines,
    )


def _first_word(value: str | None) -> str | None:
    return value.split()[0] if value and value.split() else None


def _big_tcp(value: str | None) -> tuple[bool | None, int | None]:
    if value is None:
        return None, None
    enabled = value.lower().startswith("enabled")
    size = _SIZE.search(value)
    return enabled, int(size.group(1)) if enabled and size else None
