"""A `lab up` cluster end to end: nodes, pods, traffic, the Python client, helm, and a clean `down`."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, Pod

from cilium_tune.errors import InputError
from cilium_tune.facts.k3s import parse_node_args_annotation
from cilium_tune.lab import cluster, netns
from cilium_tune.lab.cluster import LabInstance

pytestmark = [pytest.mark.root, pytest.mark.lab]
MANAGED = {"app.kubernetes.io/managed-by": "cilium-tune"}


@pytest.fixture(scope="module")
def client(lab: LabInstance) -> Iterator[Client]:
    with Client(KubeConfig.from_file(lab.kubeconfig), field_manager="cilium-tune-tests") as c:
        yield c


@pytest.fixture
def pods(client: Client) -> Iterator[Callable[..., Pod]]:
    """Create pods (labelled managed-by cilium-tune) and delete whatever is left of them afterwards."""
    made: list[str] = []

    def create(name: str, containers: list[dict[str, Any]], **spec: Any) -> Pod:
        made.append(name)
        return client.create(Pod.from_dict({
            "metadata": {"name": name, "namespace": "default", "labels": MANAGED},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 1, **spec},
        }))

    yield create
    for name in made:
        with contextlib.suppress(ApiError):
            client.delete(Pod, name, namespace="default", grace_period=0)


def wait_pod(client: Client, name: str, cond: Callable[[Pod], bool], timeout: float = 10.0) -> Pod:
    deadline = time.monotonic() + timeout
    while True:
        pod = client.get(Pod, name, namespace="default")
        if cond(pod):
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {name} never met the condition; status: {pod.status}")
        time.sleep(0.1)


def running_ready(pod: Pod) -> bool:
    status = pod.status
    return bool(status and status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in status.conditions or []))


def wait_gone(client: Client, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.get(Pod, name, namespace="default")
        except ApiError as exc:
            if exc.status.code == 404:
                return
            raise
        time.sleep(0.1)
    raise AssertionError(f"pod {name} still exists")


def test_nodes_look_like_dual_stack_k3s_nodes(client: Client, lab: LabInstance) -> None:
    nodes = {n.metadata.name: n for n in client.list(Node)}

    assert sorted(nodes) == ["lab-1", "lab-2"]
    first = nodes["lab-1"]
    assert [a.address for a in first.status.addresses if a.type == "InternalIP"] == ["198.18.0.11", "fd00:18::11"]
    assert first.spec.podCIDRs == ["198.19.1.0/24", "fd00:19::100/120"]
    assert first.status.nodeInfo.kernelVersion == platform.release()
    assert any(c.type == "Ready" and c.status == "True" for c in first.status.conditions)
    k3s = parse_node_args_annotation(first.metadata.annotations["k3s.io/node-args"])
    assert k3s is not None and k3s.role == "server"


def test_pods_on_two_nodes_get_both_families_and_reach_each_other(
        client: Client, pods: Callable[..., Pod]) -> None:
    pods("server", [{"name": "http", "image": "python:3.11",
                     "command": ["sh", "-c", "ip -br a; exec python3 -m http.server --bind :: 8080"],
                     "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}],
         nodeName="lab-1")
    server = wait_pod(client, "server", running_ready)
    v4, v6 = (ip.ip for ip in server.status.podIPs)
    assert ipaddress.ip_address(v4) in ipaddress.ip_network("198.19.1.0/24")
    assert ipaddress.ip_address(v6) in ipaddress.ip_network("fd00:19::100/120")
    server_log = "\n".join(client.log("server", namespace="default"))
    assert f"{v4}/32" in server_log and f"{v6}/128" in server_log

    script = (f"ip -br a; curl -sf -m 3 -o /dev/null http://{v4}:8080/ && echo v4-ok; "
              f"curl -sf -m 3 -o /dev/null http://[{v6}]:8080/ && echo v6-ok")
    pods("client", [{"name": "main", "image": "curlimages/curl", "command": ["sh", "-c", script]}],
         nodeName="lab-2", restartPolicy="Never")
    client_pod = wait_pod(client, "client", lambda p: p.status.phase in ("Succeeded", "Failed"))

    log = "\n".join(client.log("client", namespace="default"))
    own_v4, own_v6 = (ip.ip for ip in client_pod.status.podIPs)
    assert f"{own_v4}/32" in log and f"{own_v6}/128" in log
    assert ipaddress.ip_address(own_v4) in ipaddress.ip_network("198.19.2.0/24")
    assert ipaddress.ip_address(own_v6) in ipaddress.ip_network("fd00:19::200/120")
    assert "v4-ok" in log and "v6-ok" in log


def test_the_python_client_watches_evicts_and_deletes_pods(
        client: Client, pods: Callable[..., Pod], lab: LabInstance) -> None:
    pods("evictme", [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}])
    pods("deleteme", [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}])
    seen: set[str] = set()
    for _kind, pod in client.watch(Pod, namespace="default", fields={"metadata.name": "evictme"}):
        if pod.status and pod.status.phase:
            seen.add(pod.status.phase)
        if running_ready(pod):
            break
    assert "Running" in seen
    uid = client.get(Pod, "evictme", namespace="default").metadata.uid
    pod_ns = lab.topology.pod_netns(uid)
    assert netns.exists(pod_ns)

    client.create(Pod.Eviction(metadata=ObjectMeta(name="evictme", namespace="default")),
                  name="evictme", namespace="default")
    wait_gone(client, "evictme")
    assert not netns.exists(pod_ns)

    wait_pod(client, "deleteme", running_ready)
    client.delete(Pod, "deleteme", namespace="default")
    wait_gone(client, "deleteme")


def test_a_command_missing_on_the_host_is_a_clear_waiting_reason(
        client: Client, pods: Callable[..., Pod]) -> None:
    pods("missing", [{"name": "main", "image": "nginx", "command": ["nginx", "-g", "daemon off;"]}]
         if not os.path.exists("/usr/sbin/nginx") else
         [{"name": "main", "image": "x", "command": ["no-such-command-here"]}])
    pod = wait_pod(client, "missing", lambda p: bool(
        p.status and p.status.containerStatuses and p.status.containerStatuses[0].state.waiting))

    waiting = pod.status.containerStatuses[0].state.waiting
    assert pod.status.phase == "Pending"
    assert waiting.reason == "CommandNotFound" and "is not on this host" in waiting.message


def test_a_crashing_pod_counts_restarts(client: Client, pods: Callable[..., Pod]) -> None:
    pods("crashy", [{"name": "main", "image": "busybox", "command": ["sh", "-c", "exit 1"]}])

    pod = wait_pod(client, "crashy", lambda p: bool(
        p.status and p.status.containerStatuses and p.status.containerStatuses[0].restartCount >= 1))
    assert pod.status.containerStatuses[0].lastState.terminated.exitCode == 1


def test_logs_belong_to_the_pod_instance_and_previous_shows_the_run_before(
        client: Client, pods: Callable[..., Pod], lab: LabInstance, kubectl_bin: Path, tmp_path: Path) -> None:
    # Run 0 exits 1; run 1 stays: `logs` is run 1's, `logs --previous` run 0's.
    script = f'n=$(ls {tmp_path} | wc -l); touch {tmp_path}/$n; echo run $n; [ $n -ge 1 ] && exec sleep 300; exit 1'
    pods("runs", [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}])
    wait_pod(client, "runs", lambda p: bool(p.status and p.status.containerStatuses and p.status.containerStatuses[
        0].restartCount == 1 and p.status.containerStatuses[0].state.running), timeout=30)

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(kubectl_bin), "--kubeconfig", str(lab.kubeconfig), "-n", "default", *args],
                              capture_output=True, text=True, timeout=30, check=False)

    assert kubectl("logs", "runs").stdout == "run 1\n"
    assert kubectl("logs", "runs", "--previous").stdout == "run 0\n"
    first = client.get(Pod, "runs", namespace="default").metadata.uid
    client.delete(Pod, "runs", namespace="default", grace_period=0)
    wait_gone(client, "runs")

    pods("runs", [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo second; exec sleep 300"]}])
    wait_pod(client, "runs", running_ready)
    assert list(client.log("runs", namespace="default")) == ["second\n"]
    previous = kubectl("logs", "runs", "-p")
    assert previous.returncode == 1
    assert 'previous terminated container "main" in pod "runs" not found' in previous.stderr
    assert not list(lab.log_dir.glob(f"default_runs_{first}"))


def test_kubectl_exec_runs_in_the_pods_namespace_with_stdin_stderr_and_exit_codes(
        client: Client, pods: Callable[..., Pod], lab: LabInstance, kubectl_bin: Path) -> None:
    pods("dscheck", [{"name": "dscheck", "image": "busybox", "command": ["sleep", "300"],
                      "env": [{"name": "GREETING", "value": "hi"}]}], nodeName="lab-2")
    v4, v6 = (ip.ip for ip in wait_pod(client, "dscheck", running_ready).status.podIPs)

    def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(kubectl_bin), "--kubeconfig", str(lab.kubeconfig), *args], input=stdin,
                              capture_output=True, text=True, timeout=30, check=False)

    shown = kubectl("-n", "default", "exec", "dscheck", "--", "ip", "-br", "a")
    assert shown.returncode == 0, shown.stderr
    assert f"{v4}/32" in shown.stdout and f"{v6}/128" in shown.stdout
    failed = kubectl("exec", "dscheck", "--", "sh", "-c", "echo $GREETING; echo oops >&2; exit 3")
    assert (failed.returncode, failed.stdout) == (3, "hi\n")
    assert failed.stderr == "oops\ncommand terminated with exit code 3\n"
    piped = kubectl("exec", "-i", "dscheck", "--", "sh", "-c", "cat; echo done", stdin="piped\n")
    assert (piped.returncode, piped.stdout) == (0, "piped\ndone\n")
    missing = kubectl("exec", "dscheck", "--", "no-such-command-here")
    assert missing.returncode == 1
    assert 'exec: "no-such-command-here": executable file not found in $PATH' in missing.stderr


def test_each_channel_protocol_a_client_offers_is_answered_as_a_cluster_answers(
        client: Client, pods: Callable[..., Pod], lab: LabInstance) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    pods("chan", [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}])
    wait_pod(client, "chan", running_ready)
    base = lab.api_url.replace("http://", "ws://") + "/api/v1/namespaces/default/pods/chan/exec"
    failing = "command=sh&command=-c&command=echo+hi%3B+exit+2&stdout=true&stderr=true"

    def session(protocols: list[str], query: str, send: tuple[bytes, ...] = ()) -> tuple[str | None, list[Any]]:
        with connect(f"{base}?{query}", subprotocols=protocols, open_timeout=10) as ws:  # type: ignore[arg-type]
            for frame in send:
                ws.send(frame)
            return ws.subprotocol, list(ws)

    v5 = ('{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command '
          'terminated with exit code 2","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",'
          '"message":"2"}]}}')
    v4 = v5.replace("command terminated with exit code 2",
                    "error executing command [sh -c echo hi; exit 2], exit code 2")
    # kubectl's offer: v5 wins even when listed last, as kube-apiserver's stream translator takes it.
    assert session(["v4.channel.k8s.io", "v5.channel.k8s.io"], failing) == (
        "v5.channel.k8s.io", [b"\x01", b"\x01hi\n", b"\x03" + v5.encode()])
    assert session(["v4.channel.k8s.io"], failing) == (
        "v4.channel.k8s.io", [b"\x01", b"\x01hi\n", b"\x03" + v4.encode()])
    proto, frames = session(["v4.base64.channel.k8s.io"], failing)
    assert proto == "v4.base64.channel.k8s.io" and frames[:2] == ["1", "1aGkK"]
    assert base64.b64decode(frames[2][1:]).decode() == v4
    old = json.loads(v4)["message"].encode()
    assert session(["channel.k8s.io"], failing) == ("channel.k8s.io", [b"\x01", b"\x01hi\n", b"\x03" + old])
    # v5 half-closes stdin with [255, 0]: `cat` sees EOF and the session ends with Success.
    assert session(["v5.channel.k8s.io"], "command=cat&stdin=true&stdout=true",
                   (b"\x00to cat\n", b"\xff\x00")) == (
        "v5.channel.k8s.io", [b"\x01", b"\x01to cat\n", b'\x03{"metadata":{},"status":"Success"}'])
    with pytest.raises(InvalidStatus, match="HTTP 403"):
        session(["v3.channel.k8s.io"], failing)


CHART = {
    "Chart.yaml": "apiVersion: v2\nname: labdemo\nversion: 0.1.0\n",
    "values.yaml": "replicas: 2\nmessage: hello\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels: {app.kubernetes.io/managed-by: {{ .Release.Service }}}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}-web}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: python:3.11
          command: [sh, -c, "echo {{ .Values.message }}; exec sleep 300"]
""",
    "templates/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-cfg}
data: {message: {{ .Values.message | quote }}}
""",
}


@pytest.mark.helm
def test_helm_installs_upgrades_rolls_back_and_uninstalls_with_wait(
        lab: LabInstance, helm_bin: Path, tmp_path: Path, client: Client) -> None:
    chart = tmp_path / "labdemo"
    for rel, text in CHART.items():
        (chart / rel).parent.mkdir(parents=True, exist_ok=True)
        (chart / rel).write_text(text)
    env = {**os.environ, "KUBECONFIG": str(lab.kubeconfig), "HELM_CACHE_HOME": str(tmp_path / "cache"),
           "HELM_CONFIG_HOME": str(tmp_path / "config"), "HELM_DATA_HOME": str(tmp_path / "data")}
    release = f"demo{helm_bin.name[-1]}"

    def helm(*args: str) -> str:
        done = subprocess.run([str(helm_bin), *args, "-n", "default"], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    helm("install", release, str(chart), "--wait", "--timeout", "30s")
    helm("upgrade", release, str(chart), "--set", "message=second", "--set", "replicas=1", "--wait",
         "--timeout", "30s")
    assert json.loads(helm("get", "values", release, "-o", "json")) == {"message": "second", "replicas": 1}
    helm("rollback", release, "1", "--wait", "--timeout", "30s")
    assert json.loads(helm("get", "values", release, "--all", "-o", "json"))["message"] == "hello"
    history = json.loads(helm("history", release, "-o", "json"))
    assert [h["revision"] for h in history] == [1, 2, 3]
    helm("uninstall", release, "--wait", "--timeout", "30s")
    deadline = time.monotonic() + 10
    while [p for p in client.list(Pod, namespace="default") if p.metadata.name.startswith(f"{release}-web")]:
        assert time.monotonic() < deadline, "the release's pods were not removed"
        time.sleep(0.1)


def test_the_kubelet_renews_every_nodes_lease(client: Client) -> None:
    from datetime import UTC, datetime

    from lightkube.resources.coordination_v1 import Lease

    leases = {lease.metadata.name: lease for lease in client.list(Lease, namespace="kube-node-lease")}
    assert sorted(leases) == ["lab-1", "lab-2"]
    for name, lease in leases.items():
        assert lease.spec.holderIdentity == name and lease.spec.leaseDurationSeconds == 40
        assert (datetime.now(UTC) - lease.spec.renewTime).total_seconds() < 15


def test_status_reports_a_healthy_lab(lab: LabInstance) -> None:
    info = cluster.status(lab.name, base_dir=lab.state_dir.parent)

    assert info["up"] is True
    assert [n["ready"] for n in info["nodes"]] == [True, True]
    assert all(n["netns_present"] for n in info["nodes"])


def test_up_again_is_a_no_op(lab: LabInstance) -> None:
    again = cluster.up(lab.name, nodes=2, base_dir=lab.state_dir.parent)

    assert again == lab


def test_without_privileges_the_error_names_root_and_the_capabilities(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "effective_capabilities", lambda: 0)

    with pytest.raises(InputError, match=r"root \(or CAP_NET_ADMIN and CAP_SYS_ADMIN\)"):
        cluster.up("tnoroot", base_dir=Path("/nonexistent"))


def test_pods_reach_the_api_at_their_node_and_find_the_tool_on_path(
        client: Client, pods: Callable[..., Pod]) -> None:
    script = ('curl -sf -m 3 "http://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/version" && echo; '
              'python3 -c "import cilium_tune; print(\'package-found\')"')
    pods("apiuser", [{"name": "main", "image": "python:3.11", "command": ["sh", "-c", script]}],
         nodeName="lab-2", restartPolicy="Never")
    pods("hostnet", [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}],
         nodeName="lab-1", restartPolicy="Never", hostNetwork=True)

    for name in ("apiuser", "hostnet"):
        pod = wait_pod(client, name, lambda p: p.status.phase in ("Succeeded", "Failed"))
        log = "\n".join(client.log(name, namespace="default"))
        assert pod.status.phase == "Succeeded", log
        assert '"gitVersion"' in log and "package-found" in log
    assert [ip.ip for ip in client.get(Pod, "hostnet", namespace="default").status.podIPs] == [
        "198.18.0.11", "fd00:18::11"]


def test_env_comes_from_configmaps_and_secrets(client: Client, pods: Callable[..., Pod]) -> None:
    from lightkube.resources.core_v1 import ConfigMap, Secret

    client.create(ConfigMap.from_dict({"metadata": {"name": "envcm", "namespace": "default", "labels": MANAGED},
                                       "data": {"MODE": "native", "MTU": "1500"}}))
    client.create(Secret.from_dict({"metadata": {"name": "envsec", "namespace": "default", "labels": MANAGED},
                                    "stringData": {"token": "s3cret"}, "data": {"token": "czNjcmV0"}}))
    try:
        pods("envfrom", [{
            "name": "main", "image": "busybox", "command": ["sh", "-c", "echo $CFG_MODE $CFG_MTU $TOKEN"],
            "envFrom": [{"configMapRef": {"name": "envcm"}, "prefix": "CFG_"}],
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "envsec", "key": "token"}}}],
        }], restartPolicy="Never")
        wait_pod(client, "envfrom", lambda p: p.status.phase == "Succeeded")

        assert list(client.log("envfrom", namespace="default")) == ["native 1500 s3cret\n"]
    finally:
        client.delete(ConfigMap, "envcm", namespace="default")
        client.delete(Secret, "envsec", namespace="default")


def test_the_lab_is_found_from_any_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`cd /tmp && cilium-tune lab status` must look where `lab up` wrote, not in the current directory."""
    monkeypatch.delenv("CILIUM_TUNE_LAB_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    here = cluster.base_dir()
    monkeypatch.chdir(tmp_path)
    assert cluster.base_dir() == here
    assert here in (Path("/run/cilium-tune/lab"), tmp_path / "state" / "cilium-tune" / "lab")
    monkeypatch.setenv("CILIUM_TUNE_LAB_DIR", str(tmp_path / "mine"))
    assert cluster.base_dir() == tmp_path / "mine"
