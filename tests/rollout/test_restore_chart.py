"""An apply's abort and a failed node's recovery put the running version back with a chart of that version.

The lab profile's chart is 1.19.0-rc.1; `apply --chart cilium-1.19.6.tgz` upgrades an rc.1 release with the
package. Helm ignores `--version` for a local chart, so restoring rc.1 with the package would install 1.19.6
under rc.1's values: the run records the chart that restores rc.1 (the profile's) and its abort uses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_tune.adapters.helm import Helm
from cilium_tune.adapters.kube import NODES, PODS, FakeKube
from cilium_tune.errors import ClusterError, InputError
from cilium_tune.plan.planner import Effect, Release, Target, plan_rollout
from cilium_tune.plan.steps import HelmUpgrade
from cilium_tune.profile import load_profile
from cilium_tune.restore_chart import RestoreFrom
from cilium_tune.rollout.actions import Actions
from cilium_tune.rollout.journal import Journal
from cilium_tune.rollout.run import Proposal, abort, restored_with, start

PACKAGE = "/work/shared/charts/cilium-1.19.6.tgz"
LAB_CHART = load_profile("lab").release.chart_argument  # builtin:lab, version 1.19.0-rc.1
PROFILE_CHART = "builtin:lab (the profile's release.chart)"
SAME = Effect({"mtu": "1400"}, {"mtu": "1400"})  # no agent setting changes: one helm upgrade


def release(chart: str) -> Release:
    return Release("kube-system", "cilium", chart, "1.19.6")


def test_an_apply_restores_with_the_profile_chart_when_it_installs_the_running_version() -> None:
    assert restored_with(RestoreFrom(LAB_CHART, PROFILE_CHART), release(PACKAGE), "1.19.0-rc.1") == LAB_CHART
    assert restored_with(RestoreFrom("cilium/cilium", "cilium/cilium"), release(PACKAGE), "1.18.12") == "cilium/cilium"


@pytest.mark.skipif(not Path(PACKAGE).is_file(), reason=f"{PACKAGE} missing: the real Cilium chart packages")
def test_the_chart_being_installed_restores_when_it_is_the_running_version() -> None:
    """`apply --chart cilium-1.19.6.tgz` over a release running 1.19.6 (new values only): the package is
    what the user runs, and restores it; over rc.1 it is not, and the profile's rc.1 chart restores."""
    profile_chart = RestoreFrom(LAB_CHART, PROFILE_CHART, prefer=PACKAGE)
    assert restored_with(profile_chart, release(PACKAGE), "1.19.6") == PACKAGE
    assert restored_with(profile_chart, release(PACKAGE), "1.19.0-rc.1") == LAB_CHART


def test_an_apply_over_a_release_the_profile_chart_cannot_restore_is_refused() -> None:
    """A release running 1.18.12, the profile naming the local rc.1 chart: an abort could not put 1.18.12
    back, so the apply is refused (exit 2) before anything changes. A rollback records no restore chart."""
    with pytest.raises(InputError) as refused:
        restored_with(RestoreFrom(LAB_CHART, PROFILE_CHART), release(PACKAGE), "1.18.12")

    assert refused.value.exit_code == 2
    assert refused.value.message == (
        "chart builtin:lab (the profile's release.chart) is version 1.19.0-rc.1, but kube-system/cilium runs "
        "1.18.12: helm would install 1.19.0-rc.1 with the values of 1.18.12")
    assert refused.value.hint == ("set the profile's release.chart to a repository reference such as cilium/cilium "
                                  "(pinned by --version), or to a chart package of 1.18.12")
    assert restored_with(RestoreFrom(LAB_CHART, LAB_CHART, required=False), release(LAB_CHART), "1.18.12") is None


def failed_apply(tmp_path: Path, chart: str, restore_chart: str | None, *, recorded: bool = True) -> Journal:
    """An apply of `chart` over a release running rc.1 whose only step (its helm upgrade) failed."""
    target = tmp_path / "tuned.yaml"
    target.write_text("MTU: 1400\n")
    steps = tuple(plan_rollout(release=release(chart), nodes=["n1"], target=Target((str(target),), "1.19.6"),
                               effect=SAME))
    proposal = Proposal(kind="apply", release=release(chart), nodes=("n1",), strategy="node-config",
                        target_files=(target,), target_version="1.19.6", live_values="MTU: 1500\n",
                        live_version="1.19.0-rc.1", live_revision=3, effect=SAME, steps=steps, notes=(),
                        unchanged=False, restore_chart=restore_chart)
    journal = start(proposal, tmp_path / "runs", None)
    if not recorded:  # as journals were written before the restore chart was recorded
        meta = {k: v for k, v in journal.meta.items() if k != "restore_chart"}
        journal = Journal.create(tmp_path / "old-run", kind="apply", meta=meta, steps=list(steps), inputs={})
    journal.set_state("failed", "helm upgrade failed")
    journal.data["events"].append({"id": steps[0].id, "event": "failed"})
    journal.save()
    return journal


def no_cluster() -> Actions:
    """Actions whose helm always fails: the abort's first step stops there, after it was journaled."""
    return Actions(FakeKube(seed={NODES: [], PODS: []}), Helm(Path("/bin/false"), (3, 18, 0)))


def test_abort_puts_rc1_back_with_the_recorded_chart_not_the_new_package(tmp_path: Path) -> None:
    journal = failed_apply(tmp_path, PACKAGE, LAB_CHART)
    assert journal.meta["restore_chart"] == LAB_CHART

    with pytest.raises(ClusterError):
        abort(journal, no_cluster(), echo=lambda _: None)

    upgrades = [step for step in journal.recovery_steps() if isinstance(step, HelmUpgrade)]
    assert [step.id for step in upgrades] == ["abort/hold/helm", "abort/release/helm"]
    assert {(step.chart, step.version) for step in upgrades} == {(LAB_CHART, "1.19.0-rc.1")}


@pytest.mark.skipif(not Path(PACKAGE).is_file(), reason=f"{PACKAGE} missing: the real Cilium chart packages")
def test_an_old_run_of_a_local_package_is_not_aborted_with_that_package(tmp_path: Path) -> None:
    """A journal from before the restore chart was recorded: its chart is a local 1.19.6 package, which
    cannot put rc.1 back. The abort is refused (exit 2) and says how to restore by hand; nothing runs."""
    journal = failed_apply(tmp_path, PACKAGE, None, recorded=False)

    with pytest.raises(InputError) as refused:
        abort(journal, no_cluster(), echo=lambda _: None)

    assert refused.value.message.startswith(
        f"run {journal.run_id} does not record a chart that installs 1.19.0-rc.1 again, and its chart {PACKAGE} "
        "is local (version 1.19.6)")
    assert "cilium/cilium --version 1.19.0-rc.1" in (refused.value.hint or "")
    assert journal.state == "failed" and journal.recovery_steps() == []


def test_an_old_run_of_a_repository_chart_is_aborted_with_it_pinned_as_before(tmp_path: Path) -> None:
    journal = failed_apply(tmp_path, "cilium/cilium", None, recorded=False)

    with pytest.raises(ClusterError):
        abort(journal, no_cluster(), echo=lambda _: None)

    upgrades = [step for step in journal.recovery_steps() if isinstance(step, HelmUpgrade)]
    assert upgrades and {(step.chart, step.version) for step in upgrades} == {("cilium/cilium", "1.19.0-rc.1")}
