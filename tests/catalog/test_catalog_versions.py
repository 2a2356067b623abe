"""Key catalogs that follow the chart version: the generated catalogs, read as a user's chart would be."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.errors import InputError
from cilium_tune.profile import load_profile
from cilium_tune.values.catalog import KeyCatalog, unknown_keys
from cilium_tune.values.catalogs import catalog_for_version, supported_lines
from cilium_tune.values.chart_versions import ChartVersion
from cilium_tune.values.overlays import render_overlays

CHARTS = Path("/work/shared/charts")
RC1 = CHARTS / "cilium-1.19.0-rc.1.tgz"


def _messages(values: dict[str, Any], version: str) -> dict[str, str]:
    return {u.dotted: u.message() for u in unknown_keys(values, catalog_for_version(version))}


def test_versions_order_as_semver() -> None:
    order = ["1.18.12", "1.19.0-pre.3", "1.19.0-rc.0", "1.19.0-rc.1", "1.19.0", "1.19.2", "1.19.10", "1.20.0"]
    parsed = [ChartVersion.parse(v) for v in order]
    assert sorted(reversed(parsed)) == parsed
    assert str(ChartVersion.parse("v1.19.0-rc.1+build.5")) == "1.19.0-rc.1"
    with pytest.raises(InputError, match="not a chart version"):
        ChartVersion.parse("1.19")


def test_there_is_a_catalog_per_supported_line() -> None:
    assert {"1.16", "1.17", "1.18", "1.19"} <= set(supported_lines())


@pytest.mark.parametrize(("version", "known"), [("1.19.0-rc.1", True), ("1.19.0", True), ("1.19.6", False)])
def test_enable_tunnel_big_tcp_follows_the_exact_version(version: str, known: bool) -> None:
    found = _messages({"enableTunnelBIGTCP": True}, version)
    assert ("enableTunnelBIGTCP" not in found) is known
    if not known:
        assert found["enableTunnelBIGTCP"] == (
            "`enableTunnelBIGTCP` was removed in Cilium 1.19.3 (last in 1.19.2): it has no effect in 1.19.6"
        )


REMOVED = {
    "externalIPs": ({"externalIPs": {"enabled": True}}, "`externalIPs` was removed in Cilium 1.17.6 (last in 1.17.5)"),
    "hostPort": ({"hostPort": {"enabled": True}}, "`hostPort` was removed in Cilium 1.18 (last in 1.17.18)"),
    "nodePort": ({"nodePort": {"enabled": True}}, "`nodePort.enabled` was removed in Cilium 1.19 (last in 1.18.12)"),
    "enableRuntimeDeviceDetection": (
        {"enableRuntimeDeviceDetection": True},
        "`enableRuntimeDeviceDetection` was removed in Cilium 1.18 (last in 1.17.18)",
    ),
}


@pytest.mark.parametrize(("values", "expected"), REMOVED.values(), ids=list(REMOVED))
def test_a_removed_option_says_when_it_went(values: dict[str, Any], expected: str) -> None:
    assert list(_messages(values, "1.19.0-rc.1").values()) == [f"{expected}: it has no effect in 1.19"]


def test_a_literal_dotted_key_names_the_nested_key_and_its_history() -> None:
    found = _messages({"externalIPs.enabled": True, "loadBalancer.algorithm": "maglev"}, "1.19.6")
    assert found['"externalIPs.enabled"'].startswith("`externalIPs.enabled` was removed in Cilium 1.17.6")
    assert "nest it as externalIPs.enabled" in found['"externalIPs.enabled"']
    assert found['"loadBalancer.algorithm"'] == (
        "unknown key '\"loadBalancer.algorithm\"': Helm accepts it but nothing reads it; "
        "Helm does not split dotted keys in values files; nest it as loadBalancer.algorithm"
    )


def test_a_refused_option_says_the_chart_fails_on_it() -> None:
    found = _messages({"tunnel": "vxlan"}, "1.19.6")
    assert found["tunnel"] == (
        "`tunnel` was removed in Cilium 1.15 (last in 1.14.19): the 1.19.6 chart refuses it (helm fails); "
        "set routingMode (native|tunnel) and tunnelProtocol instead"
    )


def test_case_slips_get_a_did_you_mean() -> None:
    found = {
        u.dotted: u for u in unknown_keys({"cgroup": {"automount": {"enabled": False}}}, catalog_for_version("1.19.6"))
    }
    assert found["cgroup.automount"].suggestion == ("cgroup", "autoMount")


@pytest.mark.parametrize("key", ["nodePort.directRoutingDevice", "hostServices.enabled", "socketLB.hostNamespaceOnly"])
def test_keys_only_templates_or_comments_mention_stay_valid(key: str) -> None:
    head, tail = key.split(".")
    assert _messages({head: {tail: "x"}}, "1.19.6") == {}


def test_a_newer_version_is_judged_by_the_nearest_catalog() -> None:
    future_patch = catalog_for_version("1.19.99")
    assert "judged as 1.19.6" in future_patch.source
    newest_line = supported_lines()[-1]
    assert f"Cilium {newest_line} key catalog (no catalog for 9.9" in catalog_for_version("9.9.0").source


@pytest.mark.parametrize("profile", ["skyforge-dev", "lab"])
def test_every_rendered_overlay_key_is_in_the_catalog_of_the_profiles_version(profile: str) -> None:
    loaded = load_profile(profile)
    catalog = catalog_for_version(loaded.release.version)
    for overlay in render_overlays(loaded):
        assert unknown_keys(overlay.values, catalog) == [], overlay.filename


# --- against the real charts (read at test time; never copied into the repository) ---------------------

# The ends of the supported range and the runbook's version (the other packages cost time, not coverage).
LOCAL_CHARTS = [
    c for c in sorted(CHARTS.glob("cilium-*.tgz")) if c.name.endswith(("1.16.19.tgz", "rc.1.tgz", "1.19.6.tgz"))
]
needs_charts = pytest.mark.skipif(not LOCAL_CHARTS, reason=f"{CHARTS} is absent (shared reference data)")


def _generator() -> Any:
    path = Path(__file__).resolve().parents[2] / "scripts" / "gen_catalogs.py"
    spec = importlib.util.spec_from_file_location("gen_catalogs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_catalogs"] = module
    spec.loader.exec_module(module)
    return module


@needs_charts
@pytest.mark.parametrize("chart", LOCAL_CHARTS, ids=[c.name for c in LOCAL_CHARTS])
def test_the_committed_catalog_holds_exactly_the_keys_of_the_real_chart(chart: Path) -> None:
    """What the generator reads from this package now is what the committed catalog says for its version."""
    gen = _generator()
    version = chart.name.removeprefix("cilium-").removesuffix(".tgz")
    scanned = {
        path
        for path, seen in gen.scan(ChartVersion.parse(version), chart.read_bytes()).items()
        if "r" not in seen.flags
    }
    catalog = catalog_for_version(version)
    assert scanned == set(catalog.types) - {()}
    values, _ = gen.read_chart(chart.read_bytes())
    assert unknown_keys(yaml.load(values, Loader=yaml.CSafeLoader), catalog) == []  # `helm get values --all`


@needs_charts
def test_a_chart_read_from_disk_knows_its_template_keys_and_history() -> None:
    catalog = KeyCatalog.from_chart(RC1, with_builtin=False)
    assert catalog.version == "1.19.0-rc.1"
    assert catalog.knows(("nodePort", "directRoutingDevice"))
    found = {u.dotted: u.message() for u in unknown_keys({"nodePort": {"enabled": True}}, catalog)}
    assert found["nodePort.enabled"].startswith("`nodePort.enabled` was removed in Cilium 1.19 (last in 1.18.12)")
