"""Which chart puts a chart version back: a plan's rollback steps, `rollback`, and a run's abort or recovery.

A restore is pinned to the version it goes back to (`helm upgrade CHART --version V -f <V's values>`), but
helm ignores `--version` for a local chart: a package or directory installs the version its Chart.yaml
declares. So the chart of a restore is either a repository or OCI reference (helm fetches V), or a local
chart (a path, `builtin:lab` included) of version V. Any other local chart is refused: it would install its
own version under V's values (`plan --chart cilium-1.19.6.tgz` over an rc.1 baseline once printed a
rollback that rendered image v1.19.6 with rc.1's values).
"""

from __future__ import annotations

from pathlib import Path

from cilium_tune.errors import InputError


def restore_chart(chart: str, *, given_as: str, version: str, restoring: str, hint: str) -> str:
    """`chart` (as helm takes it; `given_as` is how the user named it) when it installs `version`, else an
    InputError: "chart X is version A, but `restoring` B: ..." with `hint`. A chart whose Chart.yaml does not
    say its version is taken at its word, as helm would."""
    from cilium_tune.desired import chart_version_of

    if not Path(chart).exists():
        return chart  # a repository or OCI reference: pinned by --version
    found = chart_version_of(chart)
    if found is not None and found != version:
        raise InputError(
            f"chart {given_as} is version {found}, but {restoring} {version}: helm would install {found} with "
            f"the values of {version}",
            hint=hint,
        )
    return chart
