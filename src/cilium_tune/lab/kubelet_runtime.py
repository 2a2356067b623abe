"""Running one pod for real: its namespace, its containers as processes, restarts, probes, status.

A `PodRunner` is given a pod (the API's JSON as a dict), the node it is bound to and its addresses.
It knows nothing about the API: the kubelet feeds it the pod, calls `tick()` and sends `status()`
back. That keeps the whole runtime testable without an API server.

Lab semantics (what differs from a real kubelet, on purpose):
- The image is recorded, never pulled. A container's program is `command + args` (or `args` alone,
  since there is no image entrypoint), looked up on the host's PATH with the tool's venv first. A
  program that is not there leaves the container waiting with reason `CommandNotFound`.
- Restart back-off starts at 1 s and doubles up to 20 s (a real kubelet: 10 s up to 5 min), reset
  after a container has run 10 s, so CrashLoopBackOff is observable in tests without long waits.
- Python output is unbuffered (PYTHONUNBUFFERED=1) unless the pod sets it, so logs are live.
- Init containers run one after another to completion before the others start.
- Probes: startup, readiness and liveness as a kubelet runs them (readiness and liveness wait for the
  startup probe), except that a probe which has never passed runs at least every second, and readiness
  is asked as soon as the startup probe passes, so a chart's 30 s periods do not stretch every start.
- Images of the Cilium chart run as the lab's stand-in programs (images.py).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cilium_tune.lab import images, netns, podlogs, topology
from cilium_tune.lab.kubelet_apiproxy import PORT as API_PORT
from cilium_tune.lab.topology import LabNode

BACKOFF_START = 1.0
TERMINATION_MESSAGE_BYTES = 2048  # the kubelet's limits for FallbackToLogsOnError
TERMINATION_MESSAGE_LINES = 80
BACKOFF_MAX = 20.0
BACKOFF_RESET_AFTER = 10.0
FIRST_SUCCESS_PERIOD = 1.0  # probes that never passed yet run at least this often (the chart's are 30 s)
KILLED_WAIT = 5.0  # a SIGKILLed container stuck in the kernel is left behind rather than stop the pod's teardown
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")

Pod = Mapping[str, Any]
# (kind "ConfigMap"/"Secret", namespace, name, key) -> value or None
Lookup = Callable[[str, str, str, str], str | None]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_path() -> str:
    """PATH for container processes: the tool's venv bin dir first, then the host's PATH."""
    venv_bin = str(Path(sys.executable).parent)
    rest = [p for p in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":") if p != venv_bin]
    return ":".join([venv_bin, *rest])


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known names are replaced, unknown ones kept, $$ escapes."""

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR_REF.sub(repl, text)


def field_value(pod: Pod, path: str, pod_ips: Sequence[str], node: LabNode) -> str:
    """The value of a downward-API fieldRef."""
    meta = pod.get("metadata", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": node.name,
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", "default"),
        "status.podIP": pod_ips[0] if pod_ips else "",
        "status.podIPs": ",".join(pod_ips),
        "status.hostIP": str(node.ipv4),
        "status.hostIPs": ",".join(node.addresses),
    }
    if path in simple:
        return str(simple[path])
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str(meta.get(m.group(1), {}).get(m.group(2), ""))
    return ""


def container_env(
    pod: Pod, container: Mapping[str, Any], node: LabNode, pod_ips: Sequence[str], lookup: Lookup | None,
) -> dict[str, str]:
    """The environment a container process gets, in Kubernetes' order: service vars, envFrom, env."""
    host_network = bool(pod.get("spec", {}).get("hostNetwork"))
    namespace = pod.get("metadata", {}).get("namespace", "default")
    env: dict[str, str] = {
        "PATH": host_path(),
        "HOME": "/root",
        "HOSTNAME": node.name if host_network else pod.get("metadata", {}).get("name", ""),
        "PYTHONUNBUFFERED": "1",
        "KUBERNETES_SERVICE_HOST": str(node.ipv4),
        "KUBERNETES_SERVICE_PORT": str(API_PORT),
        "KUBERNETES_PORT": f"tcp://{node.ipv4}:{API_PORT}",
    }
    for source in container.get("envFrom", []) or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if ref and lookup is not None:
                data = lookup(kind, namespace, ref["name"], "")
                for k, v in _parse_env_blob(data).items():
                    env[prefix + k] = v
    for item in container.get("env", []) or []:
        name = item["name"]
        if "value" in item:
            env[name] = expand(str(item["value"]), env)
            continue
        source = item.get("valueFrom") or {}
        if "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"]["fieldPath"], pod_ips, node)
        elif lookup is not None and ("configMapKeyRef" in source or "secretKeyRef" in source):
            kind, ref = ("ConfigMap", source["configMapKeyRef"]) if "configMapKeyRef" in source else (
                "Secret", source["secretKeyRef"])
            value = lookup(kind, namespace, ref["name"], ref["key"])
            if value is not None:
                env[name] = value
        else:
            env.setdefault(name, "")
    return env


def _parse_env_blob(blob: str | None) -> dict[str, str]:
    """`lookup(kind, ns, name, "")` returns every key as KEY=VALUE lines."""
    out: dict[str, str] = {}
    for line in (blob or "").splitlines():
        key, _, value = line.partition("=")
        if key:
            out[key] = value
    return out


def container_argv(container: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """command + args with $(VAR) expansion; args alone when there is no command (no image entrypoint)."""
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    return [expand(str(a), env) for a in argv]


def resolve_program(argv: Sequence[str], path: str) -> str | None:
    """The absolute path of argv[0] on the host, or None when it is not there."""
    if not argv:
        return None
    return shutil.which(argv[0], path=path)


@dataclass
class ProbeState:
    """Consecutive results of one probe and when it runs next."""

    spec: Mapping[str, Any]
    next_run: float
    successes: int = 0
    failures: int = 0
    passing: bool = False
    running: bool = False
    ever_passed: bool = False


@dataclass
class ContainerRun:
    """One container: its spec, its current process and what Kubernetes reports about it."""

    spec: Mapping[str, Any]
    init: bool = False
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    started_iso: str = ""
    restart_count: int = 0
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    next_start: float = 0.0
    backoff: float = BACKOFF_START
    done: bool = False  # terminated and will not run again
    readiness: ProbeState | None = None
    liveness: ProbeState | None = None
    startup: ProbeState | None = None

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def ready(self) -> bool:
        if not self.running:
            return False
        return self.readiness.passing if self.readiness is not None else True


class PodRunner:
    """Runs one pod bound to `node`. Call `start()`, then `tick()` often, `stop()` at the end."""

    def __init__(
        self, pod: Pod, node: LabNode, topo: topology.Topology, pod_ips: Sequence[str], log_dir: Path,
        *, lookup: Lookup | None = None,
    ) -> None:
        self.pod = pod
        self.node = node
        self.topo = topo
        meta = pod["metadata"]
        spec = pod.get("spec", {})
        self.namespace: str = meta.get("namespace", "default")
        self.name: str = meta["name"]
        self.uid: str = meta.get("uid") or f"{self.namespace}-{self.name}"
        self.host_network = bool(spec.get("hostNetwork"))
        self.netns = node.netns if self.host_network else topo.pod_netns(self.uid)
        self.pod_ips = list(node.addresses) if self.host_network else list(pod_ips)
        self.restart_policy: str = spec.get("restartPolicy", "Always")
        self.log_dir = log_dir
        self.lookup = lookup
        self.init = [ContainerRun(c, init=True) for c in spec.get("initContainers", []) or []]
        self.main = [ContainerRun(c) for c in spec.get("containers", [])]
        self.start_time = ""
        self.sandbox_error: str | None = None
        self.stopped = False
        self._transitions: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the pod's namespace and wiring (not for hostNetwork pods), then run what can run."""
        self.start_time = now_iso()
        if not self.host_network:
            try:
                topology.wire_pod(self.node, self.netns, self.pod_ips)
            except Exception as exc:  # a failed sandbox is reported on the pod, as a kubelet does
                self.sandbox_error = f"{type(exc).__name__}: {exc}"
                return
        for run in [*self.init, *self.main]:
            run.readiness = self._probe_state(run.spec.get("readinessProbe"))
            run.liveness = self._probe_state(run.spec.get("livenessProbe"))
            run.startup = self._probe_state(run.spec.get("startupProbe"))
        self.tick()

    def stop(self, grace: float = 2.0) -> None:
        """Stop every container (SIGTERM, then SIGKILL after `grace`) and remove the namespace."""
        with self._lock:
            self.stopped = True
            procs = [r.proc for r in [*self.init, *self.main] if r.proc is not None and r.proc.poll() is None]
            for proc in procs:
                _signal_group(proc, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                if proc.poll() is None:
                    _signal_group(proc, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=KILLED_WAIT)
            if not self.host_network:
                topology.unwire_pod(self.netns, grace=0.2)

    def tick(self) -> None:
        """Advance: reap exits, apply the restart policy and back-off, start what is due, run probes."""
        with self._lock:
            if self.stopped or self.sandbox_error:
                return
            now = time.monotonic()
            for run in [*self.init, *self.main]:
                self._reap(run, now)
            pending_init = next((r for r in self.init if not r.done), None)
            if pending_init is not None:
                if not pending_init.running and now >= pending_init.next_start:
                    self._launch(pending_init, now)
                return
            for run in self.main:
                if run.proc is None and not run.done and now >= run.next_start:
                    self._launch(run, now)
                self._probe(run, now)

    # --- containers -----------------------------------------------------------------------------
    def log_path(self, container: str, run: int | None = None) -> Path:
        """The log of a container's run; by default the current one, or the last one while it waits to restart."""
        if run is None:
            c = next(r for r in [*self.init, *self.main] if r.name == container)
            waiting = c.proc is None and not c.done and c.restart_count > 0
            run = c.restart_count - 1 if waiting else c.restart_count
        return podlogs.log_path(self.log_dir, self.namespace, self.name, self.uid, container, run)

    def exec_command(self, container: str, command: Sequence[str]) -> tuple[list[str], dict[str, str], str]:
        """argv, env and working directory to run `command` beside a running container, as a runtime's
        exec does: in the pod's namespaces (the lab's pods have a network namespace; `ip netns exec`
        gives each process the same view of it), with the container's environment.
        Raises LookupError (the kubelet's message) when the container is not running."""
        with self._lock:
            run = next((r for r in [*self.init, *self.main] if r.name == container and r.running), None)
        if run is None or self.stopped:
            raise LookupError(f'container not found ("{container}")')
        env = container_env(self.pod, run.spec, self.node, self.pod_ips, self.lookup)
        program = resolve_program(command, env["PATH"])
        if program is None:
            raise FileNotFoundError(f'exec: "{command[0] if command else ""}": executable file not found in $PATH')
        return ["ip", "netns", "exec", self.netns, program, *command[1:]], env, run.spec.get("workingDir") or "/"

    def attach_source(self, container: str) -> tuple[Path, Callable[[], bool]]:
        """The log the container's current run writes, and whether that run still runs (for attach)."""
        with self._lock:
            run = next((r for r in self.main if r.name == container and r.running), None)
            if run is None or run.proc is None:
                raise LookupError(f'container not found ("{container}")')
            proc = run.proc
            return self.log_path(container, run.restart_count), lambda: proc.poll() is None

    def _launch(self, run: ContainerRun, now: float) -> None:
        env = container_env(self.pod, run.spec, self.node, self.pod_ips, self.lookup)
        argv = container_argv(run.spec, env)
        try:
            argv = images.stand_in(run.spec, argv, init=run.init) or argv
        except images.NoStandIn as exc:
            run.state = {"waiting": {"reason": "ImageNotStoodIn", "message": str(exc)}}
            run.next_start = now + BACKOFF_MAX
            return
        program = resolve_program(argv, env["PATH"])
        if program is None:
            shown = argv[0] if argv else "(none)"
            why = f"{shown} is not on this host" if argv else "the container has no command or args"
            run.state = {"waiting": {"reason": "CommandNotFound",
                                     "message": f"CommandNotFound: {why} (the lab runs host commands; "
                                                "images are recorded, not pulled)"}}
            run.next_start = now + BACKOFF_START
            return
        path = self.log_path(run.name, run.restart_count)
        path.parent.mkdir(parents=True, exist_ok=True)
        log = open(path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            run.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, program, *argv[1:]],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=run.spec.get("workingDir") or "/", start_new_session=True,
            )
        except OSError as exc:
            run.state = {"waiting": {"reason": "RunContainerError", "message": str(exc)}}
            run.next_start = now + run.backoff
            return
        finally:
            log.close()
        run.started_at = now
        run.started_iso = now_iso()
        run.state = {"running": {"startedAt": run.started_iso}}
        if run.readiness is not None:
            run.readiness = self._probe_state(run.readiness.spec)
        if run.liveness is not None:
            run.liveness = self._probe_state(run.liveness.spec)
        if run.startup is not None:
            run.startup = self._probe_state(run.startup.spec)

    def _reap(self, run: ContainerRun, now: float) -> None:
        if run.proc is None or run.proc.poll() is None:
            return
        code = run.proc.returncode
        # A signal shows as a negative return code (or 128+n through the `ip` wrapper).
        exit_code = 128 - code if code < 0 else code
        terminated = {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": run.started_iso,
            "finishedAt": now_iso(),
            "containerID": self._container_id(run),
        }
        message = self._termination_message(run, exit_code)
        if message:
            terminated["message"] = message
        run.proc = None
        if run.init:  # init containers run to success; retried unless the pod says Never
            restart = exit_code != 0 and self.restart_policy != "Never"
        else:
            policy = self.restart_policy
            restart = policy == "Always" or (policy == "OnFailure" and exit_code != 0)
        if not restart:
            run.done = True
            run.state = {"terminated": terminated}
            return
        run.last_state = {"terminated": terminated}
        if now - run.started_at >= BACKOFF_RESET_AFTER:
            run.backoff = BACKOFF_START
        run.restart_count += 1
        run.next_start = now + run.backoff
        run.state = {"waiting": {"reason": "CrashLoopBackOff",
                                 "message": f"back-off {run.backoff:g}s restarting failed container="
                                            f"{run.name} pod={self.name}"}}
        run.backoff = min(run.backoff * 2, BACKOFF_MAX)

    def _container_id(self, run: ContainerRun) -> str:
        return podlogs.container_id(self.netns, run.name, run.restart_count)

    # --- probes ---------------------------------------------------------------------------------
    def _termination_message(self, run: ContainerRun, exit_code: int) -> str:
        """`FallbackToLogsOnError`: a failed container's last log lines become its termination message, as
        the kubelet does (at most 80 lines and 2048 bytes), so `kubectl describe` and facts show the reason."""
        if exit_code == 0 or run.spec.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            return ""
        try:
            data = self.log_path(run.name, run.restart_count).read_bytes()[-TERMINATION_MESSAGE_BYTES:]
        except OSError:
            return ""
        lines = data.decode("utf-8", errors="replace").splitlines()[-TERMINATION_MESSAGE_LINES:]
        return "\n".join(lines).strip()

    @staticmethod
    def _probe_state(spec: Mapping[str, Any] | None) -> ProbeState | None:
        if not spec:
            return None
        return ProbeState(spec=spec, next_run=time.monotonic() + float(spec.get("initialDelaySeconds", 0)))

    def _probe(self, run: ContainerRun, now: float) -> None:
        """Run the probes that are due. As a kubelet does, readiness and liveness wait for the startup
        probe to pass; then (a lab shortcut) readiness is asked at once rather than a period later."""
        started = run.startup is None or run.startup.passing
        for state, kind in ((run.startup, "startup"), (run.readiness, "readiness"), (run.liveness, "liveness")):
            if state is None or state.running or not run.running or now < state.next_run:
                continue
            if (kind == "startup" and state.passing) or (kind != "startup" and not started):
                continue
            state.running = True
            period = float(state.spec.get("periodSeconds", 10))
            if not state.ever_passed:
                period = min(period, FIRST_SUCCESS_PERIOD)
            state.next_run = now + period
            threading.Thread(target=self._probe_once, args=(run, state, kind), daemon=True).start()

    def _probe_once(self, run: ContainerRun, state: ProbeState, kind: str) -> None:
        ok = probe(state.spec, run.spec, self.netns, self.node.netns, self.pod_ips)
        with self._lock:
            state.running = False
            if ok:
                state.successes, state.failures = state.successes + 1, 0
                if state.successes >= int(state.spec.get("successThreshold", 1)):
                    state.passing = state.ever_passed = True
                    if kind == "startup" and run.readiness is not None:
                        run.readiness.next_run = time.monotonic()
            else:
                state.failures, state.successes = state.failures + 1, 0
                if state.failures >= int(state.spec.get("failureThreshold", 3)):
                    state.passing = False
                    if kind != "readiness" and run.proc is not None and run.proc.poll() is None:
                        _signal_group(run.proc, signal.SIGKILL)

    # --- status ---------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The pod's status as the API stores it (phase, IPs, conditions, container statuses)."""
        with self._lock:
            return self._status()

    def _status(self) -> dict[str, Any]:
        runs = self.main
        initialized = all(r.done and r.state["terminated"]["exitCode"] == 0 for r in self.init)
        ready = initialized and bool(runs) and all(r.ready for r in runs)
        phase = self._phase(initialized)
        status: dict[str, Any] = {
            "phase": phase,
            "hostIP": str(self.node.ipv4),
            "hostIPs": [{"ip": a} for a in self.node.addresses],
            "qosClass": "BestEffort",
        }
        if self.start_time:
            status["startTime"] = self.start_time
        if self.pod_ips and not self.sandbox_error:
            status["podIP"] = self.pod_ips[0]
            status["podIPs"] = [{"ip": a} for a in self.pod_ips]
        conditions = {
            "PodScheduled": True,
            "Initialized": initialized,
            "ContainersReady": ready,
            "Ready": ready,
        }
        if self.sandbox_error:
            status["message"] = self.sandbox_error
            status["reason"] = "SandboxCreationFailed"
        status["conditions"] = [self._condition(k, v) for k, v in conditions.items()]
        if self.init:
            status["initContainerStatuses"] = [self._container_status(r) for r in self.init]
        status["containerStatuses"] = [self._container_status(r) for r in runs]
        return status

    def _phase(self, initialized: bool) -> str:
        if self.sandbox_error:
            return "Pending"
        failed_init = any(r.done and r.state["terminated"]["exitCode"] != 0 for r in self.init)
        if failed_init:
            return "Failed"
        if not initialized or any(r.restart_count == 0 and r.proc is None and not r.done for r in self.main):
            return "Pending"
        if self.main and all(r.done for r in self.main):
            codes = [r.state["terminated"]["exitCode"] for r in self.main]
            return "Succeeded" if all(c == 0 for c in codes) else "Failed"
        return "Running"

    def _condition(self, kind: str, value: bool) -> dict[str, Any]:
        text = "True" if value else "False"
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != text:
            self._transitions[kind] = (text, now_iso())
        return {"type": kind, "status": text, "lastProbeTime": None,
                "lastTransitionTime": self._transitions[kind][1]}

    def _container_status(self, run: ContainerRun) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": run.name,
            "image": run.spec.get("image", ""),
            "imageID": "",
            "ready": run.ready,
            "started": run.running,
            "restartCount": run.restart_count,
            "state": run.state,
            "lastState": run.last_state,
        }
        if run.proc is not None or run.done or run.restart_count:
            out["containerID"] = self._container_id(run)
        return out

    @property
    def pids(self) -> list[int]:
        return [r.proc.pid for r in [*self.init, *self.main] if r.proc is not None and r.proc.poll() is None]


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _port(value: Any, container: Mapping[str, Any]) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for port in container.get("ports", []) or []:
        if port.get("name") == value:
            return int(port["containerPort"])
    raise ValueError(f"no container port named {value!r}")


def probe(spec: Mapping[str, Any], container: Mapping[str, Any], pod_ns: str, node_ns: str,
          pod_ips: Sequence[str]) -> bool:
    """Run one probe: exec inside the pod's namespace, tcpSocket/httpGet from the node's namespace."""
    timeout = float(spec.get("timeoutSeconds", 1))
    try:
        if "exec" in spec:
            argv = [str(a) for a in spec["exec"].get("command", [])]
            program = resolve_program(argv, host_path())
            if program is None:
                return False
            result = subprocess.run(["ip", "netns", "exec", pod_ns, program, *argv[1:]], timeout=timeout,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env={"PATH": host_path()}, check=False)
            return result.returncode == 0
        for kind in ("tcpSocket", "httpGet"):
            if kind in spec:
                target = spec[kind]
                host = target.get("host") or (pod_ips[0] if pod_ips else "127.0.0.1")
                sock = _connect(node_ns, host, _port(target["port"], container), timeout)
                with sock:
                    if kind == "tcpSocket":
                        return True
                    return _http_ok(sock, host, target, timeout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return False
    return False


def _connect(ns: str, host: str, port: int, timeout: float) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with netns.entered(ns):
        sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _http_ok(sock: socket.socket, host: str, target: Mapping[str, Any], timeout: float) -> bool:
    conn = http.client.HTTPConnection(host, timeout=timeout)
    conn.sock = sock
    headers = {h["name"]: h["value"] for h in target.get("httpHeaders", []) or []}
    conn.request("GET", target.get("path", "/"), headers=headers)
    code = conn.getresponse().status
    return 200 <= code < 400
