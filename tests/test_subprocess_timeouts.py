"""Every command cilium-tune or its scripts wait for has a timeout: a hung tool fails, it never hangs the run.

`subprocess.run` and its siblings wait for the command to end, forever unless told otherwise; one hung
`ethtool` in a netns would stop a bisect or a lab for good. Long-running children (`Popen` servers) are
killed by their owner, and their `wait()` or `communicate()` after the kill is bounded too: a child in
uninterruptible sleep outlives SIGKILL.

The check reads the code (no import, no run): it knows `subprocess` however it is imported or renamed, and
a child as a name or attribute that is annotated as a `Popen` or assigned one in the same module.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import cilium_tune

ROOT = Path(cilium_tune.__file__).parents[2]
WAITING = ("run", "call", "check_call", "check_output")
CHILD_WAITS = {"wait": 0, "communicate": 1}  # the method, and the position of its timeout argument


def calls_without_timeout(path: Path, root: Path = ROOT) -> list[str]:
    """Calls in `path` that wait for a command without a `timeout` (nor a `**kwargs` that may pass one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
               for a in n.names if a.name == "subprocess"}
    functions = {a.asname or a.name: a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                 and n.module == "subprocess" for a in n.names}

    def subprocess_function(func: ast.expr) -> str | None:
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in modules:
            return func.attr
        return functions.get(func.id) if isinstance(func, ast.Name) else None

    children = _children(tree, subprocess_function)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or any(k.arg in ("timeout", None) for k in node.keywords):
            continue
        func, called = node.func, subprocess_function(node.func)
        if called in WAITING:
            found.append(f"{path.relative_to(root)}:{node.lineno}: subprocess.{called}")
        elif (isinstance(func, ast.Attribute) and func.attr in CHILD_WAITS and _identifier(func.value) in children
              and len(node.args) <= CHILD_WAITS[func.attr]):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(func)}")
    return found


def _children(tree: ast.AST, subprocess_function: Callable[[ast.expr], str | None]) -> set[str]:
    """The names and attribute names that hold a `Popen` in this module: annotated so or assigned one."""

    def is_popen(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Call) and subprocess_function(node.func) == "Popen"

    def names_popen(annotation: ast.expr | None) -> bool:
        return annotation is not None and any(
            (isinstance(n, ast.Name) and n.id == "Popen") or (isinstance(n, ast.Attribute) and n.attr == "Popen")
            for n in ast.walk(annotation)
        )

    held: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and (names_popen(node.annotation) or is_popen(node.value)):
            held.append(node.target)
        elif isinstance(node, ast.Assign) and is_popen(node.value):
            held.extend(node.targets)
        elif isinstance(node, ast.withitem) and is_popen(node.context_expr):
            held.append(node.optional_vars)
        elif isinstance(node, ast.arg) and names_popen(node.annotation):
            held.append(ast.Name(node.arg))
    return {name for name in map(_identifier, held) if name is not None}


def _identifier(node: ast.expr | None) -> str | None:
    """`proc` for `proc` and for `self.proc`: what a child is known by."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def test_the_check_finds_a_call_without_a_timeout(tmp_path: Path) -> None:
    script = tmp_path / "bisect.py"
    script.write_text(
        "import subprocess\n"
        'subprocess.run(["ethtool", "-K", "eth0", "gro", "off"], check=True)\n'
        'subprocess.run(["ethtool", "-k", "eth0"], check=True, timeout=30)\n'
    )
    assert calls_without_timeout(script, tmp_path) == ["bisect.py:2: subprocess.run"]


def test_the_check_knows_subprocess_however_it_is_imported(tmp_path: Path) -> None:
    script = tmp_path / "bisect.py"
    script.write_text(
        "import subprocess as sp\n"
        "from subprocess import check_output, run as sh\n"
        'sp.check_call(["ethtool", "-K", "eth0", "gro", "off"])\n'
        'check_output(["ethtool", "-k", "eth0"])\n'
        'sh(["ip", "link"], timeout=10)\n'
        'sh(["ip", "addr"])\n'
    )
    assert calls_without_timeout(script, tmp_path) == [
        "bisect.py:3: subprocess.check_call", "bisect.py:4: subprocess.check_output", "bisect.py:6: subprocess.run"
    ]


def test_the_check_finds_a_child_waited_for_without_a_timeout_and_nothing_else(tmp_path: Path) -> None:
    """A netserver killed, then waited for: forever, if it sits in the kernel. An Event's wait is no child's."""
    script = tmp_path / "churn.py"
    script.write_text(
        "import subprocess\n"
        "import threading\n"
        "from subprocess import Popen\n"
        "class Pod:\n"
        "    proc: subprocess.Popen[bytes] | None = None\n"
        'server = Popen(["netserver", "-D"])\n'
        "server.kill()\n"
        "server.wait()\n"
        "server.wait(5)\n"
        "for proc in [Pod().proc]:\n"
        "    proc.communicate()\n"
        "    proc.communicate(None, 5)\n"
        "stop = threading.Event()\n"
        "stop.wait()\n"
        "def reap(child: subprocess.Popen[bytes]) -> None:\n"
        "    child.wait()\n"
    )
    assert calls_without_timeout(script, tmp_path) == [
        "churn.py:8: server.wait", "churn.py:11: proc.communicate", "churn.py:16: child.wait"
    ]


def test_every_command_waited_for_has_a_timeout() -> None:
    files = sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")])
    offenders = [line for path in files for line in calls_without_timeout(path)]
    assert not offenders, f"give these a timeout=: {offenders}"
