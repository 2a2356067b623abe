#!/usr/bin/env python3
"""Generate the per-line key catalogs (src/cilium_tune/values/catalogs/cilium-X.Y.json) from real charts.

Every released Cilium chart package is read (values.yaml, its commented-out example keys, and the keys
the templates read as `.Values.a.b`); nothing of a chart's text is kept, only, per key path: its type,
its default (from the newest version of the line that has it in values.yaml), the first and last chart
versions that know it, the first version after that which no longer does ("gone"), and flags:
`v` a real key of values.yaml, `c` only a commented-out example, `t` only read by the templates,
`r` only read by templates/validate.yaml, which makes the install fail when it is set (a removed
option the chart refuses), `k` a closed map (every child is listed), `f` a free-form map (user-chosen
keys, e.g. nodeSelector). A line's file also lists the keys of other lines (flag `h`, history only) so
that a removed option can say when it went and a newer one when it came.

Each entry is `[type, default, first, last, gone, line_first, line_last, flags]`:
- `first`/`last`: the first and last release (X.Y.Z, no pre-release) that knows the key; keys only ever
  seen in pre-releases use those. `gone`: the first release after `last` (null while it is current).
- `line_first`/`line_last`: the same within this line, pre-releases and release candidates included
  (what decides whether `1.19.0-rc.1` knows the key); null for history-only entries.

Sources, in order of preference for a version found in several:
  --charts DIR   folders of cilium-X.Y.Z.tgz packages (the shared reference charts)
  --git REPO     a clone of the public cilium/charts repository (every release, at its root)

    scripts/gen_catalogs.py --charts /work/shared/charts --git /path/to/cilium-charts
    scripts/gen_catalogs.py ... --check    # exit 1 when the committed catalogs differ
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cilium_tune.values.catalog import MAP, KeyCatalog, template_keys
from cilium_tune.values.chart_versions import ChartVersion
from cilium_tune.values.loader import load_values_text
from cilium_tune.values.paths import KeyPath, format_path

OUT = Path(__file__).resolve().parent.parent / "src" / "cilium_tune" / "values" / "catalogs"
LINES = ("1.16", "1.17", "1.18", "1.19", "1.20")  # the lines a catalog is generated for
OLDEST_HISTORY = ChartVersion.parse("1.10.0")  # older releases only feed "removed in" history
_PACKAGE = re.compile(r"cilium-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\.tgz")


@dataclass
class Seen:
    """What one chart version says about one key."""

    kind: str | None
    default: Any
    flags: str


@dataclass
class History:
    """One key across every version read."""

    versions: list[ChartVersion] = field(default_factory=list)  # where the chart knows it (not `r`)
    last_seen: dict[str, Seen] = field(default_factory=dict)  # per line: the newest version's view
    line_versions: dict[str, list[ChartVersion]] = field(default_factory=dict)  # valid versions per line


def packages(charts: list[Path], git: Path | None) -> Iterator[tuple[ChartVersion, bytes]]:
    """(version, .tgz bytes) for every release, each version once, oldest first."""
    found: dict[ChartVersion, tuple[str, object]] = {}
    if git is not None:
        names = subprocess.run(
            ["git", "-C", str(git), "ls-tree", "--name-only", "HEAD"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.split()
        for name in names:
            if match := _PACKAGE.fullmatch(name):
                found[ChartVersion.parse(match.group(1))] = ("git", name)
    for folder in charts:
        for path in folder.glob("cilium-*.tgz"):
            if match := _PACKAGE.fullmatch(path.name):
                found[ChartVersion.parse(match.group(1))] = ("file", path)
    for version in sorted(found):
        if version < OLDEST_HISTORY:
            continue
        kind, where = found[version]
        if kind == "file":
            yield version, Path(str(where)).read_bytes()
        else:
            yield (
                version,
                subprocess.run(
                    ["git", "-C", str(git), "cat-file", "blob", f"HEAD:{where}"],
                    capture_output=True, check=True, timeout=60,
                ).stdout,
            )


def read_chart(blob: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The values.yaml text and the (name, text) of every template of a packaged chart."""
    values, templates = "", []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 2 or parts[1] == "charts":
                continue
            handle = archive.extractfile(member)
            assert handle is not None
            if parts[1:] == ["values.yaml"]:
                values = handle.read().decode("utf-8")
            elif parts[1] == "templates":
                templates.append((parts[-1], handle.read().decode("utf-8", errors="replace")))
    return values, templates


def scan(version: ChartVersion, blob: bytes) -> dict[KeyPath, Seen]:
    """Every key one chart version knows, with its type, default and flags."""
    text, templates = read_chart(blob)
    catalog = KeyCatalog()
    catalog.merge_values_text(text, f"cilium-{version}/values.yaml")
    defaults = load_values_text(text, "values.yaml").values
    real = set(_all_paths(defaults))
    commented = set(catalog.types) - real
    template_only: set[KeyPath] = set()
    refused: set[KeyPath] = set()
    for name, template in sorted(templates, key=lambda item: item[0].startswith("validate")):
        for path in template_keys(template):
            if catalog.is_free(path[:-1]) or path in real or path in commented:
                continue
            if not catalog.knows(path):
                catalog.add(path, None)
                catalog.types[path] = None  # read by a template: type unknown
            found = refused if name.startswith("validate") else template_only
            # the key and the parents it brought in (`containerRuntime` of `containerRuntime.integration`)
            found.update(path[:end] for end in range(1, len(path) + 1) if path[:end] not in real | commented)
    refused -= template_only
    seen: dict[KeyPath, Seen] = {}
    for path, kind in catalog.types.items():
        if catalog.is_free(path[:-1]):
            continue  # below a free-form map: user-chosen keys, not the chart's
        origin = "v" if path in real else "t" if path in template_only else "r" if path in refused else "c"
        flags = origin + ("k" if path in catalog.closed else "") + ("f" if path in catalog.free_form else "")
        default = _get(defaults, path) if origin == "v" and kind != MAP else None
        seen[path] = Seen(kind, default, flags)
    return seen


def _all_paths(values: dict[str, Any], prefix: KeyPath = ()) -> Iterator[KeyPath]:
    for key, value in values.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _all_paths(value, (*prefix, key))


def _get(values: dict[str, Any], path: KeyPath) -> Any:
    node: Any = values
    for key in path:
        node = node[key]
    return node


def build(charts: list[Path], git: Path | None) -> dict[str, dict[str, Any]]:
    """The catalog file of every line, as JSON-able dicts."""
    history: dict[KeyPath, History] = {}
    order: list[ChartVersion] = []
    for version, blob in packages(charts, git):
        order.append(version)
        for path, seen in scan(version, blob).items():
            entry = history.setdefault(path, History())
            entry.last_seen[version.line] = seen
            if "r" not in seen.flags:
                entry.versions.append(version)
                entry.line_versions.setdefault(version.line, []).append(version)
        print(f"read {version}: {len(history)} keys so far", file=sys.stderr)
    files = {}
    for line in LINES:
        line_versions = [v for v in order if v.line == line]
        keys: dict[str, list[Any]] = {}
        releases = [v for v in order if not v.pre]
        for path in sorted(history, key=format_path):
            entry = history[path]
            if not entry.versions:
                continue  # only ever refused by validate.yaml: nothing to say when it went
            stable = [v for v in entry.versions if not v.pre] or entry.versions
            first, last = stable[0], stable[-1]
            later = [v for v in releases if v > last]
            gone = str(later[0]) if later else None
            view = entry.last_seen.get(line)
            mine = entry.line_versions.get(line)
            if view is None or (mine is None and "r" not in view.flags):
                keys[format_path(path)] = [None, None, str(first), str(last), gone, None, None, "h"]
                continue
            span = [str(mine[0]), str(mine[-1])] if mine else [None, None]
            keys[format_path(path)] = [view.kind, view.default, str(first), str(last), gone, *span, view.flags]
        files[line] = {
            "line": line,
            "versions": [str(v) for v in line_versions],
            "generated_by": "scripts/gen_catalogs.py",
            "keys": keys,
        }
    return files


def render(data: dict[str, Any]) -> str:
    """Compact JSON with one key per line, so a regenerated catalog diffs by key."""
    head = {k: v for k, v in data.items() if k != "keys"}
    lines = [json.dumps(head, separators=(",", ":"))[:-1] + ',"keys":{']
    items = list(data["keys"].items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'), ensure_ascii=False)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=Path, action="append", default=[], help="folder of cilium-*.tgz")
    parser.add_argument("--git", type=Path, help="a clone of the cilium/charts repository")
    parser.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    args = parser.parse_args()
    files = build(args.charts, args.git)
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for line, data in files.items():
        target = OUT / f"cilium-{line}.json"
        text = render(data)
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.name)
        else:
            target.write_text(text)
            print(f"wrote {target} ({len(data['keys'])} keys, {len(text) // 1024} KiB)", file=sys.stderr)
    if stale:
        print(f"stale: {', '.join(stale)}: run scripts/gen_catalogs.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
