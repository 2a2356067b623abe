"""The lab chart renders what the Cilium chart renders for the managed keys, and refuses what it refuses.

Every test runs `helm template` with both pinned helm majors (the `helm_bin` fixture).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.lab.chart import CHART_DIR

pytestmark = pytest.mark.helm


def render(
    helm: Path, *sets: str, values: dict[str, Any] | None = None, tmp: Path | None = None
) -> list[dict[str, Any]]:
    args = [str(helm), "template", "cilium", str(CHART_DIR), "-n", "kube-system"]
    for item in sets:
        args += ["--set", item]
    if values is not None:
        assert tmp is not None
        path = tmp / "values.yaml"
        path.write_text(yaml.safe_dump(values))
        args += ["-f", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RenderError(done.stderr)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


class RenderError(Exception):
    pass


def config(docs: list[dict[str, Any]]) -> dict[str, str]:
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cilium-config"]
    data: dict[str, str] = cm["data"]
    return data


def agent(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (ds,) = [d for d in docs if d["kind"] == "DaemonSet" and d["metadata"]["name"] == "cilium"]
    return ds


def fails_with(helm: Path, *sets: str) -> str:
    with pytest.raises(RenderError) as info:
        render(helm, *sets)
    return str(info.value)


def test_defaults_match_the_cilium_chart(helm_bin: Path) -> None:
    data = config(render(helm_bin))
    assert data["routing-mode"] == "tunnel"
    assert data["tunnel-protocol"] == "vxlan"
    assert data["auto-direct-node-routes"] == "false"
    assert data["datapath-mode"] == "veth"
    assert data["kube-proxy-replacement"] == "false"
    assert data["enable-ipv4"] == "true" and data["enable-ipv6"] == "false"
    assert data["enable-ipv4-masquerade"] == "true" and data["enable-ipv6-masquerade"] == "true"
    assert data["enable-ipv4-big-tcp"] == "false" and data["enable-ipv6-big-tcp"] == "false"
    assert data["bpf-lb-sock"] == "false"
    assert data["enable-l2-neigh-discovery"] == "false"
    assert data["ipam"] == "cluster-pool"
    assert data["cluster-pool-ipv4-cidr"] == "10.0.0.0/8"
    assert data["cluster-pool-ipv4-mask-size"] == "24"
    # Keys the Cilium chart renders only when set.
    for absent in ("ipv4-native-routing-cidr", "enable-bpf-masquerade", "clean-cilium-state",
                   "clean-cilium-bpf-state", "bpf-lb-sock-hostns-only", "cluster-pool-ipv6-cidr"):
        assert absent not in data


def test_runbook_tuning_renders_under_the_real_key_names(helm_bin: Path, tmp_path: Path) -> None:
    values = {
        "routingMode": "native", "autoDirectNodeRoutes": True,
        "ipv4NativeRoutingCIDR": "198.19.0.0/16", "ipv6NativeRoutingCIDR": "fd00:19::/104",
        "ipv6": {"enabled": True}, "enableIPv4BIGTCP": True, "kubeProxyReplacement": True,
        "socketLB": {"enabled": True, "hostNamespaceOnly": True}, "l2NeighDiscovery": {"enabled": True},
        "bpf": {"datapathMode": "netkit", "masquerade": True}, "cleanState": True,
        "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": ["198.19.0.0/16"],
                              "clusterPoolIPv6PodCIDRList": ["fd00:19::/104"]}},
    }
    data = config(render(helm_bin, values=values, tmp=tmp_path))
    assert data["routing-mode"] == "native"
    assert data["tunnel-protocol"] == "vxlan"  # rendered in native mode too
    assert data["auto-direct-node-routes"] == "true"
    assert data["ipv4-native-routing-cidr"] == "198.19.0.0/16"
    assert data["ipv6-native-routing-cidr"] == "fd00:19::/104"
    assert data["enable-ipv4-big-tcp"] == "true"
    assert data["kube-proxy-replacement"] == "true"  # a YAML boolean is accepted
    assert data["bpf-lb-sock"] == "true" and data["bpf-lb-sock-hostns-only"] == "true"
    assert data["datapath-mode"] == "netkit"
    assert data["enable-bpf-masquerade"] == "true"
    assert data["clean-cilium-state"] == "true"
    assert data["cluster-pool-ipv6-cidr"] == "fd00:19::/104"
    assert data["cluster-pool-ipv6-mask-size"] == "120"


def test_cluster_pool_lists_are_space_joined(helm_bin: Path) -> None:
    pools = "ipam.operator.clusterPoolIPv4PodCIDRList={198.19.0.0/17,198.19.128.0/17}"
    data = config(render(helm_bin, pools))
    assert data["cluster-pool-ipv4-cidr"] == "198.19.0.0/17 198.19.128.0/17"


def test_agent_daemonset_runs_the_lab_agent_on_the_host_network(helm_bin: Path) -> None:
    ds = agent(render(helm_bin, "k8sServiceHost=198.18.0.1", "k8sServicePort=6443",
                      "cni.confPath=/var/lib/rancher/k3s/agent/etc/cni/net.d"))
    assert ds["metadata"]["namespace"] == "kube-system"
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    (container,) = pod["containers"]
    assert container["command"] == ["python3", "-m", "cilium_tune.lab.agent"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"  # the refusal shows in the status
    assert container["readinessProbe"]["httpGet"]["port"] == 9879
    env = {e["name"]: e for e in container["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert env["KUBERNETES_SERVICE_HOST"]["value"] == "198.18.0.1"
    assert env["KUBERNETES_SERVICE_PORT"]["value"] == "6443"
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    assert host_paths["etc-cni-netd"] == "/var/lib/rancher/k3s/agent/etc/cni/net.d"


REAL_CHART = Path("/work/shared/charts/cilium-1.19.0-rc.1.tgz")


@pytest.mark.skipif(not REAL_CHART.exists(), reason=f"{REAL_CHART} not present")
@pytest.mark.parametrize("values", [
    {},
    {"updateStrategy": {"type": "OnDelete"}},  # what the rollout sets for a switch: rollingUpdate stays
    {"updateStrategy": {"type": "OnDelete", "rollingUpdate": None}},
    {"updateStrategy": {"rollingUpdate": {"maxUnavailable": "50%"}}},
], ids=["default", "on-delete", "on-delete-only", "percent"])
def test_update_strategy_renders_as_in_the_cilium_chart(helm4: Path, tmp_path: Path, values: dict[str, Any]) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    real = subprocess.run([str(helm4), "template", "cilium", str(REAL_CHART), "-n", "kube-system", "-f", str(path),
                           "--show-only", "templates/cilium-agent/daemonset.yaml"],
                          capture_output=True, text=True, check=True)
    expected = yaml.safe_load(real.stdout)["spec"]["updateStrategy"]
    assert agent(render(helm4, values=values, tmp=tmp_path))["spec"]["updateStrategy"] == expected


def test_apiserver_env_is_absent_unless_set(helm_bin: Path) -> None:
    (container,) = agent(render(helm_bin))["spec"]["template"]["spec"]["containers"]
    assert not {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"} & {e["name"] for e in container["env"]}


def test_config_checksum_only_with_roll_out_cilium_pods(helm_bin: Path) -> None:
    plain = agent(render(helm_bin))["spec"]["template"]["metadata"]
    assert "annotations" not in plain
    first = agent(render(helm_bin, "rollOutCiliumPods=true"))["spec"]["template"]["metadata"]["annotations"]
    second = agent(render(helm_bin, "rollOutCiliumPods=true", "routingMode=tunnel", "enableIPv6BIGTCP=true"))
    checksum = "cilium.io/cilium-configmap-checksum"
    assert first[checksum] != second["spec"]["template"]["metadata"]["annotations"][checksum]


def test_gateway_api_on_host_network_adds_envoy_and_operator(helm_bin: Path) -> None:
    docs = render(helm_bin, "gatewayAPI.enabled=true", "gatewayAPI.hostNetwork.enabled=true",
                  "kubeProxyReplacement=true")
    data = config(docs)
    assert data["enable-gateway-api"] == "true"
    assert data["gateway-api-hostnetwork-enabled"] == "true"
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("DaemonSet", "cilium-envoy"), ("Deployment", "cilium-operator")} <= names


@pytest.mark.parametrize(
    ("sets", "reason"),
    [
        (["routingMode=native"], "ipv4NativeRoutingCIDR must be set when routingMode is native"),
        (["routingMode=native", "ipv4NativeRoutingCIDR=198.19.0.0/16", "ipv6.enabled=true"],
         "ipv6NativeRoutingCIDR must be set when routingMode is native"),
        (["kubeProxyReplacement=strict"], "kubeProxyReplacement must be set to true or false"),
        (["gatewayAPI.enabled=true"], "requires kubeProxyReplacement=true"),
        (["gatewayAPI.enabled=true", "kubeProxyReplacement=true", "l7Proxy=false"], "requires l7Proxy=true"),
        (["tunnel=disabled"], "tunnel was removed"),
        (["enableCiliumEndpointSlice=true"], "enableCiliumEndpointSlice was removed"),
    ],
)
def test_refuses_what_the_cilium_chart_refuses(helm_bin: Path, sets: list[str], reason: str) -> None:
    assert reason in fails_with(helm_bin, *sets)


def test_native_without_cidr_is_fine_when_masquerading_is_off(helm_bin: Path) -> None:
    data = config(render(helm_bin, "routingMode=native", "enableIPv4Masquerade=false"))
    assert data["enable-ipv4-masquerade"] == "false"
    assert "ipv4-native-routing-cidr" not in data


def test_gateway_class_follows_the_installed_crds(helm_bin: Path) -> None:
    on = ["gatewayAPI.enabled=true", "kubeProxyReplacement=true"]
    assert not [d for d in render(helm_bin, *on) if d["kind"] == "GatewayClass"]
    forced = [d for d in render(helm_bin, *on, "gatewayAPI.gatewayClass.create=true") if d["kind"] == "GatewayClass"]
    assert forced[0]["spec"]["controllerName"] == "io.cilium/gateway-controller"
