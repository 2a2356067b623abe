"""`values merge --chart`: the real Cilium chart's defaults under user files, and umbrella charts refused.

The real rc.1 package is read from /work/shared/charts at test time (never copied into the repository).
To see Helm's own .Values, the test unpacks the chart into a temporary folder and adds one template that
dumps them; the chart's own templates are rendered too, as with any `helm template`.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from values_oracle import HelmFailure, HelmOracle, canonical

from cilium_tune.errors import InputError
from cilium_tune.values.loader import load_chart_values, load_values
from cilium_tune.values.merge import merge_values
from cilium_tune.values.redact import redact_tree

RC1 = Path("/work/shared/charts/cilium-1.19.0-rc.1.tgz")

# The runbook's tuning over rc.1, with nulls of every kind: nested over a null default
# (`bpf.mapDynamicSizeRatio: ~` in values.yaml), nested over a value, top-level over a value.
BASELINE = """\
kubeProxyReplacement: true
k8sServiceHost: 192.0.2.10
k8sServicePort: 6443
routingMode: native
ipv4NativeRoutingCIDR: 10.42.0.0/16
bpf:
  masquerade: true
  datapathMode: netkit
  mapDynamicSizeRatio: null
  root: null
hubble:
  relay:
    enabled: null
ipam:
  operator:
    clusterPoolIPv4PodCIDRList: [10.42.0.0/16]
enableIPv4BIGTCP: true
enableTunnelBIGTCP: null
"""


@pytest.fixture(scope="module")
def rc1_dump_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not RC1.exists():
        pytest.skip(f"{RC1} is absent (shared reference data)")
    root = tmp_path_factory.mktemp("rc1")
    with tarfile.open(RC1) as archive:
        archive.extractall(root, filter="data")
    (root / "cilium" / "templates" / "zz-dump-values.yaml").write_text("{{ toJson .Values }}\n")
    return root / "cilium"


@pytest.mark.helm
def test_merge_over_the_real_rc1_chart_equals_helms_own_values(
    oracle: HelmOracle, rc1_dump_chart: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text(BASELINE)
    full = tmp_path / "all.yaml"  # `helm get values --all`: the whole values.yaml, nulls included
    full.write_text((rc1_dump_chart / "values.yaml").read_text())
    args = ["-f", str(full), "-f", str(baseline)]
    theirs = oracle.render_paths(rc1_dump_chart, [*args, "--show-only", "templates/zz-dump-values.yaml"], tmp_path)
    assert not isinstance(theirs, HelmFailure), theirs
    layers = [load_values(path, helm=oracle.major) for path in (full, baseline)]
    mine = merge_values(layers, load_chart_values(RC1, helm=oracle.major)).values
    assert canonical(mine) == canonical(theirs)


@pytest.mark.helm
def test_values_merge_prints_helms_values_for_the_real_rc1_chart(
    oracle: HelmOracle, rc1_dump_chart: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text(BASELINE)
    args = ["-f", str(baseline)]
    theirs = oracle.render_paths(rc1_dump_chart, [*args, "--show-only", "templates/zz-dump-values.yaml"], tmp_path)
    assert not isinstance(theirs, HelmFailure), theirs
    result = cli("values", "merge", "--chart", str(RC1), "--helm", str(oracle.major), *args, "-o", "json")
    assert result.code == 0, result.err
    assert canonical(json.loads(result.out)) == canonical(redact_tree(theirs))  # credentials (none here) redacted
    assert ("mapDynamicSizeRatio" in theirs["bpf"]) is (oracle.major == 4)  # the rule that differs by major
    assert "root" not in theirs["bpf"] and "enableTunnelBIGTCP" not in theirs


FROM_PROFILE = ("--overlays", "profile")  # plan from the profile alone (no rendered files here)


def _umbrella(root: Path, chart_yaml: str, subchart: bool) -> Path:
    chart = root / "umbrella"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(chart_yaml)
    (chart / "values.yaml").write_text("cilium:\n  bpf:\n    masquerade: true\nglobal:\n  a: 1\n")
    if subchart:
        (chart / "charts" / "cilium").mkdir(parents=True)
        (chart / "charts" / "cilium" / "Chart.yaml").write_text("apiVersion: v2\nname: cilium\nversion: 1.0.0\n")
    return chart


UMBRELLAS = {
    "charts folder": ("apiVersion: v2\nname: umbrella\nversion: 1.0.0\n", True),
    "declared dependencies": (
        "apiVersion: v2\nname: umbrella\nversion: 1.0.0\n"
        "dependencies:\n- name: cilium\n  version: 1.0.0\n  alias: cni\n  condition: cni.enabled\n",
        True,
    ),
}


@pytest.mark.parametrize(("chart_yaml", "subchart"), UMBRELLAS.values(), ids=list(UMBRELLAS))
@pytest.mark.parametrize("packaged", [False, True], ids=["directory", "tgz"])
def test_a_chart_with_subcharts_is_refused(tmp_path: Path, chart_yaml: str, subchart: bool, packaged: bool) -> None:
    chart = _umbrella(tmp_path, chart_yaml, subchart)
    if packaged:
        tgz = tmp_path / "umbrella-1.0.0.tgz"
        with tarfile.open(tgz, "w:gz") as archive:
            archive.add(chart, arcname="umbrella")
        chart = tgz
    with pytest.raises(InputError, match="the chart has subcharts") as caught:
        load_chart_values(chart)
    assert "cilium" in caught.value.message
    assert "charts/cilium" in (caught.value.hint or "")


def test_values_merge_refuses_an_umbrella_chart_with_exit_2(tmp_path: Path, cli: Callable[..., Any]) -> None:
    chart = _umbrella(tmp_path, "apiVersion: v2\nname: umbrella\nversion: 1.0.0\n", subchart=True)
    values = tmp_path / "v.yaml"
    values.write_text("cilium: {}\n")
    result = cli("values", "merge", "--chart", str(chart), "-f", str(values))
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("error: ") and "\nhint: " in result.err
    assert "Traceback" not in result.err


@pytest.mark.helm
def test_plan_over_the_real_rc1_chart_shows_no_phantom_null_removals(
    rc1_dump_chart: Path, helm4: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A full rc.1 baseline (`helm get values --all`) holds about 120 nulls the chart has as defaults."""
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.19.0-rc.1\n" + (rc1_dump_chart / "values.yaml").read_text())
    chart = ("--chart", str(RC1), "--helm", str(helm4))
    result = cli("plan", *FROM_PROFILE, "--baseline", str(baseline), *chart, "-o", "json")
    assert result.code in (0, 1), result.err
    diff = json.loads(result.out)["diff"]
    assert diff["removed"] == []
    assert {"kind": "changed", "path": "bpf.masquerade", "old": None, "new": True} in diff["changed"]


def test_an_empty_charts_folder_is_no_subchart(tmp_path: Path) -> None:
    """`helm create` makes an empty charts/ folder; such a chart has no dependencies."""
    chart = _umbrella(tmp_path, "apiVersion: v2\nname: umbrella\nversion: 1.0.0\n", subchart=False)
    (chart / "charts").mkdir()
    assert load_chart_values(chart).values["global"] == {"a": 1}
