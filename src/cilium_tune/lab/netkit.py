"""Netkit emulation (`lab up --emulate-netkit`): veth pairs the lab marks as netkit.

This rehearses the veth <-> netkit switch procedure (per-node config, agent restarts, the endpoint
refusals both ways) on a kernel without netkit. It tests the procedure, not netkit: the packets still
cross a veth pair.

Every marker is kernel state inside the node's namespace, so it goes when the namespace goes:
- the node's loopback carries the interface alias `cilium-tune-lab emulate-netkit=on pod-devices=<kind>`.
  `lab up --emulate-netkit` sets `emulate-netkit=on`; the lab agent, once its start-up checks pass,
  sets `pod-devices` to the device kind of its datapath mode. That is the question a CNI plugin asks the
  agent on a cluster before it creates a pod's device.
- a pod device created while the node says `pod-devices=netkit` (emulation on) carries the alias
  `cilium-tune-lab:netkit` on its host side; the agent counts such an endpoint as a netkit endpoint.
"""

from __future__ import annotations

from typing import Any

from pyroute2 import IPRoute, NetNS

NODE_MARK = "cilium-tune-lab"
DEVICE_MARK = "cilium-tune-lab:netkit"
LOOPBACK = "lo"


def parse_node_mark(alias: str | None) -> dict[str, str]:
    """The key=value fields of a node's loopback alias; {} when it is not the lab's."""
    words = (alias or "").split()
    if not words or words[0] != NODE_MARK:
        return {}
    return dict(w.split("=", 1) for w in words[1:] if "=" in w)


def format_node_mark(fields: dict[str, str]) -> str:
    return " ".join([NODE_MARK, *(f"{k}={v}" for k, v in sorted(fields.items()))])


def read_node_mark(ipr: IPRoute | NetNS) -> dict[str, str]:
    link: Any = ipr.get_links(ipr.link_lookup(ifname=LOOPBACK)[0])[0]
    return parse_node_mark(link.get("IFLA_IFALIAS"))


def update_node_mark(ipr: IPRoute | NetNS, **fields: str) -> None:
    """Set fields of the node's mark, keeping the others."""
    index = ipr.link_lookup(ifname=LOOPBACK)[0]
    merged = {**read_node_mark(ipr), **fields}
    ipr.link("set", index=index, ifalias=format_node_mark(merged))


def emulated(fields: dict[str, str]) -> bool:
    return fields.get("emulate-netkit") == "on"


def pod_device_kind(fields: dict[str, str]) -> str:
    """The kind of device the node's agent wants for new pods: netkit only under emulation."""
    return "netkit" if emulated(fields) and fields.get("pod-devices") == "netkit" else "veth"


def device_kind(link: Any) -> str:
    """A host-side pod device's kind as the agent sees it: the lab's mark wins over the link kind."""
    if link.get("IFLA_IFALIAS") == DEVICE_MARK:
        return "netkit"
    return str(link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND") or "unknown")
