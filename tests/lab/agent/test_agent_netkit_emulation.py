"""`lab up --emulate-netkit`: one node switched veth -> netkit -> veth by a CiliumNodeConfig, as the
rollout does it, with the endpoint refusal in both directions. It tests the procedure, not netkit.

Runs its own 2-node lab (netkit emulation is chosen at `lab up`) and removes it afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from agent_wait import wait_for
from lightkube import Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import DaemonSet
from lightkube.resources.core_v1 import Node, Pod

from cilium_tune.facts.agent_status import parse_agent_status
from cilium_tune.lab import cluster, netkit, netns
from cilium_tune.lab.chart import CHART_DIR

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]
MANAGED = {"app.kubernetes.io/managed-by": "cilium-tune"}
LABEL = "cilium-tune.io/datapath"
CiliumNodeConfig = create_namespaced_resource("cilium.io", "v2", "CiliumNodeConfig", "ciliumnodeconfigs")




@dataclass
class Lab:
    instance: cluster.LabInstance
    client: Client

    @property
    def nodes(self) -> list[str]:
        return [n.name for n in self.instance.topology.nodes]

    def agent(self, node: str) -> Pod | None:
        pods = [p for p in self.client.list(Pod, namespace="kube-system", labels={"k8s-app": "cilium"})
                if p.spec and p.spec.nodeName == node and p.metadata and not p.metadata.deletionTimestamp]
        return pods[0] if len(pods) == 1 else None

    def agent_uid(self, node: str) -> str | None:
        pod = self.agent(node)
        return pod.metadata.uid if pod and pod.metadata else None

    def log(self, node: str) -> str:
        pod = self.agent(node)
        if pod is None or pod.metadata is None or pod.metadata.name is None:
            return ""
        return "".join(self.client.log(pod.metadata.name, namespace="kube-system", container="cilium-agent"))

    def restart_agent(self, node: str) -> str:
        """Delete the node's agent pod; returns the old UID (OnDelete: the DaemonSet makes a new one)."""
        pod = self.agent(node)
        assert pod is not None and pod.metadata is not None and pod.metadata.name and pod.metadata.uid
        self.client.delete(Pod, pod.metadata.name, namespace="kube-system")
        return pod.metadata.uid

    def ready_agent(self, node: str, not_uid: str) -> bool:
        pod = self.agent(node)
        conds = (pod.status.conditions or []) if pod and pod.status else []
        return bool(pod and pod.metadata and pod.metadata.uid != not_uid
                    and any(c.type == "Ready" and c.status == "True" for c in conds))

    def pod(self, name: str, node: str) -> None:
        self.client.create(Pod.from_dict({
            "metadata": {"name": name, "namespace": "default", "labels": MANAGED},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "lab", "command": ["sleep", "3600"]}]}}))
        wait_for(f"pod {name} running", lambda: (p := self.client.get(Pod, name, namespace="default")).status
                 and p.status.phase == "Running")

    def delete_pod(self, name: str) -> None:
        self.client.delete(Pod, name, namespace="default", grace_period=0)
        wait_for(f"pod {name} gone", lambda: name not in {
            p.metadata.name for p in self.client.list(Pod, namespace="default") if p.metadata})

    def device_kinds(self, node_index: int) -> list[str]:
        with netns.ipr(self.instance.topology.nodes[node_index].netns) as ipr:
            return [netkit.device_kind(link) for link in ipr.get_links()
                    if str(link.get("IFLA_IFNAME")).startswith("lxc")]


@pytest.fixture(scope="module")
def lab(root: None, helm4: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    state = Path(tmp_path_factory.mktemp("lab"))
    name = "ctnk" + secrets.token_hex(3)
    instance = cluster.up(name, nodes=2, dual_stack=False, base_dir=state, emulate_netkit=True)
    try:
        values = state / "values.yaml"
        values.write_text(yaml.safe_dump({"updateStrategy": {"type": "OnDelete"}, "k8sServiceHost": "198.18.0.11",
                                          "k8sServicePort": "6443"}))
        env = {**os.environ, "KUBECONFIG": str(instance.kubeconfig), "HELM_CACHE_HOME": str(state / "hc"),
               "HELM_CONFIG_HOME": str(state / "hg"), "HELM_DATA_HOME": str(state / "hd")}
        done = subprocess.run([str(helm4), "upgrade", "--install", "cilium", str(CHART_DIR), "-n", "kube-system",
                               "-f", str(values), "--wait", "--timeout", "60s"],
                              env=env, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, done.stderr
        with Client(KubeConfig.from_file(instance.kubeconfig), field_manager="cilium-tune-tests") as client:
            yield Lab(instance, client)
    finally:
        cluster.down(name, base_dir=state)
        assert cluster.leftovers(name, base_dir=state) == []


def test_one_node_switches_to_emulated_netkit_and_back(lab: Lab) -> None:
    node1, node2 = lab.nodes
    ds = lab.client.get(DaemonSet, "cilium", namespace="kube-system")
    assert ds.spec is not None and ds.spec.updateStrategy is not None and ds.spec.updateStrategy.type == "OnDelete"
    other = lab.agent_uid(node2)
    lab.pod("app", node1)
    assert lab.device_kinds(0) == ["veth"]
    wait_for("the operator's CRD", lambda: list(lab.client.list(CiliumNodeConfig, namespace="kube-system")) == [])

    # veth -> netkit for node 1 only: per-node config, then the node's agent restarts
    lab.client.create(CiliumNodeConfig.from_dict({
        "metadata": {"name": "netkit", "namespace": "kube-system", "labels": MANAGED},
        "spec": {"nodeSelector": {"matchLabels": {LABEL: "netkit"}}, "defaults": {"datapath-mode": "netkit"}}}))
    lab.client.patch(Node, node1, {"metadata": {"labels": {LABEL: "netkit"}}})
    old = lab.restart_agent(node1)
    refusal = ("Cannot start cilium-agent with datapath-mode=netkit: detected 1 existing endpoint(s) using veth "
               "datapath mode. Endpoints using veth datapath mode: [default/app")
    wait_for("the veth endpoint refusal", lambda: refusal in lab.log(node1))
    lab.delete_pod("app")  # the rollout evicts the node's pods before it restarts the agent
    old = lab.restart_agent(node1)
    wait_for("node 1's agent ready in netkit mode", lambda: lab.ready_agent(node1, old))
    status = wait_for("status", lambda: parse_agent_status(lab.log(node1)))
    assert status.device_mode == "netkit" and status.fields["Device Mode"] == "netkit   [emulated by the lab]"
    assert "cilium-node-config:kube-system/netkit" in status.config_sources
    lab.pod("app", node1)
    assert lab.device_kinds(0) == ["netkit"]

    # netkit -> veth: the same refusal the other way, against the marked device
    lab.client.delete(CiliumNodeConfig, "netkit", namespace="kube-system")
    lab.client.patch(Node, node1, {"metadata": {"labels": {LABEL: None}}})
    lab.restart_agent(node1)
    wait_for("the netkit endpoint refusal", lambda: "Cannot start cilium-agent with datapath-mode=veth: detected 1 "
             "existing endpoint(s) using netkit datapath mode" in lab.log(node1))
    lab.delete_pod("app")
    old = lab.restart_agent(node1)
    wait_for("node 1's agent ready in veth mode", lambda: lab.ready_agent(node1, old))
    assert wait_for("status", lambda: parse_agent_status(lab.log(node1))).device_mode == "veth"
    lab.pod("app", node1)
    assert lab.device_kinds(0) == ["veth"]
    assert lab.agent_uid(node2) == other  # the other node's agent never restarted
