"""Build a plan from already-loaded inputs: the profile, its rendered overlays and an optional baseline.

Pure: no files are read and nothing runs here. The CLI loads the inputs and renders the result, and the
same `Plan` feeds `plan -o json`, the detailed exit code and (later) the executor.

Layer order is the runbook's: the captured baseline first, then the profile's overlays, then the one-time
netkit-migration overlay in phase 1 of a datapath switch only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from cilium_tune.errors import InputError
from cilium_tune.plan.baseline import Baseline
from cilium_tune.plan.steps import (
    HOLD_AGENTS,
    CheckNode,
    Cordon,
    DeleteDaemonSetPods,
    EvictPods,
    HelmRollback,
    HelmUpgrade,
    LabelNode,
    NodeConfig,
    RemoveCheckPods,
    RestartAgent,
    RestartOperator,
    Step,
)
from cilium_tune.restore_chart import RestoreFrom, profile_chart_hint, restore_chart
from cilium_tune.values.diff import ValuesDiff, diff_values
from cilium_tune.values.loader import LoadedValues
from cilium_tune.values.merge import MergedValues, merge_values
from cilium_tune.values.paths import get_path

if TYPE_CHECKING:
    from cilium_tune.desired import DesiredState

DEFAULT_DATAPATH_MODE = "veth"  # the chart's default for bpf.datapathMode
APPLY_TIMEOUT = "15m"  # the runbook's apply/migration timeout
ROLLBACK_TIMEOUT = "10m"  # the runbook's rollback timeout
FILE_ROLES = ("baseline", "overlay", "user")  # the layers helm reads with -f (the live release it keeps itself)


class LayerLike(Protocol):
    """What the planner needs of a values layer (`cilium_tune.desired.Layer`)."""

    @property
    def role(self) -> str: ...  # baseline | live | overlay | user | one-time

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def values(self) -> LoadedValues: ...


class Release(msgspec.Struct, frozen=True):
    namespace: str
    name: str
    chart: str
    version: str
    kubeconfig: str | None = None
    kube_context: str | None = None


class Layer(msgspec.Struct, frozen=True):
    role: str  # baseline | overlay | one-time
    name: str
    path: str


class DatapathChange(msgspec.Struct, frozen=True):
    old: str
    new: str


class Plan(msgspec.Struct, frozen=True):
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
    layers: Sequence[LayerLike],
    merged: MergedValues,
    baseline: Baseline | None,
    chart_defaults: LoadedValues | None = None,
    strategy: str = "node-config",
    restore_from: RestoreFrom | None = None,
) -> Plan:
    """Lay out the plan of a desired state: `layers` are its values layers in helm's -f order (the one-time
    overlay among them), `merged` what they merge to (over `chart_defaults`, when the chart is known), as
    `cilium_tune.desired` built them; the planner does not merge them again. It decides which layers helm
    reads (the live release is kept with --reuse-values, the one-time overlay only in phase 1 of a switch)
    and what the steps are. `baseline` is what the diff and the rollback start from (the one merge here is
    that "before" side: the baseline as the templates saw it). The rollback steps of a baseline file install
    the chart `restore_from` gives for the baseline's version (default: the release's chart), or the plan is
    refused (InputError: `cilium_tune.restore_chart`)."""
    printed = [Layer(layer.role, layer.name, layer.path) for layer in layers if layer.role in FILE_ROLES]
    migrate = next((layer for layer in layers if layer.role == "one-time"), None)
    own = [layer.values for layer in layers if layer.role in ("baseline", "live")]
    from_file = baseline is not None and baseline.is_file
    base = (own[0].values if len(own) == 1 else merge_values(own).values) if own else None

    notes: list[str] = []
    # Like with like: with chart defaults, the baseline too is what the templates saw (Helm drops a
    # top-level null over a chart key from both sides, so it is no change); without them, the values the
    # baseline layer gives (the user-supplied ones, under an upgrade) against what the change gives.
    before = merge_values(baseline.restoring, chart_defaults).values if baseline and chart_defaults else None
    diff = diff_values(before or base, merged.values) if base is not None else None
    capture = (
        f"cilium-tune baseline capture -n {release.namespace} --release {release.name}, then pass "
        "--baseline DIR/values.yaml (DIR: the directory it prints; it records the chart version, and keeps "
        "the user's values beside, which a hand-made `helm get values --all` file cannot carry)"
    )
    if baseline is None:
        notes.append(
            f"no baseline: capture one first: {capture}. Until then the apply keeps the live values "
            "(--reuse-values) and the change cannot be shown"
        )
    elif not baseline.is_file:
        notes.append(
            f"baseline: the live release ({baseline.path}, from the facts snapshot); the apply keeps its values "
            f"(--reuse-values). For an apply that does not depend on what is live, capture it: {capture}"
        )

    old_mode = _datapath_mode(baseline.values.values) if baseline else DEFAULT_DATAPATH_MODE
    new_mode = _datapath_mode(merged.values)
    change = DatapathChange(old_mode, new_mode) if old_mode != new_mode else None
    if change and baseline is None:
        notes.append(f"datapath mode assumed to be the chart default ({DEFAULT_DATAPATH_MODE}) before the change")

    files = tuple(layer.path for layer in printed)
    migration_layer = Layer("one-time", migrate.name, migrate.path) if change and migrate else None
    before_values = (baseline.values.values if chart_defaults else base) if baseline and base is not None else {}
    effect = values_effect(before_values, merged.values)
    apply: list[Step] = list(
        plan_rollout(
            release=release,
            nodes=nodes,
            target=Target(files, release.version),
            effect=effect,
            strategy=strategy,
        )
    )
    if not from_file:  # no file to reset to: keep the live values, as the runbook's commands do
        apply = [msgspec.structs.replace(s, reset_values=False) if isinstance(s, HelmUpgrade) else s for s in apply]
    notes.extend(rollout_notes(effect, strategy))
    if effect.restarts_agents:
        notes.append(
            "apply reads the exact cilium-config change from the chart rendered before and after (helm template); "
            "this plan derives it from the values"
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
        if effect.restarts_agents:
            notes.append(
                "rollback: `helm rollback` restarts agents as the chart's strategy says; for a node-by-node "
                "rollback capture a baseline file (cilium-tune baseline capture) and use `cilium-tune rollback`"
            )
    elif baseline.chart_version is None:
        notes.append(
            f"rollback: {baseline.path} does not say which chart version it was captured from; pass "
            "--baseline-version (a rollback is never run against whatever chart is current)"
        )
    else:
        source = restore_from or RestoreFrom(release.chart, release.chart)
        restore = restore_chart(
            source.chart,
            given_as=source.given_as,
            version=baseline.chart_version,
            restoring=f"the rollback restores the baseline {baseline.path}, captured at",
            hint=profile_chart_hint(baseline.chart_version),
            prefer=source.prefer,
        )
        back = Effect(effect.config_after, effect.config_before, effect.agent_template_changed)
        rollback = list(
            plan_rollout(
                release=release,
                nodes=nodes,
                target=Target(
                    tuple(values.source for values in baseline.restoring), baseline.chart_version, restore
                ),
                effect=back,
                strategy=strategy,
                prefix="rollback/",
            )
        )

    return Plan(
        profile=profile_name,
        release=release,
        layers=tuple(printed),
        migration_layer=migration_layer,
        merged=merged,
        baseline=baseline,
        diff=diff,
        datapath_change=change,
        apply=tuple(apply),
        rollback=tuple(rollback),
        notes=tuple(notes),
    )


def plan_desired(desired: DesiredState, chart: str | None = None, *, strategy: str = "node-config") -> Plan:
    """The plan of the one desired state (which needs a profile: it names the release and the nodes), for
    the release it installs (`DesiredState.installs`: `chart` in place of the profile's, at the version
    being installed). Its rollback goes back to the baseline's version with the chart installed when that is
    the baseline's version, else with the profile's chart, which must then install that version (an
    InputError otherwise: `cilium_tune.restore_chart`)."""
    if desired.profile is None or desired.release is None:
        raise InputError("a plan needs a profile naming the release", hint="pass --profile NAME|FILE")
    target = desired.installs(chart)
    return build_plan(
        profile_name=desired.profile.name,
        release=Release(target.namespace, target.name, target.chart, target.version, target.kubeconfig,
                        target.kube_context),
        nodes=[node.name for node in desired.profile.nodes],
        layers=desired.layers,
        merged=desired.chart_values,
        baseline=desired.baseline,
        chart_defaults=desired.chart.defaults if desired.chart is not None else None,
        strategy=strategy,
        restore_from=RestoreFrom(
            desired.release.chart, f"{desired.profile.release.chart} (the profile's release.chart)", prefer=target.chart
        ),
    )


def _datapath_mode(values: dict[str, Any]) -> str:
    mode = get_path(values, "bpf.datapathMode", DEFAULT_DATAPATH_MODE)
    return str(mode) if mode not in (None, "") else DEFAULT_DATAPATH_MODE


# ------------------------------------------------------------------ the rollout: steps apply and rollback run

OPERATOR_KEYS = ("enable-ipv4", "enable-ipv6", "enable-gateway-api", "ipam")
OPERATOR_PREFIXES = ("cluster-pool-",)
STRATEGIES = ("node-config", "clean-state")


class Target(msgspec.Struct, frozen=True):
    """A release state helm can be given: the -f files in order, the chart version they go with, and for a
    restore the chart that installs that version (`cilium_tune.restore_chart`; None: the release's chart)."""

    values_files: tuple[str, ...]
    version: str
    chart: str | None = None


class Effect(msgspec.Struct, frozen=True):
    """What a change does to the agents, read from the chart rendered before and after (`cilium-config`
    data, and whether the agent's pod template changes)."""

    config_before: Mapping[str, str]
    config_after: Mapping[str, str]
    agent_template_changed: bool = False

    @property
    def changed_keys(self) -> tuple[str, ...]:
        keys = set(self.config_before) | set(self.config_after)
        return tuple(sorted(k for k in keys if self.config_before.get(k) != self.config_after.get(k)))

    @property
    def restarts_agents(self) -> bool:
        return bool(self.changed_keys) or self.agent_template_changed

    @property
    def datapath_change(self) -> DatapathChange | None:
        old, new = (_mode(c) for c in (self.config_before, self.config_after))
        return DatapathChange(old, new) if old != new else None

    @property
    def routing_changes(self) -> bool:
        return _routing(self.config_before) != _routing(self.config_after)

    @property
    def restarts_operator(self) -> bool:
        return any(k in OPERATOR_KEYS or k.startswith(OPERATOR_PREFIXES) for k in self.changed_keys)


def _mode(config: Mapping[str, str]) -> str:
    return config.get("datapath-mode") or DEFAULT_DATAPATH_MODE


def _routing(config: Mapping[str, str]) -> str:
    return config.get("routing-mode") or "tunnel"


def expected_status(config: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What the agent's `cilium-dbg status` lines must start with when it runs `config` (label, prefix)."""
    on = {k for k, v in config.items() if v == "true"}
    expect = [
        ("KubeProxyReplacement", "True" if "kube-proxy-replacement" in on else "False"),
        ("Routing", "Network: Native" if _routing(config) == "native" else "Network: Tunnel"),
        ("Device Mode", _mode(config)),
        ("IPv4 BIG TCP", "Enabled" if "enable-ipv4-big-tcp" in on else "Disabled"),
    ]
    if "enable-bpf-masquerade" in on:
        expect.append(("Masquerading", "BPF"))
    return tuple(expect)


def families(config: Mapping[str, str]) -> tuple[str, ...]:
    """The address families pods must reach each other on under `config`."""
    on = [("ipv4", config.get("enable-ipv4", "true") != "false"), ("ipv6", config.get("enable-ipv6") == "true")]
    return tuple(name for name, enabled in on if enabled)


def held_config(effect: Effect) -> tuple[tuple[str, str], ...]:
    """The CiliumNodeConfig `defaults` that keep a pending node on its old settings: every changed key at its
    old value. A key the old config did not have is an agent default: `enable-*` flags default to false,
    others are left out (and `rollout_notes` says so)."""
    held = []
    for key in effect.changed_keys:
        if key in effect.config_before:
            held.append((key, effect.config_before[key]))
        elif key.startswith("enable-"):
            held.append((key, "false"))
    return tuple(held)


def rollout_notes(effect: Effect, strategy: str) -> list[str]:
    notes = []
    added = set(families(effect.config_after)) ^ set(families(effect.config_before))
    if added:
        notes.append(
            f"address families change ({', '.join(sorted(added))}): until the last node is switched, nodes are "
            "checked on the families both settings have"
        )
    unheld = [k for k in effect.changed_keys if k not in dict(held_config(effect))]
    if unheld and strategy == "node-config":
        notes.append(
            "new cilium-config keys without a known old value are not held on pending nodes: " + ", ".join(unheld)
        )
    if effect.routing_changes:
        notes.append(
            f"routing mode changes ({_routing(effect.config_before)} -> {_routing(effect.config_after)}) in the "
            "same window: switched and pending nodes cannot reach each other's pods until the last node is "
            "switched; each node is checked against the nodes switched before it, and the last one against all"
        )
    return notes


def _upgrade(
    release: Release, target: Target, step_id: str, purpose: str, *, hold: bool,
    extra: tuple[tuple[str, str], ...], timeout: str,
) -> HelmUpgrade:
    """One `helm upgrade` of the rollout: `hold` keeps the agents on OnDelete and skips `--wait` (helm 4's
    kstatus waiter never sees an OnDelete DaemonSet as rolled out)."""
    return HelmUpgrade(
        id=step_id,
        purpose=purpose,
        namespace=release.namespace,
        release=release.name,
        chart=target.chart or release.chart,
        version=target.version,
        values_files=target.values_files,
        set_values=(HOLD_AGENTS if hold else ()) + extra,
        reset_values=True,
        wait=not hold,
        timeout=timeout,
        kube_context=release.kube_context,
    )


def plan_rollout(
    *,
    release: Release,
    nodes: Sequence[str],
    target: Target,
    effect: Effect,
    strategy: str = "node-config",
    prefix: str = "",
) -> Iterator[Step]:
    """The steps that take the release to `target` without restarting agents behind the tool's back.

    Without agent restarts it is one `helm upgrade --wait`. Otherwise (default strategy `node-config`):
    label every node pending and hold the pending nodes on their old settings with a CiliumNodeConfig;
    upgrade with the agents held (`updateStrategy: OnDelete`, so no pod restarts); then node by node:
    cordon, (for a datapath-mode change) evict the workload pods and delete the pod-network DaemonSet pods,
    drop the pending label, restart the agent and wait for the new pod, check the node, uncordon. Last, drop
    the CiliumNodeConfig and upgrade again with the chart's own strategy (nothing restarts: every agent
    already runs the new pod template). `clean-state` replaces the CiliumNodeConfig by the runbook's
    `cleanState: true` during the switch, and sets it to false explicitly in the last upgrade.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    ns, ctx = release.namespace, release.kube_context

    def upgrade(step_id: str, purpose: str, *, hold: bool, extra: tuple[tuple[str, str], ...] = ()) -> HelmUpgrade:
        return _upgrade(release, target, prefix + step_id, purpose, hold=hold, extra=extra, timeout=APPLY_TIMEOUT)

    if not effect.restarts_agents:
        yield upgrade("helm/apply", "apply the values (no agent setting changes)", hold=False)
        if effect.restarts_operator:
            yield _restart_operator(release, prefix)
        return

    node_config = strategy == "node-config"
    if node_config:
        for node in nodes:
            yield LabelNode(
                id=f"{prefix}hold/{node}/label", purpose="mark the node pending", node=node, kube_context=ctx
            )
        yield NodeConfig(
            id=prefix + "hold/node-config",
            purpose="keep pending nodes on their current settings",
            namespace=ns,
            defaults=held_config(effect),
            kube_context=ctx,
        )
    clean = (("cleanState", "true"),) if not node_config else ()
    yield upgrade("hold/helm", "new values, agents held (OnDelete): nothing restarts", hold=True, extra=clean)
    if effect.restarts_operator:
        yield _restart_operator(release, prefix)
    yield from _switch_nodes(release, nodes, effect, strategy, f"{prefix}switch")
    if node_config:
        yield NodeConfig(
            id=prefix + "release/node-config",
            purpose="no node is pending any more",
            namespace=ns,
            present=False,
            kube_context=ctx,
        )
    final = (("cleanState", "false"),) if not node_config else ()
    yield upgrade("release/helm", "the chart's update strategy again (nothing restarts)", hold=False, extra=final)
    yield RemoveCheckPods(
        id=prefix + "release/check-pods", purpose="remove the node checks' test pods", kube_context=ctx
    )


def _restart_operator(release: Release, prefix: str) -> RestartOperator:
    return RestartOperator(
        id=prefix + "operator/restart",
        purpose="the operator reads these at start",
        namespace=release.namespace,
        kube_context=release.kube_context,
    )


def _drains(effect: Effect, strategy: str) -> bool:
    """Whether a restarting node is drained first: when its datapath mode changes (the pods' devices change
    under them), and always with clean-state (cleanState wipes every endpoint of a restarting node)."""
    return effect.datapath_change is not None or strategy != "node-config"


def _restart_node(
    release: Release,
    node: str,
    *,
    base: str,
    purpose: str,
    drain: bool,
    pending: bool | None,
    expect: tuple[tuple[str, str], ...],
    peers: tuple[str, ...],
    families: tuple[str, ...],
) -> Iterator[Step]:
    """One node onto other settings, the sequence every switch and restore shares, as steps `base/<action>`:
    cordon; with `drain`, evict the workload pods and delete the pod-network DaemonSet pods; set (`pending`
    True: back under the CiliumNodeConfig's hold on the old settings) or drop (False: off the hold) the
    pending label, or leave it (None: the release's values alone decide); restart the agent and wait for the
    new pod; check it reports `expect` and reaches `peers` on `families`; uncordon."""
    ns, ctx = release.namespace, release.kube_context
    # Until the agent restarts, the node runs its previous settings: these steps say so (`drains`), and a
    # failure among them is recovered by uncordoning alone (`plan_failure_recovery`'s `while_draining`).
    yield Cordon(id=f"{base}/cordon", purpose=purpose, node=node, kube_context=ctx, drains=True)
    if drain:
        yield EvictPods(id=f"{base}/evict", purpose=purpose, node=node, kube_context=ctx, drains=True)
        yield DeleteDaemonSetPods(
            id=f"{base}/delete-daemonset-pods", purpose=purpose, node=node, kube_context=ctx, drains=True
        )
    if pending is True:
        yield LabelNode(id=f"{base}/label", purpose=purpose, node=node, kube_context=ctx)
    elif pending is False:
        yield LabelNode(id=f"{base}/unlabel", purpose=purpose, node=node, value=None, kube_context=ctx)
    yield RestartAgent(id=f"{base}/restart-agent", purpose=purpose, node=node, namespace=ns, kube_context=ctx)
    yield CheckNode(
        id=f"{base}/check",
        purpose=purpose,
        node=node,
        namespace=ns,
        expect=expect,
        peers=peers,
        families=families,
        kube_context=ctx,
    )
    yield Cordon(id=f"{base}/uncordon", purpose=purpose, node=node, unschedulable=False, kube_context=ctx)


def _switch_nodes(release: Release, nodes: Sequence[str], effect: Effect, strategy: str, group: str) -> Iterator[Step]:
    """Node by node. Until the last node, a node is checked only where switched and pending nodes can talk:
    with the routing mode changing, against the nodes switched before it; with an address family being
    added or removed, on the families both settings have."""
    config = effect.config_after
    expect = expected_status(config)
    shared = tuple(f for f in families(config) if f in families(effect.config_before))
    done: list[str] = []
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        yield from _restart_node(
            release,
            node,
            base=f"{group}/{node}",
            purpose=f"switch {node}",
            drain=_drains(effect, strategy),
            pending=False if strategy == "node-config" else None,
            expect=expect,
            peers=tuple(n for n in nodes if n != node) if not effect.routing_changes or last else tuple(done),
            families=families(config) if last else shared,
        )
        done.append(node)


def plan_recovery(
    *,
    release: Release,
    nodes: Sequence[str],
    restore: Sequence[str],
    previous: Target,
    effect: Effect,
    strategy: str = "node-config",
    prefix: str = "recover/",
) -> Iterator[Step]:
    """Take the nodes in `restore` (switched, or failed in their switch) back to the previous settings and
    end as before the run: previous values held, those nodes restarted and checked one by one, the
    CiliumNodeConfig and labels gone, then the chart's strategy again. Other nodes are not restarted."""
    ns, ctx = release.namespace, release.kube_context
    node_config = strategy == "node-config"

    def upgrade(step_id: str, purpose: str, *, hold: bool, extra: tuple[tuple[str, str], ...] = ()) -> HelmUpgrade:
        return _upgrade(release, previous, prefix + step_id, purpose, hold=hold, extra=extra, timeout=ROLLBACK_TIMEOUT)

    yield upgrade("hold/helm", "previous values, agents held (OnDelete)", hold=True)
    if effect.restarts_operator:
        yield _restart_operator(release, prefix)
    # Only the restored nodes are restarted; each is checked against nodes already on the previous settings.
    # Their pending label is left alone: the previous values are the release's now, and the hold goes after.
    peers_pool = [n for n in nodes if n not in restore]
    for node in (n for n in nodes if n in restore):
        yield from _restart_node(
            release,
            node,
            base=f"{prefix}{node}",
            purpose=f"restore {node}",
            drain=_drains(effect, strategy),
            pending=None,
            expect=expected_status(effect.config_before),
            peers=tuple(peers_pool),
            families=families(effect.config_before),
        )
        peers_pool.append(node)
    if node_config:
        yield NodeConfig(
            id=prefix + "node-config",
            purpose="remove the pending nodes' config",
            namespace=ns,
            present=False,
            kube_context=ctx,
        )
        for node in nodes:
            yield LabelNode(
                id=f"{prefix}{node}/unlabel", purpose="no node is pending", node=node, value=None, kube_context=ctx
            )
    extra = (("cleanState", "false"),) if not node_config else ()
    yield upgrade("release/helm", "previous values with the chart's update strategy", hold=False, extra=extra)
    yield RemoveCheckPods(id=prefix + "check-pods", purpose="remove the node checks' test pods", kube_context=ctx)


def plan_failure_recovery(
    *,
    release: Release,
    nodes: Sequence[str],
    failed: str,
    switched: Sequence[str],
    previous: Target,
    effect: Effect,
    strategy: str = "node-config",
    while_draining: bool = False,
) -> Iterator[Step]:
    """A node failed its switch: take that node back to its previous settings and uncordon it, touching no
    other node. With the node-config strategy the node is marked pending again (the CiliumNodeConfig gives
    it the old settings); when no other node was switched yet, the release then goes back to the previous
    values too, so the cluster ends as it was. Otherwise the run stops half-way: `rollout resume` retries
    the node, `rollout abort` takes the switched ones back.

    `while_draining`: the node failed before its agent was touched (a PodDisruptionBudget that never let
    its pods go, say), so it still runs its previous settings: it is only uncordoned. Draining it again
    would fail the same way and leave it cordoned."""
    if strategy != "node-config" and not while_draining:
        yield from plan_recovery(
            release=release, nodes=nodes, restore=[failed], previous=previous, effect=effect, strategy=strategy
        )
        return
    if while_draining:
        yield Cordon(
            id=f"recover/{failed}/uncordon",
            purpose=f"restore {failed}",
            node=failed,
            unschedulable=False,
            kube_context=release.kube_context,
        )
    else:
        # Marked pending again, the node restarts under the CiliumNodeConfig's hold on the old settings.
        still_pending = [n for n in nodes if n not in switched and n != failed]
        yield from _restart_node(
            release,
            failed,
            base=f"recover/{failed}",
            purpose=f"restore {failed}",
            drain=_drains(effect, strategy),
            pending=True,
            expect=expected_status(effect.config_before),
            peers=tuple(still_pending or [n for n in nodes if n != failed]),
            families=families(effect.config_before),
        )
    if not switched:
        yield from plan_recovery(
            release=release, nodes=nodes, restore=[], previous=previous, effect=effect, strategy=strategy
        )


# The cilium-config keys the checks and the switch depend on, and the values that set them (the chart's
# rendering, reduced to what `plan` needs offline; `apply` renders the chart itself).
_CONFIG_FROM_VALUES: tuple[tuple[str, str, Any], ...] = (
    ("datapath-mode", "bpf.datapathMode", DEFAULT_DATAPATH_MODE),
    ("routing-mode", "routingMode", "tunnel"),
    ("kube-proxy-replacement", "kubeProxyReplacement", "false"),
    ("enable-ipv4-big-tcp", "enableIPv4BIGTCP", "false"),
    ("enable-ipv6-big-tcp", "enableIPv6BIGTCP", "false"),
    ("enable-bpf-masquerade", "bpf.masquerade", "false"),
    ("enable-ipv6", "ipv6.enabled", "false"),
    ("enable-gateway-api", "gatewayAPI.enabled", "false"),
    ("bpf-lb-sock", "socketLB.enabled", "false"),
)


def config_from_values(values: dict[str, Any]) -> dict[str, str]:
    """An approximation of the agent settings `values` give (see `_CONFIG_FROM_VALUES`)."""
    config = {}
    for key, path, default in _CONFIG_FROM_VALUES:
        value = get_path(values, path, default)
        value = default if value in (None, "") else value
        config[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return config


def values_effect(before: dict[str, Any], after: dict[str, Any]) -> Effect:
    """The effect on the agents as far as the values tell it (offline plans)."""
    return Effect(config_from_values(before), config_from_values(after))
