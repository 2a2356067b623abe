"""Parse what runs on the cluster: pod addressing per node, Services' IP families, VM workloads and
kube-proxy presence. Each function takes raw API objects and returns model values; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from cilium_tune.facts.k3s_defaults import K3S_DEFAULT_CLUSTER_CIDR
from cilium_tune.facts.k8s import meta
from cilium_tune.facts.model import (
    IPNetwork,
    KubeProxy,
    NodeFacts,
    PodIPSummary,
    ServiceFacts,
    VmWorkload,
)

_FINISHED = frozenset({"Succeeded", "Failed"})

# Image names of VM-in-a-pod workloads: vrnetlab builds (vrnetlab/vr-sros, .../vr-xrv), QEMU wrappers,
# KubeVirt's launcher, Cisco IOL images.
_VM_IMAGE = re.compile(r"vrnetlab|qemu|virt-launcher|(^|/)vr-|(^|[/_-])iol([:/_-]|$)", re.IGNORECASE)
_KVM_RESOURCE = "devices.kubevirt.io/kvm"
_KVM_DEVICE = "/dev/kvm"


def _running(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in _FINISHED


def summarise_pod_ips(
    pods: Iterable[Mapping[str, Any]],
    pools: Sequence[IPNetwork] = (),
    node_pod_cidrs: Mapping[str, Sequence[IPNetwork]] | None = None,
) -> tuple[PodIPSummary, ...]:
    """Count pod IPs per node by CIDR (see `PodIPSummary`). k3s's default cluster-cidr is always a pool.

    `pools` are the cluster-wide pools (Cilium cluster-pool CIDRs, k3s --cluster-cidr); `node_pod_cidrs`
    maps a node to its spec.podCIDRs. Result sorted by node name.
    """
    all_pools = sorted(
        {*pools, K3S_DEFAULT_CLUSTER_CIDR}, key=lambda n: (n.version, -n.prefixlen, int(n.network_address))
    )
    per_node = node_pod_cidrs or {}
    totals: Counter[str] = Counter()
    host: Counter[str] = Counter()
    no_ip: Counter[str] = Counter()
    by_cidr: dict[str, Counter[str]] = defaultdict(Counter)
    for pod in pods:
        if not _running(pod):
            continue
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            continue
        totals[node] += 1
        if (pod.get("spec") or {}).get("hostNetwork"):
            host[node] += 1
            continue
        status = pod.get("status") or {}
        ips = [p.get("ip") for p in status.get("podIPs") or [] if isinstance(p, Mapping)] or (
            [status["podIP"]] if status.get("podIP") else []
        )
        if not ips:
            no_ip[node] += 1
            continue
        for text in ips:
            try:
                ip = ip_address(str(text))
            except ValueError:
                continue
            by_cidr[node][str(_bucket(ip, all_pools, per_node.get(node, ())))] += 1
    return tuple(
        PodIPSummary(
            node=node,
            pods=totals[node],
            host_network=host[node],
            without_ip=no_ip[node],
            by_cidr=dict(sorted(by_cidr[node].items())),
        )
        for node in sorted(totals)
    )


def _bucket(ip: Any, pools: Sequence[IPNetwork], node_cidrs: Sequence[IPNetwork]) -> IPNetwork:
    for net in pools:  # most specific first
        if ip.version == net.version and ip in net:
            return net
    for net in node_cidrs:
        if ip.version == net.version and ip in net:
            return net
    if isinstance(ip, IPv4Address):
        return IPv4Network(f"{ip}/16", strict=False)
    return IPv6Network(f"{ip}/64", strict=False)


def parse_service(raw: Mapping[str, Any]) -> ServiceFacts:
    """A Service's type, cluster IPs and IP family settings."""
    spec = raw.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return ServiceFacts(
        namespace=str(meta(raw).get("namespace", "")),
        name=str(meta(raw).get("name", "")),
        type=str(spec.get("type") or "ClusterIP"),
        cluster_ips=tuple(str(i) for i in ips),
        ip_families=tuple(str(f) for f in spec.get("ipFamilies") or []),
        ip_family_policy=spec.get("ipFamilyPolicy"),
    )


def find_vm_workloads(
    pods: Iterable[Mapping[str, Any]], vmis: Iterable[Mapping[str, Any]] = ()
) -> tuple[VmWorkload, ...]:
    """KubeVirt VirtualMachineInstances plus pods that run a VM guest (image, /dev/kvm, KVM resource)."""
    found: list[VmWorkload] = []
    for vmi in vmis:
        found.append(
            VmWorkload(
                kind=str(vmi.get("kind") or "VirtualMachineInstance"),
                namespace=str(meta(vmi).get("namespace", "")),
                name=str(meta(vmi).get("name", "")),
                node=(vmi.get("status") or {}).get("nodeName") or None,
                reasons=("kubevirt",),
            )
        )
    for pod in pods:
        if not _running(pod):
            continue
        reasons = _pod_vm_reasons(pod)
        if reasons:
            found.append(
                VmWorkload(
                    kind="Pod",
                    namespace=str(meta(pod).get("namespace", "")),
                    name=str(meta(pod).get("name", "")),
                    node=(pod.get("spec") or {}).get("nodeName") or None,
                    reasons=reasons,
                )
            )
    return tuple(sorted(found, key=lambda w: (w.namespace, w.name, w.kind)))


def _pod_vm_reasons(pod: Mapping[str, Any]) -> tuple[str, ...]:
    spec = pod.get("spec") or {}
    reasons: list[str] = []
    if (meta(pod).get("labels") or {}).get("kubevirt.io") == "virt-launcher":
        reasons.append("kubevirt:virt-launcher")
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or []) if c]
    for c in containers:
        image = str(c.get("image") or "")
        if _VM_IMAGE.search(image):
            reasons.append(f"image:{image}")
        argv = " ".join(str(a) for a in (c.get("command") or []) + (c.get("args") or []))
        if "qemu-system" in argv:
            reasons.append("command:qemu-system")
        resources = c.get("resources") or {}
        if any(_KVM_RESOURCE in (resources.get(k) or {}) for k in ("limits", "requests")):
            reasons.append(f"resource:{_KVM_RESOURCE}")
    for vol in spec.get("volumes") or []:
        if ((vol.get("hostPath") or {}).get("path") or "").rstrip("/") == _KVM_DEVICE:
            reasons.append(f"device:{_KVM_DEVICE}")
    return tuple(dict.fromkeys(reasons))


def parse_kube_proxy(
    daemonsets: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    nodes: Sequence[NodeFacts],
) -> KubeProxy:
    """kube-proxy as a DaemonSet or pods (kubeadm-style) and as k3s's embedded one (per node args)."""
    ds = next(
        (
            d
            for d in daemonsets
            if meta(d).get("name") == "kube-proxy" or (meta(d).get("labels") or {}).get("k8s-app") == "kube-proxy"
        ),
        None,
    )
    pod_count = sum(
        1
        for p in pods
        if _running(p)
        and (
            (meta(p).get("labels") or {}).get("k8s-app") == "kube-proxy"
            or (meta(p).get("labels") or {}).get("component") == "kube-proxy"
        )
    )
    k3s_nodes = [n for n in nodes if n.k3s is not None]
    return KubeProxy(
        daemonset=f"{meta(ds).get('namespace', '')}/{meta(ds).get('name', '')}" if ds else None,
        daemonset_ready=int((ds.get("status") or {}).get("numberReady") or 0) if ds else None,
        pods=pod_count,
        k3s_nodes_disabled=tuple(sorted(n.name for n in k3s_nodes if n.k3s and n.k3s.disable_kube_proxy)),
        k3s_nodes_enabled=tuple(sorted(n.name for n in k3s_nodes if n.k3s and not n.k3s.disable_kube_proxy)),
    )


CLUSTER_POOL_KEYS = ("cluster-pool-ipv4-cidr", "cluster-pool-ipv6-cidr")


def cluster_pool_cidrs(cilium_config: Mapping[str, str] | None) -> list[IPNetwork]:
    """Cilium's cluster-pool CIDRs as `cilium-config` lists them (space- or comma-separated, IPv4 then IPv6);
    a part that is not a CIDR is passed over: the agent would refuse it, and the checks report what it does."""
    found: list[IPNetwork] = []
    for key in CLUSTER_POOL_KEYS:
        for part in ((cilium_config or {}).get(key) or "").replace(",", " ").split():
            try:
                found.append(ip_network(part, strict=False))
            except ValueError:
                continue
    return found


def pools_from(cilium_config: Mapping[str, str] | None, nodes: Sequence[NodeFacts]) -> tuple[IPNetwork, ...]:
    """The cluster-wide pod pools: Cilium's cluster-pool CIDRs and every k3s --cluster-cidr seen."""
    found = cluster_pool_cidrs(cilium_config)
    for n in nodes:
        if n.k3s and n.k3s.cluster_cidr:
            found.extend(n.k3s.cluster_cidr)
    return tuple(dict.fromkeys(found))
