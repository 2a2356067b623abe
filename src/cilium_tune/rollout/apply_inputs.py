"""What `apply` installs: the one desired state over the live cluster, as a release and helm's -f files.

The desired state (`cilium_tune.desired`) is built over fresh facts and a captured baseline, never over
`--reuse-values`: a run must be able to go back to exactly what was there, and a resumed run must give
helm the files it was planned with, so every layer becomes a file (the profile's overlays are written out
as rendered) and the baseline is a capture on disk: its values.yaml on the chart version it was captured
from, its user-values.yaml under another one (the new chart's defaults apply; `desired.baseline_layers`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cilium_tune.adapters.helm import Helm, ReleaseRef
from cilium_tune.adapters.kube import KubeAPI
from cilium_tune.desired import DesiredInputs, DesiredState, load_desired
from cilium_tune.errors import InputError
from cilium_tune.files import write_all_atomic
from cilium_tune.plan.planner import Release
from cilium_tune.restore_chart import RestoreFrom
from cilium_tune.rollout import baseline as bl


@dataclass(frozen=True)
class ApplyRequest:
    """What `apply` was asked for, as the CLI parsed it (references and paths; nothing read yet)."""

    profile_ref: str | None
    baseline_ref: str | None = None
    chart: str | None = None
    value_files: tuple[str, ...] = ()
    probe_nodes: bool = True
    kubeconfig: str | None = None
    kube_context: str | None = None


def desired_for_apply(
    request: ApplyRequest, kube: KubeAPI, helm: Helm, baselines: Path, echo: Callable[[str], None]
) -> DesiredState:
    """The one desired state over the baseline and fresh facts of the live cluster (the profile is required:
    it names the release). A chart given as a local path also gives the chart's defaults and key catalog."""
    from cilium_tune.facts.collect import CollectOptions, collect
    from cilium_tune.profile.load import load_profile

    profile = load_profile(request.profile_ref)
    ns, name = profile.release.namespace, profile.release.name
    if request.probe_nodes:
        echo("collecting facts, with a probe on every node...")
    facts = collect(kube, CollectOptions(namespace=ns, release=name, probe_nodes=request.probe_nodes))
    ref = ReleaseRef(ns, name, request.kube_context, request.kubeconfig)
    captured = baseline_for_apply(helm, kube, ref, request.baseline_ref, baselines, echo)
    local_chart = request.chart if request.chart and Path(request.chart).exists() else None
    desired = load_desired(
        DesiredInputs(
            profile_ref=request.profile_ref,
            value_files=request.value_files,
            baseline_path=str(captured.values_file),
            chart=local_chart,
            facts=facts,
            require_profile=True,
        )
    )
    for note in desired.notes:
        echo(f"note: {note}")
    return desired


def baseline_for_apply(
    helm: Helm, kube: KubeAPI, ref: ReleaseRef, given: str | None, baselines: Path, echo: Callable[[str], None]
) -> bl.CapturedBaseline:
    """The baseline given, else the newest capture of this release, else a new capture: an apply never
    starts without a recorded state to go back to, nor from one changed since it was captured."""
    if given is not None:
        return bl.verified(bl.load(Path(given)), "--baseline")
    found = bl.latest(baselines, ref.namespace, ref.name)
    if found is not None:
        echo(f"baseline: {found.path}")
        return bl.verified(found, "--baseline")
    captured = bl.capture(helm, kube, ref, baselines)
    echo(f"baseline captured: {captured.path}")
    return captured


def release_for_apply(desired: DesiredState, chart: str | None) -> Release:
    """The release the profile names, with the chart given on the command line in place of the profile's and
    the desired state's target version (a local --chart package's version, else the profile's pin)."""
    target = desired.installs(chart)
    return Release(target.namespace, target.name, target.chart, target.version, kubeconfig=target.kubeconfig,
                   kube_context=target.kube_context)


def restore_from(desired: DesiredState, release: Release) -> RestoreFrom:
    """The chart an apply's abort or recovery puts the running version back with: the chart `release`
    installs when it is the running version, else the profile's (a local --chart package of the new version
    installs itself, whatever `--version` says). The apply is refused when neither is (`run.restored_with`)."""
    if desired.release is None or desired.profile is None:
        raise InputError("apply needs a profile naming the release", hint="pass --profile NAME|FILE")
    return RestoreFrom(desired.release.chart, f"{desired.profile.release.chart} (the profile's release.chart)",
                       prefer=release.chart)


def helm_files(desired: DesiredState, folder: Path) -> list[Path]:
    """The permanent layers as files helm reads, in -f order (the profile's overlays written into `folder` as
    rendered; the one-time clean-state overlay is left out: the executor's strategy carries out the switch).

    The overlays are written together, all or nothing, owner-readable only and unscrubbed: they are values
    helm installs, so a credential in them must reach helm as it is (`files.write_all_atomic`)."""
    texts = {overlay.name: overlay for overlay in desired.overlays}
    files = []
    written: dict[str | os.PathLike[str], str | bytes] = {}
    for layer in desired.permanent_layers:
        if layer.role == "overlay":
            path = folder / texts[layer.name].filename
            written[path] = texts[layer.name].text
            files.append(path)
        elif layer.role == "live":
            raise InputError("apply needs a captured baseline file", hint="`cilium-tune baseline capture`")
        else:
            files.append(Path(layer.path))
    write_all_atomic(written, scrub=False)
    return files
