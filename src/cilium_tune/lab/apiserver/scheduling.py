"""Pure placement predicates shared by the scheduler and the DaemonSet controller.

Only what the lab needs: nodeSelector, required node affinity (matchExpressions / matchFields on
metadata.name), NoSchedule/NoExecute taints against tolerations, node readiness and cordoning.
"""

from __future__ import annotations

from typing import Any

# Tolerations the DaemonSet controller adds to its pods, as Kubernetes does.
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def _tolerates(tol: dict[str, Any], taint: dict[str, Any]) -> bool:
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    if tol.get("operator") == "Exists":
        return not tol.get("key") or tol["key"] == taint.get("key")
    return bool(tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""))


def tolerates_taints(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    tolerations = pod_spec.get("tolerations") or []
    for taint in node.get("spec", {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in tolerations):
            return False
    return True


def _expr_matches(expr: dict[str, Any], values: dict[str, str]) -> bool:
    key, op, wanted = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
    have = values.get(key)
    if op == "In":
        return have in wanted
    if op == "NotIn":
        return have not in wanted
    if op == "Exists":
        return key in values
    if op == "DoesNotExist":
        return key not in values
    if op in ("Gt", "Lt") and have is not None and wanted:
        try:
            return int(have) > int(wanted[0]) if op == "Gt" else int(have) < int(wanted[0])
        except ValueError:
            return False
    return False


def matches_node(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """nodeSelector and required node affinity."""
    labels = node.get("metadata", {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node.get("metadata", {}).get("name", "")}
    return any(all(_expr_matches(e, labels) for e in t.get("matchExpressions") or [])
               and all(_expr_matches(e, fields) for e in t.get("matchFields") or []) for t in terms)


def node_ready(node: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions") or [])


def schedulable(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """Where the scheduler may bind an ordinary pod: Ready, not cordoned, selector and taints ok."""
    return (not node.get("spec", {}).get("unschedulable") and node_ready(node)
            and matches_node(pod_spec, node) and tolerates_taints(pod_spec, node))


def daemon_eligible(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """Where a DaemonSet runs a pod: cordoning and readiness do not matter, selector and taints do."""
    spec = {**pod_spec, "tolerations": [*(pod_spec.get("tolerations") or []), *DAEMON_TOLERATIONS]}
    return matches_node(spec, node) and tolerates_taints(spec, node)


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])
