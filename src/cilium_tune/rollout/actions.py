"""What each step does against the cluster. Called only by the executor (`rollout/executor.py`).

Every action is idempotent, or made so by what was recorded when the step started (`prepare`): a step
that was started and then killed runs again on resume. `RestartAgent` records the agent pod's UID before
deleting it, so a resumed restart waits for a newer pod instead of deleting the new one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cilium_tune.adapters import kube as k
from cilium_tune.adapters.helm import Helm, parse_duration, run_step_argv
from cilium_tune.adapters.kube import CRDS, DEPLOYMENTS, PODS, KubeAPI, Resource
from cilium_tune.errors import ClusterError
from cilium_tune.facts.agent_status import parse_agent_status
from cilium_tune.plan.steps import (
    AGENT_SELECTOR,
    OPERATOR_SELECTOR,
    PENDING_LABEL,
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

CHECK_NAMESPACE = "default"
CHECK_LABEL = "cilium-tune.io/check"
CHECK_IMAGE = "python:3.12-slim"
CHECK_PORT = 8080
NODE_CONFIG_CRD = "ciliumnodeconfigs.cilium.io"
OPERATOR_DEPLOYMENT = "cilium-operator"


class CheckFailed(ClusterError):
    """A node did not pass its check: the agent reports other settings, or pods do not reach each other."""


@dataclass
class Actions:
    """Runs steps against one cluster. `echo` reports progress lines; `helm` runs helm steps."""

    kube: KubeAPI
    helm: Helm
    kubeconfig: str | None = None
    echo: Callable[[str], None] = lambda line: None

    def prepare(self, step: Step) -> dict[str, Any]:
        """What to record when the step starts (read before anything changes)."""
        if isinstance(step, RestartAgent):
            pod = k.node_pod(self.kube, step.namespace, AGENT_SELECTOR, step.node)
            return {"old_uid": k.pod_uid(pod) if pod else None}
        if isinstance(step, RestartOperator):
            pods = self.kube.list(PODS, step.namespace, label_selector=OPERATOR_SELECTOR)
            return {"old_uids": sorted(k.pod_uid(p) for p in pods)}
        return {}

    def run(self, step: Step, started: dict[str, Any]) -> dict[str, Any]:
        """Do the step; return what to record with `done`."""
        if isinstance(step, HelmUpgrade | HelmRollback):
            timeout = parse_duration(step.timeout) + 30
            run_step_argv(self.helm, step.argv(), kubeconfig=self.kubeconfig, timeout=timeout)
            return {}
        if isinstance(step, LabelNode):
            k.label_node(self.kube, step.node, PENDING_LABEL, step.value)
            return {}
        if isinstance(step, Cordon):
            k.cordon(self.kube, step.node, step.unschedulable)
            return {}
        if isinstance(step, EvictPods):
            return {"evicted": k.evict_workloads(self.kube, step.node, timeout=step.timeout_s)}
        if isinstance(step, DeleteDaemonSetPods):
            return {"deleted": k.delete_pod_network_daemon_pods(self.kube, step.node, timeout=step.timeout_s)}
        if isinstance(step, RestartAgent):
            return self._restart_agent(step, started)
        if isinstance(step, RestartOperator):
            return self._restart_operator(step, started)
        if isinstance(step, NodeConfig):
            return self._node_config(step)
        if isinstance(step, CheckNode):
            return self._check(step)
        if isinstance(step, RemoveCheckPods):
            pods = self.kube.list(PODS, step.namespace, label_selector=f"{CHECK_LABEL}")
            for pod in pods:
                self.kube.delete(PODS, pod["metadata"]["name"], step.namespace)
            return {"deleted": len(pods)}
        raise TypeError(f"no action for {type(step).__name__}")

    # ---------------------------------------------------------------- agents and operator

    def _restart_agent(self, step: RestartAgent, started: dict[str, Any]) -> dict[str, Any]:
        old = started.get("old_uid")
        pod = k.node_pod(self.kube, step.namespace, AGENT_SELECTOR, step.node)
        if pod is not None and k.pod_uid(pod) == old:
            self.kube.delete(PODS, pod["metadata"]["name"], step.namespace)
        new = k.wait_new_pod_ready(
            self.kube, step.namespace, AGENT_SELECTOR, step.node, {old} if old else set(), timeout=step.timeout_s
        )
        return {"old_uid": old, "new_uid": k.pod_uid(new), "pod": new["metadata"]["name"]}

    def _restart_operator(self, step: RestartOperator, started: dict[str, Any]) -> dict[str, Any]:
        try:
            self.kube.get(DEPLOYMENTS, OPERATOR_DEPLOYMENT, step.namespace)
        except k.NotFound:
            return {"pods": []}  # the release runs no operator (e.g. the lab chart without Gateway API)
        old = set(started.get("old_uids") or [])
        for pod in self.kube.list(PODS, step.namespace, label_selector=OPERATOR_SELECTOR):
            if k.pod_uid(pod) in old and not pod["metadata"].get("deletionTimestamp"):
                self.kube.delete(PODS, pod["metadata"]["name"], step.namespace)
        deadline = time.monotonic() + step.timeout_s
        while True:
            pods = [
                p
                for p in self.kube.list(PODS, step.namespace, label_selector=OPERATOR_SELECTOR)
                if not p["metadata"].get("deletionTimestamp")
            ]
            fresh = [p for p in pods if k.pod_uid(p) not in old]
            if fresh and all(k.pod_ready(p) for p in fresh) and len(fresh) == len(pods):
                return {"pods": sorted(p["metadata"]["name"] for p in fresh)}
            if time.monotonic() > deadline:
                raise ClusterError(f"the operator's new pods are not Ready within {step.timeout_s} s")
            time.sleep(0.5)

    # ---------------------------------------------------------------- CiliumNodeConfig

    def _node_config(self, step: NodeConfig) -> dict[str, Any]:
        if not step.present:
            try:
                res = self._node_config_resource()
            except ClusterError:
                return {"deleted": False}  # not served: there is none to delete
            return {"deleted": self.kube.delete(res, step.name, step.namespace)}
        res = self._node_config_resource()
        manifest = step.manifest() | {"apiVersion": res.api_version}
        try:
            self.kube.get(res, step.name, step.namespace)
        except k.NotFound:
            self.kube.create(res, manifest, step.namespace)
            return {"api_version": res.api_version, "created": True}
        self.kube.patch(res, step.name, {"spec": manifest["spec"]}, step.namespace)
        return {"api_version": res.api_version, "created": False}

    def _node_config_resource(self) -> Resource:
        """CiliumNodeConfig at the version the cluster serves (cilium.io/v2 from 1.16, v2alpha1 before)."""
        try:
            crd = self.kube.get(CRDS, NODE_CONFIG_CRD)
        except k.NotFound:
            raise ClusterError(
                f"the cluster does not serve CiliumNodeConfig ({NODE_CONFIG_CRD} is missing)",
                hint="install Cilium's CRDs (the agent installs them), or use --strategy clean-state",
            ) from None
        served = [str(v.get("name")) for v in crd.get("spec", {}).get("versions") or [] if v.get("served")]
        version = next((v for v in ("v2", "v2alpha1") if v in served), served[0] if served else "v2")
        return Resource("cilium.io", version, "ciliumnodeconfigs", "CiliumNodeConfig", namespaced=True)

    # ---------------------------------------------------------------- the node check

    def _check(self, step: CheckNode) -> dict[str, Any]:
        status = self._agent_reports(step)
        reached = self._connectivity(step) if step.peers else {}
        return {"status": status, "reached": reached}

    def _agent_reports(self, step: CheckNode) -> dict[str, str]:
        """The agent's status lines match `step.expect` (polled: the agent writes them once programmed)."""
        deadline = time.monotonic() + step.timeout_s
        while True:
            pod = k.node_pod(self.kube, step.namespace, AGENT_SELECTOR, step.node)
            status = parse_agent_status(self.kube.logs(pod["metadata"]["name"], step.namespace)) if pod else None
            seen = status.fields if status else {}
            wrong = {
                label: seen.get(label, "(missing)")
                for label, prefix in step.expect
                if not seen.get(label, "").startswith(prefix)
            }
            if not wrong:
                return {label: seen[label] for label, _ in step.expect}
            if time.monotonic() > deadline:
                want = dict(step.expect)
                detail = "; ".join(
                    f"{label}: wants {want[label]!r}, reports {value!r}" for label, value in wrong.items()
                )
                raise CheckFailed(f"node {step.node}: the agent does not report the desired settings: {detail}")
            time.sleep(0.5)

    def _connectivity(self, step: CheckNode) -> dict[str, str]:
        """A test pod on the node fetches a page from a test pod on each peer node, per address family."""
        for node in (step.node, *step.peers):
            self._ensure_echo(node)
        targets = []
        deadline = time.monotonic() + step.timeout_s
        for node in step.peers:
            pod = self._wait_echo_ready(node, deadline)
            for entry in pod.get("status", {}).get("podIPs") or [{"ip": pod["status"].get("podIP")}]:
                ip = str(entry.get("ip") or "")
                family = "ipv6" if ":" in ip else "ipv4"
                if ip and family in step.families:
                    host = f"[{ip}]" if family == "ipv6" else ip
                    targets.append((f"{node}/{family}", f"http://{host}:{CHECK_PORT}/"))
        self._wait_echo_ready(step.node, deadline)
        results = self._run_client(step.node, targets, deadline)
        failed = {name: outcome for name, outcome in results.items() if outcome != "ok"}
        if failed or len(results) < len(targets):
            missing = [name for name, _ in targets if name not in results]
            detail = ", ".join(f"{name}: {outcome}" for name, outcome in failed.items()) or "no result"
            raise CheckFailed(
                f"node {step.node}: a test pod there does not reach pods on other nodes ({detail}"
                + (f"; no answer for {', '.join(missing)}" if missing else "")
                + ")"
            )
        return results

    def _echo_name(self, node: str) -> str:
        return f"ct-echo-{node}"[:63].rstrip("-.")

    def _ensure_echo(self, node: str) -> None:
        name = self._echo_name(node)
        try:
            pod = self.kube.get(PODS, name, CHECK_NAMESPACE)
            if not pod["metadata"].get("deletionTimestamp") and pod["spec"].get("nodeName") == node:
                return
        except k.NotFound:
            pod = None
        if pod is not None:
            self._wait_gone(name, 30)
        server = (
            "import http.server,socket\n"
            "class S(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6\n"
            f"S(('::', {CHECK_PORT}), http.server.SimpleHTTPRequestHandler).serve_forever()\n"
        )
        self.kube.create(PODS, self._pod(name, node, ["python3", "-c", server], echo=True), CHECK_NAMESPACE)

    def _pod(self, name: str, node: str, command: list[str], *, echo: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "nodeName": node,
            "terminationGracePeriodSeconds": 1,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "main", "image": CHECK_IMAGE, "command": command}],
        }
        if echo:
            spec["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": CHECK_PORT}, "periodSeconds": 1}
        else:
            spec["restartPolicy"] = "Never"
        labels = {"app.kubernetes.io/managed-by": "cilium-tune", CHECK_LABEL: "echo" if echo else "client"}
        return {"metadata": {"name": name, "namespace": CHECK_NAMESPACE, "labels": labels}, "spec": spec}

    def _wait_echo_ready(self, node: str, deadline: float) -> dict[str, Any]:
        name = self._echo_name(node)
        while True:
            try:
                pod = self.kube.get(PODS, name, CHECK_NAMESPACE)
                if k.pod_ready(pod):
                    return pod
            except k.NotFound:
                self._ensure_echo(node)
            if time.monotonic() > deadline:
                raise CheckFailed(f"node {node}: the test pod {CHECK_NAMESPACE}/{name} is not Ready")
            time.sleep(0.3)

    def _wait_gone(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.kube.get(PODS, name, CHECK_NAMESPACE)
            except k.NotFound:
                return
            time.sleep(0.2)
        raise ClusterError(f"pod {CHECK_NAMESPACE}/{name} does not go away")

    def _run_client(self, node: str, targets: list[tuple[str, str]], deadline: float) -> dict[str, str]:
        """One short-lived pod on `node` fetches every target (retrying for a few seconds) and prints a JSON line."""
        script = (
            "import json,sys,time,urllib.request\n"
            f"targets = {json.dumps(targets)}\n"
            "out = {}\n"
            "for name, url in targets:\n"
            "    end = time.monotonic() + 8\n"
            "    while True:\n"
            "        try:\n"
            "            urllib.request.urlopen(url, timeout=2).read(); out[name] = 'ok'; break\n"
            "        except Exception as exc:\n"
            "            out[name] = type(exc).__name__ + ': ' + str(exc)[:80]\n"
            "            if time.monotonic() > end: break\n"
            "            time.sleep(0.3)\n"
            "print('RESULT ' + json.dumps(out))\n"
        )
        name = f"ct-check-{node}-{int(time.time() * 1000) % 10**8}"[:63]
        self.kube.create(PODS, self._pod(name, node, ["python3", "-c", script], echo=False), CHECK_NAMESPACE)
        try:
            while True:
                pod = self.kube.get(PODS, name, CHECK_NAMESPACE)
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    break
                if time.monotonic() > deadline:
                    raise CheckFailed(f"node {node}: the test client pod did not finish")
                time.sleep(0.3)
            log = self.kube.logs(name, CHECK_NAMESPACE)
        finally:
            self.kube.delete(PODS, name, CHECK_NAMESPACE)
        for line in reversed(log.splitlines()):
            if line.startswith("RESULT "):
                return {str(key): str(value) for key, value in json.loads(line[7:]).items()}
        raise CheckFailed(f"node {node}: the test client printed no result: {log.strip()[-200:]}")

