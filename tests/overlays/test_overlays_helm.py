"""The rendered overlays as the real helm binary reads them.

A chart whose only template dumps `.Values` shows exactly what Helm parsed from the files; the lab
chart (Cilium's value keys, cilium-config key names and the chart's refusals) shows that Helm
accepts the overlays on top of Cilium-shaped defaults, including dual-stack native routing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.profile import load_profile
from cilium_tune.values.overlays import render_overlays

pytestmark = pytest.mark.helm

LAB_CHART = Path(__file__).resolve().parents[2] / "src" / "cilium_tune" / "lab" / "chart"


def _helm_template(helm: Path, chart: Path, files: list[Path], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp / "cache"),
        "HELM_CONFIG_HOME": str(tmp / "config"),
        "HELM_DATA_HOME": str(tmp / "data"),
        "KUBECONFIG": str(tmp / "no-kubeconfig"),
    }
    args = [str(helm), "template", "cilium", str(chart), "-n", "kube-system"]
    for f in files:
        args += ["-f", str(f)]
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False, timeout=60)


def _write(overlays: list[Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for overlay in overlays:
        path = folder / overlay.filename
        path.write_text(overlay.text)
        paths.append(path)
    return paths


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.mark.parametrize("name", ["skyforge-dev", "lab"])
def test_helm_reads_the_intended_values(name: str, helm4: Path, tmp_path: Path) -> None:
    chart = tmp_path / "dump"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: dump\nversion: 0.1.0\n")
    (chart / "templates" / "values.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  values: |\n"
        "{{ toYaml .Values | indent 4 }}\n"
    )
    overlays = render_overlays(load_profile(name))
    result = _helm_template(helm4, chart, _write(overlays, tmp_path / "ov"), tmp_path)
    assert result.returncode == 0, result.stderr
    dumped = yaml.safe_load(yaml.safe_load(result.stdout)["data"]["values"])
    expected: dict[str, Any] = {}
    for overlay in overlays:
        expected = _merge(expected, overlay.values)
    assert dumped == expected


@pytest.mark.parametrize("name", ["skyforge-dev", "lab"])
def test_the_lab_chart_accepts_the_overlays(name: str, helm4: Path, tmp_path: Path) -> None:
    if not (LAB_CHART / "Chart.yaml").exists():
        pytest.skip("lab chart not present")
    files = _write(render_overlays(load_profile(name)), tmp_path / "ov")
    result = _helm_template(helm4, LAB_CHART, files, tmp_path)
    assert result.returncode == 0, result.stderr
    config = next(
        d
        for d in yaml.safe_load_all(result.stdout)
        if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cilium-config"
    )["data"]
    assert config["routing-mode"] == "native"
    assert config["datapath-mode"] == "netkit"
    assert config["enable-ipv6"] == "true"
    assert config["ipv6-native-routing-cidr"] == load_profile(name).tuning.native_routing_cidrs.ipv6
    assert config["kube-proxy-replacement"] == "true"
    assert config["bpf-lb-sock-hostns-only"] == "true"
    assert config["clean-cilium-state"] == "true"


def test_dual_stack_without_ipv6_native_cidr_is_refused_by_the_chart(helm4: Path, tmp_path: Path) -> None:
    """Why the dual-stack overlay carries ipv6NativeRoutingCIDR: without it Helm fails the template."""
    if not (LAB_CHART / "Chart.yaml").exists():
        pytest.skip("lab chart not present")
    overlays = render_overlays(load_profile("skyforge-dev"))
    files = _write(overlays, tmp_path / "ov")
    dual = files[1]
    data = yaml.safe_load(dual.read_text())
    del data["ipv6NativeRoutingCIDR"]
    dual.write_text(yaml.safe_dump(data))
    result = _helm_template(helm4, LAB_CHART, files, tmp_path)
    assert result.returncode != 0
    assert "ipv6NativeRoutingCIDR" in result.stderr
