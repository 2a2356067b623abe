"""apply, resume after SIGKILL at every step boundary, a no-op second apply, rollback, and the netkit refusal,
with the real Cilium 1.19.0-rc.1 chart on one 3-node lab (the `cilium-tune` CLI as a user runs it, as
separate processes; the lab stands in only for the images).

The lab starts from the real chart's defaults as `lab up --chart` installs it (tunnel, veth, iptables
kube-proxy, dual-stack pools). The target is the lab profile with `bpf.datapathMode: veth` (this kernel has
no netkit): native routing, BIG TCP, KPR, BPF masquerade, socket LB, Gateway API on the host network.
While the first node is switched, a client pod on the second node keeps fetching from a server pod on the
third, over both families: not one of those requests may fail.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.adapters.kube import CONFIGMAPS, NODES, PODS, LightkubeAPI
from cilium_tune.lab import cluster
from cilium_tune.lab.agent.kernel import NodeKernel
from cilium_tune.rollout.executor import KILL_ENV

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm, pytest.mark.xdist_group("rollout-lab"),
              pytest.mark.schedule_first]


# A client pod's loop: fetch every URL, one line per request (`<epoch seconds> <url> ok|<error>`) to a file
# on the host, which outlives the pod when its node is drained. The timeout is 5 s: on a loaded 2-core
# machine a 1 s request timed out now and then before the run had even started (CPU, not the network). A
# datapath that breaks the path still fails requests: a lost route fails at once, a black hole outlasts it.
CLIENT = """import sys, time, urllib.request
log, urls = sys.argv[1], sys.argv[2:]
with open(log, "a", buffering=1) as out:
    while True:
        for url in urls:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                result = "ok"
            except Exception as exc:
                result = type(exc).__name__
            out.write(f"{time.time():.3f} {url} {result}\\n")
        time.sleep(0.1)
"""


@dataclass
class Env:
    lab: cluster.LabInstance
    tmp: Path
    helm: Path
    chart: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.lab.kubeconfig),
            "CILIUM_TUNE_HELM": str(self.helm),
            "CILIUM_TUNE_STATE_DIR": str(self.tmp / "state"),
            "HELM_CACHE_HOME": str(self.tmp / "hc"),
            "HELM_CONFIG_HOME": str(self.tmp / "hg"),
            "HELM_DATA_HOME": str(self.tmp / "hd"),
            **extra,
        }

    def ct(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "cilium_tune", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=self.env(**extra), timeout=300, check=False)

    def helm_out(self, *args: str) -> str:
        argv = [str(self.helm), "-n", "kube-system", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=self.env(), check=True, timeout=60).stdout

    def helm_values(self) -> dict[str, Any]:
        return dict(json.loads(self.helm_out("get", "values", "cilium", "--all", "-o", "json")))

    def manifest(self, revision: int | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        """The release's objects as helm stored them, by kind and name; the certificates the chart generates
        afresh on every render (Secrets holding `ca.crt`) without their data."""
        text = self.helm_out("get", "manifest", "cilium", *(["--revision", str(revision)] if revision else []))
        docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}
        for doc in docs.values():
            if doc["kind"] == "Secret" and "ca.crt" in (doc.get("data") or {}):
                doc["data"] = "(generated)"
        return docs

    def in_node(self, netns: str, *argv: str) -> str:
        return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, check=True,
                              timeout=30).stdout

    def cilium_config(self) -> dict[str, str]:
        kube = LightkubeAPI(str(self.lab.kubeconfig))
        try:
            return dict(kube.get(CONFIGMAPS, "cilium-config", "kube-system")["data"])
        finally:
            kube.close()

    def agents(self, selector: str = "k8s-app=cilium") -> dict[str, dict[str, Any]]:
        """node -> the node's agent pod (or the pod `selector` picks)."""
        kube = LightkubeAPI(str(self.lab.kubeconfig))
        try:
            pods = kube.list(PODS, "kube-system", label_selector=selector)
        finally:
            kube.close()
        return {p["spec"]["nodeName"]: p for p in pods if not p["metadata"].get("deletionTimestamp")}

    def nodes(self) -> list[dict[str, Any]]:
        kube = LightkubeAPI(str(self.lab.kubeconfig))
        try:
            return kube.list(NODES)
        finally:
            kube.close()

    def journal(self) -> dict[str, Any]:
        runs = sorted((self.tmp / "state" / "runs").iterdir())
        return dict(json.loads((runs[-1] / "journal.json").read_text()))

    def pod(self, name: str, node: str, command: list[str]) -> dict[str, Any]:
        """A bare pod of the lab image on `node`, once it is Ready."""
        kube = LightkubeAPI(str(self.lab.kubeconfig))
        try:
            kube.create(PODS, {"metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
                               "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                        "containers": [{"name": name, "image": "lab", "command": command}]}},
                        "default")
            deadline = time.monotonic() + 60
            while True:
                pod = kube.get(PODS, name, "default")
                conditions = (pod.get("status") or {}).get("conditions", [])
                if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                    return pod
                assert time.monotonic() < deadline, f"pod {name} not Ready"
                time.sleep(0.2)
        finally:
            kube.close()


@pytest.fixture(scope="module")
def env(root: None, helm4: Path, real_chart: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = Path(tmp_path_factory.mktemp("rollout"))
    instance = cluster.up("ctr" + secrets.token_hex(3), nodes=3, dual_stack=True, base_dir=tmp, node_routes=False,
                          chart=str(real_chart), helm=str(helm4))
    try:
        e = Env(instance, tmp, helm4, real_chart)
        (tmp / "veth.yaml").write_text("bpf:\n  datapathMode: veth\n")
        yield e
    finally:
        cluster.down(instance.name, base_dir=tmp)


@pytest.fixture(scope="module")
def traffic(env: Env) -> Path:
    """A server pod on lab-3 and, on lab-2, a client fetching from it over IPv4 and IPv6 every 0.1 s."""
    www = env.tmp / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    web = env.pod("web", "lab-3", ["python3", "-m", "http.server", "8080", "--bind", "::", "--directory", str(www)])
    urls = [f"http://{f'[{ip}]' if ':' in ip else ip}:8080/" for ip in (i["ip"] for i in web["status"]["podIPs"])]
    assert len(urls) == 2, "a dual-stack pod"
    (env.tmp / "client.py").write_text(CLIENT)
    log = env.tmp / "requests.log"
    env.pod("client", "lab-2", ["python3", str(env.tmp / "client.py"), str(log), *urls])
    return log


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def _requests(log: Path, until: datetime) -> dict[str, list[str]]:
    """url -> the results of the requests made before `until`."""
    results: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        at, url, result = line.split(" ", 2)
        if float(at) < until.timestamp():
            results.setdefault(url, []).append(result)
    return results


def test_apply_killed_at_every_step_boundary_resumes_to_a_switched_cluster(env: Env, traffic: Path) -> None:
    before = {node: pod["metadata"]["uid"] for node, pod in env.agents().items()}
    config_before = env.cilium_config()
    apply = ["apply", "-p", "lab", "--chart", str(env.chart), "-f", str(env.tmp / "veth.yaml"), "--yes",
             "--no-probe-nodes"]
    first = env.ct(*apply, **{KILL_ENV: "1"})
    assert first.returncode == -9, first.stderr  # SIGKILL after its first step
    kills = 1
    while True:
        resumed = env.ct("rollout", "resume", **{KILL_ENV: "1"})
        if resumed.returncode == 0:
            break
        assert resumed.returncode == -9, resumed.stderr
        kills += 1
        assert kills < 60, "the run never finishes"

    journal = env.journal()
    assert journal["state"] == "succeeded" and journal["meta"]["strategy"] == "node-config"
    assert kills == len(journal["steps"]), "killed once at every boundary between steps"
    assert not any(n["spec"].get("unschedulable") for n in env.nodes()), "no node left cordoned"
    assert not any("cilium-tune.io/pending-switch" in n["metadata"].get("labels", {}) for n in env.nodes())
    values = env.helm_values()
    assert values.get("cleanState") is not True and values["updateStrategy"]["type"] == "RollingUpdate"
    # Each agent was replaced exactly once, by its own node's step, and never restarted since.
    agents = env.agents()
    done = {e["id"]: e.get("detail", {}) for e in journal["events"] if e["event"] == "done"}
    for node, pod in agents.items():
        restart = done[f"switch/{node}/restart-agent"]
        assert (restart["old_uid"], restart["new_uid"]) == (before[node], pod["metadata"]["uid"])
        assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
        assert _ready(pod)
    # The last node's check had every other node as peer: pods reach pods across all nodes, both families.
    assert done["switch/lab-3/check"]["reached"] == {f"lab-{i}/{f}": "ok" for i in (1, 2) for f in ("ipv4", "ipv6")}
    assert done["switch/lab-1/check"]["status"]["Routing"].startswith("Network: Native")
    # What apply compared: the live cilium-config before, what the cluster runs after (no key lost to a null).
    effect = journal["meta"]["effect"]
    assert effect["config_before"] == config_before
    assert effect["config_after"] == env.cilium_config() != config_before
    ready = {name: {n for n, p in env.agents(selector).items() if _ready(p)}
             for name, selector in (("envoy", "k8s-app=cilium-envoy"), ("operator", "io.cilium/app=operator"))}
    assert ready["envoy"] == set(agents) and len(ready["operator"]) == 2, ready
    # The tuned datapath on every node, as its kernel shows it: native routes to each peer's pod blocks, IPv4 BIG
    # TCP on the uplink, services in the nft map, no VXLAN device and no kube-proxy chains.
    for node in env.lab.topology.nodes:
        routes = env.in_node(node.netns, "ip", "route") + env.in_node(node.netns, "ip", "-6", "route")
        for peer in env.lab.topology.nodes:
            if peer != node:
                assert f"{peer.pod_cidr_v4} via {peer.ipv4} dev eth0" in routes
                assert f"{peer.pod_cidr_v6} via {peer.ipv6} dev eth0" in routes
        assert "cilium_vxlan" not in env.in_node(node.netns, "ip", "link", "show")
        with NodeKernel(node.netns) as kernel:
            assert kernel.gso_sizes("eth0")["gso_ipv4_max_size"] == 196608
        assert "services4" in env.in_node(node.netns, "nft", "list", "table", "inet", "cilium_tune_lb")
        assert "KUBE-" not in env.in_node(node.netns, "iptables-save")
    # Until lab-2's switch began, lab-2 and lab-3 were unswitched: every request between them succeeded.
    lab2 = min(datetime.fromisoformat(e["at"]) for e in journal["events"] if e["id"].startswith("switch/lab-2/"))
    requests = _requests(traffic, lab2)
    assert all(len(results) > 20 for results in requests.values()) and len(requests) == 2, requests.keys()
    assert {url: [r for r in results if r != "ok"] for url, results in requests.items()} == {u: [] for u in requests}


def test_a_second_apply_has_nothing_to_do(env: Env) -> None:
    revision = json.loads(env.helm_out("get", "metadata", "cilium", "-o", "json"))["revision"]
    again = env.ct("apply", "-p", "lab", "--chart", str(env.chart), "-f", str(env.tmp / "veth.yaml"), "--yes",
                   "--no-probe-nodes")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to change")
    assert json.loads(env.helm_out("get", "metadata", "cilium", "-o", "json"))["revision"] == revision


def test_rollback_restores_the_baseline_release_exactly(env: Env) -> None:
    back = env.ct("rollback", "-p", "lab", "--chart", str(env.chart), "--yes")
    assert back.returncode == 0, back.stderr
    (baseline,) = (env.tmp / "state" / "baselines").iterdir()
    release = json.loads((baseline / "release.json").read_text())
    assert release["version"] in back.stdout + back.stderr
    assert env.manifest() == env.manifest(release["revision"]), "every object as the baseline revision had it"
    assert env.cilium_config() == json.loads((baseline / "cilium-config.json").read_text())
    assert not any(n["spec"].get("unschedulable") for n in env.nodes())
    again = env.ct("rollback", "-p", "lab", "--chart", str(env.chart), "--yes")
    assert again.returncode == 0 and again.stdout.startswith("nothing to change"), again.stderr


def test_the_baseline_keeps_the_user_supplied_values_apart_for_an_upgrade(env: Env) -> None:
    (baseline,) = (env.tmp / "state" / "baselines").iterdir()
    revision = json.loads((baseline / "release.json").read_text())["revision"]
    user = yaml.safe_load((baseline / "user-values.yaml").read_text())
    supplied = env.helm_out("get", "values", "cilium", "--revision", str(revision), "-o", "yaml")
    assert user == (yaml.safe_load(supplied) or {}), "what `helm get values` said for the captured revision"
    everything = yaml.safe_load((baseline / "values.yaml").read_text())
    assert "image" in everything and len(user) < len(everything), "--all holds the chart's defaults too"
    assert "user-values.yaml" in (baseline / "SHA256SUMS").read_text()
    verified = env.ct("baseline", "verify", str(baseline))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_netkit_is_refused_then_a_failing_first_node_is_taken_back(env: Env) -> None:
    refused = env.ct("apply", "-p", "lab", "--chart", str(env.chart), "--dry-run")
    assert refused.returncode == 1 and "CT201" in refused.stdout

    others = {node: pod["metadata"]["uid"] for node, pod in env.agents().items() if node != "lab-1"}
    failed = env.ct("apply", "-p", "lab", "--chart", str(env.chart), "--ignore", "CT201", "--yes", "--no-probe-nodes")
    assert failed.returncode == 3, failed.stderr
    assert "node lab-1" in failed.stderr and "netkit" in failed.stderr and "taken back" in failed.stderr
    assert {n: p["metadata"]["uid"] for n, p in env.agents().items() if n != "lab-1"} == others, "others untouched"
    assert not any(n["spec"].get("unschedulable") for n in env.nodes())
    assert all(any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
               for p in env.agents().values())
    status = env.ct("rollout", "status")
    assert "FAILED" in status.stdout and "switch/lab-1/restart-agent" in status.stdout
