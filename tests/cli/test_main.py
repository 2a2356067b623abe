"""The top-level CLI: fast help, stable exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True, check=False)


def test_help_lists_commands_and_exits_zero() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "Usage: cilium-tune" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr
