"""A small recorded cluster for collect() tests, built from the parser fixtures' raw objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from cilium_tune.adapters.kube import (
    CONFIGMAPS,
    CRDS,
    DAEMONSETS,
    GATEWAY_CLASSES,
    GATEWAYS,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    VMIS,
    FakeKube,
    Obj,
    Resource,
)

HERE = Path(__file__).parent


def raw(folder: str, case: str) -> Any:
    """The raw input of one recorded fixture (a fresh copy)."""
    return copy.deepcopy(json.loads((HERE / folder / f"{case}.json").read_text())["raw"])


def seed() -> dict[Resource, list[Obj] | Exception]:
    """Three k3s nodes, a Cilium release with a failed upgrade on top, agents (one crash-looping),
    Gateway API with a hostNetwork Gateway, VM workloads and a flannel-addressed leftover pod."""
    server = raw("nodes.NodeFacts", "k3s_server_dualstack")
    second = copy.deepcopy(server)
    second["metadata"]["name"] = "skyforge-2"
    second["spec"]["podCIDRs"] = ["198.19.1.0/24", "fd00:19::1:0/120"]
    second["status"]["addresses"][:2] = [
        {"type": "InternalIP", "address": "10.128.16.54"},
        {"type": "InternalIP", "address": "fd00:128:16::54"},
    ]
    second["metadata"]["annotations"]["k3s.io/node-args"] = json.dumps(
        ["agent", "--server", "https://10.128.16.58:6443", "--node-ip", "10.128.16.54,fd00:128:16::54"]
    )
    third = raw("nodes.NodeFacts", "cordoned_unknown_kernel")
    vm = raw("workloads.VmWorkload", "vrnetlab_iol_qemu_kubevirt")
    pods = raw("workloads.PodIPSummary", "flannel_leftover")["pods"]
    agents = [raw("cilium.AgentPod", "ready"), raw("cilium.AgentPod", "crashloop_veth_endpoints")]
    return {
        NODES: [third, server, second],
        PODS: [*pods, *vm["pods"], *agents],
        SERVICES: [
            raw("workloads.ServiceFacts", "prefer_dual_stack"),
            raw("workloads.ServiceFacts", "headless_single_stack"),
        ],
        SECRETS: raw("helm_release.HelmRelease", "deployed_after_failed_upgrade")["secrets"],
        CONFIGMAPS: [raw("cilium.CiliumConfig", "skyforge_tuned")],
        CRDS: [raw("gateway.Crd", "tlsroute_experimental_v1_5"), raw("gateway.Crd", "kubevirt_vmi")],
        GATEWAY_CLASSES: [raw("gateway.GatewayClass", "cilium_accepted")],
        GATEWAYS: [raw("gateway.Gateway", "hostnetwork_address_not_assigned")],
        VMIS: vm["vmis"],
        DAEMONSETS: [],
    }


def fake(**overrides: list[Obj] | Exception) -> FakeKube:
    """A FakeKube over `seed()`; keyword overrides replace a resource by its plural (e.g. secrets=...)."""
    data = seed()
    for plural, value in overrides.items():
        res = next(r for r in data if r.plural == plural)
        data[res] = value
    return FakeKube(seed=data)
