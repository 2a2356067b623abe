"""Node heartbeats: a Node whose kubelet stops renewing its Lease goes NotReady, as on a cluster.

A kubelet renews `kube-node-lease/<node>` every few seconds. kube-controller-manager's node lifecycle
controller marks a node whose Lease is older than `--node-monitor-grace-period` (40 s) as
Ready=Unknown ("Kubelet stopped posting node status.", every condition alike) and taints it
`node.kubernetes.io/unreachable` (NoSchedule and NoExecute); when the kubelet posts Ready again the
taints go. The lab does the same for nodes that have a Lease: nodes registered without a kubelet
(tests, `--auto-ready`) have none and are left alone. Not done: evicting pods after the NoExecute
taint's toleration time (300 s on a cluster).
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

from .api import Api
from .defaults import now

LEASES = "coordination.k8s.io/leases"
LEASE_NAMESPACE = "kube-node-lease"
NODES = "/nodes"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_GRACE = 40.0
_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def _age(renew: Any) -> float | None:
    if not isinstance(renew, str) or not renew:
        return None
    try:
        stamp = datetime.fromisoformat(renew.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (datetime.now(UTC) - stamp).total_seconds()


def _ready(node: dict[str, Any]) -> str:
    conds = (node.get("status") or {}).get("conditions") or []
    return next((str(c.get("status")) for c in conds if c.get("type") == "Ready"), "Unknown")


def unknown_status(node: dict[str, Any]) -> dict[str, Any]:
    """The node's status with every condition Unknown, as the node lifecycle controller writes it."""
    status = copy.deepcopy(node.get("status") or {})
    stamp = now()
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    for kind in _CONDITIONS:
        cond = conds.setdefault(kind, {"type": kind, "lastHeartbeatTime": stamp})
        cond.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                    lastTransitionTime=stamp)
    status["conditions"] = list(conds.values())
    return status


def with_unreachable_taints(spec: dict[str, Any], on: bool) -> dict[str, Any]:
    taints = [t for t in spec.get("taints") or [] if t.get("key") != UNREACHABLE]
    if on:
        taints += [{"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": now()},
                   {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now()}]
    out = {k: v for k, v in spec.items() if k != "taints"}
    if taints:
        out["taints"] = taints
    return out


class NodeLifecycle:
    """Watches the nodes' Leases and marks silent nodes (see the module docstring)."""

    def __init__(self, api: Api, grace: float = DEFAULT_GRACE, period: float = 1.0) -> None:
        self.api = api
        self.grace = grace
        self.period = period

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.check()

    def check(self) -> None:
        """One pass over the Leases (also called directly by tests)."""
        nodes_rt = self.api.registry.lookup("", "v1", "nodes")
        assert nodes_rt is not None
        store = self.api.store
        with store.lock:
            for lease in store.objects(LEASES, LEASE_NAMESPACE):
                node = store.get(NODES, "", lease["metadata"]["name"])
                age = _age((lease.get("spec") or {}).get("renewTime"))
                if node is None or age is None:
                    continue
                tainted = any(t.get("key") == UNREACHABLE for t in node.get("spec", {}).get("taints") or [])
                name = node["metadata"]["name"]
                if age > self.grace and _ready(node) != "Unknown":
                    self.api.update(nodes_rt, "", name, {**node, "status": unknown_status(node)}, sub="status")
                    node = store.get(NODES, "", name) or node
                    self.api.update(nodes_rt, "", name, {**node, "spec": with_unreachable_taints(node["spec"], True)})
                elif _ready(node) == "True" and tainted:
                    self.api.update(nodes_rt, "", name, {**node, "spec": with_unreachable_taints(node["spec"], False)})
