"""The preflight of a change: the rules run on the desired state with fresh facts of the live cluster.

`lint` runs the same rules on the same desired state (`cilium_tune.desired`), so what lint accepts the
apply accepts; here the facts are always live and the only choice is which judged rules to skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cilium_tune.errors import InputError

if TYPE_CHECKING:
    from cilium_tune.desired import DesiredState
    from cilium_tune.rules import LintResult


def preflight(desired: DesiredState, ignore: Sequence[str] = ()) -> LintResult:
    """The findings on `desired`, without the rules in `ignore`; an error finding means the change is refused
    (`LintResult.failed`). A rule id that does not exist is bad input (exit 2), not a rule silently kept."""
    from cilium_tune.rules import run_rules

    try:
        return run_rules(desired.rule_context(), ignore=ignore)
    except KeyError as exc:
        raise InputError(f"no rule {exc.args[0]!r} (--ignore)", hint="run `cilium-tune rules`") from None
