"""Parse a Node object (as the API returns it) into `NodeFacts`."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from cilium_tune.facts.k3s import NODE_ARGS_ANNOTATION, parse_node_args_annotation
from cilium_tune.facts.model import IPNetwork, KernelVersion, NodeFacts, Taint

_ROLE_PREFIX = "node-role.kubernetes.io/"


def parse_node(raw: Mapping[str, Any]) -> NodeFacts:
    """One Node -> NodeFacts. Missing status fields stay None (unknown), never guessed."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    info = status.get("nodeInfo") or {}
    labels: dict[str, str] = dict(meta.get("labels") or {})
    annotations: dict[str, str] = dict(meta.get("annotations") or {})

    v4: list[IPv4Address] = []
    v6: list[IPv6Address] = []
    for addr in status.get("addresses") or []:
        if addr.get("type") != "InternalIP":
            continue
        try:
            ip = ip_address(str(addr.get("address", "")))
        except ValueError:
            continue
        (v4 if isinstance(ip, IPv4Address) else v6).append(ip)  # type: ignore[arg-type]

    cidrs_raw = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    pod_cidrs: list[IPNetwork] = []
    for cidr in cidrs_raw:
        try:
            pod_cidrs.append(ip_network(str(cidr), strict=False))
        except ValueError:
            continue

    roles = {k[len(_ROLE_PREFIX) :] for k in labels if k.startswith(_ROLE_PREFIX) and k != _ROLE_PREFIX}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])

    ready: bool | None = None
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = {"True": True, "False": False}.get(str(cond.get("status")))

    kernel_raw = info.get("kernelVersion")
    k3s_raw = annotations.get(NODE_ARGS_ANNOTATION)
    return NodeFacts(
        name=str(meta.get("name", "")),
        internal_ipv4=tuple(v4),
        internal_ipv6=tuple(v6),
        pod_cidrs=tuple(pod_cidrs),
        kernel=KernelVersion.parse(kernel_raw) if kernel_raw else None,
        os_image=info.get("osImage") or None,
        operating_system=info.get("operatingSystem") or None,
        architecture=info.get("architecture") or None,
        kubelet_version=info.get("kubeletVersion") or None,
        container_runtime=info.get("containerRuntimeVersion") or None,
        roles=tuple(sorted(r for r in roles if r)),
        taints=tuple(
            Taint(key=str(t.get("key", "")), value=t.get("value"), effect=str(t.get("effect", "")))
            for t in spec.get("taints") or []
        ),
        unschedulable=bool(spec.get("unschedulable", False)),
        ready=ready,
        labels=labels,
        annotations=annotations,
        k3s=parse_node_args_annotation(k3s_raw) if k3s_raw else None,
    )
