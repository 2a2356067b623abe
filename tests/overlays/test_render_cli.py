"""`cilium-tune render`: printed or written atomically; re-running changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cilium_tune.profile import load_profile
from cilium_tune.values.overlays import render_overlays

CHART_119 = Path("/work/shared/corpus/chart/cilium-1.19-values.yaml")


def test_without_out_prints_every_permanent_file_with_a_header(cli: Any) -> None:
    result = cli("render")
    assert result.code == 0
    for overlay in render_overlays(load_profile("skyforge-dev")):
        assert (f"---\n# file: {overlay.filename}\n{overlay.text}" in result.out) is not overlay.one_time


def test_out_writes_files_and_a_rerun_reports_unchanged(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    first = cli("render", "-p", "lab", "--out", str(out))
    assert first.code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["cilium-values-dualstack.yaml", "cilium-values-netkit-migrate.yaml", "cilium-values.yaml"]
    assert first.out.count(": written") == 3
    assert "one-time" in first.out
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    second = cli("render", "-p", "lab", "--out", str(out))
    assert second.out.count(": unchanged") == 3
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before


def test_out_rewrites_only_a_file_that_differs(cli: Any, tmp_path: Path) -> None:
    cli("render", "--out", str(tmp_path))
    (tmp_path / "cilium-values.yaml").write_text("# edited by hand\n")
    result = cli("render", "--out", str(tmp_path))
    assert f"{tmp_path / 'cilium-values.yaml'}: written" in result.out
    assert result.out.count(": unchanged") == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_profile_and_bad_out_are_input_errors(cli: Any, tmp_path: Path) -> None:
    result = cli("render", "-p", "nope")
    assert result.code == 2 and "no built-in profile named 'nope'" in result.err
    afile = tmp_path / "file"
    afile.write_text("")
    result = cli("render", "--out", str(afile))
    assert result.code == 2 and "Traceback" not in result.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster: {name: x}\nrelease: {version: 1}\nbogus: 1\n")
    result = cli("render", "-p", str(bad))
    assert result.code == 2 and f"{bad}:3: unknown field 'bogus'" in result.err


def test_chart_option_warns_about_keys_the_chart_lacks(cli: Any, tmp_path: Path) -> None:
    old_chart = tmp_path / "old-chart"
    old_chart.mkdir()
    (old_chart / "Chart.yaml").write_text("apiVersion: v2\nname: cilium\nversion: 1.14.0\n")
    (old_chart / "values.yaml").write_text(
        "routingMode: ''\nsocketLB:\n  enabled: false\n  # hostNamespaceOnly: false\nl2NeighDiscovery: {}\n"
    )
    result = cli("render", "--chart", str(old_chart))
    assert result.code == 0
    warnings = result.err.splitlines()
    bpf = next(w for w in warnings if "unknown key 'bpf'" in w)
    assert bpf.startswith("warning: cilium-values.yaml:") and "Helm accepts it but nothing reads it" in bpf
    assert not any("socketLB" in w or "l2NeighDiscovery" in w or "routingMode" in w for w in warnings)
    assert cli("render", "--chart", str(old_chart / "values.yaml")).err == result.err


@pytest.mark.skipif(not CHART_119.exists(), reason="corpus chart not present")
def test_the_real_1_19_chart_knows_every_rendered_key(cli: Any) -> None:
    for profile in ("skyforge-dev", "lab"):
        result = cli("render", "-p", profile, "--chart", str(CHART_119))
        assert result.code == 0 and "warning" not in result.err, result.err


def test_chart_option_bad_input(cli: Any, tmp_path: Path) -> None:
    result = cli("render", "--chart", str(tmp_path / "nope.tgz"))
    assert result.code == 2
    assert "chart not found" in result.err and "Traceback" not in result.err
    bad = tmp_path / "values.yaml"
    bad.write_text("a: [\n")
    result = cli("render", "--chart", str(bad))
    assert result.code == 2 and "values.yaml:2:1: invalid YAML" in result.err
