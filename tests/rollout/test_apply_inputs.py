"""What apply installs, by example: the baseline it starts from, the release, helm's -f files, the preflight."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cilium_tune.adapters.helm import Helm, ReleaseRef
from cilium_tune.adapters.kube import FakeKube
from cilium_tune.desired import DesiredInputs, DesiredState, load_desired
from cilium_tune.errors import InputError
from cilium_tune.facts.model import Snapshot
from cilium_tune.rollout.apply_inputs import baseline_for_apply, helm_files, release_for_apply
from cilium_tune.rollout.preflight import preflight
from cilium_tune.rules import Severity
from rollout.captures import write_capture

REF = ReleaseRef("kube-system", "cilium", None, None)
NO_HELM = Helm(Path("/bin/false"), (4, 0, 0))  # never called: the tests below find a baseline on disk


def desired_over(capture: Path, *value_files: str) -> DesiredState:
    return load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                      value_files=value_files, require_profile=True))


def test_the_newest_capture_of_the_release_is_the_baseline(tmp_path: Path) -> None:
    older = write_capture(tmp_path / "kube-system-cilium-r3-a", revision=3)
    newer = write_capture(tmp_path / "kube-system-cilium-r4-b", revision=4)
    os.utime(older, (1, 1))
    write_capture(tmp_path / "kube-system-other-r9-c", revision=9)
    said: list[str] = []

    found = baseline_for_apply(NO_HELM, FakeKube(), REF, None, tmp_path, said.append)

    assert found.path == newer and found.revision == 4
    assert said == [f"baseline: {newer}"]


def test_a_baseline_given_is_used_as_it_is(tmp_path: Path) -> None:
    given = write_capture(tmp_path / "elsewhere", revision=2)
    write_capture(tmp_path / "kube-system-cilium-r5-x", revision=5)
    said: list[str] = []
    found = baseline_for_apply(NO_HELM, FakeKube(), REF, str(given / "values.yaml"), tmp_path, said.append)
    assert found.path == given and found.chart_version == "1.18.12"
    assert said == []


@pytest.mark.parametrize("how", ["given", "found"])
def test_a_capture_changed_since_it_was_taken_is_refused(tmp_path: Path, how: str) -> None:
    capture = write_capture(tmp_path / "kube-system-cilium-r3-a")
    (capture / "values.yaml").write_text("# chart-version: 1.18.12\nMTU: 9000\n")
    given = str(capture) if how == "given" else None
    with pytest.raises(InputError, match=r"does not verify: .*values\.yaml: changed since capture") as err:
        baseline_for_apply(NO_HELM, FakeKube(), REF, given, tmp_path, lambda _: None)
    assert err.value.hint == "pass another with --baseline"


def test_the_release_is_the_profiles_with_the_chart_given_in_its_place(tmp_path: Path) -> None:
    desired = desired_over(write_capture(tmp_path / "capture"))
    assert release_for_apply(desired, None).chart.endswith("lab/chart")
    release = release_for_apply(desired, "/charts/cilium-1.19.0-rc.1.tgz")
    assert (release.namespace, release.name, release.version) == ("kube-system", "cilium", "1.19.0-rc.1")
    assert release.chart == "/charts/cilium-1.19.0-rc.1.tgz"


def test_the_release_installs_the_chart_packages_version_not_the_profiles_pin(
        tmp_path: Path, chart_package: Callable[[str], Path]) -> None:
    """The lab profile pins 1.19.0-rc.1; `--chart cilium-1.19.6.tgz` installs 1.19.6, so the proposal compares
    the live release with 1.19.6 (after the upgrade, a second apply is a no-op)."""
    package = chart_package("1.19.6")
    capture = write_capture(tmp_path / "capture", version="1.19.6")
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                         chart=str(package), require_profile=True))
    release = release_for_apply(desired, str(package))
    assert (release.version, release.chart) == ("1.19.6", str(package))
    assert desired.target_version == release.version and not desired.baseline_user_layered


def test_helm_gets_the_baseline_then_the_overlays_as_rendered_then_the_users_files(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "capture", version="1.19.0-rc.1")  # the lab profile's chart version
    mine = tmp_path / "mine.yaml"
    mine.write_text("bpf:\n  datapathMode: veth\n")
    desired = desired_over(capture, str(mine))
    out = tmp_path / "files"
    out.mkdir()

    files = helm_files(desired, out)

    assert files[0] == capture / "values.yaml" and files[-1] == mine
    overlays = files[1:-1]
    assert [p.name for p in overlays] == [o.filename for o in desired.overlays if o.name != "netkit-migrate"]
    for path, overlay in zip(overlays, desired.overlays, strict=False):
        assert path.parent == out and path.read_text() == overlay.text
    assert not any("migrate" in p.name for p in files), "the one-time overlay is the strategy's, not a -f file"


def test_the_overlays_helm_reads_are_written_whole_and_for_the_owner_only(tmp_path: Path) -> None:
    """Written as every file cilium-tune writes (`files.write_all_atomic`): owner-readable, no temp file left,
    and a target that cannot be written means none is (an error, not a traceback)."""
    desired = desired_over(write_capture(tmp_path / "capture", version="1.19.0-rc.1"))
    out = tmp_path / "files"
    out.mkdir()

    files = helm_files(desired, out)

    overlays = [p for p in files if p.parent == out]
    assert overlays and all(p.stat().st_mode & 0o777 == 0o600 for p in overlays)
    assert sorted(out.iterdir()) == sorted(overlays)
    blocked = tmp_path / "blocked"
    (blocked / overlays[-1].name).mkdir(parents=True)
    with pytest.raises(InputError, match="it is a directory"):
        helm_files(desired, blocked)
    assert [p.name for p in blocked.iterdir()] == [overlays[-1].name], "nothing written beside it"


def test_under_another_chart_version_helm_gets_the_captures_user_supplied_values(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "capture", version="1.18.12", values="MTU: 1400\nimage:\n  tag: v1.18.12\n")
    desired = desired_over(capture)
    assert desired.baseline_user_layered
    assert any(note.startswith("chart 1.18.12 -> 1.19.0-rc.1") for note in desired.notes)
    assert helm_files(desired, tmp_path)[0] == capture / "user-values.yaml"
    assert desired.values.get("image.tag") is None and desired.values.get("MTU") == 1400


def test_without_a_captured_baseline_there_is_nothing_to_give_helm(tmp_path: Path) -> None:
    live = {"name": "cilium", "namespace": "kube-system", "revision": 7, "status": "deployed",
            "chart_version": "1.19.0-rc.1", "computed_values": {}}
    facts = Snapshot(collected_at=datetime(2026, 11, 26, tzinfo=UTC), helm_release=live)  # type: ignore[arg-type]
    desired = load_desired(DesiredInputs(profile_ref="lab", facts=facts, require_profile=True))
    assert desired.layers[0].role == "live"
    with pytest.raises(InputError, match="apply needs a captured baseline file"):
        helm_files(desired, tmp_path)


def test_the_preflight_finds_what_lint_finds_and_skips_the_rules_ignored(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "capture")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("bpf:\n  hostLegacyRouting: true\n")
    desired = desired_over(capture, str(wrong))

    result = preflight(desired)
    assert result.failed()
    fired = {f.rule_id for f in result.findings if f.severity is not None and f.severity.at_least(Severity.ERROR)}
    assert not preflight(desired, sorted(fired)).failed()


def test_the_preflight_refuses_a_rule_that_does_not_exist(tmp_path: Path) -> None:
    desired = desired_over(write_capture(tmp_path / "capture"))
    with pytest.raises(InputError, match="no rule 'CT999'"):
        preflight(desired, ["CT999"])
