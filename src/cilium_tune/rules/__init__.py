"""Preflight rules: pure checks of (profile, merged values, facts, baseline) -> findings.

Importing this package loads every rule: each area package below imports all of its modules, and each
module registers one rule with `@rule`. The registry is the only list of rules.
"""

from __future__ import annotations

import importlib
import pkgutil

from cilium_tune.rules.context import BaselineInfo, RuleContext
from cilium_tune.rules.registry import Finding, Rule, Severity, registry, rule
from cilium_tune.rules.runner import LintResult, run_rules

# One package per area; the id's area digit is the position here plus one (CT1xx values, CT2xx datapath...).
AREAS = ("values", "datapath", "routing", "ipam", "k3s", "kpr", "gateway", "workloads", "rollout")


def _load_areas() -> None:
    for area in AREAS:
        package = importlib.import_module(f"{__name__}.{area}")
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")


_load_areas()

__all__ = [
    "AREAS",
    "BaselineInfo",
    "Finding",
    "LintResult",
    "Rule",
    "RuleContext",
    "Severity",
    "registry",
    "rule",
    "run_rules",
]
