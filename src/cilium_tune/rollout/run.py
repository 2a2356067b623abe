"""Runs: turn a target release state into a journaled list of steps, and resume or abort such a run.

`propose` reads the live release (its values, chart version and `cilium-config`), renders the chart
before and after with `helm template` to learn exactly what the change does to the agents (the
`cilium-config` keys that change from the live ConfigMap, whether the agent pod template changes), and asks
the planner for the steps. The run directory receives copies of every values file helm will be given, so a resumed run
uses what the run was planned with, pinned by the journal's digest.

An abort or a failed node's recovery puts the running chart version back; the journal records the chart
that does it (`restore_chart`), since the run's own chart may be a local package of the new version,
which helm installs whatever `--version` says.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml

from cilium_tune.adapters.helm import (
    Helm,
    ReleaseRef,
    get_metadata,
    get_values_all,
    get_values_user,
    template,
    template_args,
)
from cilium_tune.adapters.kube import NODES, KubeAPI
from cilium_tune.desired import chart_version_of
from cilium_tune.errors import CiliumTuneError, InputError
from cilium_tune.files import write_atomic
from cilium_tune.plan.planner import (
    Effect,
    Release,
    Target,
    plan_failure_recovery,
    plan_recovery,
    plan_rollout,
    rollout_notes,
)
from cilium_tune.plan.steps import HelmUpgrade, Step
from cilium_tune.restore_chart import RestoreFrom, profile_chart_hint, restore_chart
from cilium_tune.rollout.actions import Actions
from cilium_tune.rollout.baseline import CILIUM_CONFIG, replayable, running_config
from cilium_tune.rollout.executor import Executor
from cilium_tune.rollout.journal import Journal, locked, new_run_dir, sha256_file

AGENT_DAEMONSET = "cilium"


@dataclass(frozen=True)
class Proposal:
    """A run that could start: its steps and what they are based on (nothing written yet)."""

    kind: str
    release: Release
    nodes: tuple[str, ...]
    strategy: str
    target_files: tuple[Path, ...]
    target_version: str
    live_values: str
    live_version: str
    live_revision: int
    effect: Effect
    steps: tuple[Step, ...]
    notes: tuple[str, ...]
    unchanged: bool
    restore_chart: str | None = None  # the chart that installs live_version again (None: not known)

    def meta(self, previous: Sequence[str], target: Sequence[str], kubeconfig: str | None) -> dict[str, Any]:
        return {
            "release": msgspec.structs.asdict(self.release),
            "nodes": list(self.nodes),
            "strategy": self.strategy,
            "kubeconfig": kubeconfig,
            "effect": {
                "config_before": dict(self.effect.config_before),
                "config_after": dict(self.effect.config_after),
                "agent_template_changed": self.effect.agent_template_changed,
            },
            "previous": {"values_files": list(previous), "version": self.live_version},
            "restore_chart": self.restore_chart,
            "target": {"values_files": list(target), "version": self.target_version},
            "live_revision": self.live_revision,
        }


def cluster_nodes(kube: KubeAPI) -> tuple[str, ...]:
    """The cluster's nodes by name: the order nodes are switched in."""
    return tuple(sorted(str(n["metadata"]["name"]) for n in kube.list(NODES)))


def propose(
    *,
    kind: str,
    helm: Helm,
    kube: KubeAPI,
    release: Release,
    target_files: Sequence[Path],
    target_version: str,
    strategy: str,
    restore_from: RestoreFrom,
    prefix: str = "",
) -> Proposal:
    """Read the live release, render before and after, and plan the steps from live to the target; the
    chart that restores the live version is `restore_from`'s (`restored_with`). The config before is the
    live `cilium-config`; when the restore chart is the one rendered, a note says which keys the live
    values given back would not restore (`replay_note`)."""
    ref = ReleaseRef(release.namespace, release.name, release.kube_context, release.kubeconfig)
    meta = get_metadata(helm, ref)  # first, and the values at its revision: an upgrade between cannot mix them
    live_version, live_revision = str(meta.get("version") or ""), int(meta.get("revision") or 0)
    restore = restored_with(restore_from, release, live_version)
    at = live_revision or None  # the user-supplied values too: their nulls are deletions `--all` cannot show
    live_values = replayable(get_values_all(helm, ref, revision=at), get_values_user(helm, ref, revision=at))
    nodes = cluster_nodes(kube)
    live_config = running_config(kube, release.namespace)
    with _scratch(live_values) as live_file:
        before = render(helm, release, [live_file], live_version)
        after = render(helm, release, [str(p) for p in target_files], target_version)
    replayed = cilium_config(before)
    effect = Effect(  # "before" is what the agents run with; the renders tell what the change does to the pods
        replayed if live_config is None else live_config,
        cilium_config(after),
        agent_template_changed=_agent_template(before) != _agent_template(after),
    )
    notes = rollout_notes(effect, strategy)
    if live_config is None:
        notes.append(f"{release.namespace}/{CILIUM_CONFIG} not found: the config before is the chart's render of "
                     "the live values")
    # An abort or a rollback replays the live values through this very chart: does that give them back?
    elif restore == release.chart and (replay := replay_note(live_config, replayed, helm_major=helm.major)):
        notes.append(replay)
    unchanged = live_version == target_version and same_release(
        before, after, lambda: render(helm, release, [str(p) for p in target_files], target_version)
    )
    steps: tuple[Step, ...] = ()
    if not unchanged:
        target = Target(tuple(str(p) for p in target_files), target_version)
        steps = tuple(
            plan_rollout(release=release, nodes=nodes, target=target, effect=effect, strategy=strategy, prefix=prefix)
        )
    return Proposal(
        kind=kind,
        release=release,
        nodes=nodes,
        strategy=strategy,
        target_files=tuple(target_files),
        target_version=target_version,
        live_values=live_values,
        live_version=live_version,
        live_revision=live_revision,
        effect=effect,
        steps=steps,
        notes=tuple(notes),
        unchanged=unchanged,
        restore_chart=restore,
    )


def restored_with(source: RestoreFrom, release: Release, live_version: str) -> str | None:
    """The chart that installs `live_version` again (`cilium_tune.restore_chart`); when `source` cannot,
    an InputError (exit 2, nothing changed yet) if it is required, else None."""
    try:
        return restore_chart(
            source.chart,
            given_as=source.given_as,
            version=live_version,
            restoring=f"{release.namespace}/{release.name} runs",
            hint=profile_chart_hint(live_version),
            prefer=source.prefer,
        )
    except InputError:
        if source.required:
            raise
        return None


def start(proposal: Proposal, runs_dir: Path, kubeconfig: str | None, extra: dict[str, Any] | None = None) -> Journal:
    """Write the run directory (values copies, journal) for a proposal; the steps point at the copies."""
    run_dir = new_run_dir(runs_dir)
    values_dir = run_dir / "values"
    previous = values_dir / "00-live-before.yaml"
    write_atomic(previous, f"# chart-version: {proposal.live_version}\n" + proposal.live_values, scrub=False)
    copies = []
    for index, path in enumerate(proposal.target_files, 1):
        copy = values_dir / f"{index:02d}-{path.name}"
        shutil.copyfile(path, copy)
        copies.append(copy)
    target = Target(tuple(str(c) for c in copies), proposal.target_version)
    prefix = "rollback/" if proposal.kind == "rollback" else ""
    steps = list(
        plan_rollout(
            release=proposal.release,
            nodes=proposal.nodes,
            target=target,
            effect=proposal.effect,
            strategy=proposal.strategy,
            prefix=prefix,
        )
    )
    inputs = {str(p.relative_to(run_dir)): sha256_file(p) for p in (previous, *copies)}
    meta = proposal.meta([str(previous)], [str(c) for c in copies], kubeconfig) | (extra or {})
    return Journal.create(run_dir, kind=proposal.kind, meta=meta, steps=steps, inputs=inputs)


def recorded_proposal(journal: Journal) -> Proposal:
    """The proposal a run was started from, read back from its journal: its steps (their -f files are the
    run's copies), and the release, nodes, versions and effect they were planned on. What `apply` showed
    before it ran, from the run itself rather than its terminal output (the demo writes plan.txt so)."""
    meta = journal.meta
    previous = _previous(meta)
    _, _, live_values = Path(previous.values_files[0]).read_text(encoding="utf-8").partition("\n")
    effect = _effect(meta)
    return Proposal(
        kind=journal.kind,
        release=_release(meta),
        nodes=tuple(meta["nodes"]),
        strategy=meta["strategy"],
        target_files=tuple(Path(p) for p in meta["target"]["values_files"]),
        target_version=meta["target"]["version"],
        live_values=live_values,
        live_version=previous.version,
        live_revision=int(meta["live_revision"]),
        effect=effect,
        steps=tuple(journal.steps()),
        notes=tuple(rollout_notes(effect, meta["strategy"])),
        unchanged=False,
        restore_chart=meta.get("restore_chart"),
    )


def execute(journal: Journal, actions: Actions, echo: Callable[[str], None]) -> None:
    """Run (or resume) a run under its lock, with the node-failure recovery the planner gives."""
    with locked(journal.run_dir):
        journal.verify_digest()
        Executor(journal, actions, echo=echo, on_failure=_recovery_for(journal, echo)).run()


def abort(journal: Journal, actions: Actions, echo: Callable[[str], None]) -> None:
    """Take every node the run touched back to the previous settings, node by node, and restore the release."""
    with locked(journal.run_dir):
        journal.verify_digest()
        if journal.state == "succeeded":
            raise InputError(
                f"run {journal.run_id} finished: there is nothing to abort",
                hint="`cilium-tune rollback` goes back to the baseline",
            )
        if journal.state in ("aborted", "reverted"):
            echo(f"run {journal.run_id} is already {journal.state}: nothing to do")
            return
        if not journal.data["events"]:
            journal.set_state("aborted", "aborted before any step ran")
            echo(f"run {journal.run_id}: no step had run; aborted")
            return
        if journal.state != "aborting":
            meta = journal.meta
            touched = [n for n in meta["nodes"] if _touched(journal, n)]
            steps = _restorable(
                journal,
                plan_recovery(
                    release=_release(meta),
                    nodes=meta["nodes"],
                    restore=touched,
                    previous=_previous(meta),
                    effect=_effect(meta),
                    strategy=meta["strategy"],
                    prefix="abort/",
                ),
            )
            journal.set_recovery(steps, "aborted by the user")
            journal.set_state("aborting")
        Executor(journal, actions, echo=echo).run()


def _touched(journal: Journal, node: str) -> bool:
    """Whether the run started switching `node` (and did not already take it back)."""
    for step in journal.steps():
        if getattr(step, "node", None) == node and "switch/" in step.id:
            status = journal.status_of(step.id)
            if status in ("started", "done", "failed"):
                return True
    return False


def _recovery_for(journal: Journal, echo: Callable[[str], None]) -> Callable[[Step, CiliumTuneError], Sequence[Step]]:
    def recovery(step: Step, error: CiliumTuneError) -> Sequence[Step]:
        del error
        node = getattr(step, "node", None)
        if node is None or "switch/" not in step.id:
            return []
        meta = journal.meta
        group = step.id.rsplit("/", 2)[0]  # "switch", or "rollback/switch"
        switched = [n for n in meta["nodes"] if n != node and journal.status_of(f"{group}/{n}/uncordon") == "done"]
        steps = plan_failure_recovery(
            release=_release(meta),
            nodes=meta["nodes"],
            failed=node,
            switched=switched,
            previous=_previous(meta),
            effect=_effect(meta),
            strategy=meta["strategy"],
            while_draining=step.drains,
        )
        try:
            return _restorable(journal, steps)
        except InputError as refused:  # the run fails with the step's error; this says why nothing was undone
            echo(f"error: no recovery: {refused.message}")
            echo(f"hint: {refused.hint}")
            return []

    return recovery


def _release(meta: dict[str, Any]) -> Release:
    return Release(**meta["release"])


def _previous(meta: dict[str, Any]) -> Target:
    """The release state the run started from: the live values as copied into the run, their chart version,
    and the chart that installs it (a journal written before it was recorded: the release's chart)."""
    return Target(tuple(meta["previous"]["values_files"]), meta["previous"]["version"], meta.get("restore_chart"))


def _restorable(journal: Journal, steps: Iterable[Step]) -> list[Step]:
    """`steps`, unless one upgrades the release without a chart known to install the previous version: the
    run recorded none (a journal from before it was recorded, or a rollback whose chart is another version)
    and the release's chart is local, which helm installs whatever `--version` says."""
    meta, steps = journal.meta, list(steps)
    chart, version = meta["release"]["chart"], meta["previous"]["version"]
    upgrades = any(isinstance(step, HelmUpgrade) for step in steps)
    if upgrades and meta.get("restore_chart") is None and Path(chart).exists():
        raise InputError(
            f"run {journal.run_id} does not record a chart that installs {version} again, and its chart {chart} "
            f"is local (version {chart_version_of(chart)}): helm would install that under the values of {version}",
            hint=f"put {version} back by hand: helm upgrade with a {version} chart (a repository reference such "
            f"as cilium/cilium --version {version}) and -f {' -f '.join(meta['previous']['values_files'])}",
        )
    return steps


def _effect(meta: dict[str, Any]) -> Effect:
    e = meta["effect"]
    return Effect(e["config_before"], e["config_after"], e["agent_template_changed"])


class _scratch:
    """A temporary values file holding `text` (helm reads values from files)."""

    def __init__(self, text: str) -> None:
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="cilium-tune-")
        self.path = Path(self._dir.name) / "live.yaml"
        self.path.write_text(text, encoding="utf-8")

    def __enter__(self) -> str:
        return str(self.path)

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def render(helm: Helm, release: Release, files: Sequence[str], version: str) -> list[dict[str, Any]]:
    args = template_args(
        release=release.name, chart=release.chart, namespace=release.namespace, values_files=files, version=version
    )
    docs = [d for d in yaml.safe_load_all(template(helm, args)) if isinstance(d, dict)]
    return sorted(docs, key=lambda d: (str(d.get("kind")), str((d.get("metadata") or {}).get("name"))))


def same_release(
    before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]], render_again: Callable[[], list[dict[str, Any]]]
) -> bool:
    """True when the two renders describe the same objects, ignoring what the chart generates at random.

    The real chart makes fresh TLS certificates (hubble, clustermesh) on every render, so two renders of
    the same values never compare equal. Only when they differ is the target rendered a second time: an
    object that differs between two renders of the same input is random, and is left out of the comparison.
    """
    if before == after:
        return True
    first, second = _by_key(after), _by_key(render_again())
    random = {key for key, doc in first.items() if second.get(key) != doc}
    old = {key: doc for key, doc in _by_key(before).items() if key not in random}
    return old == {key: doc for key, doc in first.items() if key not in random}


def _by_key(docs: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(d.get("kind")), str((d.get("metadata") or {}).get("name"))): d for d in docs}


def cilium_config(docs: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The rendered `cilium-config` data as the cluster stores it (an empty YAML value is "", not None)."""
    for doc in docs:
        if doc.get("kind") == "ConfigMap" and (doc.get("metadata") or {}).get("name") == CILIUM_CONFIG:
            return {str(k): "" if v is None else str(v) for k, v in (doc.get("data") or {}).items()}
    return {}


def replay_note(live: Mapping[str, str], replayed: Mapping[str, str], *, helm_major: int) -> str | None:
    """A proposal note when the live values given back to helm (an abort's or a rollback's restore, with the
    chart at the live version) render another `cilium-config` than the live one, naming the keys; None when
    they render it again exactly.

    Known cause: Helm 3 types the numbers of a -f file as float64 where the chart's own values are
    json.Number, so `helm get values --all` replayed changes keys of the real chart (`if .Values.MTU` is
    false for a float 0, `kindIs "float64"` adds an `s`); Helm 4 reproduces them."""
    keys = sorted(k for k in set(live) | set(replayed) if live.get(k) != replayed.get(k))
    if not keys:
        return None
    shown = "; ".join(f"{k}: {live.get(k, 'unset')} live, {replayed.get(k, 'unset')} replayed" for k in keys)
    note = (f"an abort or a rollback of this run would not restore cilium-config exactly: helm {helm_major} renders "
            f"the live values given back with -f otherwise ({shown})")
    if helm_major == 3:
        note += (". Helm 3 types the numbers of a -f file as float64, unlike the chart's own; helm 4 replays them "
                 "exactly")
    return note


def _agent_template(docs: Sequence[dict[str, Any]]) -> Any:
    for doc in docs:
        if doc.get("kind") == "DaemonSet" and (doc.get("metadata") or {}).get("name") == AGENT_DAEMONSET:
            return (doc.get("spec") or {}).get("template")
    return None
