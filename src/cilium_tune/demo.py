"""`cilium-tune demo`: the whole story on a fresh lab, start to finish, with numbers.

1. lab up (2 nodes), install the chart's defaults (VXLAN tunnel, veth, kube-proxy iptables rules);
2. capture the baseline (`helm get values --all` with its chart version) and bench it;
3. apply the tuned profile, all that this kernel can do (the `lab` profile with veth: the kernel has
   no netkit), verify, and bench again;
4. compare, and write the report (Markdown, plots, one HTML page);
5. rehearse the netkit switch on one node: the agent refuses on this kernel, the node is rolled back;
6. roll back to the baseline, and take the lab down (also on failure and Ctrl-C).

Apply, rollback and baseline capture drive helm directly here, the way the plan prints them: the
`rollout` package (`cilium-tune apply/rollback/baseline capture`) takes these steps over when it
lands, and `verify` replaces the small stand-in check below.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from cilium_tune.adapters.helm import Helm, find_helm
from cilium_tune.adapters.kube import CONFIGMAPS, PODS, KubeAPI, LightkubeAPI
from cilium_tune.bench import scenarios
from cilium_tune.bench.compare import Comparison, compare_runs
from cilium_tune.bench.results import BenchRun, save_run
from cilium_tune.bench.runner import BenchRunner, RunConfig
from cilium_tune.bench.tools import Pinning
from cilium_tune.errors import ClusterError
from cilium_tune.files import write_atomic
from cilium_tune.lab import cluster
from cilium_tune.profile import load_profile
from cilium_tune.report.model import Case, Outcome, Report

Progress = Callable[[str], None]
NS = "kube-system"
RELEASE = "cilium"
AGENTS = "k8s-app=cilium"


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    quick: bool = False
    nodes: int = 2
    keep_lab: bool = False
    seed: int = 1


@dataclass(frozen=True)
class DemoResult:
    out: Path
    html: Path
    comparison: Comparison
    seconds: float


def bench_config(quick: bool, label: str, seed: int) -> RunConfig:
    """The demo's bench: the headline scenarios and churn; `quick` is a CI smoke run (no churn).

    Churn stops at 1,000 Services: creating 5,000 through the lab's API server costs about 20 s on an
    idle 2-core machine but minutes on a loaded one, twice per demo (`bench run` defaults to 0/1,000/5,000).
    """
    if quick:
        probes = scenarios.select(["stream/host-to-host/*", "stream/pod-to-pod-cross-node/*"], [4])
        return RunConfig(probes=probes, label=label, budget_s=12, min_samples=4, seed=seed, pin=Pinning(0, 1))
    probes = scenarios.select(
        ["stream/host-to-host/*", "stream/pod-to-pod-cross-node/*", "rr/pod-to-pod-cross-node/ipv4",
         "churn/*/ipv4"], [4, 6], churn=(0, 1000))
    return RunConfig(probes=probes, label=label, budget_s=60, churn_samples=2, seed=seed, pin=Pinning(0, 1))


class Demo:
    def __init__(self, opts: DemoOptions, say: Progress) -> None:
        self.opts = opts
        self.t0 = time.monotonic()
        self._say = say
        self.name = "ctdemo" + secrets.token_hex(2)
        self.lab_dir = opts.out / ".lab"
        self.step = 0

    def say(self, text: str, *, step: bool = False) -> None:
        if step:
            self.step += 1
        prefix = f"[{time.monotonic() - self.t0:5.1f}s]"
        self._say(f"{prefix} {'== ' + str(self.step) + '. ' if step else '   '}{text}")

    def run(self) -> DemoResult:
        out = self.opts.out
        out.mkdir(parents=True, exist_ok=True)
        self.say(f"lab {self.name} up: {self.opts.nodes} dual-stack nodes in network namespaces", step=True)
        lab = cluster.up(self.name, nodes=self.opts.nodes, base_dir=self.lab_dir, gateway_crds="standard")
        try:
            return self._story(lab)
        finally:
            if self.opts.keep_lab:
                self.say(f"lab kept: export KUBECONFIG={lab.kubeconfig}")
            else:
                self.say("lab down", step=True)
                cluster.down(self.name, base_dir=self.lab_dir)

    def _story(self, lab: cluster.LabInstance) -> DemoResult:
        out = self.opts.out
        env = {"KUBECONFIG": str(lab.kubeconfig), "HELM_CACHE_HOME": str(self.lab_dir / "helm-cache"),
               "HELM_CONFIG_HOME": str(self.lab_dir / "helm-config"), "HELM_DATA_HOME": str(self.lab_dir / "helm-data")}
        helm = find_helm()
        kube = LightkubeAPI(str(lab.kubeconfig))
        lab_profile = load_profile("lab")
        chart = lab_profile.release.chart_argument
        try:
            self.say("install the chart's defaults: VXLAN tunnel, veth, kube-proxy iptables rules", step=True)
            _helm(helm, env, ["upgrade", "--install", RELEASE, chart, "-n", NS, "--wait", "--timeout", "2m"])
            self._agents_ready(kube)

            self.say("capture the baseline (helm get values --all, with its chart version)", step=True)
            version = json.loads(_helm(helm, env, ["get", "metadata", RELEASE, "-n", NS, "-o", "json"]))["version"]
            values = _helm(helm, env, ["get", "values", RELEASE, "-n", NS, "--all", "-o", "yaml"])
            write_atomic(out / "baseline.yaml", f"# chart-version: {version}\n{values}")
            self.say(f"{out / 'baseline.yaml'} (chart {version})")

            before = self._bench(kube, "baseline")

            self.say("apply the tuned profile: native routing, IPv4 BIG TCP, kube-proxy replacement, BPF "
                     "masquerade, dual-stack (veth: this kernel has no netkit)", step=True)
            profile_file = self._tuned_profile(out)
            deploy = out / "deploy"
            _cli(["render", "--profile", str(profile_file), "--out", str(deploy)])
            plan = _cli(["plan", "--profile", str(profile_file), "--baseline", str(out / "baseline.yaml"),
                         "--overlay-dir", str(deploy)], check=False)
            write_atomic(out / "plan.txt", plan)
            files = [str(p) for p in sorted(deploy.glob("cilium-values*.yaml")) if "migrate" not in p.name]
            args = ["upgrade", RELEASE, chart, "-n", NS, "--set", "rollOutCiliumPods=true", "--wait", "--timeout", "2m"]
            for f in files:
                args += ["-f", f]
            _helm(helm, env, args)
            self._agents_ready(kube)
            tuned_revision = _revision(helm, env)

            self.say("verify the tuned datapath", step=True)
            verify = self._verify(kube)
            write_atomic(out / "verify.report.json", json.dumps(asdict(verify), indent=2, default=str))
            for case in verify.cases:
                self.say(f"{case.outcome.value:>5}  {case.name}: {case.message}")

            after = self._bench(kube, "tuned")

            self.say("compare and write the report", step=True)
            comparison = compare_runs(before, after)
            from cilium_tune.report.bundle import load_bundle, write_outputs

            written = write_outputs(load_bundle(out), out, html=True)
            html = next(p for p in written if p.suffix == ".html")

            self.say("rehearse the netkit switch on one node (this kernel cannot: expect a refusal)", step=True)
            rehearsal = self._rehearse_netkit(helm, env, kube, chart, tuned_revision)
            write_atomic(out / "switch.report.json", json.dumps(asdict(rehearsal), indent=2, default=str))
            written = write_outputs(load_bundle(out), out, html=True)

            self.say("roll back to the baseline (helm rollback to revision 1)", step=True)
            _helm(helm, env, ["rollback", RELEASE, "1", "-n", NS, "--wait", "--timeout", "2m"])
            self._agents_ready(kube)
            config = kube.get(CONFIGMAPS, "cilium-config", NS).get("data") or {}
            self.say(f"routing-mode={config.get('routing-mode')} "
                     f"kube-proxy-replacement={config.get('kube-proxy-replacement')}: the defaults again")
        finally:
            kube.close()
        return DemoResult(out, html, comparison, time.monotonic() - self.t0)

    # ------------------------------------------------------------------ steps

    def _bench(self, kube: KubeAPI, label: str) -> BenchRun:
        cfg = bench_config(self.opts.quick, label, self.opts.seed)
        self.say(f"bench {label}: {len(cfg.probes)} probes, budget {cfg.budget_s:.0f} s, CPUs pinned 0,1", step=True)
        run = BenchRunner(kube, cfg, progress=lambda m: self.say(f"  {m}")).run()
        save_run(run, self.opts.out / label)
        for m in run.metrics:
            if m.metric in ("throughput", "connections") and m.median is not None:
                self.say(f"{m.key}: {m.median:,.3g} {m.unit} (±{(m.half_width or 0):.1%}, n={len(m.samples)}, "
                         f"{m.stop})")
        return run

    def _tuned_profile(self, out: Path) -> Path:
        """The lab profile with veth: everything this kernel can do."""
        doc = load_profile("lab").model_dump(mode="json", exclude_none=True)
        doc["tuning"]["datapath_mode"] = "veth"
        doc["description"] = "lab profile, veth datapath (this kernel has no CONFIG_NETKIT)"
        path = out / "tuned-profile.yaml"
        write_atomic(path, yaml.safe_dump(doc, sort_keys=False))
        load_profile(str(path))  # validate before anything uses it
        return path

    def _agents_ready(self, kube: KubeAPI, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            agents = kube.list(PODS, NS, label_selector=AGENTS)
            ready = [p for p in agents if _ready(p) and not (p.get("metadata") or {}).get("deletionTimestamp")]
            if len(ready) == self.opts.nodes and len(agents) == self.opts.nodes:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"agents not ready after {timeout:g} s ({len(ready)}/{self.opts.nodes})")
            time.sleep(0.5)

    def _verify(self, kube: KubeAPI) -> Report:
        """A stand-in until `cilium-tune verify` lands: agents ready, and the config the profile asked for."""
        config = kube.get(CONFIGMAPS, "cilium-config", NS).get("data") or {}
        want = {"routing-mode": "native", "kube-proxy-replacement": "true", "enable-ipv4-big-tcp": "true",
                "enable-ipv6": "true", "enable-bpf-masquerade": "true", "datapath-mode": "veth"}
        cases = [Case(f"config/{key}/cilium-config", Outcome.PASS if config.get(key) == value else Outcome.FAIL,
                      f"{key}={config.get(key)!r} (want {value!r})", evidence={"configmap": f"{NS}/cilium-config"})
                 for key, value in want.items()]
        agents = kube.list(PODS, NS, label_selector=AGENTS)
        for pod in agents:
            node = (pod.get("spec") or {}).get("nodeName")
            cases.append(Case(f"agent/ready/{node}", Outcome.PASS if _ready(pod) else Outcome.FAIL,
                              f"{pod['metadata']['name']} ready={_ready(pod)}"))
        return Report("verify", "verify (stand-in: config and agents)", tuple(cases))

    def _rehearse_netkit(self, helm: Helm, env: dict[str, str], kube: KubeAPI, chart: str,
                         tuned_revision: int) -> Report:
        node = f"lab-{self.opts.nodes}"
        self.say("helm upgrade --reuse-values: bpf.datapathMode=netkit, updateStrategy OnDelete (no agent moves)")
        _helm(helm, env, ["upgrade", RELEASE, chart, "-n", NS, "--reuse-values", "--set", "bpf.datapathMode=netkit",
                          "--set", "updateStrategy.type=OnDelete", "--set", "updateStrategy.rollingUpdate=null",
                          "--timeout", "2m"])
        agent = _agent_on(kube, node)
        self.say(f"restart the agent on {node} ({agent}) alone")
        kube.delete(PODS, agent, NS)
        refusal, pod_name = self._wait_refusal(kube, node)
        self.say(f"refused on {node}: {refusal[:160]}")
        self.say(f"roll {node} back: helm rollback to revision {tuned_revision} and restart its agent")
        _helm(helm, env, ["rollback", RELEASE, str(tuned_revision), "-n", NS, "--timeout", "2m"])
        if pod_name:
            kube.delete(PODS, pod_name, NS)
        self._agents_ready(kube)
        config = kube.get(CONFIGMAPS, "cilium-config", NS).get("data") or {}
        back = config.get("datapath-mode") == "veth"
        self.say(f"{node} is back on veth, every agent ready" if back else f"{node}: datapath-mode still "
                 f"{config.get('datapath-mode')}")
        cases = (
            Case(f"switch/{node}/netkit-refused", Outcome.EXPLAINED if refusal else Outcome.FAIL,
                 "the agent refused the netkit datapath" if refusal else "no refusal seen",
                 evidence={"agent": pod_name or "", "message": refusal},
                 reason="this kernel has no CONFIG_NETKIT: the lab can rehearse the switch, not run netkit"),
            Case(f"switch/{node}/rolled-back", Outcome.PASS if back else Outcome.FAIL,
                 f"helm rollback to revision {tuned_revision}; datapath-mode={config.get('datapath-mode')}"),
        )
        return Report("rehearsal", "netkit switch rehearsal", cases)

    def _wait_refusal(self, kube: KubeAPI, node: str, timeout: float = 45.0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pod in kube.list(PODS, NS, label_selector=AGENTS):
                if (pod.get("spec") or {}).get("nodeName") != node or (pod.get("metadata") or {}).get(
                        "deletionTimestamp"):
                    continue
                for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                    for state in (cs.get("state") or {}, cs.get("lastState") or {}):
                        msg = ((state.get("terminated") or {}).get("message") or "").strip()
                        if msg:
                            return msg.splitlines()[-1], str(pod["metadata"]["name"])
            time.sleep(0.5)
        return "", ""


# ------------------------------------------------------------------ helpers


def _helm(helm: Helm, env: dict[str, str], args: list[str]) -> str:
    return helm.run(args, env=env, timeout=180).stdout


def _revision(helm: Helm, env: dict[str, str]) -> int:
    return int(json.loads(_helm(helm, env, ["status", RELEASE, "-n", NS, "-o", "json"]))["version"])


def _cli(args: list[str], *, check: bool = True) -> str:
    """The tool's own command, as a user would run it (its output is what the report shows)."""
    result = subprocess.run([sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True,
                            timeout=120, check=False)
    if check and result.returncode != 0:
        raise ClusterError(f"cilium-tune {args[0]} failed: {result.stderr.strip()}")
    return result.stdout + (f"\n(exit code {result.returncode})\n{result.stderr}" if result.returncode else "")


def _ready(pod: dict[str, Any]) -> bool:
    conds = {c.get("type"): c.get("status") for c in (pod.get("status") or {}).get("conditions") or []}
    return conds.get("Ready") == "True"


def _agent_on(kube: KubeAPI, node: str) -> str:
    for pod in kube.list(PODS, NS, label_selector=AGENTS):
        if (pod.get("spec") or {}).get("nodeName") == node:
            return str(pod["metadata"]["name"])
    raise ClusterError(f"no Cilium agent on {node}")
