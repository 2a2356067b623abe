"""What the terminal allows: its width (COLUMNS, else the real width, else 80) and whether to colour.

Colour follows `--color auto|always|never` (a root option); `auto` colours a TTY only and honours
NO_COLOR (https://no-color.org: any non-empty value turns colour off).
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cilium_tune.rules import Severity

COLOR_CHOICES = ("auto", "always", "never")
_META = "cilium_tune.color"
MIN_WIDTH = 40
_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def width() -> int:
    """Columns to fit: `COLUMNS` when set, the terminal's width on a TTY, 80 in a pipe or file."""
    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def remember_color(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Root `--color` callback: kept in the context's meta, which every subcommand's context shares."""
    if value is not None:
        ctx.meta[_META] = value
        ctx.color = {"always": True, "never": False}.get(value)  # click.echo strips colour off a TTY otherwise
    return value


def use_color(stream: Any) -> bool:
    """Whether text written to `stream` gets colour, per `--color` and NO_COLOR."""
    ctx = click.get_current_context(silent=True)
    choice = ctx.meta.get(_META, "auto") if ctx is not None else "auto"
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, severity: Severity) -> str:
    """A finding's severity in its colour (used only when `use_color` says so)."""
    return click.style(text, fg=_COLOURS[str(severity)], bold=True)
