"""The desired state: one answer to "what will the chart receive, and what judges it", for every command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.desired import DesiredInputs, build_desired, choose_profile, load_chart, load_desired
from cilium_tune.errors import InputError
from cilium_tune.facts.model import Snapshot
from cilium_tune.plan.planner import plan_desired
from cilium_tune.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
LAB_CHART = ROOT / "src" / "cilium_tune" / "lab" / "chart"


def live_facts(values: dict[str, Any], version: str = "1.19.0-rc.1") -> Snapshot:
    """A snapshot whose only fact is the live release, with `values` as its computed values."""
    release = {
        "name": "cilium",
        "namespace": "kube-system",
        "revision": 7,
        "status": "deployed",
        "chart_version": version,
        "computed_values": values,
    }
    return Snapshot(collected_at=datetime(2026, 11, 20, tzinfo=UTC), helm_release=release)  # type: ignore[arg-type]


def test_layers_are_in_helm_order_and_the_one_time_overlay_comes_last(tmp_path: Path) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.18.6\nMTU: 1400\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("MTU: 9000\n")
    desired = load_desired(
        DesiredInputs(profile_ref="skyforge-dev", baseline_path=str(baseline), value_files=(str(mine),))
    )
    assert [(layer.role, layer.path) for layer in desired.layers] == [
        ("baseline", str(baseline)),
        ("overlay", "deploy/cilium-values.yaml"),
        ("overlay", "deploy/cilium-values-dualstack.yaml"),
        ("user", str(mine)),
        ("one-time", "deploy/cilium-values-netkit-migrate.yaml"),
    ]
    assert desired.values.get("MTU") == 9000
    assert str(desired.values.origins[("MTU",)]) == f"{mine}:1:1"
    assert desired.values.get("cleanState") is None, "the settled state leaves the one-time overlay out"
    assert desired.baseline is not None and desired.baseline.chart_version == "1.18.6"
    assert desired.release is not None and desired.release.version == "1.19.0-rc.1"
    assert desired.target_version == "1.19.0-rc.1"


def test_without_a_baseline_file_the_live_release_is_the_first_layer() -> None:
    profile = load_profile("skyforge-dev")
    desired = build_desired(profile=profile, facts=live_facts({"bpf": {"hostLegacyRouting": True}}))
    first = desired.layers[0]
    assert (first.role, first.path) == ("live", "live:kube-system/cilium@7")
    assert desired.values.get("bpf.hostLegacyRouting") is True, "--reuse-values keeps what the overlays leave"
    assert desired.values.get("bpf.datapathMode") == "netkit"
    ctx = desired.rule_context()
    assert ctx.baseline is not None and ctx.baseline.source == "live:kube-system/cilium@7"
    assert ctx.values["bpf"]["hostLegacyRouting"] is True


@pytest.mark.parametrize(
    ("ref", "files", "label"),
    [
        (None, False, "skyforge-dev (default)"),
        (None, True, "none (-f files only)"),
        ("lab", True, "lab"),
        ("none", False, "none (--profile none)"),
    ],
)
def test_which_profile_is_said_the_same_way(ref: str | None, files: bool, label: str) -> None:
    assert choose_profile(ref, has_value_files=files).label == label


def test_a_command_that_needs_a_profile_refuses_none() -> None:
    with pytest.raises(InputError, match="needs a profile"):
        load_desired(DesiredInputs(profile_ref="none", require_profile=True))


def test_the_chart_gives_defaults_catalog_and_target_version() -> None:
    desired = load_desired(DesiredInputs(profile_ref="lab", chart=str(LAB_CHART)))
    assert desired.chart is not None and desired.chart.version == "1.19.0-rc.1"
    assert desired.target_version == "1.19.0-rc.1"
    assert desired.catalog.source.startswith(str(LAB_CHART))
    assert desired.effective is not None and desired.effective.get("image.repository") is not None
    assert desired.values.get("image.repository") is None, "the rules read the user values, not the defaults"
    assert desired.rule_context().catalog is desired.catalog


def test_without_a_chart_the_catalog_of_the_pinned_version_judges() -> None:
    desired = load_desired(DesiredInputs(profile_ref="skyforge-dev"))
    assert desired.chart is None and desired.effective is None
    assert desired.catalog.source == "Cilium 1.19.0-rc.1 key catalog"
    assert desired.catalog.knows(("enableTunnelBIGTCP",)), "a key of rc.1 (gone in 1.19.6) is known"


def test_files_alone_are_judged_by_the_live_release_version_else_the_builtin_catalog(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("externalIPs:\n  enabled: true\n")
    alone = load_desired(DesiredInputs(value_files=(str(mine),)))
    assert alone.catalog.source == "built-in"
    live = load_desired(DesiredInputs(value_files=(str(mine),), facts=live_facts({}, version="1.18.12")))
    assert live.target_version == "1.18.12" and "1.18" in live.catalog.source
    (unknown,) = [u for u in live.unknown_keys() if u.dotted == "externalIPs"]
    assert "removed" in unknown.message()


def test_the_plan_merges_what_the_desired_state_says() -> None:
    desired = load_desired(DesiredInputs(profile_ref="lab", chart=str(LAB_CHART), facts=live_facts({"MTU": 1450})))
    plan = plan_desired(desired)
    assert plan.merged is desired.chart_values, "one merge: the planner takes the desired state's"


def test_a_bare_values_yaml_stands_for_its_chart(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("bpf:\n  datapathMode: veth\n")
    chart = load_chart(str(values))
    assert chart.version is None and chart.defaults.values == {"bpf": {"datapathMode": "veth"}}


@pytest.mark.parametrize("header", ["# chart version: 1.18.6", "# chart_version: 1.18.6", "# chartVersion: 1.18.6"])
def test_obvious_header_spellings_are_read(header: str, tmp_path: Path) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text(f"{header}\nMTU: 1400\n")
    desired = load_desired(DesiredInputs(baseline_path=str(baseline), value_files=(str(baseline),)))
    assert desired.baseline is not None and desired.baseline.chart_version == "1.18.6"


@pytest.mark.parametrize("header", ["# chart-verison: 1.18.6", "# chart version 1.18.6", "# chart-version:"])
def test_a_near_miss_header_is_refused_with_its_line(header: str, tmp_path: Path) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text(f"# captured 2026-11-20\n{header}\nMTU: 1400\n")
    with pytest.raises(InputError, match=r"before.yaml:2: .*chart-version") as caught:
        load_desired(DesiredInputs(baseline_path=str(baseline)))
    assert "# chart-version:" in (caught.value.hint or "")


def test_a_hand_made_baselines_nulls_are_named_since_each_deletes_its_key(tmp_path: Path) -> None:
    """`helm get values --all > before.yaml` lists the chart's null defaults; given back with -f they delete
    those keys (policy-cidr-match-mode leaves cilium-config), so the plan says so and names the way out."""
    before = tmp_path / "before.yaml"
    before.write_text("# chart-version: 1.19.0-rc.1\nMTU: 0\npolicyCIDRMatchMode: null\nhubble:\n  peer: null\n")
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(before)))
    (note,) = [n for n in desired.notes if "holds nulls" in n]
    assert f"the baseline {before} holds nulls (policyCIDRMatchMode, hubble.peer)" in note
    assert "cilium-tune baseline capture" in note
