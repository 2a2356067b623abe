"""Server-side printing (`as=Table`): the columns `kubectl get` shows for the kinds the lab runs.

kubectl asks for a meta.k8s.io/v1 Table and prints its cells verbatim; without one it falls back to
NAME and AGE only. Kinds not listed here get NAME and AGE, as a real server does for a CRD without
printer columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

Column = tuple[str, str, int, Callable[[dict[str, Any]], Any]]  # name, type, priority (1 = -o wide), cell


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def age(obj: dict[str, Any]) -> str:
    """Kubernetes' short human duration (`45s`, `12m`, `3h5m`, `2d`) since creation."""
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    start = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    secs = max(int((dt.datetime.now(dt.UTC) - start).total_seconds()), 0)
    if secs < 120:
        return f"{secs}s"
    if secs < 600:
        return f"{secs // 60}m{secs % 60}s" if secs % 60 else f"{secs // 60}m"
    if secs < 3 * 3600:
        return f"{secs // 60}m"
    if secs < 8 * 3600:
        return f"{secs // 3600}h{secs % 3600 // 60}m"
    if secs < 2 * 86400:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _pod_ready(p: dict[str, Any]) -> str:
    statuses = p.get("status", {}).get("containerStatuses") or []
    total = len(p.get("spec", {}).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _pod_status(p: dict[str, Any]) -> str:
    if p["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str(p.get("status", {}).get("reason") or p.get("status", {}).get("phase") or "Unknown")


def _node_status(n: dict[str, Any]) -> str:
    ready = next((c.get("status") for c in n.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"),
                 None)
    text = "Ready" if ready == "True" else "NotReady" if ready == "False" else "Unknown"
    return text + (",SchedulingDisabled" if n.get("spec", {}).get("unschedulable") else "")


def _roles(n: dict[str, Any]) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in n["metadata"].get("labels") or {} if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _internal_ip(n: dict[str, Any]) -> str:
    return next((a["address"] for a in n.get("status", {}).get("addresses") or [] if a.get("type") == "InternalIP"),
                "<none>")


def _ports(svc: dict[str, Any]) -> str:
    out = []
    for p in svc.get("spec", {}).get("ports") or []:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port')}{node}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _status(field: str) -> Callable[[dict[str, Any]], Any]:
    return lambda o: o.get("status", {}).get(field, 0)


def _selector(labels: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


NAME: Column = ("Name", "string", 0, lambda o: o["metadata"]["name"])
AGE: Column = ("Age", "string", 0, age)
COLUMNS: dict[str, list[Column]] = {
    "Pod": [NAME, ("Ready", "string", 0, _pod_ready), ("Status", "string", 0, _pod_status),
            ("Restarts", "integer", 0, lambda p: sum(c.get("restartCount", 0)
                                                    for c in p.get("status", {}).get("containerStatuses") or [])),
            AGE, ("IP", "string", 1, lambda p: p.get("status", {}).get("podIP") or "<none>"),
            ("Node", "string", 1, lambda p: p.get("spec", {}).get("nodeName") or "<none>")],
    "Node": [NAME, ("Status", "string", 0, _node_status), ("Roles", "string", 0, _roles), AGE,
             ("Version", "string", 0, lambda n: n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")),
             ("Internal-IP", "string", 1, _internal_ip)],
    "Deployment": [NAME, ("Ready", "string", 0, lambda d: f"{d.get('status', {}).get('readyReplicas', 0)}/"
                                                          f"{d.get('spec', {}).get('replicas', 0)}"),
                   ("Up-to-date", "integer", 0, _status("updatedReplicas")),
                   ("Available", "integer", 0, _status("availableReplicas")), AGE],
    "ReplicaSet": [NAME, ("Desired", "integer", 0, lambda r: r.get("spec", {}).get("replicas", 0)),
                   ("Current", "integer", 0, _status("replicas")), ("Ready", "integer", 0, _status("readyReplicas")),
                   AGE],
    "DaemonSet": [NAME, ("Desired", "integer", 0, _status("desiredNumberScheduled")),
                  ("Current", "integer", 0, _status("currentNumberScheduled")),
                  ("Ready", "integer", 0, _status("numberReady")),
                  ("Up-to-date", "integer", 0, _status("updatedNumberScheduled")),
                  ("Available", "integer", 0, _status("numberAvailable")),
                  ("Node Selector", "string", 0,
                   lambda d: _selector(d.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector"))),
                  AGE],
    "Service": [NAME, ("Type", "string", 0, lambda s: s.get("spec", {}).get("type", "ClusterIP")),
                ("Cluster-IP", "string", 0, lambda s: s.get("spec", {}).get("clusterIP") or "<none>"),
                ("External-IP", "string", 0, lambda s: ",".join(
                    i.get("ip", "") for i in s.get("status", {}).get("loadBalancer", {}).get("ingress") or [])
                 or "<none>"),
                ("Port(s)", "string", 0, _ports), AGE,
                ("Selector", "string", 1, lambda s: _selector(s.get("spec", {}).get("selector")))],
    "EndpointSlice": [NAME, ("AddressType", "string", 0, lambda e: e.get("addressType", "")),
                      ("Ports", "string", 0, lambda e: ",".join(str(p.get("port")) for p in e.get("ports") or [])
                       or "<unset>"),
                      ("Endpoints", "string", 0, lambda e: ",".join(
                          a for ep in e.get("endpoints") or [] for a in ep.get("addresses", [])) or "<unset>"), AGE],
}


def _columns(kind: str) -> list[Column]:
    return COLUMNS.get(kind, [NAME, AGE])


def column_definitions(kind: str) -> list[dict[str, Any]]:
    return [{"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "", "priority": p}
            for n, t, p, _ in _columns(kind)]


def row(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata", {})
    return {"cells": [cell(obj) for _, _, _, cell in _columns(kind)],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}}


def table(kind: str, objs: list[dict[str, Any]], meta: dict[str, Any], with_columns: bool = True) -> dict[str, Any]:
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": column_definitions(kind) if with_columns else [],
            "rows": [row(kind, o) for o in objs]}
