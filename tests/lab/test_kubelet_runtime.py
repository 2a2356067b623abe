"""The kubelet's pod runtime on a real topology, without an API server: pods in, status out."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.lab import netns, topology
from cilium_tune.lab.kubelet_runtime import PodRunner, container_argv, container_env, expand

pytestmark = pytest.mark.root


def make_pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "uid": secrets.token_hex(8)},
        "spec": {"containers": list(containers), **spec},
    }


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], **extra}


@pytest.fixture
def run_pod(topo: topology.Topology, tmp_path: Path) -> Iterator[Callable[..., PodRunner]]:
    runners: list[PodRunner] = []

    def start(pod: dict[str, Any], node: int = 0, offset: int = 0) -> PodRunner:
        n = topo.nodes[node]
        host = 2 + offset + len(runners)
        ips = [str(n.pod_cidr_v4[host])] + ([str(n.pod_cidr_v6[host])] if n.pod_cidr_v6 else [])
        runner = PodRunner(pod, n, topo, ips, tmp_path / "logs")
        runners.append(runner)
        runner.start()
        return runner

    yield start
    for runner in runners:
        runner.stop(grace=0.5)


Status = dict[str, Any]


def wait_for(runner: PodRunner, cond: Callable[[Status], bool], timeout: float = 8.0) -> Status:
    deadline = time.monotonic() + timeout
    while True:
        runner.tick()
        status = runner.status()
        if cond(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met; last status: {status}")
        time.sleep(0.05)


def phase(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s["phase"] == name


def test_a_pod_runs_in_its_own_namespace_with_both_families(run_pod: Callable[..., PodRunner]) -> None:
    runner = run_pod(make_pod("web", sh("main", "ip -br a; exec sleep 30")))
    status = wait_for(runner, lambda s: s["phase"] == "Running" and runner.log_path("main").exists()
                      and "eth0" in runner.log_path("main").read_text())

    v4, v6 = (ip["ip"] for ip in status["podIPs"])
    assert status["podIP"] == v4 and v4.startswith("198.19.1.") and v6.startswith("fd00:19::1")
    log = runner.log_path("main").read_text()
    assert f"{v4}/32" in log and f"{v6}/128" in log
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True",
                          "Ready": "True"}
    (cs,) = status["containerStatuses"]
    assert cs["ready"] and cs["restartCount"] == 0 and "running" in cs["state"]


def test_stopping_a_pod_kills_its_processes_and_removes_its_namespace(
        run_pod: Callable[..., PodRunner]) -> None:
    runner = run_pod(make_pod("stopme", sh("main", "sleep 30"), sh("side", "sleep 30")))
    wait_for(runner, phase("Running"))
    # Both containers' processes are inside the pod's namespace (`ip netns exec` enters it just after start).
    deadline = time.monotonic() + 5
    while len(netns.pids([runner.netns]).get(runner.netns, [])) < 2:
        assert time.monotonic() < deadline, "the containers never showed up in the pod namespace"
        time.sleep(0.02)

    runner.stop(grace=0.5)

    assert not netns.exists(runner.netns)
    assert runner.pids == []


def test_a_missing_command_leaves_the_pod_waiting_with_a_clear_reason(
        run_pod: Callable[..., PodRunner]) -> None:
    runner = run_pod(make_pod("nocmd", {"name": "main", "image": "x", "command": ["no-such-tool-xyz"]}))
    status = wait_for(runner, lambda s: "waiting" in s["containerStatuses"][0]["state"])

    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert status["phase"] == "Pending"
    assert waiting["reason"] == "CommandNotFound"
    assert "no-such-tool-xyz is not on this host" in waiting["message"]


@pytest.mark.parametrize(
    ("policy", "script", "expected_phase", "exit_code"),
    [
        ("Never", "exit 3", "Failed", 3),
        ("OnFailure", "exit 0", "Succeeded", 0),
        ("Never", "true", "Succeeded", 0),
    ],
)
def test_terminal_phases_follow_the_restart_policy(
    run_pod: Callable[..., PodRunner], policy: str, script: str, expected_phase: str, exit_code: int,
) -> None:
    runner = run_pod(make_pod("once", sh("main", script), restartPolicy=policy))
    status = wait_for(runner, phase(expected_phase))

    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == exit_code
    assert status["containerStatuses"][0]["restartCount"] == 0


def test_a_crashing_container_is_restarted_with_back_off(run_pod: Callable[..., PodRunner]) -> None:
    runner = run_pod(make_pod("crash", sh("main", "echo started; exit 2")))
    status = wait_for(runner, lambda s: s["containerStatuses"][0]["restartCount"] >= 2)

    cs = status["containerStatuses"][0]
    assert status["phase"] == "Running"
    assert cs["lastState"]["terminated"]["exitCode"] == 2
    assert cs["state"].get("waiting", {}).get("reason") in ("CrashLoopBackOff", None)
    assert [runner.log_path("main", run).read_text() for run in (0, 1)] == ["started\n", "started\n"]


def test_a_failed_containers_last_log_lines_become_its_termination_message(
    run_pod: Callable[..., PodRunner],
) -> None:
    script = "echo starting; echo 'level=fatal msg=\"Cannot start cilium-agent\"'; exit 1"
    failing = sh("main", script, terminationMessagePolicy="FallbackToLogsOnError")
    runner = run_pod(make_pod("agent", failing, sh("quiet", "exit 1"), restartPolicy="Never"))
    status = wait_for(runner, phase("Failed"))

    by_name = {cs["name"]: cs["state"]["terminated"] for cs in status["containerStatuses"]}
    assert by_name["main"]["message"] == 'starting\nlevel=fatal msg="Cannot start cilium-agent"'
    assert "message" not in by_name["quiet"], "the default policy (File) has no termination-log here"


def test_env_has_downward_api_fields_and_var_expansion(run_pod: Callable[..., PodRunner]) -> None:
    pod = make_pod("envy", sh("main", "echo NODE=$MY_NODE IP=$MY_IP GREETING=$GREETING; sleep 30", env=[
        {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "WHO", "value": "lab"},
        {"name": "GREETING", "value": "hello-$(WHO)"},
    ]))
    runner = run_pod(pod)
    wait_for(runner, lambda s: "GREETING" in runner.log_path("main").read_text()
             if runner.log_path("main").exists() else False)

    line = runner.log_path("main").read_text().strip()
    assert line == f"NODE={runner.node.name} IP={runner.pod_ips[0]} GREETING=hello-lab"


def test_readiness_follows_an_exec_probe(run_pod: Callable[..., PodRunner], tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    probe = {"exec": {"command": ["test", "-f", str(flag)]}, "periodSeconds": 1, "failureThreshold": 1}
    runner = run_pod(make_pod("probed", sh("main", "sleep 30", readinessProbe=probe)))
    status = wait_for(runner, phase("Running"))
    assert status["containerStatuses"][0]["ready"] is False

    flag.touch()

    wait_for(runner, lambda s: s["containerStatuses"][0]["ready"] is True, timeout=5)


def test_tcp_probe_and_pod_to_pod_traffic_across_nodes_in_both_families(
        run_pod: Callable[..., PodRunner]) -> None:
    probe = {"tcpSocket": {"port": "http"}, "periodSeconds": 1}
    server = run_pod(make_pod("server", {
        "name": "http", "image": "python:3",
        "command": ["python3", "-m", "http.server", "--bind", "::", "8080"],
        "ports": [{"name": "http", "containerPort": 8080}], "readinessProbe": probe,
    }), node=1)
    status = wait_for(server, lambda s: s["conditions"][3]["status"] == "True")
    v4, v6 = (ip["ip"] for ip in status["podIPs"])

    script = f"curl -sf -m 3 -o /dev/null http://{v4}:8080/ && curl -sf -m 3 -o /dev/null http://[{v6}]:8080/"
    client = run_pod(make_pod("client", sh("main", script), restartPolicy="Never"), node=0)
    final = wait_for(client, lambda s: s["phase"] in ("Succeeded", "Failed"))
    assert final["phase"] == "Succeeded", client.log_path("main").read_text()


def test_host_network_pods_run_in_the_node_namespace(
        run_pod: Callable[..., PodRunner], topo: topology.Topology) -> None:
    runner = run_pod(make_pod("agent", sh("main", "ip -br a show eth0; sleep 30"), hostNetwork=True))
    status = wait_for(runner, lambda s: s["phase"] == "Running" and runner.log_path("main").exists()
                      and "eth0" in runner.log_path("main").read_text())

    node = topo.nodes[0]
    assert [ip["ip"] for ip in status["podIPs"]] == node.addresses
    assert str(node.ipv4) in runner.log_path("main").read_text()
    assert runner.netns == node.netns


def test_args_alone_are_the_program_and_expansion_keeps_unknown_vars() -> None:
    env = {"A": "1"}
    assert container_argv({"args": ["echo", "$(A)", "$(B)", "$$(A)"]}, env) == ["echo", "1", "$(B)", "$(A)"]
    assert expand("x-$(A)-y", env) == "x-1-y"


def test_service_env_points_at_the_node_local_api_forwarder(topo: topology.Topology) -> None:
    node = topo.nodes[0]
    env = container_env(make_pod("p"), {"name": "c"}, node, ["198.19.1.9"], None)
    assert env["KUBERNETES_SERVICE_HOST"] == str(node.ipv4)
    assert env["PATH"].split(":")[0].endswith("bin")


def test_init_containers_run_to_completion_first(run_pod: Callable[..., PodRunner], tmp_path: Path) -> None:
    marker = tmp_path / "init-done"
    pod = make_pod("inits", sh("main", f"cat {marker}; sleep 30"),
                   initContainers=[sh("init", f"echo prepared > {marker}")])
    runner = run_pod(pod)
    status = wait_for(runner, lambda s: s["phase"] == "Running" and runner.log_path("main").exists()
                      and "prepared" in runner.log_path("main").read_text())

    assert status["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert {c["type"]: c["status"] for c in status["conditions"]}["Initialized"] == "True"


def test_a_failing_liveness_probe_restarts_the_container(run_pod: Callable[..., PodRunner]) -> None:
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    runner = run_pod(make_pod("unlively", sh("main", "sleep 30", livenessProbe=probe)))

    status = wait_for(runner, lambda s: s["containerStatuses"][0]["restartCount"] >= 1)
    assert status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 137


def test_http_readiness_probe(run_pod: Callable[..., PodRunner]) -> None:
    probe = {"httpGet": {"path": "/", "port": 8081}, "periodSeconds": 1}
    runner = run_pod(make_pod("webready", {
        "name": "web", "image": "python:3", "readinessProbe": probe,
        "command": ["python3", "-m", "http.server", "--bind", "::", "8081"],
    }))

    wait_for(runner, lambda s: s["containerStatuses"][0]["ready"] is True)
