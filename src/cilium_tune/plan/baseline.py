"""What a baseline file says about itself.

A baseline is `helm get values --all` of the live release. Values alone do not say which chart version
produced them, and a rollback that does not pin that version silently takes whatever chart is current.
So a captured baseline starts with comment lines (`# chart-version: 1.18.6`, `# release: kube-system/cilium`)
that Helm ignores and this module reads. A hand-made baseline without them needs --baseline-version.

Without a file, the live release in a facts snapshot can serve as the baseline: its computed values are
what `helm get values --all` prints, and its revision is a rollback target helm itself pins
(`helm rollback RELEASE REVISION` restores that revision's chart and values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cilium_tune.values.emit import dump_yaml
from cilium_tune.values.loader import LoadedValues, load_values, load_values_text

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
    live_revision: int | None = None

    @property
    def is_file(self) -> bool:
        """True for a captured file (passed to helm with -f); False for the live release from facts."""
        return self.live_revision is None


def load_baseline(path: str, chart_version_override: str | None = None) -> Baseline:
    """Read a baseline file (InputError naming the file and line when it is not valid values YAML)."""
    values = load_values(path)
    with open(path, encoding="utf-8-sig") as handle:
        header = chart_version(handle.read())
    return Baseline(path, values, chart_version_override or header)


def live_baseline(
    namespace: str, name: str, revision: int, chart_version: str | None, values: dict[str, Any]
) -> Baseline:
    """The live release (from a facts snapshot) as a baseline; origins read `live:NS/NAME@REV:line`, the line
    being that of `helm get values --all -o yaml`, which prints the same sorted YAML."""
    label = f"live:{namespace}/{name}@{revision}"
    return Baseline(label, load_values_text(dump_yaml(values), label), chart_version, live_revision=revision)
