"""The desired state: what the chart will receive, and what is checked against it. One answer for every command.

`lint`, `plan` and `values merge` (and `apply`, `verify`, `bench`) all need the same derived state:
which values files helm gets and in what order, what they merge to (with the file and line behind every
key), which key catalog judges them, and what the preflight rules read. When two commands each built that
themselves they disagreed (lint forgot the live release that plan layered under the overlays), so it is
built here once.

    desired = load_desired(DesiredInputs(profile_ref="lab", facts=snapshot))
    desired.layers            # helm -f order: baseline or live release, overlays, user -f files, one-time
    desired.values            # the merge of the permanent layers, with provenance (values.merge)
    desired.effective         # the same over the chart's defaults, when a chart is known
    desired.catalog           # the key catalog of the chart version being installed
    desired.rule_context()    # what `run_rules` reads
    desired.release           # namespace, name, chart reference, pinned version (None without a profile)

`build_desired` is pure: every input arrives loaded (facts as a `Snapshot`, files as `LoadedValues`).
`load_desired` is the thin loader the CLI calls: it reads the profile, the baseline, the -f files and
the chart from disk, then calls `build_desired`.

Layer order is the runbook's and helm's: the baseline file first (or the live release from the facts,
which `--reuse-values` keeps under the overlays; under another chart version, their user-supplied values
only, see `baseline_layers`), then the profile's permanent overlays, then the user's
-f files, then the one-time overlay (the netkit migration's clean-state), which only phase 1 of a
datapath switch receives. `values` and the rules judge the state the cluster settles in, so they leave
the one-time layer out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from cilium_tune.errors import InputError

if TYPE_CHECKING:
    from cilium_tune.chart_files import ChartFiles
    from cilium_tune.facts.model import HelmRelease, Snapshot
    from cilium_tune.plan.baseline import Baseline
    from cilium_tune.profile import Profile
    from cilium_tune.rules import RuleContext
    from cilium_tune.values.catalog import KeyCatalog, UnknownKey
    from cilium_tune.values.diff import ValuesDiff
    from cilium_tune.values.loader import LoadedValues
    from cilium_tune.values.merge import MergedValues
    from cilium_tune.values.overlays import Overlay

Role = Literal["baseline", "live", "overlay", "one-time", "user"]
OverlaySource = Literal["auto", "disk", "profile"]
NO_PROFILE = "none"  # `--profile none`: only the -f files (and baseline) count
DEFAULT_HELM_MAJOR = 4


class ProfileChoice(msgspec.Struct, frozen=True):
    """Which profile a command uses and why, said the same way by every command (`profile: ...`)."""

    ref: str | None  # the built-in name or file, None for no profile
    reason: Literal["given", "default", "none-given", "only-files"]

    @property
    def label(self) -> str:
        """`skyforge-dev (default)`, `lab`, `none (-f files only)`, `none (--profile none)`."""
        if self.ref is None:
            return "none (-f files only)" if self.reason == "only-files" else "none (--profile none)"
        return f"{self.ref} (default)" if self.reason == "default" else self.ref


def choose_profile(ref: str | None, *, has_value_files: bool, default: str | None = None) -> ProfileChoice:
    """The profile a command runs with: the one named; `none` for none; else the default, except that -f
    files without --profile mean "just these files" (lint's and values merge's reading)."""
    from cilium_tune.profile import DEFAULT_PROFILE

    if ref == NO_PROFILE:
        return ProfileChoice(None, "none-given")
    if ref is not None:
        return ProfileChoice(ref, "given")
    if has_value_files:
        return ProfileChoice(None, "only-files")
    return ProfileChoice(default or DEFAULT_PROFILE, "default")


class Layer(msgspec.Struct, frozen=True):
    """One values file helm receives, in `-f` order, with the values it holds.

    `path` is what helm is given (`deploy/cilium-values.yaml`), or `live:NS/NAME@REV` for the live release,
    which helm keeps with --reuse-values instead of reading a file.
    """

    role: Role
    name: str
    path: str
    values: LoadedValues


class ReleaseIdentity(msgspec.Struct, frozen=True):
    """The Helm release a change targets, as the profile names it."""

    namespace: str
    name: str
    chart: str  # as helm takes it: repo/chart, a path, an OCI URL (builtin:lab resolved to its path)
    version: str  # the pinned chart version (helm --version)
    kubeconfig: str | None = None
    kube_context: str | None = None


class Chart(msgspec.Struct, frozen=True):
    """A local chart (directory or .tgz): where it is, the version its Chart.yaml declares, its defaults, and
    its files as read once (`files`; None for a bare values.yaml), which the key catalog is built from."""

    path: str
    version: str | None
    defaults: LoadedValues
    files: ChartFiles | None = None


class OverlayFile(msgspec.Struct, frozen=True):
    """One overlay as the profile renders it and as it is on disk, where helm will read it.

    `on_disk` is None when the file is missing; `differences` are the value changes from the rendering
    to the file (`diff` lines, credentials redacted), empty when helm would get the same values.
    """

    path: str
    rendered: str
    on_disk: str | None
    differences: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.on_disk is None:
            return "missing"
        if self.differences:
            return "differs from the profile"
        return "up to date" if self.on_disk == self.rendered else "up to date (comments differ)"


class OverlayMismatch(InputError):
    """The overlay files on disk and the profile disagree and nobody said which wins.

    `details` are the lines to show before the error: each differing file and its value changes.
    """

    def __init__(self, message: str, *, hint: str, details: Sequence[str]) -> None:
        super().__init__(message, hint=hint)
        self.details = tuple(details)


class DesiredState(msgspec.Struct, frozen=True):
    """What the chart will receive and everything that judges it. Frozen: callers read, never change.

    - `layers`: every values layer in helm's order (see the module docstring), one-time ones last.
    - `values`: the merge of the permanent layers (no chart defaults): what the user supplies, as
      `helm get values` would show it after the change. The rules read this.
    - `effective`: `values` coalesced over the chart's defaults (what the templates see); None without
      a chart.
    - `target_version`: the chart version being installed (the --chart package's, else the profile's
      pinned one, else the live release's); None when nothing says. The one target: the baseline layer,
      the rules (CT904) and apply's release all read it; `target_evidence` names where it came from.
    - `catalog`: the key catalog in force for `target_version`.
    - `overlay_files`: the profile's overlays next to the files on disk (empty when not read);
      `overlays_from` says which of the two the layers hold ("profile" or "disk").
    - `drift`: a baseline file against the live release, when both are known (what changed on the
      cluster since the capture); None otherwise.
    - `baseline_user_layered`: the baseline layer holds the baseline's user-supplied values, not its
      `--all` values (`target_version` is another chart version; see `baseline_layers`).
    """

    profile: Profile | None
    profile_choice: ProfileChoice
    release: ReleaseIdentity | None
    layers: tuple[Layer, ...]
    overlays: tuple[Overlay, ...]
    baseline: Baseline | None
    chart: Chart | None
    facts: Snapshot | None
    values: MergedValues
    effective: MergedValues | None
    target_version: str | None
    catalog: KeyCatalog
    helm_major: int = DEFAULT_HELM_MAJOR
    notes: tuple[str, ...] = ()
    overlay_files: tuple[OverlayFile, ...] = ()
    overlays_from: Literal["disk", "profile"] = "profile"
    drift: ValuesDiff | None = None
    target_evidence: str | None = None
    baseline_user_layered: bool = False

    @property
    def baseline_layer(self) -> Layer | None:
        """The first layer, when it holds the release's own values (the baseline, or the live release)."""
        first = self.layers[0] if self.layers else None
        return first if first is not None and first.role in ("baseline", "live") else None

    @property
    def overlay_texts(self) -> dict[str, str]:
        """Path -> the text helm will be given for each overlay layer (the rendering, or the file on disk)."""
        on_disk = {f.path: f.on_disk for f in self.overlay_files if f.on_disk is not None}
        rendered = {f.path: f.rendered for f in self.overlay_files}
        texts = {}
        for layer, overlay in zip(self.overlay_layers, self.overlays, strict=True):
            if self.overlays_from == "disk" and layer.path in on_disk:
                texts[layer.path] = on_disk[layer.path]
            else:
                texts[layer.path] = rendered.get(layer.path, overlay.text)
        return texts

    @property
    def overlay_layers(self) -> tuple[Layer, ...]:
        """The layers of the profile's overlays, in the order of `overlays` (the one-time one included)."""
        by_name = {layer.name: layer for layer in self.layers if layer.role in ("overlay", "one-time")}
        return tuple(by_name[overlay.name] for overlay in self.overlays)

    @property
    def permanent_layers(self) -> tuple[Layer, ...]:
        """The layers the settled release is made of (everything but the one-time overlay)."""
        return tuple(layer for layer in self.layers if layer.role != "one-time")

    @property
    def one_time_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.role == "one-time")

    @property
    def chart_values(self) -> MergedValues:
        """What the templates see: `effective` when the chart is known, else the user values."""
        return self.effective if self.effective is not None else self.values

    def installs(self, chart: str | None = None) -> ReleaseIdentity:
        """The release a change installs: the profile's, with `chart` (as the command was given it) in place
        of the profile's chart, else the --chart package the state was built with, at the version being
        installed (`target_version`: that package's, else the profile's pin). What plan prints and apply
        runs both come from here, so the steps name what will be installed."""
        if self.release is None:
            raise InputError("this command needs a profile naming the release", hint="pass --profile NAME|FILE")
        package = self.chart.path if self.chart is not None and self.chart.version else None
        return msgspec.structs.replace(self.release, chart=chart or package or self.release.chart,
                       version=self.target_version or self.release.version)

    def unknown_keys(self) -> list[UnknownKey]:
        """Keys of `values` the catalog in force does not know (the same check as rule CT101)."""
        from cilium_tune.values.catalog import unknown_keys

        return unknown_keys(self.values.values, self.catalog)

    def rule_context(self) -> RuleContext:
        """What the preflight rules read: the settled values, the facts, the profile, the baseline, the catalog."""
        from cilium_tune.rules import BaselineInfo, RuleContext

        baseline = self.baseline
        info = None
        if baseline is not None:
            info = BaselineInfo(
                baseline.values.values, baseline.path, baseline.chart_version, self.baseline_user_layered
            )
        target = None
        if self.target_version is not None and self.target_evidence is not None:
            target = (self.target_version, self.target_evidence)
        return RuleContext(
            values=self.values.values,
            facts=self.facts,
            profile=self.profile,
            baseline=info,
            catalog=self.catalog,
            origins=self.values.origins,
            target_version=target,
        )


def build_desired(
    *,
    profile: Profile | None,
    profile_choice: ProfileChoice | None = None,
    baseline: Baseline | None = None,
    value_files: Sequence[LoadedValues] = (),
    chart: Chart | None = None,
    facts: Snapshot | None = None,
    overlay_dir: str = "deploy",
    helm_major: int = DEFAULT_HELM_MAJOR,
    overlay_files: Mapping[str, str | None] | None = None,
    overlays_from: OverlaySource = "profile",
) -> DesiredState:
    """The desired state from loaded inputs. Pure: reads no file, calls no cluster or tool.

    `baseline` is a captured file; without one, the live release in `facts` (when there is one) is the
    baseline, as `--reuse-values` makes it. When both are known, their drift is reported and the
    rollback pins the chart version the cluster runs. `overlay_dir` is where the profile's overlays are
    handed to helm from (provenance names those paths).

    `overlay_files` (file name -> text on disk, None when missing) are the files helm will read; with
    them, `overlays_from` decides: "auto" refuses missing files and files whose values differ from the
    profile's rendering (OverlayMismatch, showing the difference), "disk" plans from the files, and
    "profile" from the rendering (with a note to re-render before applying). Without them (lint,
    render) the profile's rendering is used as it is.

    Facts from another cluster than the profile's (node names, kube context, release) are refused.
    """
    from cilium_tune.plan.baseline import live_baseline
    from cilium_tune.values.loader import load_values_text
    from cilium_tune.values.merge import merge_values
    from cilium_tune.values.overlays import render_overlays

    choice = profile_choice or ProfileChoice(profile.name if profile else None, "given" if profile else "none-given")
    notes: list[str] = []
    if profile is not None and facts is not None:
        _refuse_foreign_facts(profile, facts, notes)
    live = facts.helm_release if facts is not None else None
    drift = None
    if baseline is None and live is not None:
        baseline = live_baseline(
            live.namespace, live.name, live.revision, live.chart_version, live.computed_values, live.user_values
        )
    elif baseline is not None and live is not None:
        drift, baseline = _against_live(baseline, live, notes)

    release = _release(profile)
    found = chart_target(chart, release.version if release else None, live.chart_version if live else None)
    target, evidence = found if found is not None else (None, None)
    layers: list[Layer] = []
    user_layered = False
    if baseline is not None:
        first, user_layered = baseline_layers(baseline, target, notes)
        layers += first
    overlays = tuple(render_overlays(profile)) if profile is not None else ()
    base_dir = overlay_dir.rstrip("/") or "."
    files = _overlay_files(overlays, base_dir, overlay_files, helm_major) if overlay_files is not None else ()
    source: Literal["disk", "profile"] = "disk" if overlays_from == "disk" else "profile"
    if files:
        _check_overlay_files(files, overlays_from, base_dir, profile, notes)
    on_disk = {f.path: f.on_disk for f in files}
    one_time: list[Layer] = []
    for overlay in overlays:
        path = overlay.filename if base_dir == "." else f"{base_dir}/{overlay.filename}"
        text = on_disk.get(path) if source == "disk" else None
        layer = Layer(
            "one-time" if overlay.one_time else "overlay",
            overlay.name,
            path,
            load_values_text(overlay.text if text is None else text, path, helm=helm_major),
        )
        (one_time if overlay.one_time else layers).append(layer)
    layers += [Layer("user", Path(v.source).name, v.source, v) for v in value_files]
    layers += one_time

    permanent = [layer.values for layer in layers if layer.role != "one-time"]
    values = merge_values(permanent)
    effective = merge_values(permanent, chart.defaults) if chart is not None else None

    if chart is not None and release is not None and chart.version and chart.version != release.version:
        notes.append(
            f"the chart {chart.path} is version {chart.version}, the profile pins {release.version}: "
            f"values are judged against {chart.version}"
        )
    return DesiredState(
        profile=profile,
        profile_choice=choice,
        release=release,
        layers=tuple(layers),
        overlays=overlays,
        baseline=baseline,
        chart=chart,
        facts=facts,
        values=values,
        effective=effective,
        target_version=target,
        catalog=catalog_for(chart, target),
        helm_major=helm_major,
        notes=tuple(notes),
        overlay_files=files,
        overlays_from=source,
        drift=drift,
        target_evidence=evidence,
        baseline_user_layered=user_layered,
    )


def baseline_layers(baseline: Baseline, target: str | None, notes: list[str]) -> tuple[tuple[Layer, ...], bool]:
    """The layers the release's own values give helm, and whether they are the user-supplied values.

    The one place that decides it. While the chart version stays, the baseline as it is (`--all`: every
    default of its chart too), so the change starts exactly from the release; when the user deleted a
    chart default with a null, which `--all` cannot carry, the user-supplied values follow it
    (`Baseline.restoring`). Under another chart version
    those defaults would pin the old chart's (its image tag and digest, every default the new chart
    changed), so the user-supplied values are layered instead, as helm's --reuse-values does, and the new
    chart's defaults apply. A capture without them is refused (capture again); a hand-made file or a facts
    snapshot without them is layered with a warning, since nothing tells what it holds.
    """
    from cilium_tune.plan.baseline import null_paths

    role: Role = "baseline" if baseline.is_file else "live"
    name = "baseline" if baseline.is_file else "live release"
    old = baseline.chart_version
    nulls = null_paths(baseline.values.values) if baseline.is_file and not baseline.captured else []
    if nulls:
        shown = ", ".join(nulls[:3]) + (f" and {len(nulls) - 3} more" if len(nulls) > 3 else "")
        notes.append(
            f"the baseline {baseline.path} holds nulls ({shown}): given with -f, each deletes its key; if the "
            "file is `helm get values --all`, they are the chart's null defaults and the apply drops them "
            "(`cilium-tune baseline capture` writes the values without them)"
        )
    if target is None or old is None or old.lstrip("v") == target.lstrip("v"):
        first, *deleting = baseline.restoring
        then = tuple(Layer(role, f"{name} (user-supplied: its nulls delete keys)", v.source, v) for v in deleting)
        return (Layer(role, name, baseline.path, first), *then), False
    user = baseline.user_values
    if user is not None:
        whose = "the baseline's" if baseline.is_file else "the live release's"
        notes.append(f"chart {old} -> {target}: {whose} user-supplied values are kept, the new chart's defaults apply")
        if not baseline.is_file and not user.values and baseline.values.values:
            notes.append(
                f"the facts show no user-supplied values for {baseline.path}: if the release has values of its "
                "own, the snapshot lacks them (collect the facts again)"
            )
        return (Layer(role, f"{name} (user-supplied)", user.source, user),), True
    if baseline.captured:
        raise InputError(
            f"{baseline.path}: captured before cilium-tune kept the user-supplied values apart; it holds every "
            f"default of chart {old} and would pin chart {old}'s defaults on {target} (image tag included)",
            hint="capture the baseline again: cilium-tune baseline capture (then pass the new one)",
        )
    notes.append(
        f"the baseline {baseline.path} says chart {old}, the change installs {target}: if it is `helm get values "
        f"--all`, chart {old}'s defaults (image tag included) override {target}'s; `cilium-tune baseline "
        "capture` keeps the user-supplied values apart"
    )
    return (Layer(role, name, baseline.path, baseline.values),), False


def _refuse_foreign_facts(profile: Profile, facts: Snapshot, notes: list[str]) -> None:
    """InputError when the facts describe another cluster than the profile's (the plan would act on the
    wrong nodes and roll back to the wrong revision): a node the profile does not list (the switch would
    skip it), no node in common, another kube context or another release. Profile nodes the cluster
    lacks (a lab started with fewer nodes) are only noted."""
    problems = []
    if facts.is_known("nodes") and facts.nodes:
        want, have = {n.name for n in profile.nodes}, {n.name for n in facts.nodes}
        if have - want or not have & want:
            problems.append(f"nodes {', '.join(sorted(have))} (the profile has {', '.join(sorted(want))})")
        elif want - have:
            notes.append(f"profile nodes {', '.join(sorted(want - have))} are not in the facts: their steps would fail")
    wanted_context = profile.cluster.kube_context
    if wanted_context and facts.source.context and facts.source.context != wanted_context:
        problems.append(f"context {facts.source.context} (the profile uses {wanted_context})")
    release = facts.helm_release
    ours = f"{profile.release.namespace}/{profile.release.name}"
    if release is not None and f"{release.namespace}/{release.name}" != ours:
        problems.append(f"release {release.namespace}/{release.name} (the profile's is {ours})")
    if problems:
        where = f" of context {facts.source.context}" if facts.source.context else ""
        raise InputError(
            f"the facts{where} are not of profile {profile.name}'s cluster {profile.cluster.name}: they show "
            + "; ".join(problems),
            hint="collect the facts from the profile's cluster (`cilium-tune facts --context ...`), "
            "or pass the profile of the cluster they came from",
        )


def _against_live(baseline: Baseline, live: HelmRelease, notes: list[str]) -> tuple[ValuesDiff, Baseline]:
    """A baseline file next to the live release: what drifted since the capture (keys the file and the
    cluster disagree on, and keys set on the cluster since), and the baseline pinned to the chart version
    the cluster really runs, which is what a rollback must restore."""
    from cilium_tune.values.diff import ValuesDiff, diff_values
    from cilium_tune.values.paths import MISSING, get_path

    full = diff_values(baseline.values.values, live.computed_values)
    # Chart defaults only the live side shows are no drift; keys the user set on the cluster since are.
    entries = tuple(
        entry
        for entry in full.entries
        if entry.kind != "added" or get_path(live.user_values, entry.path, MISSING) is not MISSING
    )
    drift = ValuesDiff(entries)
    label = f"live {live.namespace}/{live.name}@{live.revision}"
    if entries:
        notes.append(
            f"the baseline {baseline.path} and the {label} differ in {len(entries)} key(s) (see Drift): "
            "capture the baseline again if the cluster is right"
        )
    if live.chart_version and baseline.chart_version != live.chart_version:
        notes.append(
            f"the baseline {baseline.path} says chart {baseline.chart_version or 'unknown'}, the cluster runs "
            f"{live.chart_version}: the rollback pins {live.chart_version}"
        )
        baseline = msgspec.structs.replace(baseline, chart_version=live.chart_version)
    return drift, baseline


def _overlay_files(
    overlays: Sequence[Overlay], base_dir: str, texts: Mapping[str, str | None], helm_major: int
) -> tuple[OverlayFile, ...]:
    """Each overlay's rendering next to its file on disk, with the value changes between the two."""
    from cilium_tune.values.diff import diff_values
    from cilium_tune.values.loader import load_values_text

    files = []
    for overlay in overlays:
        path = overlay.filename if base_dir == "." else f"{base_dir}/{overlay.filename}"
        on_disk = texts.get(overlay.filename)
        differences: tuple[str, ...] = ()
        if on_disk is not None and on_disk != overlay.text:
            disk_values = load_values_text(on_disk, path, helm=helm_major).values
            differences = tuple(entry.line() for entry in diff_values(overlay.values, disk_values).entries)
        files.append(OverlayFile(path, overlay.text, on_disk, differences))
    return tuple(files)


def _check_overlay_files(
    files: Sequence[OverlayFile],
    overlays_from: OverlaySource,
    base_dir: str,
    profile: Profile | None,
    notes: list[str],
) -> None:
    """Refuse what cannot be planned truthfully; note what the chosen side leaves out."""
    import shlex

    ref = profile.source.removeprefix("builtin:") if profile is not None else None
    named = f" -p {shlex.quote(ref)}" if ref and ref != "skyforge-dev" else ""
    render = f"cilium-tune render{named} --out {shlex.quote(base_dir)}"
    missing = [f.path for f in files if f.on_disk is None]
    differ = [f for f in files if f.differences]
    if overlays_from == "profile":
        if missing or differ:
            changed = ", ".join([*missing, *(f.path for f in differ)])
            notes.append(f"planned from the profile; {changed} must be rewritten first: {render}")
        return
    if missing:
        raise InputError(
            f"{', '.join(missing)}: missing, so helm would have nothing to read",
            hint=f"write the overlays first: {render} (or plan from the profile alone with --overlays profile)",
        )
    if differ and overlays_from == "auto":
        details = []
        for f in differ:
            details.append(f"{f.path} differs from the profile's rendering:")
            details += [f"  {line}" for line in f.differences]
        raise OverlayMismatch(
            f"{', '.join(f.path for f in differ)}: the values differ from what the profile renders",
            hint=f"say which wins: --overlays disk (plan what these files say) or --overlays profile "
            f"(then rewrite them: {render})",
            details=details,
        )
    for f in differ:
        notes.append(f"{f.path} differs from the profile; the plan follows the file (--overlays disk)")


def catalog_for(chart: Chart | None, version: str | None) -> KeyCatalog:
    """The key catalog that judges values for `version`: the chart's own keys (values.yaml, its commented
    examples, the keys its templates read) when the chart is at hand, else the generated catalog of that
    Cilium chart version, else (no version known, or not a version) the built-in one."""
    from cilium_tune.values.catalog import KeyCatalog
    from cilium_tune.values.catalogs import catalog_for_version

    if chart is not None and chart.files is not None:
        return KeyCatalog.from_chart_files(chart.files, with_builtin=False)
    if chart is not None:
        return KeyCatalog.from_chart(chart.path, with_builtin=False)
    if version:
        try:
            return catalog_for_version(version)
        except InputError:
            pass  # a chart version that is no Cilium version (a private chart): the built-in catalog
    return KeyCatalog.builtin()


def _release(profile: Profile | None) -> ReleaseIdentity | None:
    if profile is None:
        return None
    return ReleaseIdentity(
        namespace=profile.release.namespace,
        name=profile.release.name,
        chart=profile.release.chart_argument,
        version=profile.release.version,
        kubeconfig=profile.cluster.kubeconfig,
        kube_context=profile.cluster.kube_context,
    )


def chart_target(chart: Chart | None, pinned: str | None, live: str | None) -> tuple[str, str] | None:
    """(the chart version a change installs, the evidence path it comes from): the --chart package's, else
    the profile's pinned one, else the live release's; None when nothing says. The one place that decides."""
    if chart is not None and chart.version:
        return chart.version, "chart.version"
    if pinned:
        return pinned, "profile.release.version"
    if live:
        return live, "helm_release.chart_version"
    return None


# --- the thin loader: files in, build_desired out --------------------------------------------------------


class DesiredInputs(msgspec.Struct, frozen=True):
    """What a command was given, as the CLI parsed it (paths, not contents).

    `profile_ref`: a built-in name, a file, `none`, or None (the default; none when -f files are given
    and `require_profile` is false). `chart`: a chart directory, .tgz or bare values.yaml; None: no
    chart, so no chart defaults and the built-in catalog. `read_overlays`: read the overlay files in
    `overlay_dir` (what helm will be given) and settle them against the profile by `overlays_from`.
    """

    profile_ref: str | None = None
    value_files: tuple[str, ...] = ()
    baseline_path: str | None = None
    baseline_version: str | None = None
    chart: str | None = None
    facts: Snapshot | None = None
    overlay_dir: str = "deploy"
    helm_major: int = DEFAULT_HELM_MAJOR
    require_profile: bool = False
    read_overlays: bool = False
    overlays_from: OverlaySource = "auto"


def load_desired(inputs: DesiredInputs) -> DesiredState:
    """Read the inputs from disk and build the desired state (InputError naming file and line on bad input)."""
    from cilium_tune.plan.baseline import load_baseline
    from cilium_tune.profile import load_profile
    from cilium_tune.values.loader import load_values

    if inputs.require_profile and inputs.profile_ref == NO_PROFILE:
        raise InputError(
            "this command needs a profile", hint="pass --profile NAME|FILE (or leave it out for the default)"
        )
    choice = choose_profile(inputs.profile_ref, has_value_files=bool(inputs.value_files) and not inputs.require_profile)
    profile = load_profile(choice.ref) if choice.ref is not None else None
    baseline = load_baseline(inputs.baseline_path, inputs.baseline_version) if inputs.baseline_path else None
    files = [load_values(path, helm=inputs.helm_major) for path in inputs.value_files]
    chart = load_chart(inputs.chart, helm=inputs.helm_major) if inputs.chart else None
    return build_desired(
        profile=profile,
        profile_choice=choice,
        baseline=baseline,
        value_files=files,
        chart=chart,
        facts=inputs.facts,
        overlay_dir=inputs.overlay_dir,
        helm_major=inputs.helm_major,
        overlay_files=_read_overlays(inputs.overlay_dir) if inputs.read_overlays else None,
        overlays_from=inputs.overlays_from,
    )


def _read_overlays(folder: str) -> dict[str, str | None]:
    """The text of each overlay file (by file name) in `folder`; None for a missing one."""
    from cilium_tune.values.overlays import FILENAMES

    texts: dict[str, str | None] = {}
    for name in FILENAMES.values():
        path = Path(folder) / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            texts[name] = None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read it ({exc})", hint="check the file and its permissions") from None
    return texts


def load_chart(path: str, *, helm: int = DEFAULT_HELM_MAJOR) -> Chart:
    """A local chart, read once (`chart_files.read_chart`): its defaults (values.yaml), the version its
    Chart.yaml declares, and the files its key catalog is built from.

    A bare values.yaml stands for its chart too (defaults and keys, no version): the file people have at hand.
    """
    from cilium_tune.chart_files import read_chart
    from cilium_tune.values.loader import chart_defaults, load_values

    if path.endswith((".yaml", ".yml")) and Path(path).is_file():
        return Chart(path=path, version=None, defaults=load_values(path, helm=helm))
    files = read_chart(path)
    return Chart(path=path, version=files.version, defaults=chart_defaults(files, helm=helm), files=files)


def chart_version_of(path: str) -> str | None:
    """The `version:` of a chart directory's or .tgz's Chart.yaml (None when it does not say)."""
    from cilium_tune.chart_files import read_chart

    return read_chart(path, templates=False).version
