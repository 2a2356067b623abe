"""workloads: what VM-style pods and ordinary clients need from Services.

A VM guest's traffic leaves its pod through a tap or bridge, not through a socket of the pod, so socket LB
never translates it: with `socketLB.hostNamespaceOnly` the per-packet service translation must serve
ClusterIPs from pods. The client pods' Service probes are such traffic wherever socket LB does not reach
the pod namespace (on the lab there is no socket LB at all, so every pod takes the per-packet path), and
the agent's `Socket LB Coverage` line must say `Hostns-only`. Every Service with a selector must also have
a ready backend: a Service without one answers nobody.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from cilium_tune.checks.dual_stack import FAMILIES, judge_http
from cilium_tune.checks.framework import NEEDS_PODS, Action, CheckContext, Require, check
from cilium_tune.facts.agent_status import AgentStatus


@check("workloads", "vm-service-path", "Services are reachable without socket LB (as a VM guest's traffic is)",
       requires=(Require.enabled("socket-lb-hostns-only"), Require.enabled("verify-pods")), needs=(NEEDS_PODS,))
def vm_service_path(ctx: CheckContext) -> Iterator[Action]:
    assert ctx.observations is not None
    for node in ctx.nodes:
        status = ctx.agent_status.get(node)
        coverage = status.socket_lb_coverage if isinstance(status, AgentStatus) else None
        view = ctx.observations.clients.get(node)
        targets = ctx.observations.targets.get(node, {})
        peer = next((t.peer for t in targets.values() if t.purpose == "service"), node)
        name = f"{node}-to-{peer}"
        if coverage is not None and coverage.lower() != "hostns-only":
            yield Action.failed(name, f"Socket LB Coverage is {coverage}: guests' traffic to ClusterIPs is not "
                                      "translated inside pods", **{"status.Socket LB Coverage": coverage})
            continue
        results = []
        for family in FAMILIES:
            target = next((t for t in targets.values() if t.purpose == "service" and t.family == family), None)
            if target is None or not ctx.features.on(family):
                continue
            probe = view.round.probes.get(target.id) if view is not None and view.round is not None else None
            results.append(judge_http(f"{family}-{node}", target, probe, view.pod if view else "", expect_node=None))
        failed = [r for r in results if r.outcome.failed]
        evidence: dict[str, Any] = {"Socket LB Coverage": coverage or "not reported"}
        for r in results:
            evidence[r.name.split("-", 1)[0]] = r.message
        if not results:
            yield Action.failed(name, "no Service probe ran from this node", **evidence)
        elif failed:
            yield Action.failed(name, f"ClusterIP unreachable from a pod without socket LB: {failed[0].message}",
                                **evidence)
        else:
            yield Action.passed(name, "ClusterIPs answered pod traffic on the per-packet path", **evidence)


def ready_backends(slices: Sequence[Mapping[str, Any]]) -> int:
    count = 0
    for s in slices:
        for endpoint in s.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True):
                count += len(endpoint.get("addresses") or [])
    return count


@check("workloads", "service-backends", "Every Service with a selector has a ready backend")
def service_backends(ctx: CheckContext) -> Iterator[Action]:
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for s in ctx.endpoint_slices:
        meta = s.get("metadata") or {}
        owner = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if owner:
            by_service.setdefault((str(meta.get("namespace")), str(owner)), []).append(s)
    for svc in sorted(ctx.services, key=lambda s: ((s.get("metadata") or {}).get("namespace", ""),
                                                     (s.get("metadata") or {}).get("name", ""))):
        meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
        if not spec.get("selector") or spec.get("type") == "ExternalName":
            continue
        key = (str(meta.get("namespace")), str(meta.get("name")))
        name = f"{key[0]}.{key[1]}"
        ready = ready_backends(by_service.get(key, []))
        evidence = {"selector": spec.get("selector"), "clusterIPs": spec.get("clusterIPs"), "ready_endpoints": ready}
        if ready:
            yield Action.passed(name, f"{ready} ready endpoint address(es)", **evidence)
        else:
            yield Action.failed(name, f"Service {name} has no ready backend: its selector matches no ready pod",
                                **evidence)
