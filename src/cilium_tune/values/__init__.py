"""Helm values as plain data: load them as Helm does, merge with provenance, diff two sets.

The functions here are pure (no subprocess, no cluster); the real helm binary only appears in tests,
as the oracle the engine is checked against.
"""

from cilium_tune.values.diff import DiffEntry, ValuesDiff, diff_values
from cilium_tune.values.loader import LoadedValues, Origin, load_values, load_values_text
from cilium_tune.values.merge import Explanation, MergedValues, Override, merge_values
from cilium_tune.values.paths import flatten, format_path, get_path, parse_path

__all__ = [
    "DiffEntry",
    "Explanation",
    "LoadedValues",
    "MergedValues",
    "Origin",
    "Override",
    "ValuesDiff",
    "diff_values",
    "flatten",
    "format_path",
    "get_path",
    "load_values",
    "load_values_text",
    "merge_values",
    "parse_path",
]
