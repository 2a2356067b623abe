"""Typed steps: the one model for what `plan` prints, what `apply` runs and what the journal records.

A step is data. It has a stable id (`switch/skyforge-2/evict`), a purpose, and the commands a person
would type to do the same by hand (`commands()`, argv lists, shown by `plan`). Only the rollout
executor acts on steps; the planner only yields them. The id is the journal's key, so a resumed run
finds where it stopped, and `plan` and `apply` can be compared step by step.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, ClassVar

import msgspec

AGENT_SELECTOR = "k8s-app=cilium"
CILIUM_AGENT_SELECTOR = AGENT_SELECTOR  # the name earlier callers use
OPERATOR_SELECTOR = "name=cilium-operator"  # set by the Cilium chart (and the lab chart) on operator pods
MANAGED_BY = "app.kubernetes.io/managed-by=cilium-tune"
# Nodes still waiting for their switch carry this label; the CiliumNodeConfig selecting it keeps their
# agents on the settings they started with, whatever `cilium-config` says meanwhile.
PENDING_LABEL = "cilium-tune.io/pending-switch"
NODE_CONFIG_NAME = "cilium-tune-pending"
# The chart value that holds the agents while the tool restarts them node by node (helm --set pairs).
HOLD_AGENTS = (("updateStrategy.type", "OnDelete"), ("updateStrategy.rollingUpdate", "null"))


class _Step(msgspec.Struct, frozen=True, kw_only=True):
    """Fields every step has. Steps are msgspec structs, not dataclasses: an offline `plan` imports all
    eleven, and a struct class is built about twenty times faster than a frozen dataclass (whose methods
    are compiled from source text when the class is made)."""

    id: str
    purpose: str
    kube_context: str | None = None
    drains: bool = False  # set by the planner: part of draining a node before its agent is touched
    kind: ClassVar[str] = ""

    def commands(self, helm: str = "helm") -> list[list[str]]:
        """What a person would run to do this step by hand (one or more argv lists)."""
        raise NotImplementedError

    def argv(self, helm: str = "helm") -> list[str]:
        """The first (for most steps, the only) command."""
        return self.commands(helm)[0]

    def _kubectl(self, *args: str) -> list[str]:
        return ["kubectl", *(["--context", self.kube_context] if self.kube_context else []), *args]


class HelmUpgrade(_Step, frozen=True, kw_only=True):
    """`helm upgrade --install` of the release with -f files in order, pinned to a chart version."""

    namespace: str
    release: str
    chart: str
    version: str
    values_files: tuple[str, ...]
    timeout: str
    set_values: tuple[tuple[str, str], ...] = ()
    reset_values: bool = True
    wait: bool = True
    id: str = "helm/upgrade"
    kind: ClassVar[str] = "helm-upgrade"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        args = [helm, *(["--kube-context", self.kube_context] if self.kube_context else [])]
        args += ["-n", self.namespace, "upgrade", "--install", self.release, self.chart]
        args += ["--version", self.version]
        for path in self.values_files:
            args += ["-f", path]
        for key, value in self.set_values:
            args += ["--set", f"{key}={value}"]
        args.append("--reset-values" if self.reset_values else "--reuse-values")
        if self.wait:
            args.append("--wait")
        args += ["--timeout", self.timeout]
        return [args]


class HelmRollback(_Step, frozen=True, kw_only=True):
    """`helm rollback` to a recorded revision: helm restores that revision's chart version and values."""

    namespace: str
    release: str
    revision: int
    timeout: str
    id: str = "helm/rollback"
    kind: ClassVar[str] = "helm-rollback"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        args = [helm, *(["--kube-context", self.kube_context] if self.kube_context else [])]
        args += ["-n", self.namespace, "rollback", self.release, str(self.revision)]
        args += ["--wait", "--timeout", self.timeout]
        return [args]


class NodeConfig(_Step, frozen=True, kw_only=True):
    """Create (or, with `present=False`, delete) the CiliumNodeConfig that holds the pending nodes."""

    namespace: str
    name: str = NODE_CONFIG_NAME
    api_version: str = "cilium.io/v2"
    defaults: tuple[tuple[str, str], ...] = ()
    present: bool = True
    kind: ClassVar[str] = "node-config"

    def manifest(self) -> dict[str, Any]:
        key, _, value = PENDING_LABEL.partition("=")
        return {
            "apiVersion": self.api_version,
            "kind": "CiliumNodeConfig",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "cilium-tune"},
            },
            "spec": {"nodeSelector": {"matchLabels": {key: value or "true"}}, "defaults": dict(self.defaults)},
        }

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        if not self.present:
            return [self._kubectl("-n", self.namespace, "delete", "ciliumnodeconfig", self.name, "--ignore-not-found")]
        return [self._kubectl("apply", "-f", "-")]  # the manifest, on stdin (plan -o json carries it)


class LabelNode(_Step, frozen=True, kw_only=True):
    """Set (or, with value None, remove) the pending-switch label on a node."""

    node: str
    value: str | None = "true"
    kind: ClassVar[str] = "label-node"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        if self.value is None:
            return [self._kubectl("label", "node", self.node, f"{PENDING_LABEL}-")]
        return [self._kubectl("label", "node", self.node, f"{PENDING_LABEL}={self.value}", "--overwrite")]


class Cordon(_Step, frozen=True, kw_only=True):
    """Mark a node unschedulable (or schedulable again, with `unschedulable=False`)."""

    node: str
    unschedulable: bool = True
    kind: ClassVar[str] = "cordon"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        return [self._kubectl("cordon" if self.unschedulable else "uncordon", self.node)]


class EvictPods(_Step, frozen=True, kw_only=True):
    """Evict the node's workload pods through the Eviction API: PodDisruptionBudgets are respected, and a
    budget that never allows the eviction fails the step after `timeout_s`."""

    node: str
    timeout_s: int = 300
    kind: ClassVar[str] = "evict"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        return [
            self._kubectl(
                "drain", self.node, "--ignore-daemonsets", "--delete-emptydir-data", f"--timeout={self.timeout_s}s"
            )
        ]


class DeleteDaemonSetPods(_Step, frozen=True, kw_only=True):
    """Delete the node's DaemonSet pods on the pod network (drain leaves them; their devices would keep the
    old datapath mode and make the agent refuse to start)."""

    node: str
    timeout_s: int = 120
    kind: ClassVar[str] = "delete-daemonset-pods"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        selector = f"spec.nodeName={self.node},spec.hostNetwork=false"
        return [self._kubectl("delete", "pod", "-A", "--field-selector", selector, f"--timeout={self.timeout_s}s")]


class RestartAgent(_Step, frozen=True, kw_only=True):
    """Delete the node's agent pod and wait until a pod with a *new* UID is Ready (a wait right after the
    delete can match the terminating pod, or find none yet)."""

    node: str
    namespace: str
    timeout_s: int = 300
    kind: ClassVar[str] = "restart-agent"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        agent = ["-n", self.namespace, "-l", AGENT_SELECTOR, "--field-selector", f"spec.nodeName={self.node}"]
        return [
            self._kubectl("delete", "pod", *agent, "--wait=true", f"--timeout={self.timeout_s}s"),
            self._kubectl("wait", "pod", *agent, "--for=condition=Ready", f"--timeout={self.timeout_s}s"),
        ]


class RestartOperator(_Step, frozen=True, kw_only=True):
    """Replace the operator pods: it reads enable-ipv6, the cluster-pool settings and Gateway API at start."""

    namespace: str
    timeout_s: int = 300
    kind: ClassVar[str] = "restart-operator"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        return [
            self._kubectl("-n", self.namespace, "rollout", "restart", "deployment/cilium-operator"),
            self._kubectl(
                "-n", self.namespace, "rollout", "status", "deployment/cilium-operator", f"--timeout={self.timeout_s}s"
            ),
        ]


class CheckNode(_Step, frozen=True, kw_only=True):
    """Before uncordon: the node's agent reports the expected settings (its `cilium-dbg status` lines), and
    a test pod on the node reaches test pods on `peers` (the nodes it must reach now)."""

    node: str
    namespace: str
    expect: tuple[tuple[str, str], ...] = ()
    peers: tuple[str, ...] = ()
    families: tuple[str, ...] = ("ipv4",)
    timeout_s: int = 120
    kind: ClassVar[str] = "check-node"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        agent = ["-n", self.namespace, "-l", AGENT_SELECTOR, "--field-selector", f"spec.nodeName={self.node}"]
        return [self._kubectl("logs", *agent, "--tail=50")]


class RemoveCheckPods(_Step, frozen=True, kw_only=True):
    """Delete the test pods the node checks created (labelled managed-by cilium-tune)."""

    namespace: str = "default"
    kind: ClassVar[str] = "remove-check-pods"

    def commands(self, helm: str = "helm") -> list[list[str]]:
        del helm
        return [self._kubectl("-n", self.namespace, "delete", "pod", "-l", f"{MANAGED_BY},cilium-tune.io/check")]


Step = (
    HelmUpgrade
    | HelmRollback
    | NodeConfig
    | LabelNode
    | Cordon
    | EvictPods
    | DeleteDaemonSetPods
    | RestartAgent
    | RestartOperator
    | CheckNode
    | RemoveCheckPods
)
STEP_TYPES: dict[str, type[Step]] = {
    cls.kind: cls
    for cls in (
        HelmUpgrade,
        HelmRollback,
        NodeConfig,
        LabelNode,
        Cordon,
        EvictPods,
        DeleteDaemonSetPods,
        RestartAgent,
        RestartOperator,
        CheckNode,
        RemoveCheckPods,
    )
}


def command_line(step: Step, helm: str = "helm") -> str:
    """The step's commands, shell-quoted, one per line."""
    return "\n".join(shlex.join(argv) for argv in step.commands(helm))


def display_lines(step: Step, helm: str = "helm") -> list[str]:
    """The step's commands as a person would paste them; a CiliumNodeConfig's manifest goes in a heredoc."""
    lines = [shlex.join(argv) for argv in step.commands(helm)]
    if isinstance(step, NodeConfig) and step.present:
        lines[0] += " <<'EOF'"
        lines += [json.dumps(step.manifest(), sort_keys=True), "EOF"]
    return lines


def step_to_json(step: Step, helm: str = "helm") -> dict[str, Any]:
    """The step as data (its fields, its kind, and the commands), as `plan -o json` and the journal carry it."""
    data = {k: _plain(v) for k, v in msgspec.structs.asdict(step).items()}
    return {"kind": step.kind, **data, "commands": step.commands(helm), "argv": step.argv(helm)}


def step_from_json(data: dict[str, Any]) -> Step:
    """Rebuild a step from `step_to_json` (the journal reads its steps back this way)."""
    cls = STEP_TYPES[str(data["kind"])]
    names = set(cls.__struct_fields__)
    kwargs = {k: _tuples(v) for k, v in data.items() if k in names}
    return cls(**kwargs)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
