"""What rollback restores, by example: the newest capture or the one given, verified, pinned to its chart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cilium_tune.errors import InputError
from cilium_tune.rollout.rollback_inputs import RollbackTarget, rollback_target
from rollout.captures import write_capture


def target(baselines: Path, to: Path | None = None, chart: str | None = None) -> RollbackTarget:
    return rollback_target(profile_ref="lab", to=str(to) if to else None, chart=chart, baselines=baselines,
                           kubeconfig="/k/config", kube_context=None)


def test_the_newest_capture_is_restored_with_the_chart_version_it_was_captured_from(tmp_path: Path) -> None:
    older = write_capture(tmp_path / "kube-system-cilium-r3-a", version="1.18.12", revision=3)
    newer = write_capture(tmp_path / "kube-system-cilium-r4-b", version="1.19.0-rc.1", revision=4)
    os.utime(older, (1, 1))

    found = target(tmp_path)

    assert found.baseline.path == newer
    assert found.release.version == "1.19.0-rc.1", "the one the values go with (here also the lab chart's)"
    assert (found.release.namespace, found.release.name, found.release.kubeconfig) == (
        "kube-system", "cilium", "/k/config")
    assert found.release.chart.endswith("lab/chart")


def test_a_baseline_and_chart_given_are_used(tmp_path: Path) -> None:
    given = write_capture(tmp_path / "elsewhere", version="1.18.6")
    write_capture(tmp_path / "kube-system-cilium-r9-z", version="1.19.0-rc.1", revision=9)
    found = target(tmp_path, to=given, chart="cilium/cilium")
    assert found.baseline.path == given
    assert (found.release.chart, found.release.version) == ("cilium/cilium", "1.18.6")


def test_without_a_capture_of_the_release_there_is_nothing_to_restore(tmp_path: Path) -> None:
    write_capture(tmp_path / "kube-system-other-r1-a")
    with pytest.raises(InputError, match="no baseline of kube-system/cilium") as err:
        target(tmp_path)
    assert "--to DIR" in str(err.value.hint)


def test_a_capture_changed_since_it_was_taken_is_refused(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "kube-system-cilium-r3-a")
    (capture / "values.yaml").write_text("# chart-version: 1.18.12\nMTU: 9000\n")
    with pytest.raises(InputError, match=r"does not verify: .*values\.yaml: changed since capture") as err:
        target(tmp_path)
    assert err.value.hint == "pass another with --to"


def test_a_local_chart_of_another_version_is_refused(tmp_path: Path) -> None:
    """helm ignores --version for a local chart: the lab chart (1.19.0-rc.1) would install itself under a
    1.18.12 baseline's values."""
    write_capture(tmp_path / "kube-system-cilium-r3-a", version="1.18.12")
    with pytest.raises(InputError, match=r"chart builtin:lab is version 1\.19\.0-rc\.1, but the baseline .* was "
                                         r"captured at 1\.18\.12") as err:
        target(tmp_path)
    assert "pass the 1.18.12 chart with --chart" in str(err.value.hint)
