"""Every command cilium-tune or its scripts wait for has a timeout: a hung tool fails, it never hangs the run.

`subprocess.run` and its siblings wait for the command to end, forever unless told otherwise; one hung
`ethtool` in a netns would stop a bisect or a lab for good. Long-running children (`Popen` servers) are
killed by their owner, and their `wait` after the kill is bounded too where it is written here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cilium_tune

ROOT = Path(cilium_tune.__file__).parents[2]
WAITING = ("run", "call", "check_call", "check_output")


def calls_without_timeout(path: Path, root: Path = ROOT) -> list[str]:
    """`subprocess.run(...)`-style calls in `path` that pass no `timeout=` (nor a `**kwargs` that may)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        func = node.func
        waits = isinstance(func.value, ast.Name) and func.value.id == "subprocess" and func.attr in WAITING
        if waits and not any(k.arg in ("timeout", None) for k in node.keywords):
            found.append(f"{path.relative_to(root)}:{node.lineno}: subprocess.{func.attr}")
    return found


def test_the_check_finds_a_call_without_a_timeout(tmp_path: Path) -> None:
    script = tmp_path / "bisect.py"
    script.write_text(
        "import subprocess\n"
        'subprocess.run(["ethtool", "-K", "eth0", "gro", "off"], check=True)\n'
        'subprocess.run(["ethtool", "-k", "eth0"], check=True, timeout=30)\n'
    )
    assert calls_without_timeout(script, tmp_path) == ["bisect.py:2: subprocess.run"]


def test_every_command_waited_for_has_a_timeout() -> None:
    files = sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")])
    offenders = [line for path in files for line in calls_without_timeout(path)]
    assert not offenders, f"give these a timeout=: {offenders}"
