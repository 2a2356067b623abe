"""Run a bench against a cluster: place servers, sample in randomized rounds until the CIs are tight or
the budget is spent, churn Services, and always clean up.

The loop, and why:
- *Rounds.* Each round takes one sample of every probe still open, in an order drawn from the seeded
  generator (host clients and pod clients in random order, and the probes of each in random order).
  Slow drift of a shared machine then spreads over every probe instead of biasing the late ones.
- *A warm-up batch* per client kind runs first and is discarded (first connections, ARP/ND, caches);
  the kinds warm up at the same time, since nothing of it is kept.
- *Sequential stopping.* After each round a probe whose primary metric has at least `MIN_SAMPLES`
  samples and a CI half-width within the target stops (`ci-target`); when the budget is spent, the rest
  stop (`budget`). The budget is sampling time, checked between rounds (so a run may overrun it by one
  round), and at least two rounds always run.
- *Churn* walks the service counts up and back down (0, 1000, 5000, 5000, 1000, 0: an ABCCBA design,
  which cancels linear drift), taking `churn_samples` samples at each visit, after flushing the client
  node's conntrack table (a privileged hostNetwork pod runs `conntrack -F`). Creating 5,000 Services
  over and over would cost more than the measurement, so its sampling is this fixed design (`fixed`).
- *Cleanup.* Every pod and Service carries the run's label and is deleted in a `finally`, so also on
  failure and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import platform
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cilium_tune import __version__
from cilium_tune.adapters.kube import CONFIGMAPS, NODES, PODS, SERVICES, KubeAPI, NotFound
from cilium_tune.bench import pods, scenarios, stats, tools
from cilium_tune.bench.results import BenchRun, MetricResult, RunMeta, Sample, Stop
from cilium_tune.bench.scenarios import Kind, Probe
from cilium_tune.errors import ClusterError, InputError

Progress = Callable[[str], None]
POLL_S = 0.25
MIN_ROUNDS = 2  # whatever the budget: one sample gives no interval
CREATE_WORKERS = 8


@dataclass(frozen=True)
class RunConfig:
    probes: Sequence[Probe]
    label: str = "run"
    namespace: str = "default"
    image: str = pods.DEFAULT_IMAGE
    nodes: tuple[str, str] | None = None  # (client node, other node); default: the first two by name
    sample_seconds: int = 1
    target: float = 0.025
    budget_s: float = 120.0
    min_samples: int = stats.MIN_SAMPLES
    max_rounds: int = 50
    churn_samples: int = 3
    seed: int = stats.DEFAULT_SEED
    pin: tools.Pinning | None = None
    plan_digest: str | None = None
    cilium_namespace: str = "kube-system"
    calibrate: bool = True  # add the loopback drift control (scenarios.CALIBRATION) to the rounds


@dataclass
class _State:
    samples: dict[str, list[tuple[float, ...]]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    raw: list[Sample] = field(default_factory=list)
    stop: dict[str, Stop] = field(default_factory=dict)
    note: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


class BenchRunner:
    """One bench run. `run()` returns the frozen result; all cluster objects are gone when it returns."""

    def __init__(self, kube: KubeAPI, config: RunConfig, progress: Progress = lambda _: None) -> None:
        self.kube = kube
        self.cfg = config
        self.progress = progress
        self.run_id = secrets.token_hex(3)
        self.rng = np.random.default_rng(config.seed)
        self.state = _State()
        self.t0 = time.monotonic()
        self._created: list[tuple[Any, str]] = []  # (resource, name), for cleanup
        self._batches = itertools.count(1)  # names of client pods; next() is atomic, warm-ups run in threads
        self.nodes: tuple[str, str] = ("", "")
        self.probes = list(config.probes)
        if config.calibrate and not any(p.id == scenarios.CALIBRATION for p in self.probes):
            self.probes += scenarios.select([scenarios.CALIBRATION], [4])

    # ------------------------------------------------------------------ the run

    def run(self) -> BenchRun:
        started = _now()
        nodes = self.nodes = self._nodes()
        try:
            targets = self._setup(nodes)
            probes = [p for p in self.probes if self._usable(p, targets)]
            main = [p for p in probes if p.test is not Kind.CHURN]
            churn = [p for p in probes if p.test is Kind.CHURN]
            share = len(churn) / max(1, len(probes))
            self._sample_rounds(main, targets, self.cfg.budget_s * (1 - share))
            if churn:
                self._churn(churn, targets, nodes)
        finally:
            self._cleanup()
        return self._result(started, nodes)

    def _nodes(self) -> tuple[str, str]:
        if self.cfg.nodes:
            return self.cfg.nodes
        names = sorted(str(n["metadata"]["name"]) for n in self.kube.list(NODES)
                       if not (n.get("spec") or {}).get("unschedulable"))
        if len(names) < 2:
            raise InputError(f"the bench needs two schedulable nodes, the cluster has {len(names)}",
                             hint="add a node, or pass --nodes CLIENT,SERVER")
        return names[0], names[1]

    # ------------------------------------------------------------------ placement

    def _name(self, what: str) -> str:
        return f"ct-bench-{self.run_id}-{what}"

    def _create(self, res: Any, obj: Mapping[str, Any]) -> None:
        name = str(obj["metadata"]["name"])
        self._created.append((res, name))
        self.kube.create(res, obj, self.cfg.namespace)

    def _setup(self, nodes: tuple[str, str]) -> dict[tuple[str, int], dict[int, str]]:
        """Start the servers the selected probes need; return their addresses per (target, family).

        Targets: `host` (node 2's namespace), `host-local` (node 1's own, over loopback),
        `pod-local` / `pod-remote` (a pod on node 1 / node 2),
        `svc-local` / `svc-remote` (a ClusterIP in front of one of those pods).
        """
        need = {self._target(p) for p in self.probes}
        wanted: dict[str, tuple[str, bool]] = {}
        if "host" in need:
            wanted["srv-host"] = (nodes[1], True)
        if "host-local" in need:
            wanted["srv-hostlocal"] = (nodes[0], True)
        if need & {"pod-remote", "svc-remote"}:
            wanted["srv-remote"] = (nodes[1], False)
        if need & {"pod-local", "svc-local"}:
            wanted["srv-local"] = (nodes[0], False)
        self.progress(f"placing {len(wanted)} server pod(s) on {', '.join(nodes)}")
        for role, (node, host) in wanted.items():
            self._create(PODS, pods.server_pod(self._name(role), self.cfg.namespace, self.run_id, role, node,
                                               host=host, image=self.cfg.image))
        for side in ("local", "remote"):
            if f"svc-{side}" in need:
                selector = {pods.RUN_LABEL: self.run_id, pods.ROLE_LABEL: f"srv-{side}"}
                self._create(SERVICES, pods.service(self._name(f"svc-{side}"), self.cfg.namespace, self.run_id,
                                                    selector, role=f"svc-{side}"))
        ready = self._wait_running([self._name(r) for r in wanted])
        addresses: dict[tuple[str, int], dict[int, str]] = {}
        node_addrs = self._node_addresses(nodes[1])
        for role in wanted:
            pod = ready[self._name(role)]
            ips = [str(i.get("ip")) for i in (pod.get("status") or {}).get("podIPs") or []]
            if role == "srv-hostlocal":
                addresses[("host-local", 0)] = {4: "127.0.0.1", 6: "::1"}
                continue
            key = "host" if role == "srv-host" else role.replace("srv-", "pod-")
            addresses[(key, 0)] = node_addrs if role == "srv-host" else _by_family(ips)
        for side in ("local", "remote"):
            if f"svc-{side}" in need:
                svc = self.kube.get(SERVICES, self._name(f"svc-{side}"), self.cfg.namespace)
                ips = (svc.get("spec") or {}).get("clusterIPs") or [(svc.get("spec") or {}).get("clusterIP")]
                backend = addresses[(f"pod-{side}", 0)]
                addresses[(f"svc-{side}", 0)] = {f: a for f, a in _by_family(ips).items() if f in backend}
        if need & {"svc-local", "svc-remote"}:
            time.sleep(1.5)  # let the datapath program the new Services and endpoints (the lab agent syncs each 1 s)
        return addresses

    @staticmethod
    def _target(p: Probe) -> str:
        s = p.scenario
        if s.server == "host":
            return "host" if s.server_node else "host-local"
        side = "local" if s.server_node == 0 else "remote"
        return f"{'svc' if s.via_service else 'pod'}-{side}"

    def _usable(self, p: Probe, targets: Mapping[tuple[str, int], Mapping[int, str]]) -> bool:
        addrs = targets.get((self._target(p), 0), {})
        if p.family in addrs:
            return True
        self.state.stop[p.id] = "skipped"
        self.state.note[p.id] = (f"no IPv{p.family} address on the server side "
                                 f"(IPv{p.family} is not enabled in this configuration)")
        self.progress(f"skip {p.id}: {self.state.note[p.id]}")
        return False

    def _node_addresses(self, node: str) -> dict[int, str]:
        obj = self.kube.get(NODES, node)
        ips = [a.get("address") for a in (obj.get("status") or {}).get("addresses") or []
               if a.get("type") == "InternalIP"]
        return _by_family([str(i) for i in ips])

    def _wait_running(self, names: Sequence[str], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        found: dict[str, Any] = {}
        while True:
            for name in names:
                if name in found:
                    continue
                pod = self.kube.get(PODS, name, self.cfg.namespace)
                status = pod.get("status") or {}
                if status.get("phase") in ("Failed", "Succeeded"):
                    raise ClusterError(f"bench server {name} stopped ({status.get('phase')})",
                                       hint=f"kubectl -n {self.cfg.namespace} logs {name}")
                conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
                if status.get("phase") == "Running" and conds.get("Ready") == "True":
                    found[name] = pod
            if len(found) == len(names):
                return found
            if time.monotonic() > deadline:
                missing = sorted(set(names) - set(found))
                raise ClusterError(f"bench server pods not running after {timeout:g} s: {', '.join(missing)}",
                                   hint="check the image and the node (kubectl describe pod)")
            time.sleep(POLL_S)

    # ------------------------------------------------------------------ sampling

    def _sample_rounds(self, probes: Sequence[Probe], targets: Mapping[tuple[str, int], Mapping[int, str]],
                       budget_s: float) -> None:
        if not probes:
            return
        by_kind: dict[str, list[Probe]] = defaultdict(list)
        for p in probes:
            by_kind[p.scenario.client].append(p)
        self.progress("warm-up (discarded)")
        warm = {kind: [(f"warmup/{p.id}", self._argv(p, targets, 1, None)) for p in group[:3]]
                for kind, group in by_kind.items()}
        with ThreadPoolExecutor(len(warm), thread_name_prefix="ct-bench-warm") as pool:  # discarded: may overlap
            list(pool.map(lambda kind: self._batch_run(kind, warm[kind], record=False), warm))
        open_probes = list(probes)
        rnd = 0
        deadline = time.monotonic() + budget_s  # the budget is sampling time: placement and warm-up are extra
        while open_probes and rnd < self.cfg.max_rounds:
            if time.monotonic() > deadline and rnd >= MIN_ROUNDS:
                for p in open_probes:
                    self.state.stop[p.id] = "budget"
                break
            rnd += 1
            kinds = [k for k in by_kind if any(p.scenario.client == k for p in open_probes)]
            for kind in self.rng.permutation(kinds):
                group = [p for p in open_probes if p.scenario.client == kind]
                order = [group[i] for i in self.rng.permutation(len(group))]
                batch = [(p.id, self._argv(p, targets, self.cfg.sample_seconds, self.cfg.pin)) for p in order]
                self._batch_run(str(kind), batch, record=True, rnd=rnd, probes={p.id: p for p in order})
            still = []
            for p in open_probes:
                verdict = self._verdict(p)
                if verdict is None:
                    still.append(p)
                else:
                    self.state.stop[p.id] = verdict
            open_probes = still
            widths = [self._half_width(p) for p in open_probes]
            worst = max((w for w in widths if w is not None), default=None)
            self.progress(f"round {rnd}: {len(probes) - len(open_probes)}/{len(probes)} probes within "
                          f"±{self.cfg.target:.1%}" + (f", widest open ±{worst:.1%}" if worst is not None else ""))
        for p in open_probes:
            self.state.stop.setdefault(p.id, "budget")

    def _half_width(self, p: Probe) -> float | None:
        samples = self.state.samples[p.id]
        est = metric_estimate(p, 0, samples, self.cfg.seed) if len(samples) >= 2 else None
        return est.half_width if est is not None else None

    def _verdict(self, p: Probe) -> Stop | None:
        if len(self.state.errors[p.id]) >= 2 and len(self.state.errors[p.id]) > len(self.state.samples[p.id]):
            self.state.note[p.id] = self.state.errors[p.id][-1]
            return "failed"
        return "ci-target" if reached_target(p, self.state.samples[p.id], self.cfg) else None

    def _batch_run(self, kind: str, samples: Sequence[tuple[str, Sequence[str]]], *, record: bool, rnd: int = 0,
                   probes: Mapping[str, Probe] | None = None) -> None:
        """One client pod runs `samples` in order; its log is cut into samples and parsed."""
        name = self._name(f"c{next(self._batches)}")
        script = _VERSION_LINE + tools.batch_script(samples)
        seconds = sum(self.cfg.sample_seconds + 2 for _ in samples) + 30
        obj = pods.client_pod(name, self.cfg.namespace, self.run_id, self.nodes[0], script, host=(kind == "host"),
                              image=self.cfg.image, deadline_s=seconds)
        self._create(PODS, obj)
        try:
            text = self._wait_done(name, seconds + 30)
        finally:
            self._delete(PODS, name)
        self._versions(text)
        if not record or probes is None:
            return
        for raw in tools.split_batch(text):
            p = probes.get(raw.probe_id)
            if p is None:
                continue
            t = round(time.monotonic() - self.t0, 3)
            try:
                values = tools.parse_sample(p.test, raw)
            except tools.SampleError as exc:
                self.state.errors[p.id].append(str(exc))
                self.state.raw.append(Sample(probe=p.id, round=rnd, t=t, error=str(exc)))
                continue
            self.state.samples[p.id].append(values)
            self.state.raw.append(Sample(probe=p.id, round=rnd, t=t, values=values))

    def _argv(self, p: Probe, targets: Mapping[tuple[str, int], Mapping[int, str]], seconds: int,
              pin: tools.Pinning | None) -> list[str]:
        """The sample's command; connection-rate samples sized from the probe's last rate to last `seconds`."""
        last = self.state.samples.get(p.id)
        rate = last[-1][0] if last else 2000.0
        connections = int(min(100_000, max(200, rate * seconds)))
        return tools.sample_argv(p, targets[(self._target(p), 0)][p.family], seconds, pin, connections)

    def _flush_conntrack(self, node: str) -> None:
        """`conntrack -F` in `node`'s namespace, from a privileged hostNetwork pod, before a churn visit."""
        name = self._name(f"flush{next(self._batches)}")
        self._create(PODS, pods.client_pod(name, self.cfg.namespace, self.run_id, node, tools.FLUSH_SCRIPT,
                                           host=True, image=self.cfg.image, deadline_s=30))
        try:
            self._wait_done(name, 30)
        finally:
            self._delete(PODS, name)

    def _wait_done(self, name: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            pod = self.kube.get(PODS, name, self.cfg.namespace)
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                return self.kube.logs(name, self.cfg.namespace)
            if time.monotonic() > deadline:
                raise ClusterError(f"bench client {name} did not finish in {timeout:g} s (phase {phase})",
                                   hint=f"kubectl -n {self.cfg.namespace} describe pod {name}")
            time.sleep(POLL_S)

    def _versions(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith(_VERSION_MARK):
                tool, _, version = line[len(_VERSION_MARK):].strip().partition(" ")
                if version.strip():
                    self.state.versions.setdefault(tool, version.strip())

    # ------------------------------------------------------------------ churn

    def _churn(self, probes: Sequence[Probe], targets: Mapping[tuple[str, int], Mapping[int, str]],
               nodes: tuple[str, str]) -> None:
        levels = sorted({p.services or 0 for p in probes})
        walk = levels + levels[::-1]
        present = 0
        selector = {pods.RUN_LABEL: self.run_id, pods.ROLE_LABEL: "srv-local"}
        families = {p.family for p in probes}
        for visit, level in enumerate(walk, start=1):
            if level != present:
                self.progress(f"churn: {present} -> {level} Services")
                self._set_services(present, level, selector, families)
                # Let the cluster settle: the agents load the new rules (5,000 Services: 2-5 s in the lab) and
                # the EndpointSlices of deleted Services are collected (in proportion to the change).
                time.sleep(2.0 + 2 * max(level, abs(level - present)) / 1000)
                present = level
            group = [p for p in probes if (p.services or 0) == level]
            order = [group[i] for _ in range(self.cfg.churn_samples) for i in self.rng.permutation(len(group))]
            batch = [(p.id, self._argv(p, targets, self.cfg.sample_seconds, self.cfg.pin)) for p in order]
            self.progress(f"churn visit {visit}/{len(walk)}: {level} Services, {len(batch)} samples")
            self._flush_conntrack(nodes[0])
            self._batch_run("pod", batch, record=True, rnd=visit, probes={p.id: p for p in group})
        if present:
            self.progress(f"churn: {present} -> 0 Services")
            self._set_services(present, 0, selector, families)
        for p in probes:
            if self.state.samples[p.id]:
                self.state.stop[p.id] = "fixed"
            else:
                self.state.stop[p.id] = "failed"
                self.state.note[p.id] = (self.state.errors[p.id] or ["no sample"])[-1]

    def _set_services(self, have: int, want: int, selector: Mapping[str, str], families: set[int]) -> None:
        family = next(iter(families)) if len(families) == 1 else None

        def make(i: int) -> None:
            self._create(SERVICES, pods.service(self._name(f"d{i}"), self.cfg.namespace, self.run_id, selector,
                                                role="dummy", ports=(80,), family=family))

        def drop(i: int) -> None:
            self._delete(SERVICES, self._name(f"d{i}"))

        with ThreadPoolExecutor(CREATE_WORKERS, thread_name_prefix="ct-bench-svc") as pool:
            if want > have:
                list(pool.map(make, range(have, want)))
            else:
                list(pool.map(drop, range(want, have)))

    # ------------------------------------------------------------------ cleanup and result

    def _delete(self, res: Any, name: str) -> None:
        with contextlib.suppress(NotFound, ClusterError):
            self.kube.delete(res, name, self.cfg.namespace)

    def _cleanup(self) -> None:
        """Delete everything this run created (best effort; leftovers carry the run label)."""
        items = list(dict.fromkeys(self._created))
        if not items:
            return
        self.progress(f"cleanup: deleting {len(items)} object(s) labelled {pods.RUN_LABEL}={self.run_id}")
        with ThreadPoolExecutor(CREATE_WORKERS, thread_name_prefix="ct-bench-clean") as pool:
            list(pool.map(lambda item: self._delete(*item), items))
        # Wait for the pods to be gone: a terminating host-network server still holds its ports.
        deadline = time.monotonic() + 30
        selector = f"{pods.RUN_LABEL}={self.run_id}"
        with contextlib.suppress(ClusterError):
            while self.kube.list(PODS, self.cfg.namespace, label_selector=selector) and time.monotonic() < deadline:
                time.sleep(POLL_S)

    def _result(self, started: str, nodes: tuple[str, str]) -> BenchRun:
        metrics: list[MetricResult] = []
        for p in self.probes:
            samples = self.state.samples.get(p.id, [])
            stop = self.state.stop.get(p.id, "failed" if not samples else "budget")
            metrics += metric_results(p, samples, self.cfg.seed, stop, self.state.note.get(p.id))
        config = self._cilium_config()
        meta = RunMeta(
            label=self.cfg.label, started=started, finished=_now(), seed=self.cfg.seed,
            target_half_width=self.cfg.target, budget_s=self.cfg.budget_s, sample_seconds=self.cfg.sample_seconds,
            pinning=f"{self.cfg.pin.client},{self.cfg.pin.server}" if self.cfg.pin else None, nodes=nodes,
            namespace=self.cfg.namespace, image=self.cfg.image,
            tool_versions={"cilium-tune": __version__, **self.state.versions},
            config_digest=_digest(config) if config is not None else None, plan_digest=self.cfg.plan_digest,
            facts={"cilium-config": {k: v for k, v in (config or {}).items() if k in _SUMMARY_KEYS}},
            machine={"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
        )
        return BenchRun(meta=meta, metrics=tuple(metrics), raw=tuple(self.state.raw))

    def _cilium_config(self) -> dict[str, str] | None:
        try:
            cm = self.kube.get(CONFIGMAPS, "cilium-config", self.cfg.cilium_namespace)
        except ClusterError:
            return None
        return {str(k): str(v) for k, v in (cm.get("data") or {}).items()}


_VERSION_MARK = "### ct-bench-version "
_VERSION_LINE = (
    f"echo \"{_VERSION_MARK}iperf3 $(iperf3 --version 2>/dev/null | head -n1)\"\n"
    f"echo \"{_VERSION_MARK}netperf $(netperf -V 2>/dev/null | head -n1)\"\n"
)
_SUMMARY_KEYS = frozenset({
    "routing-mode", "tunnel-protocol", "auto-direct-node-routes", "datapath-mode", "kube-proxy-replacement",
    "enable-ipv4", "enable-ipv6", "enable-ipv4-big-tcp", "enable-ipv6-big-tcp", "enable-bpf-masquerade",
    "bpf-lb-sock", "bpf-lb-sock-hostns-only",
})


def metric_estimate(probe: Probe, index: int, samples: Sequence[tuple[float, ...]], seed: int) -> stats.Estimate | None:
    """The median and bootstrap CI of the probe's `index`-th metric, seeded by `probe/metric`.

    The one interval of a metric: the stop check reads it after each round (`reached_target`) and the
    result reports it (`metric_results`), so a probe that stopped at ±2.5% reports ±2.5%. (They once drew
    their resamples apart, 1,000 against 4,000 with other seeds, and at 8 samples a probe that stopped at
    ±2.5% reported ±3.3%.)"""
    values = tuple(s[index] for s in samples if len(s) > index)
    if not values:
        return None
    return stats.median_ci(values, seed=seed, key=f"{probe.id}/{probe.metrics[index].name}")


def reached_target(probe: Probe, samples: Sequence[tuple[float, ...]], config: RunConfig) -> bool:
    """The sequential stop: the probe's first metric has `min_samples` samples and its CI is within the target."""
    if len(samples) < config.min_samples:
        return False
    est = metric_estimate(probe, 0, samples, config.seed)
    return est is not None and stats.converged(est, config.target, config.min_samples)


def metric_results(probe: Probe, samples: Sequence[tuple[float, ...]], seed: int, stop: Stop,
                   note: str | None = None) -> list[MetricResult]:
    """Every metric of one probe as the run reports it: samples, median, CI (`metric_estimate`) and stop."""
    results = []
    for i, metric in enumerate(probe.metrics):
        est = metric_estimate(probe, i, samples, seed)
        results.append(MetricResult(
            probe=probe.id, scenario=probe.scenario.name, test=str(probe.test), family=probe.family,
            services=probe.services, metric=metric.name, unit=metric.unit, higher_is_better=metric.higher_is_better,
            samples=tuple(s[i] for s in samples if len(s) > i), median=est.median if est else None,
            ci_low=est.ci_low if est else None, ci_high=est.ci_high if est else None, stop=stop, note=note))
    return results


def _by_family(ips: Sequence[str | None]) -> dict[int, str]:
    out: dict[int, str] = {}
    for ip in ips:
        if ip:
            out.setdefault(6 if ":" in ip else 4, ip)
    return out


def _digest(data: Mapping[str, str]) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
