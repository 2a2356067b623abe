"""Overlays rendered from profiles: the runbook's keys, one reason per key, deterministic text."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cilium_tune.profile import load_profile, parse_profile
from cilium_tune.profile.starter import starter_text
from cilium_tune.values.overlays import render_overlays

PROFILES = ["skyforge-dev", "lab"]


def _leaves(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


def test_skyforge_dev_performance_overlay_has_the_runbook_keys() -> None:
    perf = render_overlays(load_profile("skyforge-dev"))[0]
    assert perf.filename == "cilium-values.yaml"
    leaves = _leaves(perf.values)
    runbook = {
        "routingMode": "native",
        "autoDirectNodeRoutes": True,
        "ipv4NativeRoutingCIDR": "100.70.0.0/16",
        "cni.confPath": "/var/lib/rancher/k3s/agent/etc/cni/net.d",
        "socketLB.enabled": True,
        "enableIPv4BIGTCP": True,
        "l2NeighDiscovery.enabled": True,
        "bpf.datapathMode": "netkit",
    }
    from_tuning = {
        "kubeProxyReplacement": "true",
        "k8sServiceHost": "10.128.16.58",
        "k8sServicePort": 6443,
        "bpf.masquerade": True,
        "socketLB.hostNamespaceOnly": True,
        "gatewayAPI.enabled": True,
        "gatewayAPI.hostNetwork.enabled": True,
    }
    for key, value in {**runbook, **from_tuning}.items():
        assert leaves[key] == value, key
    assert isinstance(leaves["kubeProxyReplacement"], str)


def test_skyforge_dev_renders_three_files_in_helm_order() -> None:
    overlays = render_overlays(load_profile("skyforge-dev"))
    assert [o.filename for o in overlays] == [
        "cilium-values.yaml",
        "cilium-values-dualstack.yaml",
        "cilium-values-netkit-migrate.yaml",
    ]
    dual, migrate = overlays[1], overlays[2]
    assert _leaves(dual.values) == {
        "ipv4.enabled": True,
        "ipv6.enabled": True,
        "ipam.operator.clusterPoolIPv6PodCIDRList": ["fd00::/104"],
        "ipam.operator.clusterPoolIPv6MaskSize": 120,
        "ipv6NativeRoutingCIDR": "fd00::/104",
        "enableIPv6BIGTCP": False,
    }
    assert migrate.values == {"cleanState": True} and migrate.one_time
    assert not overlays[0].one_time


def _ipv4_only_starter() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(starter_text())
    data["tuning"]["ipam"]["ipv6"] = None
    data["tuning"]["native_routing_cidrs"]["ipv6"] = None
    for node in data["nodes"]:
        node["ipv6"] = None
    return data


def test_ipv4_only_veth_profile_renders_only_the_performance_overlay() -> None:
    profile = parse_profile(yaml.safe_dump(_ipv4_only_starter()), "ipv4-only")
    overlays = render_overlays(profile)
    assert [o.name for o in overlays] == ["performance"]
    leaves = _leaves(overlays[0].values)
    assert "ipv6NativeRoutingCIDR" not in leaves
    assert leaves["bpf.datapathMode"] == "veth"
    assert leaves["socketLB.hostNamespaceOnly"] is False  # no VM workloads in the starter


def test_tunnel_profile_without_kube_proxy_replacement() -> None:
    data = _ipv4_only_starter()
    data["tuning"].update(routing_mode="tunnel", auto_direct_node_routes=False, native_routing_cidrs={})
    data["tuning"]["kube_proxy_replacement"] = {"enabled": False}
    data["distribution"]["kube_proxy_disabled"] = False
    leaves = _leaves(render_overlays(parse_profile(yaml.safe_dump(data), "tunnel"))[0].values)
    assert leaves["routingMode"] == "tunnel"
    assert leaves["kubeProxyReplacement"] == "false"
    assert "k8sServiceHost" not in leaves and "ipv4NativeRoutingCIDR" not in leaves


@pytest.mark.parametrize("name", PROFILES)
def test_text_reads_back_to_the_values(name: str) -> None:
    for overlay in render_overlays(load_profile(name)):
        assert yaml.safe_load(overlay.text) == overlay.values, overlay.filename


@pytest.mark.parametrize("name", PROFILES)
def test_every_key_has_a_reason_written_above_it(name: str) -> None:
    for overlay in render_overlays(load_profile(name)):
        assert set(overlay.comments) == set(_leaves(overlay.values)), overlay.filename
        lines = overlay.text.splitlines()
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith(("#", "- ")):
                continue
            opens_map = stripped.endswith(":") and i + 1 < len(lines) and not lines[i + 1].strip().startswith("- ")
            if not opens_map:
                assert lines[i - 1].strip().startswith("#"), f"{overlay.filename}: no reason above {line!r}"


@pytest.mark.parametrize("name", PROFILES)
def test_rendering_is_deterministic(name: str) -> None:
    first = [o.text for o in render_overlays(load_profile(name))]
    second = [o.text for o in render_overlays(load_profile(name))]
    assert first == second
