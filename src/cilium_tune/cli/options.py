"""Options several commands share, spelled and explained once, and the `profile:` line they all print."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cilium_tune.cli.completion_cmd import complete_profiles

if TYPE_CHECKING:
    from cilium_tune.desired import ProfileChoice

F = TypeVar("F", bound=Callable[..., Any])


def rule_ids(items: tuple[str, ...]) -> list[str]:
    """What `--select`/`--ignore IDS` name, repeated or comma-separated (`CT201,CT2 --ignore netkit-on-old-kernel`):
    rule ids, names or id prefixes, blanks around a comma allowed."""
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def profile_option(*, files_mean_none: bool) -> Callable[[F], F]:
    """`-p/--profile NAME|FILE|none`. With `files_mean_none`, -f files without --profile mean no profile."""
    default = "skyforge-dev; none when -f files are given" if files_mean_none else "skyforge-dev"
    return click.option(
        "-p",
        "--profile",
        "profile_ref",
        metavar="NAME|FILE|none",
        shell_complete=complete_profiles,
        help=f"Built-in profile, profile file, or `none` for no profile [default: {default}].",
    )


DEFAULT_TIMEOUT = 30.0
"""Seconds any one call to the API server (or one of helm's quick calls) may take unless --timeout says."""
CALL_TIMEOUT_HELP = "Give up on any one API call, and on helm's quick calls (version, get), after this long."


def timeout_option(
    *, default: float = DEFAULT_TIMEOUT, help: str = CALL_TIMEOUT_HELP, **extra: Any
) -> Callable[[F], F]:
    """`--timeout SECONDS`, a positive number, for every command that talks to a cluster or runs helm.

    A call that runs out of it ends with exit 3 and a message naming the call and the time it was given.
    """
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=help,
        **extra,
    )


def echo_profile(choice: ProfileChoice, *, err: bool = False, prefix: str = "") -> None:
    """The line every command that takes a profile prints first: `profile: skyforge-dev (default)`."""
    click.echo(f"{prefix}profile: {choice.label}", err=err)
