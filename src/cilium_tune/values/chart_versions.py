"""Cilium chart versions (SemVer 2: `1.19.0-rc.1 < 1.19.0 < 1.19.6`), ordered as Helm orders them.

Pre-releases sort before their release, and their dot-separated parts compare numerically when both
are numbers, else as text (`1.19.0-pre.3 < 1.19.0-rc.0 < 1.19.0-rc.1`). Build metadata (`+abc`) is
ignored. PEP 440 parsers would not do: they read `pre` as a spelling of `rc`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, total_ordering

from cilium_tune.errors import InputError

__all__ = ["ChartVersion"]

_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?")


@total_ordering
@dataclass(frozen=True)
class ChartVersion:
    """A parsed chart version; `str()` gives it back without a leading `v` or build metadata."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ChartVersion:
        """`1.19.0-rc.1` (or `v1.19.0-rc.1`); InputError for anything else."""
        match = _SEMVER.fullmatch(text.strip())
        if match is None:
            raise InputError(
                f"{text!r} is not a chart version", hint="write it as MAJOR.MINOR.PATCH, e.g. 1.19.6 or 1.19.0-rc.1"
            )
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else ())

    @property
    def line(self) -> str:
        """The minor line, `1.19`."""
        return f"{self.major}.{self.minor}"

    @cached_property
    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """The sort key, computed once: a catalog compares the same few versions thousands of times."""
        parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, parts)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ChartVersion):
            return NotImplemented
        return self._key < other._key

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{'.'.join(self.pre)}" if self.pre else base
