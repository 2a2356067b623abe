"""A packaged chart is decompressed once per command: its defaults, version and key catalog come from one read.

Counted with the interpreter's own audit event for `open` (nothing is replaced), against what one
`read_chart_archive` of the same package opens: `lint --chart` and `plan --chart` open it no more than that,
the render check included (helm reads the package itself, in its own process).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.adapters.helm import find_helm
from cilium_tune.chart_archive import read_chart_archive
from cilium_tune.desired import DesiredInputs, load_desired
from cilium_tune.plan.planner import plan_desired
from cilium_tune.rendercheck import check_renders

_opened: list[str] | None = None  # the files opened while counting


def _count_opens(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, Path)):
        _opened.append(str(args[0]))


sys.addaudithook(_count_opens)  # a no-op unless a test below is counting


def times_opened(path: Path, action: Callable[[], object]) -> int:
    global _opened
    _opened = []
    try:
        action()
        return _opened.count(str(path))
    finally:
        _opened = None


def test_lint_reads_the_package_once(real_chart: Path) -> None:
    once = times_opened(real_chart, lambda: read_chart_archive(real_chart))
    lint = times_opened(real_chart, lambda: load_desired(DesiredInputs(profile_ref="lab", chart=str(real_chart))))
    assert once > 0 and lint == once


@pytest.mark.helm
def test_plan_with_its_render_check_reads_the_package_once(real_chart: Path, helm4: Path) -> None:
    helm = find_helm(str(helm4))

    def plan() -> None:
        desired = load_desired(DesiredInputs(profile_ref="lab", chart=str(real_chart), require_profile=True))
        assert desired.chart is not None
        results = check_renders(helm, plan_desired(desired, str(real_chart)), desired.chart, desired.overlay_texts)
        assert results and all(result.ok for result in results), results

    assert times_opened(real_chart, plan) == times_opened(real_chart, lambda: read_chart_archive(real_chart))
