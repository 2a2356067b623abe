"""Key catalogs that follow the Cilium chart version, generated from every released chart.

    catalog = catalog_for_version("1.19.0-rc.1")     # the keys that chart version reads
    unknown_keys(values, catalog)                     # typos, and removed options with when they went

One JSON file per minor line (`cilium-1.19.json`), written by scripts/gen_catalogs.py from the released
chart packages (values.yaml, its commented-out example keys and the keys the templates read; no chart
text is kept). Each key has its type, its default, the first and last release that had it, the first
release without it again, and its first and last version within the line (release candidates
included: `enableTunnelBIGTCP` is in 1.19.0-rc.1 and 1.19.0, not in 1.19.6). The script's docstring
describes the format.

A version newer than the line's newest known release is judged as that release (a new patch rarely
removes keys); a line without a file is judged by the nearest line, and the catalog's `source` says so.
"""

from __future__ import annotations

import bisect
import json
from functools import cache
from importlib import resources
from typing import Any

from cilium_tune.errors import InputError
from cilium_tune.values.catalog import KeyCatalog, KeyHistory
from cilium_tune.values.chart_versions import ChartVersion
from cilium_tune.values.paths import KeyPath, parse_path

__all__ = ["catalog_for_version", "history_for_version", "supported_lines", "union_entries"]

_TYPE, _DEFAULT, _FIRST, _LAST, _GONE, _LINE_FIRST, _LINE_LAST, _FLAGS = range(8)


@cache
def supported_lines() -> tuple[str, ...]:
    """The minor lines with a generated catalog, oldest first (`("1.16", ..., "1.20")`)."""
    names = [f.name for f in resources.files(__package__).iterdir() if f.name.startswith("cilium-")]
    lines = [name.removeprefix("cilium-").removesuffix(".json") for name in names if name.endswith(".json")]
    return tuple(sorted(lines, key=lambda line: tuple(int(part) for part in line.split("."))))


@cache
def _line_data(line: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"cilium-{line}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _version(text: str) -> ChartVersion:
    return ChartVersion.parse(text)


@cache
def _ranks(line: str) -> tuple[list[ChartVersion], dict[str, int]]:
    """The versions a line's file names, sorted, and each one's even rank (comparisons become int ones)."""
    data = _line_data(line)
    names = {v for entry in data["keys"].values() for v in entry[_LINE_FIRST : _LINE_LAST + 1] if v is not None}
    ordered = sorted(names | set(data["versions"]), key=_version)
    return [_version(v) for v in ordered], {v: 2 * index for index, v in enumerate(ordered)}


def _rank(line: str, version: ChartVersion) -> int:
    """`version`'s place among the line's versions: even when it is one of them, odd between two."""
    ordered = _ranks(line)[0]
    at = bisect.bisect_left(ordered, version)
    return 2 * at if at < len(ordered) and ordered[at] == version else 2 * at - 1


def _path(dotted: str) -> KeyPath:
    return parse_path(dotted) if '"' in dotted else tuple(dotted.split("."))


def _pick_line(version: ChartVersion) -> str:
    lines = supported_lines()
    if version.line in lines:
        return version.line
    newest = _version(_line_data(lines[-1])["versions"][-1])
    return lines[-1] if version > newest else lines[0]


@cache
def catalog_for_version(version: str) -> KeyCatalog:
    """The key catalog of the Cilium chart `version` (`1.19.0-rc.1`, `v1.19.6`): every key that version
    reads, closed where values.yaml lists every child, with the history of the keys other versions had.

    Raises InputError for a string that is not a version. The catalog is shared: do not modify it.
    """
    wanted = ChartVersion.parse(version)
    line = _pick_line(wanted)
    data = _line_data(line)
    known = [_version(v) for v in data["versions"]]
    judged = min(max(wanted, known[0]), known[-1])
    where = _rank(line, judged)
    ranks = _ranks(line)[1]
    catalog = KeyCatalog(source=_source(wanted, line, judged), version=str(wanted))
    history: dict[KeyPath, KeyHistory] = {}
    in_line: set[KeyPath] = set()
    for dotted, entry in data["keys"].items():
        path = _path(dotted)
        flags: str = entry[_FLAGS]
        span = entry[_LINE_FIRST], entry[_LINE_LAST]
        if span[0] is not None:
            in_line.add(path)
            if ranks[span[0]] <= where <= ranks[span[1]]:
                catalog.add(path, entry[_TYPE])
                catalog.seen_as[path] = flags[0]
                if "k" in flags:
                    catalog.closed.add(path)
                if "f" in flags:
                    catalog.free_form.add(path)
                if entry[_DEFAULT] is not None:
                    catalog.defaults[path] = entry[_DEFAULT]
                continue
        elif "r" in flags:
            in_line.add(path)
        history[path] = KeyHistory(entry[_FIRST], entry[_LAST], entry[_GONE], refused="r" in flags)
    catalog.closed.add(())
    catalog.history = history
    catalog.line_keys = frozenset(in_line)
    return catalog


@cache
def union_entries() -> tuple[tuple[KeyPath, str | None, str], ...]:
    """(path, type, flags) of every key some version of a supported line reads, newest line last (its
    type wins); `KeyCatalog.builtin` is built from it."""
    entries: list[tuple[KeyPath, str | None, str]] = []
    for line in supported_lines():
        for dotted, entry in _line_data(line)["keys"].items():
            if entry[_LINE_FIRST] is not None:
                entries.append((_path(dotted), entry[_TYPE], entry[_FLAGS]))
    return tuple(entries)


def history_for_version(version: str) -> tuple[dict[KeyPath, KeyHistory], frozenset[KeyPath]]:
    """The history part of `catalog_for_version` (for a chart read from disk), empty for a version with
    no catalog of its line or a version string that does not parse."""
    try:
        parsed = ChartVersion.parse(version)
    except InputError:
        return {}, frozenset()
    if parsed.line not in supported_lines():
        return {}, frozenset()
    catalog = catalog_for_version(str(parsed))
    return catalog.history, catalog.line_keys


def _source(wanted: ChartVersion, line: str, judged: ChartVersion) -> str:
    if wanted.line != line:
        return f"Cilium {line} key catalog (no catalog for {wanted.line}; judged as {judged})"
    if judged != wanted:
        return f"Cilium {wanted} key catalog (judged as {judged}, the newest known {line} release)"
    return f"Cilium {wanted} key catalog"
