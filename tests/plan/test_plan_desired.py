"""The plan of the one desired state: the layers helm reads, the values they merge to and the release
installed are the desired state's, never worked out a second time by the planner."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_tune.desired import DesiredInputs, load_desired
from cilium_tune.plan.planner import plan_desired
from cilium_tune.plan.steps import HelmUpgrade
from rollout.captures import write_capture

PACKAGE = Path("/work/shared/charts/cilium-1.19.6.tgz")


def test_plan_with_a_chart_package_installs_that_package_at_its_version() -> None:
    """The lab profile pins 1.19.0-rc.1 from its own chart; `plan --chart cilium-1.19.6.tgz` prints steps
    that install the package given, at the version its Chart.yaml declares (as apply runs them)."""
    if not PACKAGE.is_file():
        pytest.skip(f"{PACKAGE} missing: the real Cilium chart packages are kept in /work/shared/charts")
    desired = load_desired(DesiredInputs(profile_ref="lab", chart=str(PACKAGE), require_profile=True))

    plan = plan_desired(desired, str(PACKAGE))

    assert (plan.release.chart, plan.release.version) == (str(PACKAGE), "1.19.6")
    upgrades = [step for step in plan.apply if isinstance(step, HelmUpgrade)]
    assert upgrades and all((u.chart, u.version) == (str(PACKAGE), "1.19.6") for u in upgrades)


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
