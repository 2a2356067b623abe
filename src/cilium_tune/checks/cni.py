"""cni: Cilium is the CNI every pod went through, and its config sits where k3s's containerd looks.

A pod on flannel's 10.42.0.0/16 (k3s's default cluster-cidr) after installing Cilium means flannel is still
the CNI; a pod outside both the node's pod CIDRs and Cilium's cluster pool means something else assigned
it. The CNI config directory is read by the node probes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from cilium_tune.checks.framework import Action, CheckContext, Require, check
from cilium_tune.facts.k3s_defaults import K3S_DEFAULT_CLUSTER_CIDR
from cilium_tune.facts.workloads import cluster_pool_cidrs
from cilium_tune.values.paths import get_path

DEFAULT_CONF_DIR = "/etc/cni/net.d"


def _pools(ctx: CheckContext, node: str) -> list[Any]:
    """The node's pod CIDRs and Cilium's cluster pool: a pod outside all of them got its address elsewhere."""
    found = ctx.facts.node(node)
    return [*(found.pod_cidrs if found is not None else ()), *cluster_pool_cidrs(ctx.config)]


@check("cni", "pod-pools", "No pod on a flannel address or outside the pools")
def pod_pools(ctx: CheckContext) -> Iterator[Action]:
    if not ctx.facts.is_known("pod_ips"):
        yield Action.skipped("all", f"pod addresses unknown: {ctx.facts.unknown.get('pod_ips')}")
        return
    summaries = {s.node: s for s in ctx.facts.pod_ips}
    for node in ctx.nodes:
        summary = summaries.get(node)
        if summary is None or not summary.by_cidr:
            yield Action.passed(node, "no pod-network pod on this node")
            continue
        pools = _pools(ctx, node)
        bad: dict[str, int] = {}
        for cidr, count in summary.by_cidr.items():
            net = ipaddress.ip_network(cidr, strict=False)
            inside = any(net.version == p.version and net.subnet_of(p) for p in pools)
            if not inside:
                bad[cidr] = count
        evidence = {"by_cidr": dict(summary.by_cidr), "pools": [str(p) for p in pools]}
        flannel = {c: n for c, n in bad.items() if c == str(K3S_DEFAULT_CLUSTER_CIDR)}
        if flannel:
            yield Action.failed(node, f"{sum(flannel.values())} pod(s) on flannel's {K3S_DEFAULT_CLUSTER_CIDR}: "
                                      "flannel is still the CNI for them; delete those pods", **evidence)
        elif bad:
            yield Action.failed(node, f"{sum(bad.values())} pod(s) outside the pools: {', '.join(bad)}", **evidence)
        else:
            yield Action.passed(node, f"{sum(summary.by_cidr.values())} pod address(es) in the pools", **evidence)


@check("cni", "config-file", "Cilium's CNI config is in the directory containerd reads",
       requires=(Require.enabled("node-probes"),))
def config_file(ctx: CheckContext) -> Iterator[Action]:
    conf_dir = str(get_path(ctx.values, "cni.confPath", None) or DEFAULT_CONF_DIR).rstrip("/") or "/"
    for node in ctx.nodes:
        probe = ctx.facts.probe(node)
        if probe is None or not probe.ok:
            yield Action.failed(node, f"no node probe result: {probe.error if probe else 'not probed'}")
            continue
        dirs = probe.cni_conf_dirs or {}
        containerd_dir = probe.containerd.conf_dir if probe.containerd else None
        evidence: dict[str, Any] = {"cni.confPath": conf_dir, "containerd.conf_dir": containerd_dir}
        if conf_dir not in dirs:
            yield Action.skipped(node, f"{conf_dir} does not exist on {node}: no k3s/containerd CNI layout to "
                                       "check (the lab writes no CNI files)", **evidence)
            continue
        files = dirs[conf_dir]
        ours = [f for f in files if "cilium" in f and f.endswith((".conf", ".conflist"))]
        confs = sorted(f for f in files if f.endswith((".conf", ".conflist", ".json")))
        evidence["files"] = confs
        if not ours:
            yield Action.failed(node, f"no Cilium CNI config in {conf_dir}", **evidence)
        elif containerd_dir is not None and containerd_dir.rstrip("/") != conf_dir:
            yield Action.failed(node, f"containerd reads {containerd_dir}, Cilium writes {conf_dir}", **evidence)
        elif confs and confs[0] not in ours:
            yield Action.warned(node, f"{confs[0]} sorts before {ours[0]}: containerd uses the first", **evidence)
        else:
            yield Action.passed(node, f"{ours[0]} in {conf_dir}", **evidence)
