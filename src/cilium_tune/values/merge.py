"""Helm's value merge, with provenance: which file set every key, and what it overrode.

Two steps, as Helm takes them (checked against helm 4.1.4 and 3.18.0):

1. The `-f` files, left to right (and, with Helm 4, the `---` documents inside each file): maps
   deep-merge; anything else, lists and nulls included, replaces what was there.
2. The chart's values.yaml under that (Helm's `CoalesceValues`): keys the user did not set are filled
   in from the chart. A user null where the chart has no such key stays a null. A user null over a
   chart key deletes it, with one exception that differs by major version: below the top level, Helm 4
   keeps a user null over a chart default that is itself null (`a: {b: null}` over `a: {b: null, d: 1}`
   gives `{a: {b: null, d: 1}}`), where Helm 3 deletes it (`{a: {d: 1}}`). At the top level both delete.
   Where one side is a map and the other is not, the user's value wins (Helm prints a warning when the
   chart's side is not null; so do we).

Only a chart without subcharts is modelled (`loader.load_chart_values` refuses the others): with
dependencies Helm first rewrites the chart's defaults (globals, import-values, conditions, tags).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from cilium_tune.errors import InputError
from cilium_tune.values.gc_pause import cycle_collection_paused
from cilium_tune.values.loader import DEFAULT_HELM_MAJOR, Document, LoadedValues, Origin
from cilium_tune.values.paths import MISSING, KeyPath, format_path, get_path, iter_leaves, parse_path

__all__ = ["Explanation", "MergedValues", "Override", "merge_documents", "merge_values"]


class Override(msgspec.Struct, frozen=True):
    """An earlier value at a path, replaced by a later layer (or a chart default the user overrode)."""

    origin: Origin | None
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"origin": _origin_dict(self.origin), "value": self.value}


class Explanation(msgspec.Struct, frozen=True):
    """Everything known about one key path after a merge.

    `present` is False when the key is absent from the result: `cause` is then the path (the key itself
    or a parent) that a later layer deleted with a null (`removed_by` is that null's origin) or replaced
    with a non-map value. `overridden` lists the earlier values at `cause` (or at `path`), oldest first.
    """

    path: KeyPath
    present: bool
    value: Any
    origin: Origin | None
    overridden: tuple[Override, ...]
    removed_by: Origin | None = None
    cause: KeyPath | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (`-o json`)."""
        return {
            "path": format_path(self.path),
            "present": self.present,
            "value": self.value,
            "origin": _origin_dict(self.origin),
            "removed_by": _origin_dict(self.removed_by),
            "cause": format_path(self.cause) if self.cause is not None else None,
            "overridden": [item.to_dict() for item in self.overridden],
        }

    def text(self) -> str:
        """A few human lines: the value, who set it, and what it replaced."""
        name = format_path(self.path)
        if self.present:
            lines = [f"{name} = {_show(self.value)}", f"  set by    {self.origin or 'unknown'}"]
        else:
            what = "it" if self.cause == self.path else format_path(self.cause or ())
            if self.removed_by is not None:
                lines = [f"{name} is not set: the null at {self.removed_by} deleted the chart default of {what}"]
            else:
                lines = [f"{name} is not set: a later layer replaced {what} with a value that is not a map"]
        for index, item in enumerate(reversed(self.overridden)):
            label = ("  overrode " if self.present else "  was      ") if index == 0 else "          "
            lines.append(f"{label}{_show(item.value)} from {item.origin or 'unknown'}")
        return "\n".join(lines)


class MergedValues(msgspec.Struct, frozen=True):
    """The values Helm hands to the templates, and how they came to be.

    - `values`: the merged tree (str keys; values str, bool, None, int/float, list, dict).
    - `origins`: for every key path in `values`, the origin of the layer that last wrote it.
    - `history`: per path, the earlier values it replaced, oldest first.
    - `removed`: chart-default paths deleted by a user null, and where that null was written.
    - `warnings`: what Helm accepts but prints a warning for (or silently accepts, like duplicate keys).
    - `sources`: the labels of the layers, chart defaults first when given.
    """

    values: dict[str, Any]
    origins: dict[KeyPath, Origin]
    history: dict[KeyPath, list[Override]]
    removed: dict[KeyPath, Origin]
    warnings: tuple[str, ...]
    sources: tuple[str, ...]

    def get(self, path: str | KeyPath, default: Any = None) -> Any:
        """The merged value at a dotted path, or `default`."""
        return get_path(self.values, path, default)

    def leaves(self) -> Iterable[tuple[KeyPath, Any]]:
        """Every leaf path and value (lists and empty maps are leaves)."""
        return iter_leaves(self.values)

    def explain(self, key: str | KeyPath) -> Explanation:
        """Where `key` came from; InputError (with a did-you-mean) when no layer ever mentioned it."""
        path = parse_path(key) if isinstance(key, str) else tuple(key)
        value = get_path(self.values, path, MISSING)
        if value is not MISSING:
            history = tuple(self.history.get(path, ()))
            return Explanation(path, True, value, self.origins.get(path), history)
        for size in range(len(path), 0, -1):
            cause = path[:size]
            if cause in self.removed or cause in self.history:
                return Explanation(
                    path=path,
                    present=False,
                    value=None,
                    origin=None,
                    overridden=tuple(self.history.get(cause, ())),
                    removed_by=self.removed.get(cause),
                    cause=cause,
                )
        known = [format_path(p) for p in self.origins]
        close = difflib.get_close_matches(format_path(path), known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "keys are case-sensitive"
        raise InputError(f"{format_path(path)} is not set by any of {', '.join(self.sources)}", hint=hint)


@cycle_collection_paused
def merge_values(layers: Sequence[LoadedValues], chart_defaults: LoadedValues | None = None) -> MergedValues:
    """Merge `-f` layers left to right over optional chart defaults, exactly as `helm template` does.

    The Helm major version whose null rules apply is the one the chart defaults were loaded for
    (`chart_defaults.helm`); the layers alone merge the same way in Helm 3 and 4.
    """
    merger = _Merger(track=True, helm=chart_defaults.helm if chart_defaults is not None else DEFAULT_HELM_MAJOR)
    for layer in layers:
        for document in layer.documents:
            merger.overlay(merger.values, document.values, (), document.origins)
    warnings = [warning for layer in layers for warning in layer.warnings]
    sources = [layer.source for layer in layers]
    if chart_defaults is not None:
        merger.coalesce(merger.values, chart_defaults.values, (), chart_defaults.origins)
        warnings[:0] = chart_defaults.warnings
        sources.insert(0, chart_defaults.source)
    return MergedValues(
        values=merger.values,
        origins=merger.origins,
        history=merger.history,
        removed=merger.removed,
        warnings=(*warnings, *merger.warnings),
        sources=tuple(sources),
    )


def merge_documents(documents: Iterable[Document]) -> Document:
    """Deep-merge the documents of one file in order (Helm 4 reads every `---` document)."""
    merger = _Merger(track=False)
    for document in documents:
        merger.overlay(merger.values, document.values, (), document.origins)
    return Document(merger.values, merger.origins)


class _Merger(msgspec.Struct):
    """The merge state; `overlay` is one `-f` step, `coalesce` the chart-defaults step."""

    track: bool
    helm: int = DEFAULT_HELM_MAJOR
    values: dict[str, Any] = msgspec.field(default_factory=dict)
    origins: dict[KeyPath, Origin] = msgspec.field(default_factory=dict)
    history: dict[KeyPath, list[Override]] = msgspec.field(default_factory=dict)
    removed: dict[KeyPath, Origin] = msgspec.field(default_factory=dict)
    warnings: list[str] = msgspec.field(default_factory=list)

    def overlay(self, dst: dict[str, Any], src: dict[str, Any], prefix: KeyPath, where: dict[KeyPath, Origin]) -> None:
        for key, new in src.items():
            path = (*prefix, key)
            old = dst.get(key, MISSING)
            if isinstance(new, dict) and isinstance(old, dict):
                self._stamp(path, where)
                self.overlay(old, new, path, where)
                continue
            if old is not MISSING:
                if self.track:
                    self.history.setdefault(path, []).append(Override(self.origins.get(path), old))
                if isinstance(old, dict):
                    self._forget(old, path)
            dst[key] = self._adopt(new, path, where)

    def coalesce(self, dst: dict[str, Any], src: dict[str, Any], prefix: KeyPath, where: dict[KeyPath, Origin]) -> None:
        for key, default in src.items():
            path = (*prefix, key)
            if key not in dst:
                dst[key] = self._adopt(default, path, where)
                continue
            user = dst[key]
            if isinstance(user, dict) and isinstance(default, dict):
                self.coalesce(user, default, path, where)
                continue
            self.history.setdefault(path, []).insert(0, Override(where.get(path), default))
            if user is None and default is None and self.helm >= 4 and prefix:
                continue  # Helm 4 keeps a nested null set over a null default
            if user is None:
                del dst[key]
                origin = self.origins.pop(path, None)
                if origin is not None:
                    self.removed[path] = origin
            elif isinstance(user, dict) and default is not None:
                self.warnings.append(
                    f"{self.origins.get(path)}: {format_path(path)} is a map but the chart default "
                    f"({where.get(path)}) is not; Helm keeps the map"
                )
            elif isinstance(default, dict):
                self.warnings.append(
                    f"{self.origins.get(path)}: {format_path(path)} replaces the chart's map "
                    f"({where.get(path)}) with a non-map value; Helm keeps {_show(user)}"
                )

    def _stamp(self, path: KeyPath, where: dict[KeyPath, Origin]) -> None:
        origin = where.get(path)
        if origin is not None:
            self.origins[path] = origin

    def _adopt(self, value: Any, path: KeyPath, where: dict[KeyPath, Origin]) -> Any:
        """Copy a subtree into the result, taking the origin of every key in it."""
        self._stamp(path, where)
        if isinstance(value, dict):
            return {key: self._adopt(item, (*path, key), where) for key, item in value.items()}
        if isinstance(value, list):
            return _copy(value)
        return value

    def _forget(self, subtree: dict[str, Any], path: KeyPath) -> None:
        for key, value in subtree.items():
            child = (*path, key)
            self.origins.pop(child, None)
            if isinstance(value, dict):
                self._forget(value, child)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _origin_dict(origin: Origin | None) -> dict[str, Any] | None:
    if origin is None:
        return None
    return {"source": origin.source, "line": origin.line, "column": origin.column}


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
