"""Values trees are built with CPython's cyclic garbage collector paused.

Loading a large values file allocates tens of thousands of YAML nodes, dicts and origin records, and
merging allocates as many again. Every few hundred allocations the generational collector runs, and as
the new objects survive it scans them again in the older generations: looking for reference cycles that
these trees cannot have (the composer shares a node for an alias, it never points back to a parent, and
a value that contains itself is refused before composing). On `scripts/bench_values.py` (4 files of
5,000 keys, idle machine) that scanning was about half of the load time.

Reference counting still frees every object at once; only the search for cycles is deferred, and the
collector is switched back on when the outermost paused call returns (it is left alone if the caller
had already switched it off).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def cycle_collection_paused(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` with the cyclic collector off, restoring it afterwards (also on an exception)."""

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()

    return paused
