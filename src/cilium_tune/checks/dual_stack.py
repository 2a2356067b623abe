"""dual-stack: pods hold both families from their node's pool, Services get both, and traffic flows.

Every probe runs from the client pod on each node (see `checks.workload`): to the server on the same node,
to the server on the next node, and to the next node's Service, over IPv4 and IPv6 each. Cross-node and
Service actions name both ends (`ipv6-lab-1-to-lab-2`), so a fault on one node shows on the actions that
touch it and nowhere else.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Sequence
from typing import Any

from cilium_tune.checks.framework import NEEDS_PODS, Action, CheckContext, Require, check
from cilium_tune.checks.observe import ClientView, Probe
from cilium_tune.checks.workload import Family, Target, cluster_ips
from cilium_tune.facts.workloads import cluster_pool_cidrs

PODS = Require.enabled("verify-pods")
FAMILIES: tuple[Family, ...] = ("ipv4", "ipv6")


def node_pools(ctx: CheckContext, node: str) -> tuple[list[Any], str]:
    """The pod CIDRs of a node (Node.spec.podCIDRs), else the cluster pool from the desired cilium-config."""
    facts_node = ctx.facts.node(node)
    if facts_node is not None and facts_node.pod_cidrs:
        return list(facts_node.pod_cidrs), f"Node {node} spec.podCIDRs"
    return cluster_pool_cidrs(ctx.config), "the cluster pool (cilium-config cluster-pool-ipv4/ipv6-cidr)"


@check("dual-stack", "pod-addresses", "Every pod has IPv4 and a global IPv6 address from its node's pool",
       requires=(PODS, Require.enabled("ipv4"), Require.enabled("ipv6")), needs=(NEEDS_PODS,))
def pod_addresses(ctx: CheckContext) -> Iterator[Action]:
    assert ctx.observations is not None
    for node in ctx.nodes:
        view = ctx.observations.clients.get(node)
        if view is None or view.round is None:
            yield _no_result(node, view)
            continue
        pools, where = node_pools(ctx, node)
        found: dict[str, list[str]] = {"ipv4": [], "ipv6": []}
        outside: list[str] = []
        for ifname, cidr in view.round.addresses:
            iface = ipaddress.ip_interface(cidr)
            if iface.ip.is_loopback or iface.ip.is_link_local or ifname == "lo":
                continue
            found["ipv4" if iface.version == 4 else "ipv6"].append(str(iface.ip))
            if pools and not any(iface.ip in p for p in pools if p.version == iface.version):
                outside.append(str(iface.ip))
        evidence = {"pod": view.pod, "command": "ip -o addr show", "ipv4": found["ipv4"], "ipv6": found["ipv6"],
                    "pool": [str(p) for p in pools], "pool_source": where}
        missing = [f for f in FAMILIES if not found[f]]
        if missing:
            text = " and no ".join("global IPv6 address" if f == "ipv6" else "IPv4 address" for f in missing)
            yield Action.failed(node, f"{view.pod} has no {text}", **evidence)
        elif outside:
            yield Action.failed(node, f"{view.pod} has {', '.join(outside)} outside {where}", **evidence)
        else:
            yield Action.passed(node, f"{found['ipv4'][0]} and {found['ipv6'][0]} in {where}", **evidence)


@check("dual-stack", "service-families", "A PreferDualStack Service gets ClusterIPs of both families",
       requires=(PODS, Require.enabled("ipv4"), Require.enabled("ipv6")), needs=(NEEDS_PODS,))
def service_families(ctx: CheckContext) -> Iterator[Action]:
    assert ctx.observations is not None
    services = ctx.observations.services
    if not services:
        yield Action.failed("prefer-dual-stack", "verify's Services were not created")
        return
    single = {}
    for node, svc in sorted(services.items()):
        ips = cluster_ips(svc)
        if set(ips) != set(FAMILIES):
            single[(svc.get("metadata") or {}).get("name", node)] = sorted(ips.values())
    sample = next(iter(services.values()))
    evidence = {"ipFamilyPolicy": (sample.get("spec") or {}).get("ipFamilyPolicy"),
                "clusterIPs": (sample.get("spec") or {}).get("clusterIPs")}
    if single:
        yield Action.failed("prefer-dual-stack", f"{len(single)} PreferDualStack Service(s) got one family only",
                            services=single, **evidence)
    else:
        yield Action.passed("prefer-dual-stack", f"{len(services)} Service(s) got IPv4 and IPv6 ClusterIPs",
                            **evidence)


def _no_result(name: str, view: ClientView | None) -> Action:
    why = view.error if view is not None and view.error else "the client pod reported no complete round"
    return Action.failed(name, f"no result from the client pod: {why}", **({"pod": view.pod} if view else {}))


def probe_actions(ctx: CheckContext, purpose: str, *, cross: bool) -> Iterator[Action]:
    """One action per node and family for the probes of `purpose` (same-node, cross-node, service)."""
    assert ctx.observations is not None
    for node in ctx.nodes:
        targets: dict[str, Target] = dict(ctx.observations.targets.get(node, {}))
        view = ctx.observations.clients.get(node)
        for family in FAMILIES:
            mine = [t for t in targets.values() if t.purpose == purpose and t.family == family]
            peer = mine[0].peer if mine else _peer(ctx.nodes, node, cross)
            name = f"{family}-{node}-to-{peer}" if cross else f"{family}-{node}"
            if not ctx.features.on(family):
                yield Action.skipped(name, f"{family} is not enabled ({_source(ctx, family)})")
                continue
            if not mine:
                yield Action.failed(name, f"nothing to probe: the {purpose} target on {peer} has no {family} address")
                continue
            if view is None or view.round is None:
                yield _no_result(name, view)
                continue
            yield judge_http(name, mine[0], view.round.probes.get(mine[0].id), view.pod,
                             expect_node=mine[0].peer if purpose in ("service", "cross-node", "same-node") else None)


def _peer(nodes: Sequence[str], node: str, cross: bool) -> str:
    if not cross or len(nodes) < 2:
        return node
    return nodes[(nodes.index(node) + 1) % len(nodes)]


def _source(ctx: CheckContext, family: str) -> str:
    found = ctx.features.get(family)
    return found.source if found else "unknown"


def judge_http(name: str, target: Target, probe: Probe | None, pod: str, *, expect_node: str | None) -> Action:
    """Pass when the request got an answer (from the expected node's server, when one is expected)."""
    url = f"http://{'[' + target.address + ']' if ':' in target.address else target.address}:{target.port}/"
    evidence: dict[str, Any] = {"from": pod, "request": f"curl {url}"}
    if target.host:
        evidence["request"] = f"curl -H 'Host: {target.host}' {url}"
    if probe is None:
        return Action.failed(name, "the client did not report this probe", **evidence)
    evidence.update(probe.evidence())
    if not probe.ok:
        what = probe.error or (f"HTTP {probe.http_code}" if probe.http_code else f"curl exit {probe.rc}")
        return Action.failed(name, f"{target.address}:{target.port} unreachable: {what}", **evidence)
    if expect_node is not None:
        served_by = _served_by(probe.body)
        evidence["served_by"] = served_by
        if served_by is not None and served_by != expect_node:
            return Action.failed(name, f"answered by the server on {served_by}, expected {expect_node}", **evidence)
    latency = f" in {probe.time_total * 1000:.1f} ms" if probe.time_total is not None else ""
    return Action.passed(name, f"HTTP {probe.http_code} from {target.address}{latency}", **evidence)


def _served_by(body: str) -> str | None:
    try:
        data = json.loads(body.splitlines()[0]) if body else None
    except ValueError:
        return None
    return str(data.get("node")) if isinstance(data, dict) and data.get("node") else None


@check("dual-stack", "pod-to-pod-same-node", "Pod to pod on the same node, both families",
       requires=(PODS,), needs=(NEEDS_PODS,))
def pod_to_pod_same_node(ctx: CheckContext) -> Iterator[Action]:
    yield from probe_actions(ctx, "same-node", cross=False)


@check("dual-stack", "pod-to-pod-cross-node", "Pod to pod across nodes, both families",
       requires=(PODS, Require.enabled("multi-node")), needs=(NEEDS_PODS,))
def pod_to_pod_cross_node(ctx: CheckContext) -> Iterator[Action]:
    yield from probe_actions(ctx, "cross-node", cross=True)


@check("dual-stack", "pod-to-service", "Pod to a Service ClusterIP whose backend is on the next node, both families",
       requires=(PODS,), needs=(NEEDS_PODS,))
def pod_to_service(ctx: CheckContext) -> Iterator[Action]:
    yield from probe_actions(ctx, "service", cross=True)
