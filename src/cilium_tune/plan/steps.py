"""Typed plan steps. A step describes one action; it knows how to show itself as the command a person would
type, and nothing else. Only the rollout executor (a later stage) acts on steps.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

CILIUM_AGENT_SELECTOR = "k8s-app=cilium"


@dataclass(frozen=True)
class HelmUpgrade:
    """`helm upgrade --install` of the release with -f files in order, pinned to a chart version."""

    purpose: str
    namespace: str
    release: str
    chart: str
    version: str
    values_files: tuple[str, ...]
    timeout: str
    reset_values: bool = True
    kube_context: str | None = None
    kind: str = field(default="helm-upgrade", init=False)

    def argv(self, helm: str = "helm") -> list[str]:
        args = [helm, *(["--kube-context", self.kube_context] if self.kube_context else [])]
        args += ["-n", self.namespace, "upgrade", "--install", self.release, self.chart]
        args += ["--version", self.version]
        for path in self.values_files:
            args += ["-f", path]
        args.append("--reset-values" if self.reset_values else "--reuse-values")
        args += ["--wait", "--timeout", self.timeout]
        return args


@dataclass(frozen=True)
class HelmRollback:
    """`helm rollback` to a recorded revision: helm restores that revision's chart version and values."""

    purpose: str
    namespace: str
    release: str
    revision: int
    timeout: str
    kube_context: str | None = None
    kind: str = field(default="helm-rollback", init=False)

    def argv(self, helm: str = "helm") -> list[str]:
        args = [helm, *(["--kube-context", self.kube_context] if self.kube_context else [])]
        return [
            *args,
            "-n",
            self.namespace,
            "rollback",
            self.release,
            str(self.revision),
            "--wait",
            "--timeout",
            self.timeout,
        ]


@dataclass(frozen=True)
class NodeStep:
    """A per-node action of the netkit switch: cordon, drain, restart the agent, wait, uncordon."""

    purpose: str
    action: str  # cordon | drain | restart-agent | wait-agent | uncordon
    node: str
    namespace: str = "kube-system"
    kube_context: str | None = None
    kind: str = field(default="node", init=False)

    def argv(self, helm: str = "helm") -> list[str]:
        del helm
        context = ["--context", self.kube_context] if self.kube_context else []
        return ["kubectl", *context, *self._kubectl_args()]

    def _kubectl_args(self) -> list[str]:
        agent = ["-n", self.namespace, "-l", CILIUM_AGENT_SELECTOR, "--field-selector", f"spec.nodeName={self.node}"]
        by_action = {
            "cordon": ["cordon", self.node],
            "drain": ["drain", self.node, "--ignore-daemonsets", "--delete-emptydir-data"],
            "restart-agent": ["delete", "pod", *agent],
            "wait-agent": ["wait", "pod", *agent, "--for=condition=Ready", "--timeout=5m"],
            "uncordon": ["uncordon", self.node],
        }
        return by_action[self.action]


Step = HelmUpgrade | HelmRollback | NodeStep


def command_line(step: Step, helm: str = "helm") -> str:
    """The step as one shell-quoted line."""
    return shlex.join(step.argv(helm))


def step_to_json(step: Step, helm: str = "helm") -> dict[str, Any]:
    data: dict[str, Any] = {"kind": step.kind, "purpose": step.purpose, "argv": step.argv(helm)}
    if isinstance(step, NodeStep):
        data |= {"action": step.action, "node": step.node}
    return data
