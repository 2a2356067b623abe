"""`verify` on a 3-node lab in the tuned veth state: everything it does not skip passes, each of the issue's
faults fails the right check on the right node and nothing else, and nothing verify made is left behind.

One lab for the module: the lab profile's overlays with `bpf.datapathMode: veth` (this kernel has no
netkit) installed with helm, and a Gateway on the host network in front of a web pod on lab-1, as the
runbook's user sets it up. The faults run in two rounds of compatible faults on distinct nodes (verify
reuses the kept pods, so faults on them persist into the next run):

- A: lab-2's client pod route deleted (IPv4), a KUBE-SVC chain on lab-3, lab-1's client IPv6 address
  removed, a Service without a backend;
- B: lab-2's ingress proxy stopped (SIGSTOP), cilium-config edited to tunnel mode and lab-3's agent
  restarted.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.adapters.kube import NAMESPACES, PODS, LightkubeAPI, NotFound
from cilium_tune.checks.runner import VerifyOptions, run_verify
from cilium_tune.checks.workload import NAMESPACE, ROLE_LABEL
from cilium_tune.lab import cluster, netns
from cilium_tune.lab.chart import CHART_DIR
from cilium_tune.profile import load_profile
from cilium_tune.report.model import Outcome, Report
from cilium_tune.values.overlays import render_overlays

# One lab for the whole module, its tests in order: keep them on one xdist worker.
pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm, pytest.mark.xdist_group("verify-lab")]
HOST = "skyforge.lab.test"
APP = f"""
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: default, labels: {{app: web}}}}
spec:
  nodeName: lab-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: python:3
    command: [python3, -m, http.server, "8080", --bind, "::"]
    readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: lab, namespace: default}}
spec:
  gatewayClassName: cilium
  listeners:
  - {{name: http, port: 80, protocol: HTTP}}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: {HOST}
    tls: {{mode: Terminate, certificateRefs: [{{kind: Secret, name: skyforge-tls}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: web, namespace: default}}
spec:
  parentRefs: [{{name: lab}}]
  hostnames: [{HOST}]
  rules: [{{backendRefs: [{{name: web, port: 80}}]}}]
"""


@dataclass
class Env:
    lab: cluster.LabInstance
    tmp: Path
    helm: Path
    kubectl: Path
    veth: Path

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.lab.kubeconfig), "HELM_CACHE_HOME": str(self.tmp / "hc"),
               "HELM_CONFIG_HOME": str(self.tmp / "hg"), "HELM_DATA_HOME": str(self.tmp / "hd")}
        done = subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        return done

    def kube(self) -> LightkubeAPI:
        return LightkubeAPI(str(self.lab.kubeconfig))

    def verify(self, keep: bool = True) -> Report:
        opts = VerifyOptions(profile_ref="lab", value_files=(str(self.veth),), helm=str(self.helm), keep=keep,
                             timeout=60, request_timeout=5.0, round_period=0.3)
        kube = self.kube()
        start = time.monotonic()
        try:
            return run_verify(kube, opts, lambda m: print(f"{time.monotonic() - start:6.2f} {m}"))
        finally:
            kube.close()

    def pod(self, namespace: str, node: str, **labels: str) -> dict[str, Any]:
        kube = self.kube()
        try:
            selector = ",".join(f"{k}={v}" for k, v in labels.items())
            pods = [p for p in kube.list(PODS, namespace, label_selector=selector)
                    if p["spec"]["nodeName"] == node and not p["metadata"].get("deletionTimestamp")]
        finally:
            kube.close()
        assert len(pods) == 1, pods
        return pods[0]

    def node_ns(self, node: str) -> str:
        return next(n.netns for n in self.lab.topology.nodes if n.name == node)

    def client(self, node: str) -> dict[str, Any]:
        return self.pod(NAMESPACE, node, **{ROLE_LABEL: "client"})

    def wait_agents_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = json.loads(self.run(str(self.kubectl), "-n", "kube-system", "get", "pods", "-l", "k8s-app=cilium",
                                       "-o", "json").stdout)["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            if len(live) == 3 and all(any(c["type"] == "Ready" and c["status"] == "True"
                                          for c in p["status"].get("conditions", [])) for p in live):
                return
            time.sleep(0.3)
        states = {p["metadata"]["name"]: (p["spec"].get("nodeName"), p["status"].get("containerStatuses"))
                  for p in pods}
        raise AssertionError(f"agents not Ready: {states}")


def failing(report: Report) -> set[str]:
    return {c.name for c in report.cases if c.outcome.failed}


@pytest.fixture(scope="module")
def env(root: None, helm4: Path, kubectl_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = Path(tmp_path_factory.mktemp("verify"))
    name = "ctv" + secrets.token_hex(3)
    # The agents route (no static node routes); the standard CRD bundle, so TLSRoute is missing as upstream.
    instance = cluster.up(name, nodes=3, dual_stack=True, base_dir=state, node_routes=False,
                          gateway_crds="standard")
    try:
        veth = state / "veth.yaml"
        veth.write_text("bpf:\n  datapathMode: veth\n")
        e = Env(instance, state, helm4, kubectl_bin, veth)
        files = []
        for overlay in render_overlays(load_profile("lab")):
            if not overlay.one_time:
                path = state / overlay.filename
                path.write_text(overlay.text)
                files += ["-f", str(path)]
        e.run(str(helm4), "upgrade", "--install", "cilium", str(CHART_DIR), "-n", "kube-system", *files,
              "-f", str(veth), "--wait", "--timeout", "60s")
        app = state / "app.yaml"
        app.write_text(APP)
        e.run(str(kubectl_bin), "apply", "-f", str(app))
        # As the runbook's user does: wait for the operator to take the Gateway and issue its certificate.
        e.run(str(kubectl_bin), "wait", "--for=condition=Accepted", "gateway/lab", "--timeout=30s")
        e.run(str(kubectl_bin), "wait", "--for=create", "secret/skyforge-tls", "--timeout=30s")
        yield e
    finally:
        cluster.down(name, base_dir=state)
        assert cluster.leftovers(name, base_dir=state) == []


@pytest.fixture(scope="module")
def tuned(env: Env) -> Report:
    """The first run, on the healthy tuned cluster (pods kept for the fault runs)."""
    return env.verify(keep=True)


def test_the_tuned_lab_passes_everything_it_does_not_skip(tuned: Report) -> None:
    assert failing(tuned) == set()
    skipped = {c.name: c.reason for c in tuned.cases if c.outcome is Outcome.SKIP}
    # The lab's real limits only: it writes no CNI config files.
    assert set(skipped) == {f"cni/config-file/lab-{i}" for i in (1, 2, 3)}, skipped
    explained = {c.name: c.link for c in tuned.cases if c.outcome is Outcome.EXPLAINED}
    assert explained == {
        "ingress/gateway-status/default.lab": "https://github.com/cilium/cilium/issues/42786",
        "ingress/tlsroute-crd/present": "https://github.com/cilium/cilium/issues/38420",
    }
    names = {c.name for c in tuned.cases}
    for expected in ("dual-stack/pod-to-pod-cross-node/ipv6-lab-1-to-lab-2", "datapath/agent-device-mode/lab-3",
                     "ingress/https/ipv6-lab-2-skyforge.lab.test", "ingress/no-sni/ipv4-lab-3",
                     "kube-proxy/service-chains/lab-1", "workloads/vm-service-path/lab-3-to-lab-1"):
        assert expected in names
    assert tuned.meta["duration_s"] < 20


@pytest.fixture(scope="module")
def faults_a(env: Env, tuned: Report) -> Report:
    del tuned  # the kept pods of the first run carry the faults
    lab2 = env.client("lab-2")
    v4 = lab2["status"]["podIP"]
    route = subprocess.run(["ip", "-n", env.node_ns("lab-2"), "-o", "route", "show", f"{v4}/32"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["ip", "-n", env.node_ns("lab-2"), "route", "del", f"{v4}/32"], check=True)
    # In the filter table: the lab agent rewrites the whole nat table whenever a Service changes (as this
    # fixture's own `nobackend` does), which would remove the chain before verify could see it.
    subprocess.run(["ip", "netns", "exec", env.node_ns("lab-3"), "iptables", "-t", "filter", "-N",
                    "KUBE-SVC-CTFAULT"], check=True)
    lab1 = env.client("lab-1")
    pod_ns = env.lab.topology.pod_netns(lab1["metadata"]["uid"])
    v6 = next(ip["ip"] for ip in lab1["status"]["podIPs"] if ":" in ip["ip"])
    subprocess.run(["ip", "-n", pod_ns, "-6", "addr", "del", f"{v6}/128", "dev", "eth0"], check=True)
    env.run(str(env.kubectl), "create", "service", "clusterip", "nobackend", "--tcp=80:8080", "-n", "default")
    try:
        return env.verify(keep=True)
    finally:
        subprocess.run(["ip", "-n", env.node_ns("lab-2"), "route", "replace", f"{v4}/32", "dev", route[2]],
                       check=True)
        subprocess.run(["ip", "netns", "exec", env.node_ns("lab-3"), "iptables", "-t", "filter", "-X",
                        "KUBE-SVC-CTFAULT"], check=True)
        subprocess.run(["ip", "-n", pod_ns, "-6", "addr", "add", f"{v6}/128", "dev", "eth0", "nodad"], check=True)
        env.run(str(env.kubectl), "delete", "service", "nobackend", "-n", "default")


def _only(report: Report, allowed: Callable[[str], bool]) -> None:
    stray = sorted(n for n in failing(report) if not allowed(n))
    assert stray == [], f"false failures: {stray}"


def _action(name: str) -> str:
    return name.rsplit("/", 1)[1]


def _explained_by_a(name: str) -> bool:
    action = _action(name)
    return (name in {"kube-proxy/service-chains/lab-3", "workloads/service-backends/default.nobackend",
                     "dual-stack/pod-addresses/lab-1"}
            or action.startswith(("ipv6-lab-1", "ipv4-lab-2"))
            or name in {"workloads/vm-service-path/lab-1-to-lab-2", "workloads/vm-service-path/lab-2-to-lab-3"})


def test_a_pod_route_deleted_on_one_node(faults_a: Report) -> None:
    assert {"dual-stack/pod-to-pod-same-node/ipv4-lab-2", "dual-stack/pod-to-pod-cross-node/ipv4-lab-2-to-lab-3",
            "dual-stack/pod-to-service/ipv4-lab-2-to-lab-3"} <= failing(faults_a)
    _only(faults_a, _explained_by_a)


def test_a_kube_svc_chain_added_on_one_node(faults_a: Report) -> None:
    assert {n for n in failing(faults_a) if n.startswith("kube-proxy/")} == {"kube-proxy/service-chains/lab-3"}
    case = next(c for c in faults_a.cases if c.name == "kube-proxy/service-chains/lab-3")
    assert case.evidence["ipv4.KUBE-SVC"] == 1


def test_an_ipv6_address_removed_from_one_pod(faults_a: Report) -> None:
    assert {n for n in failing(faults_a) if "/pod-addresses/" in n} == {"dual-stack/pod-addresses/lab-1"}
    assert "dual-stack/pod-to-pod-same-node/ipv6-lab-1" in failing(faults_a)
    assert not any(_action(n).startswith("ipv6-") and not _action(n).startswith("ipv6-lab-1")
                   for n in failing(faults_a))


def test_a_service_without_a_backend(faults_a: Report) -> None:
    backends = {n for n in failing(faults_a) if n.startswith("workloads/service-backends/")}
    assert backends == {"workloads/service-backends/default.nobackend"}


def test_cli_passes_again_writes_junit_and_leaves_nothing(env: Env, faults_a: Report, cli: Any,
                                                          tmp_path: Path) -> None:
    del faults_a  # restored by now
    junit = tmp_path / "verify.xml"
    done = cli("verify", "-p", "lab", "-f", str(env.veth), "--kubeconfig", str(env.lab.kubeconfig),
               "--helm", str(env.helm), "--junit", str(junit), "-o", "json")
    doc = json.loads(done.out)
    assert done.code == 0, [n for n, c in doc["cases"].items() if c["outcome"] == "fail"]
    assert doc["schema"] == "cilium-tune/verify/v1"
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert sorted(c.get("name") for c in cases) == sorted(doc["cases"])
    assert "verify: datapath:" in done.err  # a progress line per family
    kube = env.kube()
    try:
        with pytest.raises(NotFound):
            kube.get(NAMESPACES, NAMESPACE)
    finally:
        kube.close()
    assert not yaml.safe_load(env.run(str(env.kubectl), "get", "pods", "-A", "-l",
                                      "app.kubernetes.io/managed-by=cilium-tune", "-o", "yaml").stdout)["items"]


@pytest.fixture(scope="module")
def faults_b(env: Env) -> Report:
    """The last faults of the module: the lab goes down after them, so they are not undone."""
    env.pod("kube-system", "lab-2", **{"k8s-app": "cilium-envoy"})  # the proxy the fault stops
    stopped = [pid for pid in netns.pids([env.node_ns("lab-2")]).get(env.node_ns("lab-2"), [])
               if b"cilium_tune.lab.gateway\x00proxy" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert stopped
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    kubectl = str(env.kubectl)
    env.run(kubectl, "-n", "kube-system", "patch", "configmap", "cilium-config", "--type", "merge",
            "-p", '{"data":{"routing-mode":"tunnel"}}')
    agent = env.pod("kube-system", "lab-3", **{"k8s-app": "cilium"})
    env.run(kubectl, "-n", "kube-system", "delete", "pod", agent["metadata"]["name"], "--wait=false")
    env.wait_agents_ready()
    # Fresh pods this time (the CLI run removed the kept ones), and no --keep: cleanup after failures too.
    try:
        return env.verify(keep=False)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


def _explained_by_b(name: str) -> bool:
    return (name == "datapath/cilium-config/matches-desired" or "lab-3" in _action(name)
            or (name.startswith("ingress/") and _action(name).startswith(("ipv4-lab-2", "ipv6-lab-2"))))


def test_the_ingress_proxy_stopped_on_one_node(faults_b: Report) -> None:
    ingress = {n for n in failing(faults_b) if n.startswith("ingress/") and "lab-2" in n}
    assert ingress == {f"ingress/{kind}/{fam}-lab-2{host}" for kind, host in
                       (("http", f"-{HOST}"), ("https", f"-{HOST}"), ("no-sni", "")) for fam in ("ipv4", "ipv6")}
    _only(faults_b, _explained_by_b)


def test_one_agent_restarted_in_tunnel_mode(faults_b: Report) -> None:
    assert {"datapath/agent-routing/lab-3", "datapath/cilium-config/matches-desired"} <= failing(faults_b)
    assert not {"datapath/agent-routing/lab-1", "datapath/agent-routing/lab-2"} & failing(faults_b)
    routing = next(c for c in faults_b.cases if c.name == "datapath/agent-routing/lab-3")
    assert "Tunnel" in routing.evidence["status.Routing"]
    _only(faults_b, _explained_by_b)


def test_verify_cleans_up_after_failures(env: Env, faults_b: Report) -> None:
    assert faults_b.failed and not faults_b.meta["kept"]
    kube = env.kube()
    try:
        with pytest.raises(NotFound):
            kube.get(NAMESPACES, NAMESPACE)
    finally:
        kube.close()
