"""scripts/new_rule.py writes a module that registers and fixtures that load."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rule_cases import load_case

from cilium_tune.rules import registry
from cilium_tune.rules.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "new_rule.py"


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("new_rule", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skeleton_registers_and_its_fixtures_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _load_script()
    (tmp_path / "src" / "cilium_tune" / "rules" / "k3s").mkdir(parents=True)
    (tmp_path / "tests" / "rules").mkdir(parents=True)
    monkeypatch.setattr(script, "ROOT", tmp_path)
    assert script.main(["--id", "CT599", "--name", "example-condition", "--area", "k3s"]) == 0

    module_path = tmp_path / "src" / "cilium_tune" / "rules" / "k3s" / "example_condition.py"
    fresh = Registry()
    monkeypatch.setattr(sys.modules["cilium_tune.rules.registry"], "registry", fresh)
    spec = importlib.util.spec_from_file_location("cilium_tune.rules.k3s.example_condition", module_path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    (new,) = fresh.all()
    assert (new.id, new.name, new.area, str(new.severity)) == ("CT599", "example-condition", "k3s", "warning")
    assert new.fix.endswith(".")

    case = load_case(tmp_path / "tests" / "rules" / "CT599" / "quiet_example.yaml")
    assert case.expect == [] and not case.fires
    assert load_case(tmp_path / "tests" / "rules" / "CT599" / "fires_example.yaml").fires


def test_refuses_a_taken_id_and_a_wrong_area_digit() -> None:
    taken = registry.all()[0]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--id", taken.id, "--name", "fresh-name", "--area", taken.area],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "already registered" in result.stderr
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--id", "CT299", "--name", "fresh-name", "--area", "k3s"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "start with CT5" in result.stderr
