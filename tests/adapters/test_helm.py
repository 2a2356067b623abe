"""Locating the user's helm: the pinned binaries pass, an old or missing helm is refused with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_tune.adapters.helm import find_helm, parse_version
from cilium_tune.errors import ToolMissingError


def test_both_pinned_helm_majors_are_accepted(helm_bin: Path) -> None:
    helm = find_helm(str(helm_bin))
    assert helm.major in (3, 4)
    assert helm.version >= (3, 14, 0)


def test_helm_older_than_3_14_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "helm"
    old.write_text("#!/bin/sh\necho v3.13.3+g1234567\n")
    old.chmod(0o755)
    with pytest.raises(ToolMissingError, match=r"helm 3\.13\.3; cilium-tune needs helm >= 3\.14") as info:
        find_helm(str(old))
    assert info.value.hint is not None and "--helm" in info.value.hint


def test_a_missing_helm_names_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CILIUM_TUNE_HELM", raising=False)
    with pytest.raises(ToolMissingError, match="'helm' on PATH"):
        find_helm()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("v3.18.0+gcc58e3f", (3, 18, 0)), ("v4.1.4+g05fa379\n", (4, 1, 4)), ("garbage", None)],
)
def test_version_parsing(text: str, expected: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == expected
