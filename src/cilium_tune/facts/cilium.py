"""Parse Cilium's own objects: the cilium-config ConfigMap and the agent pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cilium_tune.facts.k8s import parse_time
from cilium_tune.facts.model import AgentPod, CiliumConfig, TerminationState

AGENT_CONTAINER = "cilium-agent"


def parse_cilium_config(raw: Mapping[str, Any]) -> CiliumConfig:
    """The ConfigMap's data as the agent sees it (binaryData is not used by Cilium and is ignored)."""
    meta = raw.get("metadata") or {}
    data = raw.get("data") or {}
    return CiliumConfig(namespace=str(meta.get("namespace", "")), data={str(k): str(v) for k, v in data.items()})


def parse_agent_pod(raw: Mapping[str, Any]) -> AgentPod:
    """One cilium agent pod: readiness, restarts, and why a container last died (the crash-loop evidence)."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    statuses = list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])

    last: TerminationState | None = None
    for cs in statuses:
        term = (cs.get("lastState") or {}).get("terminated")
        if not term:
            continue
        candidate = TerminationState(
            exit_code=term.get("exitCode"),
            reason=term.get("reason"),
            message=term.get("message"),
            finished_at=parse_time(term.get("finishedAt")),
        )
        if last is None or _later(candidate, last):
            last = candidate

    image = next((c.get("image") for c in spec.get("containers") or [] if c.get("name") == AGENT_CONTAINER), None)
    if image is None and spec.get("containers"):
        image = spec["containers"][0].get("image")
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return AgentPod(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        node=spec.get("nodeName") or None,
        phase=status.get("phase"),
        ready=ready,
        terminating=bool(meta.get("deletionTimestamp")),
        restarts=sum(int(cs.get("restartCount") or 0) for cs in statuses),
        image=image,
        last_termination=last,
    )


def _later(a: TerminationState, b: TerminationState) -> bool:
    if a.finished_at is None:
        return False
    return b.finished_at is None or a.finished_at > b.finished_at
