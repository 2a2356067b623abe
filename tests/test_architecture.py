"""Dependencies point one way: the pure core never imports an adapter, a client library or subprocess.

This keeps `plan`, `lint` and `values` usable offline and testable without a cluster (STYLE habit 1).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cilium_tune

PACKAGE = Path(cilium_tune.__file__).parent
PURE = ["values", "rules", "plan", "profile", "desired.py", "inputs.py", "chart_archive.py", "chart_files.py",
        "restore_chart.py"]
FORBIDDEN = ("cilium_tune.adapters", "cilium_tune.lab", "cilium_tune.cli", "lightkube", "aiohttp",
             "pyroute2", "subprocess", "httpx")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("area", PURE)
def test_pure_core_imports_no_adapter(area: str) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in ([PACKAGE / area] if area.endswith(".py") else (PACKAGE / area).rglob("*.py"))
        for name in imports_of(path)
        if name.startswith(FORBIDDEN)
    }
    assert not offenders, f"the pure core imports adapters: {sorted(offenders)}"


def test_public_surface_is_pinned() -> None:
    assert cilium_tune.__all__ == ["__version__"]


def test_bench_core_is_pure_only_the_runner_talks_to_the_cluster() -> None:
    """Statistics, scenarios, tools, manifests, results and compare work offline; `runner.py` acts."""
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "bench").glob("*.py")
        if path.name != "runner.py"
        for name in imports_of(path)
        if name.startswith(FORBIDDEN)
    }
    assert not offenders, f"the bench core imports adapters: {sorted(offenders)}"


def test_report_renderers_need_no_cluster() -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "report").glob("*.py")
        for name in imports_of(path)
        if name.startswith(FORBIDDEN)
    }
    assert not offenders, f"a report renderer imports adapters: {sorted(offenders)}"


def test_only_the_rollout_executor_path_acts_on_steps() -> None:
    """Step actions are reached only through the executor (and the run set-up and CLI that hand them over)."""
    allowed = {"rollout/executor.py", "rollout/run.py", "rollout/actions.py", "cli/cluster_options.py"}
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "cilium_tune.rollout.actions" in imports_of(path)
    }
    assert importers <= allowed, f"step actions used outside the executor: {sorted(importers - allowed)}"


def test_checks_are_pure_only_the_runner_talks_to_the_cluster() -> None:
    """Checks read a frozen context; the manifests and the log parser are pure; `runner.py` acts."""
    offenders = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "checks").glob("*.py")
        if path.name != "runner.py"
        for name in imports_of(path)
        if name.startswith(FORBIDDEN) or name == "cilium_tune.facts.collect"
    }
    assert not offenders, f"the checks import adapters: {sorted(offenders)}"


def imported_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every `from module import name` in the file."""
    return {
        (node.module, alias.name)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_no_module_borrows_another_modules_private_helper() -> None:
    """A helper two modules need is public in a module named after it (as apply's preflight and run checks,
    once imported by `rollback` from `cli/apply_cmd.py`, now are in rollout/)."""
    offenders = {
        f"{path.relative_to(PACKAGE)}: {module}.{name}"
        for path in PACKAGE.rglob("*.py")
        for module, name in imported_names(path)
        if module.startswith("cilium_tune") and name.startswith("_") and not name.startswith("__")
    }
    assert not offenders, f"private names imported across modules: {sorted(offenders)}"


# What the CLI may take from the step model: how a step is shown, never a step to build or a planner to run.
CLI_STEP_RENDERING = {"display_lines", "command_line"}
PLANNERS = {"plan_rollout", "plan_recovery", "plan_failure_recovery"}


def test_the_cli_defines_no_step_or_desired_state_logic() -> None:
    """The CLI parses and renders: steps come from the planner through `rollout.run` or `plan`'s `build_plan`,
    the desired state from `cilium_tune.desired` (through `load_desired`; `build_desired` is the core's),
    and what apply/rollback install and check is rollout/'s (apply_inputs, rollback_inputs, preflight, runs)."""
    offenders = set()
    for path in (PACKAGE / "cli").glob("*.py"):
        for module, name in imported_names(path):
            if module == "cilium_tune.plan.steps" and name not in CLI_STEP_RENDERING:
                offenders.add(f"{path.name}: builds steps ({name})")
            if module == "cilium_tune.plan.planner" and name in PLANNERS:
                offenders.add(f"{path.name}: runs a planner ({name})")
            if module == "cilium_tune.desired" and name == "build_desired":
                offenders.add(f"{path.name}: assembles the desired state ({name})")
    assert not offenders, f"logic in the CLI: {sorted(offenders)}"
