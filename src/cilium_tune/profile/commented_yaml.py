"""Write YAML text with a comment above each key, byte-for-byte deterministic.

PyYAML's dumper cannot place comments and its quoting depends on the libyaml build, so files meant
for people (rendered overlays, the profile starter) are written here: block style only, a string
stays plain only when it is a simple word that reads back as the same string in YAML 1.1 (what
PyYAML and Helm's parser use), otherwise it is double-quoted with JSON escapes (valid YAML).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

Path = tuple[str, ...]

_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./+-]*")
# Plain words Go's YAML parser (Helm) reads as numbers or booleans although PyYAML reads strings.
_GO_NOT_STRING = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?0[oObBxX][0-9a-fA-F_]*|[-+]?[0-9][0-9_]*|[yYnN]"
)
_COMMENT_WIDTH = 100


def scalar(value: Any) -> str:
    """One scalar as YAML text that PyYAML and Helm both read back as `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and not _GO_NOT_STRING.fullmatch(value) and _reads_back(value):
            return value
        return _double_quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} as a YAML scalar")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same answers, much faster


def _reads_back(word: str) -> bool:
    """True when `word` written plain parses as that same string (not `...`, `---`, a number, null...)."""
    try:
        return bool(yaml.load(word, Loader=_LOADER) == word)
    except yaml.YAMLError:
        return False


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _printable(ch: str) -> bool:
    """YAML's printable set minus the characters YAML 1.1 treats as line breaks (NEL, LS, PS)."""
    code = ord(ch)
    if code in (0x2028, 0x2029):
        return False
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def _double_quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return '"' + "".join(out) + '"'


def _comment_text(text: str) -> str:
    return "".join(ch if _printable(ch) else "?" for ch in text)


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e+100 -> 1.0e+100
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def dump(
    data: Mapping[str, Any],
    comments: Mapping[Path, str] | None = None,
    *,
    header: str | None = None,
    sort_keys: bool = True,
) -> str:
    """YAML text of `data`; `comments[path]` goes above the key at `path` (list indices left out)."""
    lines: list[str] = []
    if header:
        lines.extend(_comment(header, ""))
    _mapping(data, (), 0, comments or {}, sort_keys, lines, first_item=True)
    return "\n".join(lines) + "\n"


def _comment(text: str, indent: str) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = _comment_text(paragraph)
        wrapped = textwrap.wrap(paragraph, _COMMENT_WIDTH - len(indent) - 2) or [""]
        out.extend(f"{indent}# {w}".rstrip() for w in wrapped)
    return out


def _mapping(
    data: Mapping[str, Any],
    path: Path,
    depth: int,
    comments: Mapping[Path, str],
    sort_keys: bool,
    lines: list[str],
    *,
    first_item: bool,
    prefix: str | None = None,
) -> None:
    indent = "  " * depth
    keys = sorted(data) if sort_keys else list(data)
    for n, key in enumerate(keys):
        value = data[key]
        here = (*path, str(key))
        lead = prefix if (prefix is not None and n == 0) else indent
        note = comments.get(here)
        if note and first_item:
            lines.extend(_comment(note, indent if lead == indent else lead.replace("- ", "  ")))
        name = scalar(str(key))
        if isinstance(value, Mapping) and value:
            lines.append(f"{lead}{name}:")
            _mapping(value, here, depth + 1, comments, sort_keys, lines, first_item=first_item)
        elif isinstance(value, Sequence) and not isinstance(value, str) and value:
            lines.append(f"{lead}{name}:")
            _sequence(value, here, depth + 1, comments, sort_keys, lines, first_item=first_item)
        elif isinstance(value, Mapping):
            lines.append(f"{lead}{name}: {{}}")
        elif isinstance(value, Sequence) and not isinstance(value, str):
            lines.append(f"{lead}{name}: []")
        else:
            lines.append(f"{lead}{name}: {scalar(value)}")


def _sequence(
    items: Sequence[Any],
    path: Path,
    depth: int,
    comments: Mapping[Path, str],
    sort_keys: bool,
    lines: list[str],
    *,
    first_item: bool,
) -> None:
    indent = "  " * (depth - 1) + "  "
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and item:
            _mapping(
                item,
                path,
                depth + 1,
                comments,
                sort_keys,
                lines,
                first_item=first_item and i == 0,
                prefix=f"{indent}- ",
            )
        elif isinstance(item, Mapping | Sequence) and not isinstance(item, str):
            raise TypeError("nested empty collections or lists of lists are not written")
        else:
            lines.append(f"{indent}- {scalar(item)}")
