"""Profile YAML as data plus the line of every key, so validation errors can point at a line.

PyYAML's safe loader silently keeps the last of two equal keys and reports tabs with a cryptic
scanner message; both are common hand-editing slips in a profile, so they are caught here first
and reported with the file, the line and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cilium_tune.errors import InputError
from cilium_tune.inputs import check_yaml

Loc = tuple[str | int, ...]

try:  # libyaml is pinned in the lock file; the pure loader is the fallback.
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document: the plain data and the 1-based line of each key path."""

    source: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor that exists in the file."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document with safe loading; refuse tabs and duplicate keys."""
    _refuse_tabs(text, source)
    check_yaml(text, source)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(source, None)
        lines: dict[Loc, int] = {}
        _index(node, (), lines, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"{where}: {problem}", hint="fix the YAML syntax at that line") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: {exc}", hint="fix the YAML syntax") from None
    finally:
        loader.dispose()
    return YamlDocument(source, data, lines)


def _refuse_tabs(text: str, source: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            raise InputError(
                f"{source}:{number}: a tab is used for indentation",
                hint="YAML indentation must use spaces; replace the tab with spaces",
            )


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], source: str) -> None:
    """Record the line of every mapping key and list item; refuse duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise InputError(
                    f"{source}:{line}: duplicate key {key!r} (first set on line {seen[key]})",
                    hint="remove one of the two; YAML would silently keep only the last",
                )
            seen[key] = line
            lines[(*loc, key)] = line
            _index(value_node, (*loc, key), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            _index(item, (*loc, i), lines, source)
