"""The FeatureSet: what the cluster should be doing, derived purely from the facts and the desired state.

Checks gate on features (`Require.enabled("ipv6")`), never on raw values, so a check reads the same
whether the answer came from the cilium-config the chart renders or from the facts. Each feature keeps
its source, which a skip reason quotes (`ipv6 is disabled, the check needs enabled (cilium-config
enable-ipv6)`). The desired cilium-config wins over the chart values: it is exactly what the agents
read. `None` means unknown, and a check requiring an unknown feature is skipped, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cilium_tune.facts.model import Snapshot
from cilium_tune.values.paths import get_path

CILIUM_GATEWAY_CONTROLLER = "io.cilium/gateway-controller"


@dataclass(frozen=True)
class Feature:
    name: str
    value: str | bool | None
    source: str


@dataclass(frozen=True)
class FeatureSet:
    features: Mapping[str, Feature]

    def get(self, name: str) -> Feature | None:
        return self.features.get(name)

    def on(self, name: str) -> bool:
        found = self.features.get(name)
        return found is not None and found.value is True

    def value(self, name: str) -> str | bool | None:
        found = self.features.get(name)
        return found.value if found is not None else None


def _flag(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None


_MISSING = object()


def _value(values: Mapping[str, Any], path: str) -> Any:
    try:
        return get_path(values, path)
    except (KeyError, TypeError, ValueError):
        return _MISSING


def derive_features(facts: Snapshot, values: Mapping[str, Any], config: Mapping[str, str] | None) -> FeatureSet:
    """Every feature a check may require. Pure."""
    found: dict[str, Feature] = {}

    def from_config(name: str, key: str, *, flag: bool = True, default: str | None = None,
                    value_path: str | None = None) -> None:
        if config is not None:
            raw = config.get(key, default)
            value: str | bool | None = _flag(raw) if flag else raw
            where = f"cilium-config {key}" + ("" if key in config else " (absent: the agent's default)")
            found[name] = Feature(name, value, where)
            return
        if value_path is not None:
            raw_value = _value(values, value_path)
            if raw_value is not _MISSING and raw_value is not None:
                shown = raw_value if isinstance(raw_value, bool) or not flag else _flag(str(raw_value))
                found[name] = Feature(name, shown, f"desired values {value_path}")
                return
        found[name] = Feature(name, None, "the desired cilium-config could not be rendered")

    from_config("ipv4", "enable-ipv4", default="true", value_path="ipv4.enabled")
    from_config("ipv6", "enable-ipv6", default="false", value_path="ipv6.enabled")
    from_config("routing", "routing-mode", flag=False, default="tunnel", value_path="routingMode")
    from_config("datapath-mode", "datapath-mode", flag=False, default="veth", value_path="bpf.datapathMode")
    from_config("kube-proxy-replacement", "kube-proxy-replacement", default="false",
                value_path="kubeProxyReplacement")
    from_config("bpf-masquerade", "enable-bpf-masquerade", default="false", value_path="bpf.masquerade")
    from_config("ipv4-big-tcp", "enable-ipv4-big-tcp", default="false", value_path="enableIPv4BIGTCP")
    from_config("ipv6-big-tcp", "enable-ipv6-big-tcp", default="false", value_path="enableIPv6BIGTCP")
    from_config("socket-lb-hostns-only", "bpf-lb-sock-hostns-only", default="false",
                value_path="socketLB.hostNamespaceOnly")
    from_config("gateway-api", "enable-gateway-api", default="false", value_path="gatewayAPI.enabled")
    from_config("gateway-host-network", "gateway-api-hostnetwork-enabled", default="false",
                value_path="gatewayAPI.hostNetwork.enabled")
    if found["routing"].value == "":
        found["routing"] = Feature("routing", "tunnel", found["routing"].source + " (empty: tunnel)")

    probes_ok = [p for p in facts.probes if p.ok]
    if not facts.is_known("probes"):
        found["node-probes"] = Feature("node-probes", False, facts.unknown.get("probes", "not collected"))
    else:
        found["node-probes"] = Feature("node-probes", bool(probes_ok),
                                       f"{len(probes_ok)} of {len(facts.nodes)} node probes succeeded")
    k3s = [n.name for n in facts.nodes if n.k3s is not None]
    found["k3s"] = Feature("k3s", bool(k3s) if facts.is_known("nodes") else None,
                           f"{len(k3s)} of {len(facts.nodes)} nodes carry k3s.io/node-args")
    found["multi-node"] = Feature("multi-node", len(facts.nodes) > 1, f"{len(facts.nodes)} node(s) in the facts")
    classes = {g.name for g in facts.gateway_classes if g.controller_name == CILIUM_GATEWAY_CONTROLLER}
    ours = [g for g in facts.gateways if g.gateway_class in classes]
    found["cilium-gateway"] = Feature(
        "cilium-gateway",
        bool(ours) if facts.is_known("gateways") else None,
        f"{len(ours)} Gateway(s) of a GatewayClass with controller {CILIUM_GATEWAY_CONTROLLER}"
        if facts.is_known("gateways") else facts.unknown.get("gateways", ""),
    )
    return FeatureSet(found)
