"""What `rollback` restores: a captured baseline, checked, and the release pinned to its chart version.

A rollback is never run against whatever chart is current: the chart version recorded at capture goes
with the values captured, and a baseline whose checksums no longer match is refused (it is not what was
captured, so it cannot be trusted to restore what was there). A local chart (a package or a directory,
`builtin:lab` included) must be that version: helm ignores `--version` for a local chart, so another
package would install its own version under the captured values (an rc.1 baseline on the 1.19.6 chart).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cilium_tune.errors import InputError
from cilium_tune.plan.baseline import load_baseline
from cilium_tune.plan.planner import Release
from cilium_tune.restore_chart import restore_chart
from cilium_tune.rollout import baseline as bl


@dataclass(frozen=True)
class RollbackTarget:
    """The release to roll back, the baseline it goes back to, and the files helm is given for it (-f order:
    the capture's values.yaml, then its user-values.yaml when the user deleted chart defaults with nulls,
    which `--all` cannot carry; see `plan.baseline.Baseline.restoring`)."""

    release: Release
    baseline: bl.CapturedBaseline
    files: tuple[Path, ...]


def rollback_target(
    *,
    profile_ref: str | None,
    to: str | None,
    chart: str | None,
    baselines: Path,
    kubeconfig: str | None,
    kube_context: str | None,
) -> RollbackTarget:
    """The profile's release, back to the baseline `to` (else the newest capture of that release)."""
    from cilium_tune.profile.load import load_profile

    profile = load_profile(profile_ref)
    namespace, name = profile.release.namespace, profile.release.name
    captured = bl.load(Path(to)) if to else bl.latest(baselines, namespace, name)
    if captured is None:
        raise InputError(
            f"no baseline of {namespace}/{name} under {baselines}",
            hint="pass --to DIR (a `cilium-tune baseline capture` directory)",
        )
    bl.verified(captured, "--to")
    chart_argument = chart or profile.release.chart_argument
    restore_chart(
        chart_argument,
        given_as=chart or profile.release.chart,
        version=captured.chart_version,
        restoring=f"the baseline {captured.path} was captured at",
        hint=f"pass the {captured.chart_version} chart with --chart (a package, or a repository reference such as "
        "cilium/cilium)",
    )
    release = Release(
        namespace,
        name,
        chart_argument,
        captured.chart_version,
        kubeconfig=kubeconfig or profile.cluster.kubeconfig,
        kube_context=kube_context or profile.cluster.kube_context,
    )
    restoring = load_baseline(str(captured.values_file)).restoring
    return RollbackTarget(release, captured, tuple(Path(values.source) for values in restoring))

