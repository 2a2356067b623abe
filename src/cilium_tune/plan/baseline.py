"""What a baseline file says about itself.

A baseline is `helm get values --all` of the live release. Values alone do not say which chart version
produced them, and a rollback that does not pin that version silently takes whatever chart is current.
So a captured baseline starts with comment lines (`# chart-version: 1.18.6`, `# release: kube-system/cilium`)
that Helm ignores and this module reads. A hand-made baseline without them needs --baseline-version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cilium_tune.values.loader import LoadedValues, load_values

_HEADER = re.compile(r"^#\s*(?P<key>[a-z-]+)\s*:\s*(?P<value>\S+)\s*$")


def header_fields(text: str) -> dict[str, str]:
    """The `# key: value` lines at the top of a baseline file (stops at the first non-comment line)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        match = _HEADER.match(line)
        if match:
            fields.setdefault(match["key"], match["value"])
    return fields


def chart_version(text: str) -> str | None:
    """The chart version a baseline was captured from, when its header says."""
    return header_fields(text).get("chart-version")


@dataclass(frozen=True)
class Baseline:
    """The captured values a change starts from, and the chart version they were captured with."""

    path: str
    values: LoadedValues
    chart_version: str | None


def load_baseline(path: str, chart_version_override: str | None = None) -> Baseline:
    """Read a baseline file (InputError naming the file and line when it is not valid values YAML)."""
    values = load_values(path)
    with open(path, encoding="utf-8-sig") as handle:
        header = chart_version(handle.read())
    return Baseline(path, values, chart_version_override or header)
