"""CiliumNodeConfig resolution, case by case as cilium-agent's config resolver decides it."""

from __future__ import annotations

from typing import Any

from cilium_tune.lab.agent.nodeconfig import crd, resolve

BASE = {"datapath-mode": "veth", "routing-mode": "native"}
LABELS = {"kubernetes.io/hostname": "n1", "cilium-tune.io/datapath": "netkit"}


def cnc(name: str, defaults: dict[str, str] | None, selector: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"defaults": defaults}
    if selector is not None:
        spec["nodeSelector"] = selector
    return {"metadata": {"name": name, "namespace": "kube-system"}, "spec": spec}


def test_a_matching_node_config_overrides_cilium_config_keys() -> None:
    out = resolve(BASE, "kube-system", LABELS, [
        cnc("switch", {"datapath-mode": "netkit"}, {"matchLabels": {"cilium-tune.io/datapath": "netkit"}})])
    assert out.data["datapath-mode"] == "netkit" and out.data["routing-mode"] == "native"
    assert out.overridden == ("datapath-mode",)
    assert out.sources == ("cilium-node-config:kube-system/switch", "config-map:kube-system/cilium-config")
    assert out.data["config-sources"] == ",".join(out.sources)


def test_selectors_no_selector_selects_nothing_an_empty_one_everything() -> None:
    configs = [cnc("a-none", {"mtu": "1000"}, None), cnc("b-all", {"mtu": "1400"}, {}),
               cnc("c-other", {"mtu": "9000"}, {"matchLabels": {"kubernetes.io/hostname": "n2"}}),
               cnc("d-expr", {"tunnel-port": "8473"}, {"matchExpressions": [
                   {"key": "cilium-tune.io/datapath", "operator": "In", "values": ["netkit"]}]})]
    out = resolve(BASE, "kube-system", LABELS, configs)
    assert out.data["mtu"] == "1400" and out.data["tunnel-port"] == "8473"
    assert [s.rsplit("/", 1)[1] for s in out.sources] == ["b-all", "d-expr", "cilium-config"]


def test_later_names_win_and_empty_or_invalid_entries_are_skipped() -> None:
    configs = [cnc("20-late", {"datapath-mode": "netkit-l2"}, {}), cnc("10-early", {"datapath-mode": "netkit"}, {}),
               cnc("30-empty", {}, {}), cnc("40-bad", {"bad key!": "x", "enable-ipv6": "true"}, {})]
    out = resolve(BASE, "kube-system", LABELS, configs)
    assert out.data["datapath-mode"] == "netkit-l2"
    assert out.data["enable-ipv6"] == "true" and "bad key!" not in out.data
    assert out.skipped == ("40-bad: bad key!",)
    assert "cilium-node-config:kube-system/30-empty" not in out.sources


def test_without_node_configs_only_the_config_map_counts() -> None:
    out = resolve(BASE, "kube-system", LABELS, [])
    assert out.data == {**BASE, "config-sources": "config-map:kube-system/cilium-config"} and out.overridden == ()


def test_the_crd_serves_v2_and_the_deprecated_v2alpha1_as_cilium_1_19_does() -> None:
    doc = crd()
    assert doc["metadata"]["name"] == "ciliumnodeconfigs.cilium.io" and doc["spec"]["scope"] == "Namespaced"
    versions = {v["name"]: v for v in doc["spec"]["versions"]}
    assert versions["v2"]["storage"] and versions["v2"]["served"]
    assert versions["v2alpha1"]["served"] and versions["v2alpha1"]["deprecated"]
    assert not versions["v2alpha1"]["storage"]
