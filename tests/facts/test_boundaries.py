"""The facts package's edges: parsers and the model never import an adapter or a Kubernetes client."""

from __future__ import annotations

import ast
from pathlib import Path

import cilium_tune.facts

PACKAGE = Path(cilium_tune.facts.__file__).parent
FORBIDDEN = ("cilium_tune.adapters", "lightkube", "httpx", "httpx2", "subprocess", "aiohttp")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_collect_talks_to_an_adapter() -> None:
    offenders = {
        path.name: sorted(n for n in _imports(path) if n.startswith(FORBIDDEN))
        for path in PACKAGE.glob("*.py")
        if path.name != "collect.py"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_public_names_are_pinned() -> None:
    assert cilium_tune.facts.__all__ == [
        "SCHEMA_VERSION",
        "KernelVersion",
        "Snapshot",
        "load_snapshot",
        "save_snapshot",
    ]
