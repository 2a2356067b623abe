"""The plan of the one desired state: the layers helm reads, the values they merge to and the release
installed are the desired state's, never worked out a second time by the planner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cilium_tune.adapters.helm import find_helm
from cilium_tune.desired import DesiredInputs, load_desired
from cilium_tune.errors import InputError
from cilium_tune.plan.planner import plan_desired
from cilium_tune.plan.steps import HelmUpgrade
from cilium_tune.rendercheck import check_renders
from rollout.captures import write_capture


def test_plan_with_a_chart_package_installs_that_package_at_its_version(
        chart_package: Callable[[str], Path]) -> None:
    """The lab profile pins 1.19.0-rc.1 from its own chart; `plan --chart cilium-1.19.6.tgz` prints steps
    that install the package given, at the version its Chart.yaml declares (as apply runs them)."""
    package = chart_package("1.19.6")
    desired = load_desired(DesiredInputs(profile_ref="lab", chart=str(package), require_profile=True))

    plan = plan_desired(desired, str(package))

    assert (plan.release.chart, plan.release.version) == (str(package), "1.19.6")
    upgrades = [step for step in plan.apply if isinstance(step, HelmUpgrade)]
    assert upgrades and all((u.chart, u.version) == (str(package), "1.19.6") for u in upgrades)


def test_the_plan_gives_helm_every_layer_of_the_desired_state(tmp_path: Path) -> None:
    """A capture whose user deleted `bpf.monitorAggregation` with a null: helm gets its user-values.yaml
    after values.yaml (`Baseline.restoring`), the plan shows it, and the deletion is no change."""
    capture = write_capture(tmp_path / "capture", version="1.19.0-rc.1", values="MTU: 1400\n",
                            user_values="MTU: 1400\nbpf:\n  monitorAggregation: null\n")
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                         require_profile=True))

    plan = plan_desired(desired)

    files = [layer.path for layer in desired.permanent_layers]
    assert [layer.path for layer in plan.layers] == files
    assert files[:2] == [str(capture / "values.yaml"), str(capture / "user-values.yaml")]
    final = [step for step in plan.apply if isinstance(step, HelmUpgrade)][-1]
    assert list(final.values_files) == files
    assert plan.merged is desired.chart_values
    assert plan.diff is not None and "bpf.monitorAggregation" not in [e.dotted for e in plan.diff.entries]


def test_the_rollback_of_a_plan_over_an_rc1_baseline_never_installs_the_new_package(
        tmp_path: Path, chart_package: Callable[[str], Path]) -> None:
    """`plan --chart cilium-1.19.6.tgz` over an rc.1 capture: the apply installs the package, the rollback
    goes back to rc.1 with the profile's chart (helm ignores --version for a local chart: the package under
    rc.1's values would render image v1.19.6). skyforge-dev's chart is cilium/cilium, pinned by --version."""
    package = chart_package("1.19.6")
    capture = write_capture(tmp_path / "capture", version="1.19.0-rc.1")
    desired = load_desired(DesiredInputs(profile_ref="skyforge-dev", baseline_path=str(capture / "values.yaml"),
                                         chart=str(package), require_profile=True))

    plan = plan_desired(desired, str(package))

    applied = [(step.chart, step.version) for step in plan.apply if isinstance(step, HelmUpgrade)]
    restored = [(step.chart, step.version) for step in plan.rollback if isinstance(step, HelmUpgrade)]
    assert applied and set(applied) == {(str(package), "1.19.6")}
    assert restored and set(restored) == {("cilium/cilium", "1.19.0-rc.1")}
    assert not any(str(package) in " ".join(step.argv()) for step in plan.rollback if isinstance(step, HelmUpgrade))


def test_a_chart_package_of_the_baseline_version_restores_it_when_the_profile_chart_cannot(
        tmp_path: Path, chart_package: Callable[[str], Path]) -> None:
    """`plan -p lab --chart cilium-1.18.12.tgz` over a 1.18.12 capture (new values, same version): the lab
    profile's chart is rc.1 and cannot put 1.18.12 back, but the package given is 1.18.12, so the rollback
    restores with it, as an apply's abort would (`cilium_tune.restore_chart`)."""
    package = chart_package("1.18.12")
    capture = write_capture(tmp_path / "capture", version="1.18.12")
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                         chart=str(package), require_profile=True))

    plan = plan_desired(desired, str(package))

    restored = {(step.chart, step.version) for step in plan.rollback if isinstance(step, HelmUpgrade)}
    assert restored == {(str(package), "1.18.12")}


def test_a_profile_chart_of_another_version_than_the_baseline_refuses_the_plan(tmp_path: Path) -> None:
    """The lab profile's chart is a local chart of 1.19.0-rc.1: it cannot restore a 1.18.12 baseline, so the
    plan is refused (exit 2) rather than print a rollback that installs rc.1 under 1.18.12's values."""
    capture = write_capture(tmp_path / "capture", version="1.18.12")
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                         require_profile=True))

    with pytest.raises(InputError) as refused:
        plan_desired(desired)

    assert refused.value.exit_code == 2
    assert refused.value.message.startswith(
        "chart builtin:lab (the profile's release.chart) is version 1.19.0-rc.1, but the rollback restores the "
        f"baseline {capture / 'values.yaml'}, captured at 1.18.12: helm would install 1.19.0-rc.1 with the values "
        "of 1.18.12")
    assert refused.value.hint == ("set the profile's release.chart to a repository reference such as cilium/cilium "
                                  "(pinned by --version), or to a chart package of 1.18.12")


@pytest.mark.helm
def test_the_render_check_renders_the_rollback_with_the_chart_that_restores_the_baseline(
    tmp_path: Path, helm4: Path, chart_package: Callable[[str], Path]
) -> None:
    """The lab profile (its chart is rc.1) planned with the 1.19.6 package over an rc.1 capture: the rollback
    steps install the lab chart, and `helm template` renders them with it, not with the package."""
    package = chart_package("1.19.6")
    capture = write_capture(tmp_path / "capture", version="1.19.0-rc.1")
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                         chart=str(package), require_profile=True))
    assert desired.chart is not None and desired.release is not None
    plan = plan_desired(desired, str(package))
    lab_chart = desired.release.chart
    assert {(s.chart, s.version) for s in plan.rollback if isinstance(s, HelmUpgrade)} == {(lab_chart, "1.19.0-rc.1")}

    results = check_renders(find_helm(str(helm4)), plan, desired.chart, desired.overlay_texts)

    assert results and all(result.ok and not result.skipped for result in results), results
    rendered = {result.purpose.partition(":")[0]: result.chart for result in results}
    assert {chart for step, chart in rendered.items() if step.startswith("rollback/")} == {lab_chart}
    assert {chart for step, chart in rendered.items() if not step.startswith("rollback/")} == {str(package)}
