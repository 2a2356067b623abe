"""What each plan step does to running pods, and how long it may take: what a reviewer approves.

Pure: read from the step's own fields (its timeouts are the ones `apply` enforces) and, when facts
were given, the VM workloads on the node a drain empties (their guests restart elsewhere or stop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from cilium_tune.plan.steps import (
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


class Impact(msgspec.Struct, frozen=True):
    replaces: str
    bound_s: int | None

    def line(self) -> str:
        bound = f"; at most {self.bound_s} s" if self.bound_s is not None else ""
        return f"replaces: {self.replaces}{bound}"

    def to_dict(self) -> dict[str, object]:
        return {"replaces": self.replaces, "bound_s": self.bound_s}


def _seconds(timeout: str) -> int | None:
    """Helm's `15m` / `300s` / `1h` as seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return int(float(timeout[:-1]) * units[timeout[-1]]) if timeout and timeout[-1] in units else int(timeout)
    except ValueError:
        return None


def impact(step: Step, vms: Mapping[str, Sequence[str]] | None = None) -> Impact:
    """The pods `step` replaces and its time bound (None: it returns as soon as the API answers)."""
    if isinstance(step, HelmUpgrade):
        held = ("updateStrategy.type", "OnDelete") in step.set_values
        agents = "no agent pod (agents held: OnDelete)" if held else "agent pods as the chart's update strategy says"
        return Impact(f"{agents}; cilium-operator and cilium-envoy pods roll if their templates change",
                      _seconds(step.timeout))
    if isinstance(step, HelmRollback):
        return Impact("agent, operator and envoy pods, as the chart's update strategy says", _seconds(step.timeout))
    if isinstance(step, RestartOperator):
        return Impact("the cilium-operator pods (a rolling restart)", step.timeout_s)
    if isinstance(step, EvictPods):
        guests = list((vms or {}).get(step.node, ()))
        vm_text = f", including VM pods {', '.join(guests)}" if guests else ", VM pods included (their guests stop)"
        return Impact(f"every workload pod on {step.node} (evicted, PodDisruptionBudgets respected){vm_text}",
                      step.timeout_s)
    if isinstance(step, DeleteDaemonSetPods):
        return Impact(f"the DaemonSet pods on {step.node}'s pod network (their controllers recreate them)",
                      step.timeout_s)
    if isinstance(step, RestartAgent):
        return Impact(f"the cilium agent pod on {step.node} (delete, then wait for the new one to be Ready)",
                      2 * step.timeout_s)
    if isinstance(step, RemoveCheckPods):
        return Impact("nothing running: removes the checks' test pods", None)
    if isinstance(step, (Cordon, LabelNode, NodeConfig)):
        return Impact("no pod", None)
    timeout = getattr(step, "timeout_s", None)
    return Impact("no pod" if timeout is None else "no pod (starts test pods)", timeout)


def vm_pods_by_node(vm_workloads: Sequence[object]) -> dict[str, list[str]]:
    """`namespace/name` of each VM workload, by node (from a facts snapshot's `vm_workloads`)."""
    out: dict[str, list[str]] = {}
    for workload in vm_workloads:
        node = getattr(workload, "node", None)
        if node:
            out.setdefault(node, []).append(f"{getattr(workload, 'namespace', '')}/{getattr(workload, 'name', '')}")
    return out
