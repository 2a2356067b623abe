"""A capture directory is written whole or not at all: a failed write leaves no temporary directory behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_tune.rollout.baseline import publish


def test_a_capture_is_renamed_into_place_with_its_files(tmp_path: Path) -> None:
    final = publish(tmp_path, "kube-system-cilium-r3-a", {"values.yaml": "MTU: 1400\n"})
    assert final == tmp_path / "kube-system-cilium-r3-a"
    assert [p.name for p in tmp_path.iterdir()] == [final.name]
    assert (final / "values.yaml").read_text() == "MTU: 1400\n"


def test_a_failed_capture_leaves_no_temporary_directory(tmp_path: Path) -> None:
    taken = tmp_path / "kube-system-cilium-r3-a"
    (taken / "values.yaml").parent.mkdir()
    (taken / "values.yaml").write_text("MTU: 9000\n")  # the name is taken: the rename into place fails

    with pytest.raises(OSError):
        publish(tmp_path, taken.name, {"values.yaml": "MTU: 1400\n"})

    assert [p.name for p in tmp_path.iterdir()] == [taken.name]
    assert (taken / "values.yaml").read_text() == "MTU: 9000\n"  # the capture there is untouched
