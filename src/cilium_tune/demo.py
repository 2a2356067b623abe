"""`cilium-tune demo`: the whole story on a fresh lab, start to finish, with numbers.

1. lab up (2 nodes), install the chart's defaults (VXLAN tunnel, veth, kube-proxy iptables rules);
2. `cilium-tune baseline capture`, and bench;
3. `cilium-tune apply -p lab -f veth.yaml` (all that this kernel can do: it has no netkit), then
   `cilium-tune verify`, and bench again;
4. compare, and write the report (Markdown, plots, one HTML page with the plan and verify's results);
5. rehearse the netkit switch (`apply -p lab --ignore CT201`): the first node's agent refuses on this
   kernel, the node is taken back and the run stops with exit 3 (not in `--quick`: make test runs it);
6. `cilium-tune rollback` to the captured baseline, and take the lab down (also on failure and Ctrl-C).

The cluster steps run the tool's own commands as a user would (a subprocess each, their progress shown),
so the demo exercises exactly what the README documents; only the benches run in this process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cilium_tune.adapters.helm import Helm, find_helm
from cilium_tune.adapters.kube import CONFIGMAPS, CRDS, PODS, KubeAPI, LightkubeAPI, NotFound
from cilium_tune.bench import scenarios
from cilium_tune.bench.compare import Comparison, compare_runs, resolution_line
from cilium_tune.bench.results import BenchRun, save_run
from cilium_tune.bench.runner import BenchRunner, RunConfig
from cilium_tune.bench.tools import Pinning
from cilium_tune.cli.proposal import proposal_lines
from cilium_tune.errors import ClusterError
from cilium_tune.files import write_atomic
from cilium_tune.lab import cluster
from cilium_tune.profile import load_profile
from cilium_tune.report.json import render_report
from cilium_tune.report.model import Case, Outcome, Report
from cilium_tune.rollout.journal import Journal, list_runs
from cilium_tune.rollout.run import recorded_proposal

Progress = Callable[[str], None]
NS = "kube-system"
RELEASE = "cilium"
AGENTS = "k8s-app=cilium"
REHEARSAL = "switch.report.json"


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
    """The demo's bench: the headline scenarios and churn.

    Churn stops at 1,000 Services: creating 5,000 through the lab's API server costs about 20 s on an
    idle 2-core machine but minutes on a loaded one, twice per demo (`bench run` defaults to 0/1,000/5,000).
    `quick` is CI's smoke run of the same story: the two throughput probes of the headline (IPv4) and the
    drift control, for two or three rounds (6 s of sampling); no churn. Its few samples give wide CIs
    and, honestly, no family-wise verdict: it shows the flow works, not what the tuning buys.
    """
    if quick:
        probes = scenarios.select(["stream/host-to-host/*", "stream/pod-to-pod-cross-node/*"], [4])
        return RunConfig(probes=probes, label=label, budget_s=6, seed=seed, pin=Pinning(0, 1))
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
        state = ["--state-dir", str(out / "state")]
        helm = find_helm()
        kube = LightkubeAPI(str(lab.kubeconfig))
        chart = load_profile("lab").release.chart_argument
        try:
            self.say("install the chart's defaults: VXLAN tunnel, veth, kube-proxy iptables rules", step=True)
            _helm(helm, env, ["upgrade", "--install", RELEASE, chart, "-n", NS, "--wait", "--timeout", "2m"])
            self._agents_ready(kube)

            self.say("cilium-tune baseline capture", step=True)
            self._cli(["baseline", "capture", *state], env)
            baseline = max((out / "state" / "baselines").iterdir(), key=lambda p: p.stat().st_mtime)

            before = self._bench(kube, "baseline")

            self.say("cilium-tune apply -p lab -f veth.yaml: native routing, IPv4 BIG TCP, kube-proxy replacement, "
                     "BPF masquerade, dual-stack; veth, as this kernel has no netkit", step=True)
            veth = out / "veth.yaml"
            write_atomic(veth, "bpf:\n  datapathMode: veth  # this kernel has no CONFIG_NETKIT\n")
            strategy = ["--strategy", _strategy(kube)]
            tuned = ["-p", "lab", "-f", str(veth)]
            runs = out / "state" / "runs"
            earlier = {j.run_id for j in list_runs(runs)}
            self._cli(["apply", *tuned, "--yes", "--no-probe-nodes", *strategy, *state], env)
            applied = new_run(runs, earlier, "apply")
            # the plan apply showed (what --dry-run shows), from the proposal its run journaled
            write_atomic(out / "plan.txt", "\n".join(proposal_lines(recorded_proposal(applied))) + "\n")
            self._agents_ready(kube)

            self.say("cilium-tune verify -p lab -f veth.yaml", step=True)
            verify = self._cli(["verify", *tuned, "-o", "json"], env, check=False)
            write_atomic(out / "verify.report.json", verify)
            summary = json.loads(verify).get("summary", {})
            self.say(", ".join(f"{summary.get(k, 0)} {k}" for k in ("pass", "fail", "warn", "skip", "explained")))

            plan_digest = "sha256:" + hashlib.sha256((out / "plan.txt").read_bytes()).hexdigest()[:16]
            after = self._bench(kube, "tuned", plan_digest)

            self.say("compare and write the report", step=True)
            comparison = compare_runs(before, after)
            from cilium_tune.report.bundle import load_bundle, write_outputs

            if self.opts.quick:
                self.say("--quick: the netkit rehearsal is left out (about 18 s; make test runs it on a lab: "
                         "tests/lab/test_rollout_lab.py)", step=True)
                (out / REHEARSAL).unlink(missing_ok=True)  # a full demo's, from an earlier run into this directory
            else:
                self._rehearse(env, strategy + state)

            written = write_outputs(load_bundle(out), out, html=True)
            html = next(p for p in written if p.suffix == ".html")

            self.say(f"cilium-tune rollback --to {baseline.name}", step=True)
            self._cli(["rollback", "--to", str(baseline), "-p", "lab", "--yes", *strategy, *state], env)
            config = kube.get(CONFIGMAPS, "cilium-config", NS).get("data") or {}
            self.say(f"routing-mode={config.get('routing-mode')} "
                     f"kube-proxy-replacement={config.get('kube-proxy-replacement')}: the defaults again")
        finally:
            kube.close()
        return DemoResult(out, html, comparison, time.monotonic() - self.t0)

    def _rehearse(self, env: dict[str, str], flags: list[str]) -> None:
        self.say("rehearse the netkit switch: cilium-tune apply -p lab --ignore CT201 (this kernel cannot)", step=True)
        proc = self._run(["apply", "-p", "lab", "--ignore", "CT201", "--yes", "--no-probe-nodes", *flags], env)
        refusal = next((ln for ln in proc.stderr.splitlines() if ln.startswith("error:")), "")
        self.say(f"exit {proc.returncode}: {refusal[:220]}")
        write_atomic(self.opts.out / REHEARSAL, render_report(_rehearsal(proc.returncode, refusal)))

    def _run(self, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """The tool's own command, as a user runs it; its progress lines (stderr) are shown as they come."""
        with tempfile.TemporaryFile("w+") as stdout:
            proc = subprocess.Popen([sys.executable, "-m", "cilium_tune", *args], stdout=stdout,
                                    stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
            err: list[str] = []
            try:
                assert proc.stderr is not None
                for line in proc.stderr:
                    err.append(line)
                    if line.startswith(("[", "captured", "applied", "rolled back", "verify:")):
                        self.say(f"  {line.rstrip()}")
                code = proc.wait(timeout=600)
            finally:
                if proc.poll() is None:
                    proc.kill()
            stdout.seek(0)
            text = stdout.read()
        for line in text.splitlines():
            if line.startswith(("captured", "applied", "rolled back")):
                self.say(f"  {line}")
        return subprocess.CompletedProcess(args, code, text, "".join(err))

    def _cli(self, args: list[str], env: dict[str, str], *, check: bool = True) -> str:
        proc = self._run(args, env)
        if check and proc.returncode != 0:
            raise ClusterError(f"cilium-tune {' '.join(args[:2])} failed (exit {proc.returncode}): "
                               f"{proc.stderr.strip()[-500:]}")
        return proc.stdout

    # ------------------------------------------------------------------ steps

    def _bench(self, kube: KubeAPI, label: str, plan_digest: str | None = None) -> BenchRun:
        cfg = dataclasses.replace(bench_config(self.opts.quick, label, self.opts.seed), plan_digest=plan_digest)
        self.say(f"bench {label}: {len(cfg.probes)} probes, budget {cfg.budget_s:.0f} s, CPUs pinned 0,1", step=True)
        run = BenchRunner(kube, cfg, progress=lambda m: self.say(f"  {m}")).run()
        save_run(run, self.opts.out / label)
        for m in run.metrics:
            if m.metric in ("throughput", "connections") and m.median is not None:
                self.say(f"{m.key}: {m.median:,.3g} {m.unit} (±{(m.half_width or 0):.1%}, n={len(m.samples)}, "
                         f"{m.stop})")
        self.say(resolution_line(run))
        return run

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

# ------------------------------------------------------------------ helpers


def _helm(helm: Helm, env: dict[str, str], args: list[str]) -> str:
    return helm.run(args, env=env, timeout=180).stdout


def new_run(runs: Path, earlier: set[str], kind: str) -> Journal:
    """The run of `kind` a command just made under `runs` (one not among `earlier`). A command can end well
    without one (an apply that finds the release already renders its values changes nothing): the demo then
    stops with an error rather than a traceback."""
    made = [j for j in list_runs(runs) if j.run_id not in earlier and j.kind == kind]
    if not made:
        raise ClusterError(
            f"cilium-tune {kind} made no run under {runs}: there is no plan to show nor a change to measure",
            hint=f"read the `cilium-tune {kind}` output above (it says why nothing changed), or run the demo "
            "on a fresh lab (--out on an empty directory)",
        )
    return made[-1]


def _strategy(kube: KubeAPI) -> str:
    """Per-node CiliumNodeConfig where the cluster serves the CRD, else the runbook's one-time cleanState."""
    try:
        kube.get(CRDS, "ciliumnodeconfigs.cilium.io")
        return "node-config"
    except NotFound:
        return "clean-state"


def _rehearsal(code: int, refusal: str) -> Report:
    refused = code == 3 and "taken back" in refusal
    return Report("rehearsal", "netkit switch rehearsal (cilium-tune apply -p lab)", (
        Case("switch/first-node/netkit-refused", Outcome.EXPLAINED if refused else Outcome.FAIL,
             refusal.removeprefix("error: "), evidence={"exit": code},
             reason="this kernel has no CONFIG_NETKIT: the lab rehearses the switch (order, refusal, recovery), "
                    "it cannot run netkit"),
    ))


def _ready(pod: dict[str, Any]) -> bool:
    conds = {c.get("type"): c.get("status") for c in (pod.get("status") or {}).get("conditions") or []}
    return conds.get("Ready") == "True"
