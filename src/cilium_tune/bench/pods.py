"""Manifests of the bench's pods and Services. Pure: names, labels and specs, nothing is sent.

Every object carries `app.kubernetes.io/managed-by=cilium-tune` and the run's id, is pinned to its
node with `nodeName` (no scheduler decision can move the measurement) and tolerates every taint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cilium_tune.bench.tools import IPERF_PORT, NETPERF_DATA_PORT, NETPERF_PORT, SERVER_COMMANDS

MANAGED_BY = {"app.kubernetes.io/managed-by": "cilium-tune"}
RUN_LABEL = "cilium-tune.io/bench-run"
ROLE_LABEL = "cilium-tune.io/bench-role"
DEFAULT_IMAGE = "docker.io/networkstatic/iperf3-netperf:latest"
"""Any image with sh, iperf3, netperf/netserver and conntrack; the lab runs the host's tools instead."""


def _meta(name: str, namespace: str, run_id: str, role: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace,
            "labels": {**MANAGED_BY, RUN_LABEL: run_id, ROLE_LABEL: role}}


def server_pod(name: str, namespace: str, run_id: str, role: str, node: str, *, host: bool,
               image: str) -> dict[str, Any]:
    """iperf3 and netserver in one pod (two containers), on `node`, in its own or the node's namespace."""
    containers = [{"name": tool, "image": image, "command": argv,
                   "ports": [{"containerPort": port, "protocol": "TCP"}],
                   # Ready means listening: on a host network a stale server elsewhere may hold the port.
                   "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1, "failureThreshold": 1}}
                  for (tool, argv), port in zip(SERVER_COMMANDS.items(), (IPERF_PORT, NETPERF_PORT), strict=True)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name, namespace, run_id, role),
            "spec": {"nodeName": node, "hostNetwork": host, "restartPolicy": "Always",
                     "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
                     "tolerations": [{"operator": "Exists"}], "containers": containers}}


def client_pod(name: str, namespace: str, run_id: str, node: str, script: str, *, host: bool, image: str,
               deadline_s: int) -> dict[str, Any]:
    """A one-shot pod running a batch script. Host clients are privileged: they flush conntrack."""
    container: dict[str, Any] = {"name": "client", "image": image, "command": ["sh", "-c", script]}
    if host:
        container["securityContext"] = {"privileged": True}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name, namespace, run_id, "client"),
            "spec": {"nodeName": node, "hostNetwork": host, "restartPolicy": "Never",
                     "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
                     "activeDeadlineSeconds": max(1, deadline_s),
                     "tolerations": [{"operator": "Exists"}], "containers": [container]}}


def service(name: str, namespace: str, run_id: str, selector: Mapping[str, str], *, role: str,
            ports: Sequence[int] = (IPERF_PORT, NETPERF_PORT, NETPERF_DATA_PORT),
            family: int | None = None) -> dict[str, Any]:
    """A ClusterIP Service on the given ports: dual-stack where the cluster has both families, or of one
    `family` only (the churn's dummy Services, when only one family is measured: half the objects)."""
    spec: dict[str, Any] = {"selector": dict(selector), "ipFamilyPolicy": "PreferDualStack"}
    if family is not None:
        spec = {**spec, "ipFamilyPolicy": "SingleStack", "ipFamilies": [f"IPv{family}"]}
    spec["ports"] = [{"name": f"p{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports]
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace, run_id, role), "spec": spec}
