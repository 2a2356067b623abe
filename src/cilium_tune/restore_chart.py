"""Which chart puts a chart version back: a plan's rollback steps, `rollback`, and a run's abort or recovery.

A restore is pinned to the version it goes back to (`helm upgrade CHART --version V -f <V's values>`), but
helm ignores `--version` for a local chart: a package or directory installs the version its Chart.yaml
declares. So the chart of a restore is either a repository or OCI reference (helm fetches V), or a local
chart (a path, `builtin:lab` included) of version V. Any other local chart is refused: it would install its
own version under V's values (`plan --chart cilium-1.19.6.tgz` over an rc.1 baseline once printed a
rollback that rendered image v1.19.6 with rc.1's values).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cilium_tune.errors import InputError


@dataclass(frozen=True)
class RestoreFrom:
    """The chart a restore would use (a plan's rollback steps, a run's abort or recovery), as helm takes it and
    as the user named it, unless `prefer` (the chart the change installs) is the version restored too.
    `required`: refuse when neither installs that version (plan, apply); otherwise there is no restore chart
    (a rollback run: going back matters more than undoing it)."""

    chart: str
    given_as: str
    required: bool = True
    prefer: str | None = None


def restore_chart(
    chart: str, *, given_as: str, version: str, restoring: str, hint: str, prefer: str | None = None
) -> str:
    """The chart that installs `version`: `prefer` (the chart a change installs, when it too is that
    version: the same chart the user gave), else `chart` (as helm takes it; `given_as` is how the user named
    it), else an InputError: "chart X is version A, but `restoring` B: ..." with `hint`. A local chart whose
    Chart.yaml does not say its version is taken at its word, as helm would."""
    if prefer is not None and _local_version(prefer) in (None, version):
        return prefer
    found = _local_version(chart)
    if found is not None and found != version:
        raise InputError(
            f"chart {given_as} is version {found}, but {restoring} {version}: helm would install {found} with "
            f"the values of {version}",
            hint=hint,
        )
    return chart


def _local_version(chart: str) -> str | None:
    """The version a local chart installs whatever `--version` says (None: a repository or OCI reference,
    which `--version` pins, or a Chart.yaml that does not say)."""
    from cilium_tune.desired import chart_version_of

    return chart_version_of(chart) if Path(chart).exists() else None


def profile_chart_hint(version: str) -> str:
    """The fix when the profile's chart cannot restore `version` (plan and apply name the profile's chart)."""
    return (
        "set the profile's release.chart to a repository reference such as cilium/cilium (pinned by --version), "
        f"or to a chart package of {version}"
    )
