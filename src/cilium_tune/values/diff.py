"""Structural diff of two value sets, by dotted path.

Maps are walked key by key; anything else (scalars, nulls, lists) is compared whole, because Helm
replaces lists whole and so does a user reading the diff. A key whose value turns from a map into a
scalar (or back) is one `changed` entry at that key. Equality follows Helm's types: `1` and `1.0` are
the same float64, but `true` is not `1` and `"1"` is not `1`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import msgspec

from cilium_tune.values.paths import KeyPath, format_path
from cilium_tune.values.redact import redact

__all__ = ["DiffEntry", "ValuesDiff", "diff_values", "same_value"]

Change = Literal["added", "removed", "changed"]


class DiffEntry(msgspec.Struct, frozen=True):
    """One difference: `old` is None for added keys and `new` is None for removed ones."""

    kind: Change
    path: KeyPath
    old: Any = None
    new: Any = None

    @property
    def dotted(self) -> str:
        return format_path(self.path)

    def to_dict(self) -> dict[str, Any]:
        """The entry as data, credentials redacted (diffs end up in tickets and CI logs)."""
        entry: dict[str, Any] = {"kind": self.kind, "path": self.dotted}
        if self.kind != "added":
            entry["old"] = redact(self.path, self.old)
        if self.kind != "removed":
            entry["new"] = redact(self.path, self.new)
        return entry

    def line(self) -> str:
        """`+ path: new`, `- path: old` or `~ path: old -> new`, values as JSON, credentials redacted."""
        data = self.to_dict()
        old, new = (json.dumps(data.get(side), ensure_ascii=False, sort_keys=True) for side in ("old", "new"))
        if self.kind == "added":
            return f"+ {self.dotted}: {new}"
        if self.kind == "removed":
            return f"- {self.dotted}: {old}"
        return f"~ {self.dotted}: {old} -> {new}"


class ValuesDiff(msgspec.Struct, frozen=True):
    """All differences, sorted by path (so output is deterministic)."""

    entries: tuple[DiffEntry, ...]

    @property
    def is_empty(self) -> bool:
        return not self.entries

    def of_kind(self, kind: Change) -> tuple[DiffEntry, ...]:
        return tuple(entry for entry in self.entries if entry.kind == kind)

    @property
    def added(self) -> tuple[DiffEntry, ...]:
        return self.of_kind("added")

    @property
    def removed(self) -> tuple[DiffEntry, ...]:
        return self.of_kind("removed")

    @property
    def changed(self) -> tuple[DiffEntry, ...]:
        return self.of_kind("changed")

    def to_dict(self) -> dict[str, Any]:
        """`{"added": [...], "removed": [...], "changed": [...]}`, each entry with path and values."""
        return {kind: [entry.to_dict() for entry in self.of_kind(kind)] for kind in ("added", "removed", "changed")}


def diff_values(old: Mapping[str, Any], new: Mapping[str, Any]) -> ValuesDiff:
    """Compare two value trees (plain mappings, e.g. `MergedValues.values` or `LoadedValues.values`)."""
    return ValuesDiff(tuple(sorted(_walk(old, new, ()), key=lambda entry: entry.path)))


def _walk(old: Mapping[str, Any], new: Mapping[str, Any], prefix: KeyPath) -> Iterator[DiffEntry]:
    for key in old.keys() | new.keys():
        path = (*prefix, key)
        if key not in new:
            yield DiffEntry("removed", path, old=old[key])
        elif key not in old:
            yield DiffEntry("added", path, new=new[key])
        elif isinstance(old[key], Mapping) and isinstance(new[key], Mapping):
            yield from _walk(old[key], new[key], path)
        elif not same_value(old[key], new[key]):
            yield DiffEntry("changed", path, old=old[key], new=new[key])


def same_value(a: Any, b: Any) -> bool:
    """Equality as Helm sees it: numbers by value, but bools, strings and numbers never mix."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[key], b[key]) for key in a)
    return type(a) is type(b) and bool(a == b)
