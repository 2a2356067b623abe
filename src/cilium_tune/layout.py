"""Fitting text to a terminal width: words are never broken, shell commands continue with ` \\`, and the
`key = value  <- file:line` provenance column lines up.

Pure: the CLI measures the terminal (`cli/terminal.py`) and hands renderers a width; `None` means "as
wide as it comes" (files, `-o wide`). A single word longer than the width (a URL, a long path) is kept
whole on its own line rather than cut, so copy-paste keeps working.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Iterable, Sequence

_INDENT = re.compile(r"^\s*")


def wrap(text: str, width: int | None, *, indent: str = "", subsequent: str | None = None) -> list[str]:
    """`text` as lines of at most `width` characters, breaking only between words."""
    rest = indent if subsequent is None else subsequent
    if width is None or len(indent) + len(text) <= width:
        return [indent + text]
    return textwrap.wrap(
        text,
        width=max(width, len(rest) + 10),
        initial_indent=indent,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def fit(lines: Iterable[str], width: int | None, *, hang: int = 4) -> list[str]:
    """Every line that is too wide wrapped under its own indentation plus `hang` spaces."""
    out: list[str] = []
    for line in lines:
        lead = _INDENT.match(line)
        indent = lead.group(0) if lead else ""
        out.extend(wrap(line[len(indent):], width, indent=indent, subsequent=indent + " " * hang))
    return out


def wrap_command(words: Sequence[str], width: int | None, *, indent: str = "  ", comment: str = "") -> list[str]:
    """A shell command over lines ending in ` \\` (continuations indented 4 more), pasteable as it is.

    `words` are already shell-quoted. The trailing `comment` (`# [step-id]`) ends the last line, or
    goes on a line of its own above the command when it does not fit there.
    """
    one = indent + " ".join(words) + (f"  {comment}" if comment else "")
    if width is None or len(one) <= width:
        return [one]
    lines: list[str] = []
    units = _option_units(words)
    current = indent + units[0]
    for word in units[1:]:
        if len(current) + 1 + len(word) + 2 > width:
            lines.append(current + " \\")
            current = indent + "    " + word
        else:
            current += " " + word
    if comment and len(current) + 2 + len(comment) <= width:
        lines.append(f"{current}  {comment}")
    else:
        lines.append(current)
        if comment:
            lines.insert(0, indent + comment)
    return lines


def shell_words(line: str) -> list[str]:
    """A `shlex.join`ed command split back into its quoted words (a trailing heredoc marker kept whole)."""
    heredoc = " <<'EOF'"
    tail = [heredoc.strip()] if line.endswith(heredoc) else []
    body = line[: -len(heredoc)] if tail else line
    return [shlex.quote(word) for word in shlex.split(body)] + tail


def provenance(rows: Sequence[tuple[str, str]], width: int | None, *, indent: str = "  ") -> list[str]:
    """`left  <- source` rows with the `<-` column aligned; a row too wide for the column puts its
    source on the next line, in the same column, and wraps its left side between words."""
    if not rows:
        return []
    column = max(len(left) for left, _ in rows)
    if width is not None:
        column = max(sorted({len(left) for left, _ in rows}), key=lambda c: _fitting(rows, c, width - len(indent)))
    out: list[str] = []
    for left, source in rows:
        arrow = f"<- {source}"
        if len(left) <= column and (width is None or len(indent) + column + 2 + len(arrow) <= width):
            out.append(f"{indent}{left:<{column}}  {arrow}")
            continue
        out.extend(wrap(left, width, indent=indent, subsequent=indent + "    "))
        pad = indent + " " * (column + 2)
        if width is not None and len(pad) + len(arrow) > width:
            pad = indent + "    "
        out.extend(wrap(arrow, width, indent=pad, subsequent=pad + "   "))
    return out


def _fitting(rows: Sequence[tuple[str, str]], column: int, room: int) -> tuple[int, int]:
    """How many rows fit on one line with the `<-` column at `column` (more is better, then narrower)."""
    return sum(1 for left, source in rows if len(left) <= column and column + 5 + len(source) <= room), -column


def _option_units(words: Sequence[str]) -> list[str]:
    """Words with each `-f FILE`-style option kept next to its value, so a break never splits them."""
    units: list[str] = []
    for word in words:
        if units and units[-1].startswith("-") and " " not in units[-1] and "=" not in units[-1] \
                and not word.startswith("-"):
            units[-1] += " " + word
        else:
            units.append(word)
    return units
