"""The key catalog against 50 real values files written by others (read at test time, never copied).

With the 1.19 chart's values.yaml as the catalog, every finding below was checked by hand. Almost all
are real no-ops in 1.19: case slips Helm does not forgive (`cgroup.automount` is in 16 files, the
chart reads `cgroup.autoMount`), keys at the wrong level, and options removed from the chart. The
only findings that may be valid for the chart the author used are in NEWER_OR_FORKED.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.values.catalog import KeyCatalog, unknown_keys
from cilium_tune.values.paths import format_path

CORPUS = Path("/work/shared/corpus")
CHART_119 = CORPUS / "chart" / "cilium-1.19-values.yaml"
VALUES = sorted((CORPUS / "values").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not CHART_119.exists() or len(VALUES) != 50, reason="corpus not present")

CASE = {"cgroup.automount", "endpointROutes", "hubble.enable", "rolloutCiliumPods"}
CASE |= {"hubble.ui.PodDisruptionBudget", "hubble.relay.PodDisruptionBudget", "operator.PodDisruptionBudget"}
CASE |= {"k8s.requireIPv4PodCidr", "k8s.requireIPv6PodCidr"}
MISPLACED = {
    "bbr",  # bandwidthManager.bbr
    "datapathMode",  # bpf.datapathMode
    "hubble.serviceMonitor",  # hubble.metrics.serviceMonitor
    "hubble.prometheus",
    "hubble.rollOutPods",
    '"externalIPs.enabled"',  # dotted keys are not split by Helm
    '"loadBalancer.algorithm"',
    "ipam.clusterPoolIPv4PodCIDRList",  # ipam.operator.clusterPoolIPv4PodCIDRList
    "ipam.enable-external-ips",
    "operator.prometheus.serviceMonitor.trustCRDsExist",  # only the agent's serviceMonitor has it
}
REMOVED = {
    "bgp",
    "containerRuntime",
    "tunnel",
    "enableCiliumEndpointSlice",
    "hostServices",  # the 1.19 templates read it only as a fallback that socketLB's default always beats
    "externalWorkloads",
    "enableEnvoyConfig",
    "loadBalancer.standalone",  # in 1.18's values.yaml, gone in 1.19
    "hubble.tls.insecure",
    "hubble.ui.proxy",
    "loadBalancer.dsrL4Translate",  # 46 pins an old Cilium
    "sessionAffinity",  # only a commented-out example in 1.18, gone in 1.19
}
# Not in values.yaml, but the 1.19 templates read it: a values-only catalog's false positive (the version
# catalogs and `from_chart` of a packaged chart read the templates; see test_corpus_review.py).
TEMPLATE_ONLY = {"nodePort.directRoutingDevice"}
# Not in the 1.18 or 1.19 chart; 37 says it targets 1.20, so these may be valid for a newer chart.
NEWER_OR_FORKED = {"envoy.xdsMode", "hubble.hostUsers", "bpf.hostRouting"}

EXPECTED: dict[str, set[str]] = {
    **{f: {"cgroup.automount"} for f in ["01", "05", "06", "07", "09", "11", "12", "14", "16"]},
    "03": {"bgp", "cgroup.automount"},
    "04": {"cgroup.automount", "hubble.hostUsers"},
    "10": {"bbr", "cgroup.automount"},
    "13": {"bgp", "endpointROutes", "hubble.serviceMonitor"},
    "15": {"cgroup.automount", "hubble.enable"},
    "17": {'"externalIPs.enabled"', '"loadBalancer.algorithm"'},
    "18": {
        "hubble.ui.PodDisruptionBudget",
        "hubble.relay.PodDisruptionBudget",
        "operator.PodDisruptionBudget",
        "operator.prometheus.serviceMonitor.trustCRDsExist",
    },
    "19": {"cgroup.automount", "bgp", "hubble.tls.insecure"},
    "20": {"cgroup.automount", "containerRuntime"},
    "21": {"tunnel", "containerRuntime", "bgp"},
    "22": {"cgroup.automount", "containerRuntime"},
    "24": {"bgp", "containerRuntime", "tunnel"},
    "29": {"loadBalancer.standalone"},
    "30": {"enableCiliumEndpointSlice"},
    "32": {"containerRuntime", "hubble.rollOutPods", "hubble.ui.proxy"},
    "34": {"hostServices"},
    "36": {"bgp"},
    "37": {"envoy.xdsMode"},
    "38": {"bpf.hostRouting"},
    "39": {"rolloutCiliumPods", "externalWorkloads"},
    "43": {"containerRuntime", "k8s.requireIPv4PodCidr", "k8s.requireIPv6PodCidr", "tunnel"},
    "44": {"ipam.clusterPoolIPv4PodCIDRList", "ipam.enable-external-ips"},
    "45": {"hubble.prometheus"},
    "46": {
        "bgp",
        "datapathMode",
        "loadBalancer.dsrL4Translate",
        "nodePort.directRoutingDevice",
        "sessionAffinity",
        "tunnel",
    },
    "50": {"enableEnvoyConfig"},
}


@pytest.fixture(scope="module")
def chart_catalog() -> KeyCatalog:
    return KeyCatalog.from_chart(CHART_119)


@functools.cache
def _parsed(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    assert isinstance(data, dict)
    return data


def _load(path: Path) -> dict[str, Any]:
    """A fresh copy of one corpus file's values (tests may edit it)."""
    return copy.deepcopy(_parsed(path))


def _count_keys(values: dict[str, Any]) -> int:
    return sum(1 + (_count_keys(v) if isinstance(v, dict) else 0) for v in values.values())


def test_every_finding_is_accounted_for(chart_catalog: KeyCatalog) -> None:
    for path in VALUES:
        found = {u.dotted for u in unknown_keys(_load(path), chart_catalog)}
        assert found == EXPECTED.get(path.name[:2], set()), path.name
    listed = set().union(*EXPECTED.values())
    assert listed == CASE | MISPLACED | REMOVED | NEWER_OR_FORKED | TEMPLATE_ONLY


def test_false_positive_rate_is_very_low(chart_catalog: KeyCatalog) -> None:
    keys = sum(_count_keys(_load(p)) for p in VALUES)
    findings = [u.dotted for p in VALUES for u in unknown_keys(_load(p), chart_catalog)]
    maybe_valid = [f for f in findings if f in NEWER_OR_FORKED]
    assert keys > 2500
    assert len(maybe_valid) / keys < 0.002
    assert len(findings) / keys < 0.03


def test_suggestions_name_what_was_meant(chart_catalog: KeyCatalog) -> None:
    got = {}
    for path in VALUES:
        for u in unknown_keys(_load(path), chart_catalog):
            got[u.dotted] = format_path(u.suggestion) if u.suggestion else None
    assert got["cgroup.automount"] == "cgroup.autoMount"
    assert got["endpointROutes"] == "endpointRoutes"
    assert got["rolloutCiliumPods"] == "rollOutCiliumPods"
    assert got["k8s.requireIPv6PodCidr"] == "k8s.requireIPv6PodCIDR"
    assert got["operator.PodDisruptionBudget"] == "operator.podDisruptionBudget"
    assert got["bbr"] == "bandwidthManager.bbr"
    assert got["datapathMode"] == "bpf.datapathMode"
    assert got["ipam.clusterPoolIPv4PodCIDRList"] == "ipam.operator.clusterPoolIPv4PodCIDRList"


BUILTIN = KeyCatalog.builtin()
SEEDED = [
    (("socketLb",), {"enabled": True}, "socketLB"),
    (("bpf", "datapathmode"), "netkit", "bpf.datapathMode"),
    (("kubeProxyReplacment",), "true", "kubeProxyReplacement"),
]


@pytest.mark.parametrize("catalog_kind", ["chart", "builtin"])
@pytest.mark.parametrize(("path", "value", "meant"), SEEDED, ids=[s[2] for s in SEEDED])
def test_seeded_typos_are_caught_in_every_file(
    catalog_kind: str, path: tuple[str, ...], value: Any, meant: str, chart_catalog: KeyCatalog
) -> None:
    catalog = chart_catalog if catalog_kind == "chart" else BUILTIN
    for file in VALUES:
        values = _load(file)
        node = values
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        hits = {u.dotted: u for u in unknown_keys(values, catalog)}
        assert format_path(path) in hits, file.name
        suggestion = hits[format_path(path)].suggestion
        assert suggestion is not None and format_path(suggestion) == meant, file.name


def test_builtin_catalog_alone_stays_quiet_on_valid_keys(chart_catalog: KeyCatalog) -> None:
    """Without a chart only near-misses in open subtrees are reported: no finding outside the chart's."""
    for path in VALUES:
        values = _load(path)
        builtin = {u.dotted for u in unknown_keys(values, BUILTIN)}
        assert builtin <= {u.dotted for u in unknown_keys(values, chart_catalog)}, path.name


@pytest.mark.parametrize("version", ["1.18", "1.19"])
def test_a_full_values_dump_raises_no_warning(version: str) -> None:
    """`helm get values --all` holds every key of the chart's values.yaml: none may be reported."""
    chart = CORPUS / "chart" / f"cilium-{version}-values.yaml"
    full = yaml.load(chart.read_text(), Loader=yaml.CSafeLoader)
    assert unknown_keys(full, BUILTIN) == []
    assert unknown_keys(full, KeyCatalog.from_chart(chart)) == []
