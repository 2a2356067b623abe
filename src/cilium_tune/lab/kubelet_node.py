"""The Node objects of the lab, as a k3s cluster would register them.

Each node carries what the tool's facts collection reads from a real k3s node: InternalIPs of both
families, podCIDRs, the host's real kernel and OS, and k3s's annotations (`k3s.io/node-args` with the
flags a Cilium-ready k3s runs with). Node 1 plays the k3s server, the others are agents.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from cilium_tune import __version__
from cilium_tune.lab.kubelet_runtime import now_iso
from cilium_tune.lab.topology import LabNode, Topology

K3S_VERSION = "v1.33.4+k3s1"
LEASE_DURATION = 40  # seconds, the kubelet's default; it renews at a quarter of it
MANAGED_BY = {"app.kubernetes.io/managed-by": "cilium-tune"}


def os_image() -> str:
    """PRETTY_NAME from /etc/os-release (what a kubelet reports as osImage)."""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def k3s_args(topo: Topology, node: LabNode, cluster_cidrs: list[str], service_cidrs: list[str]) -> list[str]:
    """The argv k3s would record for this node: server flags on node 1, agent flags elsewhere."""
    node_ip = ",".join(node.addresses)
    if node.index != 1:
        return ["agent", "--node-ip", node_ip, "--server", f"https://{topo.nodes[0].ipv4}:6443"]
    return [
        "server",
        "--flannel-backend", "none",
        "--disable-network-policy",
        "--disable-kube-proxy",
        "--disable", "servicelb",
        "--disable", "traefik",
        "--cluster-cidr", ",".join(cluster_cidrs),
        "--service-cidr", ",".join(service_cidrs),
        "--node-ip", node_ip,
    ]


def node_object(topo: Topology, node: LabNode) -> dict[str, Any]:
    """The Node as `lab up` registers it (status included: the lab has no separate node controller)."""
    plan = topo.plan
    cluster_cidrs = [str(plan.pods_v4)] + ([str(plan.pods_v6)] if topo.dual_stack else [])
    service_cidrs = [str(plan.services_v4)] + ([str(plan.services_v6)] if topo.dual_stack else [])
    arch = _arch()
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": arch,
        "node.kubernetes.io/instance-type": "k3s",
        "cilium-tune.io/lab": topo.lab,
        **MANAGED_BY,
    }
    if node.index == 1:
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
    addresses = [{"type": "InternalIP", "address": a} for a in node.addresses]
    conditions = node_conditions(now_iso())
    capacity = {"cpu": str(os.cpu_count() or 1), "memory": _memory(), "pods": "110",
                "ephemeral-storage": "10Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {
                "k3s.io/node-args": json.dumps(k3s_args(topo, node, cluster_cidrs, service_cidrs)),
                "k3s.io/internal-ip": ",".join(node.addresses),
                "k3s.io/hostname": node.name,
                "alpha.kubernetes.io/provided-node-ip": ",".join(node.addresses),
                "cilium-tune.io/netns": node.netns,
            },
        },
        "spec": {
            "podCIDR": node.pod_cidrs[0],
            "podCIDRs": node.pod_cidrs,
            "providerID": f"k3s://{node.name}",
        },
        "status": {
            "addresses": [*addresses, {"type": "Hostname", "address": node.name}],
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": conditions,
            "nodeInfo": {
                "architecture": arch,
                "bootID": "",
                "containerRuntimeVersion": f"cilium-tune-lab://{__version__}",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": K3S_VERSION,
                "kubeletVersion": K3S_VERSION,
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": os_image(),
                "systemUUID": "",
            },
        },
    }


def node_conditions(now: str) -> list[dict[str, Any]]:
    """The conditions a healthy kubelet posts: no pressure, Ready."""
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHasSufficient{t.removesuffix('Pressure')}",
         "message": "lab node", "lastHeartbeatTime": now, "lastTransitionTime": now}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                       "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                       "lastTransitionTime": now})
    return conditions


def lease_object(node: str, node_uid: str, renew_time: str) -> dict[str, Any]:
    """The node's heartbeat, `kube-node-lease/<node>`, as a kubelet renews it (owned by its Node)."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": node, "namespace": "kube-node-lease",
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}]},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_DURATION, "renewTime": renew_time},
    }


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{line.split()[1]}Ki"
    except OSError:
        pass
    return "0"
