"""Ctrl-C and SIGTERM: one line, exit 130 (143 for SIGTERM), no temporary file left, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_runner import Child

ROOT = Path(__file__).resolve().parents[2]


def _slow_disk() -> None:
    """Make every fsync take a while (in the child only), so that a signal lands in the middle of a write."""
    real = os.fsync

    def slow(fd: int) -> None:
        time.sleep(3)
        real(fd)

    os.fsync = slow


def _wait_for(pattern: str, folder: Path, seconds: float) -> list[Path]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = list(folder.glob(pattern))
        if found:
            return found
        time.sleep(0.01)
    return []


@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_during_render_out_leaves_nothing_behind(signum: int, code: int, word: str, tmp_path: Path) -> None:
    child = Child(["render", "--out", "deploy"], cwd=tmp_path, before=_slow_disk)
    assert _wait_for("deploy/.*.tmp", tmp_path, 10), "the write never started"
    os.kill(child.pid, signum)
    result = child.wait(10)
    assert result.code == code, result.output
    assert result.stderr.splitlines()[-1:] == [f"error: {word}"], result.output
    assert sum(line.startswith("error:") for line in result.stderr.splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    leftovers = sorted(p.name for p in (tmp_path / "deploy").iterdir())
    assert leftovers == [], f"all or nothing, and no temp files: {leftovers}"


# Run the CLI as `python -m cilium_tune` does, with an audit hook that sends this process a signal at the first
# import after `after` has been imported: the signal lands at a chosen point of start-up every time, however
# slow the machine (a parent reading `-X importtime` could see the line only after the child ended).
# SIGINT gets Python's default handler first: a child inherits an ignored SIGINT from its parent (seen under
# pytest-xdist), and then no Ctrl-C would ever arrive.
_SIGNAL_AFTER = """
import os, runpy, signal, sys
signum, after, armed = int(sys.argv.pop(1)), sys.argv.pop(1), []
def hook(event, args):
    if event == "import" and not armed and after in sys.modules and args[0] != after:
        armed.append(True)
        os.kill(os.getpid(), signum)
sys.addaudithook(hook)
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever the test runner ignores
sys.argv[0] = "cilium-tune"
runpy.run_module("cilium_tune", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("after", ["click", "cilium_tune.cli.main", "msgspec"])
@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_while_starting_prints_one_line(signum: int, code: int, word: str, after: str, tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM at any moment of start-up (imports included): exit 130 or 143, one line, no traceback.

    Signalled right after click, after the CLI module (before `main` installs its own handlers), or while
    the command runs (msgspec comes with the profile).
    """
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AFTER, str(int(signum)), after, "plan", "--overlays", "profile"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    shown = proc.stderr.splitlines()
    assert proc.returncode == code, proc.stderr[-2000:]
    assert [line for line in shown if line.strip()][-1:] == [f"error: {word}"], shown
    assert "Traceback" not in proc.stderr and sum(line.startswith("error:") for line in shown) == 1, shown
