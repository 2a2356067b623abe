"""The lab chart and agent on a `lab up` cluster: helm installs it, the agents program every node, and the
tool's switches (routing mode, kube-proxy replacement, datapath mode) behave as on a real cluster.

Runs its own 2-node dual-stack lab under a fresh name and removes it afterwards. Tests run in order and
each leaves the cluster working for the next.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_wait import wait_for
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import DaemonSet
from lightkube.resources.core_v1 import Node, Pod, Service

from cilium_tune.facts.agent_status import parse_agent_status
from cilium_tune.lab import cluster
from cilium_tune.lab.agent.kernel import NodeKernel
from cilium_tune.lab.chart import CHART_DIR

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]
MANAGED = {"app.kubernetes.io/managed-by": "cilium-tune"}
BASE_VALUES: dict[str, Any] = {
    "ipv6": {"enabled": True},
    "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": ["198.19.0.0/16"],
                          "clusterPoolIPv6PodCIDRList": ["fd00:19::/104"]}},
    "ipv4NativeRoutingCIDR": "198.19.0.0/16",
    "ipv6NativeRoutingCIDR": "fd00:19::/104",
    "autoDirectNodeRoutes": True,
    "rollOutCiliumPods": True,
    "k8sServiceHost": "198.18.0.11",
    "k8sServicePort": "6443",
}




@dataclass
class Env:
    lab: cluster.LabInstance
    client: Client
    helm: Path
    kubectl: Path
    tmp: Path

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.lab.kubeconfig), "HELM_CACHE_HOME": str(self.tmp / "hc"),
               "HELM_CONFIG_HOME": str(self.tmp / "hg"), "HELM_DATA_HOME": str(self.tmp / "hd")}
        return subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False, timeout=60)

    def install(self, **overrides: Any) -> None:
        """`helm upgrade --install` with the base values plus `overrides` (top-level keys)."""
        path = self.tmp / "values.yaml"
        path.write_text(yaml.safe_dump({**BASE_VALUES, **overrides}))
        done = self.run(str(self.helm), "upgrade", "--install", "cilium", str(CHART_DIR), "-n", "kube-system",
                        "-f", str(path))
        assert done.returncode == 0, done.stderr

    def agents(self) -> list[Pod]:
        return list(self.client.list(Pod, namespace="kube-system", labels={"k8s-app": "cilium"}))

    def agents_ready(self) -> bool:
        ds = self.client.get(DaemonSet, "cilium", namespace="kube-system")
        st = ds.status
        nodes = len(self.lab.topology.nodes)
        return bool(st and ds.metadata and st.observedGeneration == ds.metadata.generation
                    and st.updatedNumberScheduled == nodes and st.numberReady == nodes
                    and len(self.agents()) == nodes)

    def agent_log(self, node: str) -> str:
        """The log of the node's current agent pod ("" while it is being replaced)."""
        current = [p for p in self.agents() if p.spec and p.spec.nodeName == node and p.metadata
                   and not p.metadata.deletionTimestamp]
        if len(current) != 1 or current[0].metadata is None:
            return ""
        try:
            return "".join(self.client.log(current[0].metadata.name, namespace="kube-system",
                                           container="cilium-agent"))
        except ApiError:  # waiting to start
            return ""

    def agent_waiting_reasons(self, node: str) -> list[str]:
        reasons = []
        for pod in self.agents():
            for cs in (pod.status.containerStatuses or []) if pod.status and pod.spec.nodeName == node else []:
                if cs.state and cs.state.waiting and cs.state.waiting.reason:
                    reasons.append(cs.state.waiting.reason)
        return reasons

    def agent_termination_messages(self, node: str) -> str:
        """The agent container's last termination message on `node` (kubectl describe's "Last State")."""
        for pod in self.agents():
            for cs in (pod.status.containerStatuses or []) if pod.status and pod.spec.nodeName == node else []:
                if cs.lastState and cs.lastState.terminated and cs.lastState.terminated.message:
                    return cs.lastState.terminated.message
        return ""

    def node_ns(self, i: int) -> str:
        return self.lab.topology.nodes[i].netns

    def in_ns(self, ns: str, *argv: str) -> str:
        return self.run("ip", "netns", "exec", ns, *argv).stdout

    def pod_ns(self, name: str) -> str:
        pod = self.client.get(Pod, name, namespace="default")
        assert pod.metadata is not None and pod.metadata.uid is not None
        return self.lab.topology.pod_netns(pod.metadata.uid)

    def http(self, client_pod: str, ip: str, port: int) -> str:
        host = f"[{ip}]" if ":" in ip else ip
        return self.in_ns(self.pod_ns(client_pod), "curl", "-s", "-m", "3", f"http://{host}:{port}/")


@pytest.fixture(scope="module")
def env(root: None, helm4: Path, kubectl_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = Path(tmp_path_factory.mktemp("lab"))
    name = "ctag" + secrets.token_hex(3)
    instance = cluster.up(name, nodes=2, dual_stack=True, base_dir=state)
    try:
        with Client(KubeConfig.from_file(instance.kubeconfig), field_manager="cilium-tune-tests") as client:
            yield Env(instance, client, helm4, kubectl_bin, state)
    finally:
        cluster.down(name, base_dir=state)
        assert cluster.leftovers(name, base_dir=state) == []


@pytest.fixture(scope="module")
def workload(env: Env) -> Iterator[dict[str, str]]:
    """A web server pod on node 2, a client pod on node 1, and a dual-stack Service for the server."""
    pods = {"web": env.lab.topology.nodes[1].name, "client": env.lab.topology.nodes[0].name}
    create_workload(env, pods)
    env.client.create(Service.from_dict({
        "metadata": {"name": "web", "namespace": "default", "labels": MANAGED},
        "spec": {"selector": {"app": "web"}, "ipFamilyPolicy": "PreferDualStack",
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }))
    yield pods
    with contextlib.suppress(ApiError):
        env.client.delete(Service, "web", namespace="default")
    delete_workload(env, pods)


def create_workload(env: Env, pods: dict[str, str]) -> None:
    www = env.tmp / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_text("hello from web\n")
    commands = {"web": ["python3", "-m", "http.server", "8080", "--bind", "::", "--directory", str(www)],
                "client": ["sleep", "3600"]}
    for name, node in pods.items():
        env.client.create(Pod.from_dict({
            "metadata": {"name": name, "namespace": "default", "labels": {**MANAGED, "app": name}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": name, "image": "lab", "command": commands[name]}]},
        }))
    for name in pods:
        wait_for(f"pod {name} ready", lambda n=name: _ready(env.client.get(Pod, n, namespace="default")))


def delete_workload(env: Env, pods: dict[str, str]) -> None:
    for name in pods:
        with contextlib.suppress(ApiError):
            env.client.delete(Pod, name, namespace="default", grace_period=0)
    for name in pods:
        wait_for(f"pod {name} gone", lambda n=name: not _exists(env.client, n))


def _exists(client: Client, name: str) -> bool:
    try:
        client.get(Pod, name, namespace="default")
    except ApiError as exc:
        if exc.status.code == 404:
            return False
        raise
    return True


def _ready(pod: Pod) -> bool:
    conds = (pod.status.conditions or []) if pod.status else []
    return any(c.type == "Ready" and c.status == "True" for c in conds)


def web_ips(env: Env) -> list[str]:
    pod = env.client.get(Pod, "web", namespace="default")
    assert pod.status is not None
    return [ip.ip for ip in pod.status.podIPs or [] if ip.ip]


def test_helm_installs_the_chart_and_every_agent_reports_status(env: Env) -> None:
    env.install(routingMode="tunnel")
    wait_for("agents ready", env.agents_ready)
    for node in env.lab.topology.nodes:
        log = wait_for("status block", lambda n=node.name: "Device Mode:" in env.agent_log(n) and env.agent_log(n))
        assert "Routing:                 Network: Tunnel [vxlan]   Host: Legacy" in log
        assert "KubeProxyReplacement:    False" in log


def test_switching_routing_mode_rewires_every_node_and_pods_keep_talking(env: Env,
                                                                          workload: dict[str, str]) -> None:
    for i in range(2):
        assert "cilium_vxlan" in env.in_ns(env.node_ns(i), "ip", "link", "show")
    for ip in web_ips(env):  # the web server may still be starting under load
        assert "hello from web" in wait_for(f"pod {ip}", lambda i=ip: env.http("client", i, 8080))

    env.install(routingMode="native")
    wait_for("native routes on every node", lambda: all(
        "cilium_vxlan" not in env.in_ns(env.node_ns(i), "ip", "link", "show") for i in range(2)))
    wait_for("agents ready", env.agents_ready)
    assert "198.19.2.0/24 via 198.18.0.12 dev eth0" in env.in_ns(env.node_ns(0), "ip", "route")
    assert "fd00:19::200/120 via fd00:18::12 dev eth0" in env.in_ns(env.node_ns(0), "ip", "-6", "route")
    for ip in web_ips(env):
        assert "hello from web" in env.http("client", ip, 8080)


def test_kube_proxy_chains_then_service_map(env: Env, workload: dict[str, str]) -> None:
    svc = wait_for("cluster IPs", lambda: env.client.get(Service, "web", namespace="default").spec.clusterIPs)
    assert len(svc) == 2
    wait_for("KUBE-SVC chains on every node", lambda: all(
        ":KUBE-SVC-" in env.in_ns(env.node_ns(i), "iptables-save") for i in range(2)))
    for ip in svc:
        assert "hello from web" in wait_for(f"service {ip}", lambda i=ip: env.http("client", i, 80))

    env.install(routingMode="native", kubeProxyReplacement=True, bpf={"masquerade": True})
    wait_for("agents ready", env.agents_ready)
    wait_for("no KUBE chains anywhere", lambda: all(
        "KUBE-" not in env.in_ns(env.node_ns(i), "iptables-save") + env.in_ns(env.node_ns(i), "ip6tables-save")
        for i in range(2)))
    for i in range(2):
        assert "services4" in env.in_ns(env.node_ns(i), "nft", "list", "table", "inet", "cilium_tune_lb")
    for ip in svc:
        assert "hello from web" in wait_for(f"service {ip}", lambda i=ip: env.http("client", i, 80))


def test_datapath_mode_change_is_refused_until_pods_are_recreated(env: Env, workload: dict[str, str]) -> None:
    env.install(routingMode="native", bpf={"datapathMode": "netkit"})
    node1, node2 = (n.name for n in env.lab.topology.nodes)
    refusal = ("Cannot start cilium-agent with datapath-mode=netkit: detected 1 existing endpoint(s) using "
               "veth datapath mode. Endpoints using veth datapath mode: [default/client")
    wait_for("refusal on node 1", lambda: refusal in env.agent_log(node1))
    wait_for("CrashLoopBackOff", lambda: "CrashLoopBackOff" in env.agent_waiting_reasons(node1))
    wait_for("the reason in the pod status", lambda: refusal in env.agent_termination_messages(node1))
    assert not env.agents_ready()

    delete_workload(env, workload)
    probe = "netkit devices need kernel 6.7.0 or newer and CONFIG_NETKIT"
    wait_for("the netkit probe fails next", lambda: probe in env.agent_log(node1) and probe in env.agent_log(node2),
             timeout=60)

    env.install(routingMode="native")
    wait_for("agents ready again", env.agents_ready, timeout=60)
    create_workload(env, workload)
    for ip in web_ips(env):
        assert "hello from web" in wait_for(f"pod {ip}", lambda i=ip: env.http("client", i, 8080))


def test_ipv4_big_tcp_reaches_pod_devices_and_the_status(env: Env, workload: dict[str, str]) -> None:
    env.install(routingMode="native", enableIPv4BIGTCP=True)
    wait_for("agents ready", env.agents_ready)
    node1 = env.lab.topology.nodes[0].name
    assert "IPv4 BIG TCP:            Enabled   [196608]" in wait_for(
        "status", lambda: "BIG TCP" in env.agent_log(node1) and env.agent_log(node1))
    def pod_side() -> int:
        with NodeKernel(env.pod_ns("client")) as pod:
            return pod.gso_sizes("eth0")["gso_ipv4_max_size"]

    wait_for("pod side sized", lambda: pod_side() == 196608)
    for ip in web_ips(env):
        assert "hello from web" in env.http("client", ip, 8080)


def test_without_roll_out_a_config_change_waits_for_the_agent_restart(env: Env,
                                                                       workload: dict[str, str]) -> None:
    env.install(routingMode="native", rollOutCiliumPods=False)
    wait_for("agents ready", env.agents_ready)
    env.install(routingMode="tunnel", rollOutCiliumPods=False)
    node1 = env.lab.topology.nodes[0].name
    wait_for("drift noticed", lambda: "take effect when this agent restarts" in env.agent_log(node1))
    assert "cilium_vxlan" not in env.in_ns(env.node_ns(0), "ip", "link", "show")  # still native

    done = env.run(str(env.kubectl), "-n", "kube-system", "rollout", "restart", "daemonset/cilium")
    assert done.returncode == 0, done.stderr
    wait_for("tunnel on every node", lambda: all(
        "cilium_vxlan" in env.in_ns(env.node_ns(i), "ip", "link", "show") for i in range(2)))
    wait_for("agents ready", env.agents_ready)
    for ip in web_ips(env):
        assert "hello from web" in wait_for(f"pod {ip}", lambda i=ip: env.http("client", i, 8080))


def test_clean_state_forgets_running_pods_until_they_are_recreated(env: Env, workload: dict[str, str]) -> None:
    env.install(routingMode="native", cleanState=True)
    wait_for("agents ready", env.agents_ready)
    wait_for("old pods cut off", lambda: all("hello" not in env.http("client", ip, 8080) for ip in web_ips(env)))

    delete_workload(env, workload)
    create_workload(env, workload)
    for ip in web_ips(env):
        assert "hello from web" in wait_for(f"pod {ip}", lambda i=ip: env.http("client", i, 8080))
    env.install(routingMode="native")  # remove the one-time value right away, as the runbook says
    wait_for("agents ready", env.agents_ready)


def test_a_node_config_changes_only_its_node_and_only_when_the_agent_restarts(env: Env,
                                                                               workload: dict[str, str]) -> None:
    env.install(routingMode="native", rollOutCiliumPods=False)
    wait_for("agents ready", env.agents_ready)
    node1, node2 = (n.name for n in env.lab.topology.nodes)
    wait_for("the operator registered the CRD", lambda: env.client.get(CustomResourceDefinition,
                                                                         "ciliumnodeconfigs.cilium.io"))
    uids = {p.spec.nodeName: p.metadata.uid for p in env.agents() if p.spec and p.metadata}
    label = {"metadata": {"labels": {"cilium-tune.io/node-config": "big-tcp"}}}
    env.client.patch(Node, node1, label)
    manifest = env.tmp / "cnc.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "cilium.io/v2", "kind": "CiliumNodeConfig",
        "metadata": {"name": "big-tcp", "namespace": "kube-system", "labels": MANAGED},
        "spec": {"nodeSelector": {"matchLabels": {"cilium-tune.io/node-config": "big-tcp"}},
                 "defaults": {"enable-ipv4-big-tcp": "true"}}}))
    done = env.run(str(env.kubectl), "apply", "-f", str(manifest))
    assert done.returncode == 0, done.stderr

    wait_for("node 1 notices", lambda: "take effect when this agent restarts" in env.agent_log(node1))
    status = parse_agent_status(env.agent_log(node1))
    assert status is not None and status.ipv4_big_tcp is False  # the configuration is read at start only

    env.client.delete(Pod, next(p.metadata.name for p in env.agents() if p.spec and p.spec.nodeName == node1
                                and p.metadata and p.metadata.name), namespace="kube-system")
    wait_for("a new agent on node 1", lambda: env.agents_ready() and uids[node1] not in {
        p.metadata.uid for p in env.agents() if p.metadata})
    status = wait_for("its status", lambda: parse_agent_status(env.agent_log(node1)))
    assert status.node == node1 and status.ipv4_big_tcp is True and status.ipv4_big_tcp_size == 196608
    assert status.node_config_overrides == ("enable-ipv4-big-tcp",)
    assert "cilium-node-config:kube-system/big-tcp" in status.config_sources
    other = parse_agent_status(env.agent_log(node2))
    assert other is not None and other.ipv4_big_tcp is False and other.node_config_overrides == ()
    assert uids[node2] in {p.metadata.uid for p in env.agents() if p.metadata}  # node 2 never restarted

    assert env.run(str(env.kubectl), "delete", "-f", str(manifest)).returncode == 0
    env.client.patch(Node, node1, {"metadata": {"labels": {"cilium-tune.io/node-config": None}}})
