"""The demo reads back the run `apply` made; an apply that made none ends the demo with an error, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_tune.demo import new_run
from cilium_tune.errors import ClusterError


def test_an_apply_that_made_no_run_stops_the_demo_with_an_error_and_a_hint(tmp_path: Path) -> None:
    """`apply` exits 0 without a run when the release already renders its values ("nothing to change"):
    the demo then has no plan to write, and says so."""
    with pytest.raises(ClusterError) as raised:
        new_run(tmp_path / "runs", earlier=set(), kind="apply")

    assert raised.value.message.startswith("cilium-tune apply made no run under ")
    assert raised.value.exit_code == 3
    assert "nothing changed" in (raised.value.hint or "")
