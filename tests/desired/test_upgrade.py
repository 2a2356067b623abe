"""A chart upgrade over a captured baseline: the new chart's defaults apply, the user's values stay.

A baseline is `helm get values --all`: every default of the chart it was captured from. Layered as it
is under an upgrade (rc.1 -> 1.19.6), it would pin the old chart's image tag and digest and every default
the new chart changed. These tests build the desired state from the real charts, as `apply` and `plan` do.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.desired import DesiredInputs, DesiredState, load_desired
from cilium_tune.errors import InputError
from cilium_tune.facts.model import Snapshot
from cilium_tune.rollout.baseline import replayable
from cilium_tune.values.merge import merge_values
from rollout.captures import write_capture

CHARTS = Path("/work/shared/charts")
OLD, NEW = "1.19.0-rc.1", "1.19.6"
USER = "MTU: 1400\nbpf:\n  masquerade: true\n"


def chart(version: str) -> Path:
    path = CHARTS / f"cilium-{version}.tgz"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path


def show_values(helm4: Path, version: str) -> dict[str, Any]:
    out = subprocess.run([str(helm4), "show", "values", str(chart(version))], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return dict(yaml.safe_load(out))


@pytest.fixture(scope="module")
def old_all_values(helm4: Path) -> str:
    """`helm get values --all` of an rc.1 release installed with USER: its defaults coalesced with USER."""
    merged = merge_values([_loaded(USER)], _loaded(yaml.safe_dump(show_values(helm4, OLD)))).values
    return replayable(yaml.safe_dump(merged))


def _loaded(text: str) -> Any:
    from cilium_tune.values.loader import load_values_text

    return load_values_text(text, "<test>")


def desired_over(capture: Path, target: str, **extra: Any) -> DesiredState:
    return load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                      chart=str(chart(target)), require_profile=True, **extra))


def test_an_upgrade_takes_the_new_charts_image_and_defaults_and_keeps_the_users_values(
    tmp_path: Path, helm4: Path, old_all_values: str
) -> None:
    capture = write_capture(tmp_path / "capture", version=OLD, values=old_all_values, user_values=USER)

    desired = desired_over(capture, NEW)

    new_defaults = show_values(helm4, NEW)
    assert desired.target_version == NEW
    assert desired.chart_values.get("image.tag") == new_defaults["image"]["tag"] == "v1.19.6"
    assert desired.chart_values.get("image.digest") == new_defaults["image"]["digest"]
    assert desired.chart_values.get("operator.image.tag") == "v1.19.6"
    assert desired.chart_values.get("MTU") == 1400 and desired.chart_values.get("bpf.masquerade") is True
    first = desired.layers[0]
    assert (first.role, first.path) == ("baseline", str(capture / "user-values.yaml"))
    assert f"chart {OLD} -> {NEW}: the baseline's user-supplied values are kept, the new chart's defaults apply" \
        in desired.notes
    assert desired.baseline is not None and desired.baseline.path == str(capture / "values.yaml"), \
        "the rollback still restores the capture exactly"
    ctx = desired.rule_context()
    assert ctx.baseline is not None and ctx.baseline.user_values_layered, "nothing pinned: CT904 stays quiet"


def test_the_same_chart_version_layers_the_whole_capture_as_before(
    tmp_path: Path, old_all_values: str
) -> None:
    capture = write_capture(tmp_path / "capture", version=OLD, values=old_all_values, user_values=USER)

    desired = desired_over(capture, OLD)

    first = desired.layers[0]
    assert (first.role, first.path) == ("baseline", str(capture / "values.yaml"))
    assert first.values.values == yaml.safe_load(old_all_values)
    assert desired.chart_values.get("image.tag") == "v1.19.0-rc.1"
    assert not desired.baseline_user_layered
    assert not any(note.startswith("chart ") for note in desired.notes)


def test_a_capture_without_user_values_is_refused_for_an_upgrade(tmp_path: Path, old_all_values: str) -> None:
    capture = write_capture(tmp_path / "capture", version=OLD, values=old_all_values, user_values=None)
    with pytest.raises(InputError, match=r"would pin chart 1\.19\.0-rc\.1's defaults on 1\.19\.6") as err:
        desired_over(capture, NEW)
    assert err.value.hint is not None and "cilium-tune baseline capture" in err.value.hint
    assert desired_over(capture, OLD).layers[0].path == str(capture / "values.yaml"), "same version: as before"


def test_the_live_release_from_facts_gives_its_user_values_under_an_upgrade(
    helm4: Path, old_all_values: str
) -> None:
    release = {"name": "cilium", "namespace": "kube-system", "revision": 7, "status": "deployed",
               "chart_version": OLD, "computed_values": yaml.safe_load(old_all_values),
               "user_values": yaml.safe_load(USER)}
    facts = Snapshot(collected_at=datetime(2026, 11, 26, tzinfo=UTC), helm_release=release)  # type: ignore[arg-type]

    desired = load_desired(DesiredInputs(profile_ref="lab", facts=facts, chart=str(chart(NEW))))

    assert desired.layers[0].role == "live"
    assert desired.chart_values.get("image.tag") == "v1.19.6"
    assert desired.chart_values.get("MTU") == 1400
    assert desired.baseline_user_layered
    assert any(note.startswith(f"chart {OLD} -> {NEW}") for note in desired.notes)


def test_facts_without_user_values_are_warned_about_under_an_upgrade(old_all_values: str) -> None:
    release = {"name": "cilium", "namespace": "kube-system", "revision": 7, "status": "deployed",
               "chart_version": OLD, "computed_values": yaml.safe_load(old_all_values)}
    facts = Snapshot(collected_at=datetime(2026, 11, 26, tzinfo=UTC), helm_release=release)  # type: ignore[arg-type]

    desired = load_desired(DesiredInputs(profile_ref="lab", facts=facts, chart=str(chart(NEW))))

    assert desired.chart_values.get("image.tag") == "v1.19.6"
    assert any("no user-supplied values" in note for note in desired.notes)


def test_plan_refuses_an_old_capture_for_an_upgrade_with_exit_2(
    tmp_path: Path, old_all_values: str, cli: Callable[..., Any]
) -> None:
    capture = write_capture(tmp_path / "capture", version=OLD, values=old_all_values, user_values=None)
    code, out, err = cli("plan", "-p", "lab", "--baseline", str(capture / "values.yaml"), "--chart",
                         str(chart(NEW)), "--overlays", "profile")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {capture / 'values.yaml'}: captured before cilium-tune kept the user-supplied")
    assert "hint: capture the baseline again: cilium-tune baseline capture" in err


def test_the_chart_packages_version_is_the_one_target_even_against_the_profiles_pin(tmp_path: Path) -> None:
    """The lab profile pins rc.1; `--chart cilium-1.19.6.tgz` installs 1.19.6: a capture taken after that
    upgrade is not from another chart version (no CT904), and the baseline is layered whole."""
    capture = write_capture(tmp_path / "capture", version=NEW, values="MTU: 1400\n", user_values=USER)

    desired = desired_over(capture, NEW)

    assert desired.release is not None and desired.release.version == OLD
    assert (desired.target_version, desired.target_evidence) == (NEW, "chart.version")
    assert desired.layers[0].path == str(capture / "values.yaml") and not desired.baseline_user_layered
    ctx = desired.rule_context()
    assert ctx.target_version == (NEW, "chart.version")
    assert "CT904" not in {f.rule_id for f in _findings(desired)}

    (ct904,) = [f for f in _findings(_hand_made(tmp_path, NEW)) if f.rule_id == "CT904"]
    assert ct904.evidence == {"baseline.chart_version": "1.18.12", "chart.version": NEW}


def _hand_made(tmp_path: Path, target: str) -> DesiredState:
    """A hand-made baseline file from 1.18.12 (no user-supplied values apart): layered whole, CT904 warns."""
    path = tmp_path / "by-hand.yaml"
    path.write_text("# chart-version: 1.18.12\nMTU: 1400\n")
    return load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(path), chart=str(chart(target))))


def _findings(desired: DesiredState) -> list[Any]:
    from cilium_tune.rules import run_rules

    return list(run_rules(desired.rule_context()).findings)
