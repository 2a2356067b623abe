"""Where the lab keeps container logs: per pod instance and per container run, as a kubelet does.

A kubelet writes `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restartCount>.log`, so a pod
re-created under the same name starts empty and `kubectl logs --previous` finds the run before the
current one. The lab uses the same layout under `<state dir>/logs/`, and the same rule as the
kubelet's `validateContainerLogStatus` to pick the run a log request means: the kubelet writes the
files (kubelet_runtime.py) and the API server serves them (apiserver/app.py), both through this module.

A lab container's ID is `lab://<pod netns>/<container>/<run>`: the run number is the container's
restart count when it started, which is also its log file's name.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ID_SCHEME = "lab://"


def pod_dir(root: Path, namespace: str, name: str, uid: str) -> Path:
    """The directory of one pod instance's logs."""
    return root / f"{namespace}_{name}_{uid}"


def log_path(root: Path, namespace: str, name: str, uid: str, container: str, run: int) -> Path:
    return pod_dir(root, namespace, name, uid) / container / f"{run}.log"


def container_id(netns: str, container: str, run: int) -> str:
    return f"{ID_SCHEME}{netns}/{container}/{run}"


def run_of(cid: str) -> int | None:
    """The run number in a lab container ID, or None for an ID the lab did not make."""
    if not cid.startswith(ID_SCHEME):
        return None
    tail = cid.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class LogChoice:
    """The run whose log a request reads, and whether that run may still be writing to it."""

    run: int
    running: bool


class NoLog(Exception):
    """The container has no log for this request; the message is the kubelet's."""


def choose(pod: Mapping[str, Any], container: str, previous: bool) -> LogChoice | None:
    """Which run of `container` a log request means, by the kubelet's rule.

    None means "no node yet": the API server then answers with an empty log, as a real one does for
    a pod that is not scheduled. Raises NoLog with the kubelet's message when there is nothing to read.
    """
    pod_name = pod.get("metadata", {}).get("name", "")
    if not (pod.get("spec") or {}).get("nodeName"):
        return None
    st = pod.get("status") or {}
    statuses = [*(st.get("initContainerStatuses") or []), *(st.get("containerStatuses") or [])]
    cs = next((s for s in statuses if s.get("name") == container), None)
    if cs is None:
        raise NoLog(f'container "{container}" in pod "{pod_name}" is waiting to start: ContainerCreating')
    state = cs.get("state") or {}
    last_run = run_of(((cs.get("lastState") or {}).get("terminated") or {}).get("containerID", ""))
    if previous:
        if last_run is None:
            raise NoLog(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return LogChoice(last_run, running=False)
    for key, running in (("running", True), ("terminated", False)):
        if key in state:
            run = run_of(cs.get("containerID", "") or state[key].get("containerID", ""))
            if run is not None:
                return LogChoice(run, running)
    if last_run is not None:  # waiting to restart: the run that ended, as `kubectl logs` shows in back-off
        return LogChoice(last_run, running=False)
    reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
    raise NoLog(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')


def remove_except(root: Path, keep_uids: Iterable[str]) -> list[Path]:
    """Remove the log directories of pod instances not in `keep_uids` (the kubelet's log GC)."""
    keep = set(keep_uids)
    removed = []
    for entry in root.glob("*_*_*") if root.is_dir() else []:
        if entry.is_dir() and entry.name.rsplit("_", 1)[-1] not in keep:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def remove_pod(root: Path, namespace: str, name: str, uid: str) -> None:
    shutil.rmtree(pod_dir(root, namespace, name, uid), ignore_errors=True)
