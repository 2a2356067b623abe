"""Build a plan from already-loaded inputs: the profile, its rendered overlays and an optional baseline.

Pure: no files are read and nothing runs here. The CLI loads the inputs and renders the result, and the
same `Plan` feeds `plan -o json`, the detailed exit code and (later) the executor.

Layer order is the runbook's: the captured baseline first, then the profile's overlays, then the one-time
netkit-migration overlay in phase 1 of a datapath switch only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cilium_tune.plan.baseline import Baseline
from cilium_tune.plan.steps import HelmRollback, HelmUpgrade, NodeStep, Step
from cilium_tune.values.diff import ValuesDiff, diff_values
from cilium_tune.values.loader import LoadedValues
from cilium_tune.values.merge import MergedValues, merge_values
from cilium_tune.values.paths import get_path

DEFAULT_DATAPATH_MODE = "veth"  # the chart's default for bpf.datapathMode
APPLY_TIMEOUT = "15m"  # the runbook's apply/migration timeout
ROLLBACK_TIMEOUT = "10m"  # the runbook's rollback timeout
MIGRATION_OVERLAY = "netkit-migrate"
NODE_SEQUENCE = ("cordon", "drain", "restart-agent", "wait-agent", "uncordon")


class OverlayLike(Protocol):
    """What the planner needs of a rendered overlay (values/overlays.py `Overlay`)."""

    @property
    def name(self) -> str: ...

    @property
    def filename(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Release:
    namespace: str
    name: str
    chart: str
    version: str
    kubeconfig: str | None = None
    kube_context: str | None = None


@dataclass(frozen=True)
class Layer:
    role: str  # baseline | overlay | one-time
    name: str
    path: str


@dataclass(frozen=True)
class DatapathChange:
    old: str
    new: str


@dataclass(frozen=True)
class Plan:
    profile: str
    release: Release
    layers: tuple[Layer, ...]
    migration_layer: Layer | None
    merged: MergedValues
    baseline: Baseline | None
    diff: ValuesDiff | None
    datapath_change: DatapathChange | None
    apply: tuple[Step, ...]
    rollback: tuple[Step, ...]
    notes: tuple[str, ...]

    @property
    def changes_pending(self) -> bool:
        """Terraform's notion: without a baseline everything is pending; with one, any diff is."""
        return self.diff is None or not self.diff.is_empty

    @property
    def migration_needed(self) -> bool:
        return self.datapath_change is not None


def build_plan(
    *,
    profile_name: str,
    release: Release,
    nodes: Sequence[str],
    overlays: Sequence[OverlayLike],
    overlay_dir: str,
    loaded_overlays: Sequence[LoadedValues],
    baseline: Baseline | None,
    chart_defaults: LoadedValues | None = None,
) -> Plan:
    """Lay out the plan. `loaded_overlays` are the overlays parsed by the values loader, in the same order,
    labelled with the paths they are passed to helm under (so provenance names the real files).
    With `chart_defaults` (the chart's values.yaml) the merged values are exactly what the templates see."""
    by_name = dict(zip((o.name for o in overlays), loaded_overlays, strict=True))
    regular = [o for o in overlays if o.name != MIGRATION_OVERLAY]
    migrate = next((o for o in overlays if o.name == MIGRATION_OVERLAY), None)

    def path_of(overlay: OverlayLike) -> str:
        return f"{overlay_dir.rstrip('/')}/{overlay.filename}"

    layers = [Layer("overlay", o.name, path_of(o)) for o in regular]
    from_file = baseline is not None and baseline.is_file
    if baseline is not None and baseline.is_file:
        layers.insert(0, Layer("baseline", "baseline", baseline.path))
    stack = ([baseline.values] if baseline else []) + [by_name[o.name] for o in regular]
    merged = merge_values(stack, chart_defaults)

    notes: list[str] = []
    # Like with like: with chart defaults, the baseline too is what the templates saw (Helm drops a
    # top-level null over a chart key from both sides, so it is no change).
    before = merge_values([baseline.values], chart_defaults).values if baseline and chart_defaults else None
    diff = diff_values(before or baseline.values.values, merged.values) if baseline else None
    if baseline is None:
        notes.append(
            f"no baseline: capture one first: helm -n {release.namespace} get values {release.name} --all "
            "-o yaml > before.yaml, add the release's chart version as a first line `# chart-version: X` "
            "(helm list shows it), then pass --baseline before.yaml. Until then the apply keeps the live "
            "values (--reuse-values) and the change cannot be shown"
        )
    elif not baseline.is_file:
        notes.append(
            f"baseline: the live release ({baseline.path}, from the facts snapshot); the apply keeps its values "
            "(--reuse-values). For an apply that does not depend on what is live, capture it to a file: "
            f"helm -n {release.namespace} get values {release.name} --all -o yaml > before.yaml "
            "(first line `# chart-version: X`), then pass --baseline before.yaml"
        )

    old_mode = _datapath_mode(baseline.values.values) if baseline else DEFAULT_DATAPATH_MODE
    new_mode = _datapath_mode(merged.values)
    change = DatapathChange(old_mode, new_mode) if old_mode != new_mode else None
    if change and baseline is None:
        notes.append(f"datapath mode assumed to be the chart default ({DEFAULT_DATAPATH_MODE}) before the change")

    files = tuple(layer.path for layer in layers)
    final = HelmUpgrade(
        purpose="apply the tuned values" if change is None else "phase 2: drop the one-time overlay",
        namespace=release.namespace,
        release=release.name,
        chart=release.chart,
        version=release.version,
        values_files=files,
        timeout=APPLY_TIMEOUT,
        reset_values=from_file,
        kube_context=release.kube_context,
    )
    apply: list[Step] = [final]
    migration_layer = None
    if change is not None:
        migration_layer = Layer("one-time", migrate.name, path_of(migrate)) if migrate else None
        apply = [*_switch_steps(release, nodes, files, migration_layer, change, from_file), final]
        if migration_layer is None:
            notes.append(
                f"datapath mode changes {change.old} -> {change.new} without a migration overlay: each node's "
                "agent refuses to start while pods with old-mode devices exist, so the drain is what makes it pass"
            )

    rollback: list[Step] = []
    if baseline is None:
        notes.append("rollback: no baseline, nothing to roll back to")
    elif baseline.live_revision is not None:
        rollback.append(
            HelmRollback(
                purpose=f"roll back to the live revision {baseline.live_revision}",
                namespace=release.namespace,
                release=release.name,
                revision=baseline.live_revision,
                timeout=ROLLBACK_TIMEOUT,
                kube_context=release.kube_context,
            )
        )
    elif baseline.chart_version is None:
        notes.append(
            f"rollback: {baseline.path} does not say which chart version it was captured from; pass "
            "--baseline-version (a rollback is never run against whatever chart is current)"
        )
    else:
        rollback.append(
            HelmUpgrade(
                purpose="roll back to the captured baseline",
                namespace=release.namespace,
                release=release.name,
                chart=release.chart,
                version=baseline.chart_version,
                values_files=(baseline.path,),
                timeout=ROLLBACK_TIMEOUT,
                kube_context=release.kube_context,
            )
        )
    if rollback and change is not None:
        notes.append(
            f"rolling back also switches the datapath {change.new} -> {change.old}: run it node by node "
            "(cordon, drain, restart the agent, uncordon) as for the forward switch"
        )

    return Plan(
        profile=profile_name,
        release=release,
        layers=tuple(layers),
        migration_layer=migration_layer,
        merged=merged,
        baseline=baseline,
        diff=diff,
        datapath_change=change,
        apply=tuple(apply),
        rollback=tuple(rollback),
        notes=tuple(notes),
    )


def _switch_steps(
    release: Release,
    nodes: Sequence[str],
    files: tuple[str, ...],
    migration_layer: Layer | None,
    change: DatapathChange,
    reset_values: bool,
) -> list[Step]:
    """The two-phase switch: new config everywhere (agents keep running), then node by node, then phase 2."""
    steps: list[Step] = []
    if migration_layer is not None:
        steps.append(
            HelmUpgrade(
                purpose=f"phase 1: datapath {change.old} -> {change.new} with the one-time clean-state overlay",
                namespace=release.namespace,
                release=release.name,
                chart=release.chart,
                version=release.version,
                values_files=(*files, migration_layer.path),
                timeout=APPLY_TIMEOUT,
                reset_values=reset_values,
                kube_context=release.kube_context,
            )
        )
    for node in nodes:
        for action in NODE_SEQUENCE:
            steps.append(
                NodeStep(
                    purpose=f"switch {node} to {change.new}",
                    action=action,
                    node=node,
                    namespace=release.namespace,
                    kube_context=release.kube_context,
                )
            )
    return steps


def _datapath_mode(values: dict[str, Any]) -> str:
    mode = get_path(values, "bpf.datapathMode", DEFAULT_DATAPATH_MODE)
    return str(mode) if mode not in (None, "") else DEFAULT_DATAPATH_MODE
