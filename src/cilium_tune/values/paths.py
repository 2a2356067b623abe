"""Dotted paths into Helm values: `ipam.operator.clusterPoolIPv4MaskSize`.

A key that holds a dot, a quote, a backslash, whitespace, or is empty is written in double quotes with
backslash escapes: `nodeSelector."kubernetes.io/os"`. `parse_path(format_path(p)) == p` for every path.
Lists are leaves (Helm replaces them whole), so paths never index into a list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias

from cilium_tune.errors import InputError

__all__ = ["MISSING", "KeyPath", "flatten", "format_path", "get_path", "iter_leaves", "parse_path"]

KeyPath: TypeAlias = tuple[str, ...]
"""A path as a tuple of map keys, outermost first."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A marker for "absent" that never equals a value (pass it as get_path's default to test presence)."""
_REQUIRED: Any = _Missing()

_NEEDS_QUOTES = frozenset('."\\ \t\n\r')
_ESCAPE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def format_segment(key: str) -> str:
    """One key as it appears in a dotted path (quoted only when it must be)."""
    if key and not any(ch in _NEEDS_QUOTES for ch in key):
        return key
    return '"' + "".join(_ESCAPE.get(ch, ch) for ch in key) + '"'


def format_path(path: KeyPath | list[str]) -> str:
    """`("nodeSelector", "kubernetes.io/os")` -> `nodeSelector."kubernetes.io/os"`."""
    return ".".join(format_segment(key) for key in path)


_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def parse_path(text: str) -> KeyPath:
    """`a."b.c".d` -> `("a", "b.c", "d")`; raise InputError with the position of a malformed path."""
    if not text:
        raise InputError("empty key path", hint='name a key such as bpf.datapathMode or a."b.c"')
    keys: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i, key = _quoted(text, i)
        else:
            end = text.find(".", i)
            end = n if end < 0 else end
            key = text[i:end]
            if not key or '"' in key:
                raise _bad_path(text, i, "expected a key")
            i = end
        keys.append(key)
        if i == n:
            return tuple(keys)
        if text[i] != ".":
            raise _bad_path(text, i, "expected '.' after a quoted key")
        i += 1


def _quoted(text: str, start: int) -> tuple[int, str]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return i + 1, "".join(out)
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _UNESCAPE:
                raise _bad_path(text, i, "unknown escape")
            out.append(_UNESCAPE[text[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _bad_path(text, start, "unterminated quote")


def _bad_path(text: str, pos: int, problem: str) -> InputError:
    return InputError(
        f"bad key path {text!r} at character {pos + 1}: {problem}",
        hint='separate keys with dots and quote keys that contain dots: nodeSelector."kubernetes.io/os"',
    )


def _as_path(path: str | KeyPath) -> KeyPath:
    return parse_path(path) if isinstance(path, str) else tuple(path)


def get_path(values: Mapping[str, Any], path: str | KeyPath, default: Any = _REQUIRED) -> Any:
    """The value at a dotted path (string or tuple); `default` if absent, else KeyError."""
    node: Any = values
    for key in _as_path(path):
        if not isinstance(node, Mapping) or key not in node:
            if default is _REQUIRED:
                raise KeyError(format_path(_as_path(path)))
            return default
        node = node[key]
    return node


def iter_leaves(values: Mapping[str, Any], prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Yield (path, value) for every leaf: scalars, nulls, lists and empty maps, in insertion order."""
    for key, value in values.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            yield from iter_leaves(value, path)
        else:
            yield path, value


def flatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`, keyed by formatted dotted path, sorted by path."""
    return {format_path(path): value for path, value in sorted(iter_leaves(values))}
