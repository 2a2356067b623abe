"""One verify run against a cluster: the only checks module that talks to it (through `KubeAPI` and helm).

In order, with everything independent in parallel on one thread pool:

1. the facts (with node probes) are collected while verify's namespace, the server pod of every node
   and one Service per node are created (or kept ones from an earlier `--keep` run are reused);
2. the desired state (`cilium_tune.desired`) is built from the profile, the -f files and the facts, and
   the chart renders the cilium-config it implies (`helm template`); the agents' status is read;
3. once the servers are Ready, one client pod per node starts probing (`checks.workload`); verify reads
   each client's log until it shows a round that began after this run started;
4. every selected check runs on that frozen context and becomes a `report.model.Case`.

Whatever verify created is deleted in a `finally` (also on failure and Ctrl-C) unless `keep` is set:
pods, Services, and the namespace when verify created it. Verify needs, in its own namespace:
create/get/list/delete pods and Services, get pods/log, create/get/delete the namespace; cluster-wide
read access for the facts (as `cilium-tune facts`: nodes, pods, services, endpointslices, CRDs, Gateway
API objects, the Helm release Secrets and cilium-config in the Cilium namespace); and for node probes,
create/delete of privileged hostNetwork pods in the Cilium namespace. No pods/exec.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cilium_tune.adapters.kube import (
    ENDPOINT_SLICES,
    NAMESPACES,
    NODES,
    PODS,
    SERVICES,
    KubeAPI,
    NotFound,
    Obj,
)
from cilium_tune.checks import workload
from cilium_tune.checks.features import Feature, FeatureSet, derive_features
from cilium_tune.checks.framework import NEEDS_PODS, CheckContext, Selection, run_checks, selected
from cilium_tune.checks.observe import ClientView, Observations, latest_after, parse_rounds
from cilium_tune.checks.workload import Family, Listener, NodeSide, Target
from cilium_tune.errors import CiliumTuneError, ClusterError
from cilium_tune.facts.agent_status import AgentStatus, parse_agent_status
from cilium_tune.facts.collect import CollectOptions, collect
from cilium_tune.facts.model import Snapshot
from cilium_tune.report.model import Case, Report

Progress = Callable[[str], None]
POLL = 0.3
_ROUND_BEGIN = re.compile(r"^@@ctv round (\d+) begin$", re.MULTILINE)


@dataclass(frozen=True)
class VerifyOptions:
    """What one run does (the CLI fills it from its flags)."""

    profile_ref: str | None = None
    value_files: tuple[str, ...] = ()
    chart: str | None = None
    selection: Selection = field(default_factory=Selection)
    namespace: str = workload.NAMESPACE
    cilium_namespace: str = "kube-system"
    release: str = "cilium"
    server_image: str = workload.DEFAULT_IMAGE
    client_image: str = workload.DEFAULT_IMAGE
    ca_bundle: str | None = None
    keep: bool = False
    timeout: float = 90.0
    request_timeout: float = workload.PROBE_TIMEOUT
    round_period: float = workload.ROUND_PERIOD
    probe_nodes: bool = True
    probe_image: str = "debian:bookworm-slim"
    helm: str | None = None
    workers: int = 16


@dataclass
class _Session:
    """The objects verify made in the cluster, so that cleanup deletes exactly those."""

    kube: KubeAPI
    opts: VerifyOptions
    pool: ThreadPoolExecutor
    progress: Progress
    created_namespace: bool = False
    pods: dict[str, str] = field(default_factory=dict)  # pod name -> role
    services: dict[str, Obj] = field(default_factory=dict)  # node -> Service
    servers: dict[str, str] = field(default_factory=dict)  # node -> server pod name
    clients: dict[str, str] = field(default_factory=dict)  # node -> client pod name
    seen_rounds: dict[str, int] = field(default_factory=dict)  # client pod -> last round begun before us
    stale: list[str] = field(default_factory=list)  # kept pods this run replaces
    fresh: set[str] = field(default_factory=set)  # client pods created by this run

    @property
    def ns(self) -> str:
        return self.opts.namespace

    # --- setup ---------------------------------------------------------------------------------------
    def ensure_namespace(self, deadline: float) -> None:
        while True:
            try:
                found = self.kube.get(NAMESPACES, self.ns)
            except NotFound:
                try:
                    self.kube.create(NAMESPACES, workload.namespace_manifest(self.ns))
                except ClusterError as exc:
                    if "already exists" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(POLL)
                    continue
                self.created_namespace = True
                return
            if (found.get("status") or {}).get("phase") != "Terminating":
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"namespace {self.ns} is still terminating",
                                   hint="wait for it to go, or pass --namespace")
            time.sleep(POLL)

    def existing(self) -> list[Obj]:
        return self.kube.list(PODS, self.ns, label_selector=f"app.kubernetes.io/name={workload.APP}")

    def start_servers(self, nodes: Sequence[str], deadline: float) -> None:
        self.ensure_namespace(deadline)
        kept = self.existing()
        wanted = set(nodes)
        creates: list[Future[Obj]] = []
        for pod in kept:
            meta = pod.get("metadata") or {}
            node = (meta.get("annotations") or {}).get(workload.NODE_ANNOTATION, "")
            role = (meta.get("labels") or {}).get(workload.ROLE_LABEL)
            healthy = (pod.get("status") or {}).get("phase") == "Running" and not meta.get("deletionTimestamp")
            if role == "server" and node in wanted and healthy and node not in self.servers:
                self.servers[node] = meta["name"]
                self.pods[meta["name"]] = "server"
            elif role == "client" and node in wanted and healthy:
                self.pods[meta["name"]] = "client"
            else:
                self.stale.append(meta["name"])
        run = secrets.token_hex(3)
        for node in nodes:
            if node not in self.servers:
                manifest = workload.server_pod(node, self.ns, self.opts.server_image)
                manifest["metadata"]["name"] = f"{manifest['metadata']['name']}-{run}"
                self.servers[node] = manifest["metadata"]["name"]
                self.pods[manifest["metadata"]["name"]] = "server"
                creates.append(self.pool.submit(self.kube.create, PODS, manifest, self.ns))
        svc_jobs = {node: self.pool.submit(self._service, node) for node in nodes}
        for job in creates:
            job.result()
        for node, job in svc_jobs.items():
            self.services[node] = job.result()
        reused = len(nodes) - len(creates)
        kept_note = f", {reused} kept ones reused" if reused else ""
        self.progress(f"pods: {len(creates)} server pod(s) created{kept_note}")

    def _service(self, node: str) -> Obj:
        name = workload.service_name(node)
        try:
            return self.kube.get(SERVICES, name, self.ns)
        except NotFound:
            return self.kube.create(SERVICES, workload.service_manifest(node, self.ns), self.ns)

    def wait_servers(self, nodes: Sequence[str], facts: Snapshot, deadline: float) -> list[NodeSide]:
        """Each node's server IPs once the server is Ready (a server that never is: no IPs for it)."""
        ready: dict[str, dict[Family, str]] = {}
        while True:
            pods = {(p.get("metadata") or {}).get("name"): p for p in self.existing()}
            for node, name in self.servers.items():
                pod = pods.get(name)
                if pod is not None and _ready(pod) and workload.pod_ips(pod):
                    ready[node] = workload.pod_ips(pod)
            if (len(ready) == len(self.servers) and self._backends_ready()) or time.monotonic() > deadline:
                break
            time.sleep(POLL)
        sides = []
        for node in nodes:
            found = facts.node(node)
            addresses: dict[Family, str] = {}
            if found is not None and found.internal_ipv4:
                addresses["ipv4"] = str(found.internal_ipv4[0])
            if found is not None and found.internal_ipv6:
                addresses["ipv6"] = str(found.internal_ipv6[0])
            sides.append(NodeSide(node, addresses, ready.get(node, {}),
                                  workload.cluster_ips(self.services.get(node, {}))))
        return sides

    def _backends_ready(self) -> bool:
        """Every Service of this run lists its server as a ready endpoint."""
        from cilium_tune.checks.workloads import ready_backends

        slices = self.kube.list(ENDPOINT_SLICES, self.ns)
        by_service: dict[str, list[Obj]] = {}
        for s in slices:
            owner = ((s.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name", "")
            by_service.setdefault(owner, []).append(s)
        return all(ready_backends(by_service.get(workload.service_name(node), [])) for node in self.services)

    def start_clients(self, sides: Sequence[NodeSide], listener: Listener | None) -> dict[str, dict[str, Target]]:
        kept = {(p.get("metadata") or {}).get("name"): p for p in self.existing()}
        plans: dict[str, dict[str, Target]] = {}
        creates = []
        for i, side in enumerate(sides):
            targets = workload.plan_targets(sides, i, listener)
            plans[side.node] = {t.id: t for t in targets}
            manifest = workload.client_pod(side.node, self.ns, self.opts.client_image, targets,
                                           ca_bundle=self.opts.ca_bundle, timeout=self.opts.request_timeout,
                                           period=self.opts.round_period)
            digest = manifest["metadata"]["annotations"][workload.DIGEST_ANNOTATION]
            name = f"{workload.client_name(side.node)}-{digest[:8]}"
            manifest["metadata"]["name"] = name
            self.clients[side.node] = name
            if name in kept and self.pods.get(name) == "client":
                self.seen_rounds[name] = -1  # read below: rounds begun before this run do not count
                continue
            self.pods[name] = "client"
            self.fresh.add(name)
            creates.append(self.pool.submit(self.kube.create, PODS, manifest, self.ns))
        for name, role in list(self.pods.items()):
            if role == "client" and name not in self.clients.values():
                self.stale.append(name)
                del self.pods[name]
        for name in [n for n, seen in self.seen_rounds.items() if seen == -1]:
            self.seen_rounds[name] = _last_begun(self._log(name))
        for job in creates:
            job.result()
        for name in self.stale:
            self.pool.submit(self._delete_pod, name)
        self.progress(f"pods: {len(creates)} client pod(s) started, {len(sides) - len(creates)} kept ones reused")
        return plans

    def _log(self, name: str, tail: int | None = None) -> str:
        try:
            return self.kube.logs(name, self.ns, tail_lines=tail)
        except ClusterError:
            return ""

    def wait_rounds(self, plans: Mapping[str, Mapping[str, Target]], deadline: float) -> dict[str, ClientView]:
        """Each client's first complete round that began after this run started."""
        views: dict[str, ClientView] = {}
        pending = dict(self.clients)
        while pending:
            def read(item: tuple[str, str]) -> tuple[str, ClientView | None]:
                node, name = item
                tail = 3 * (40 + 4 * len(plans.get(node, {})))
                found = latest_after(parse_rounds(self._log(name, tail)), self.seen_rounds.get(name, 0))
                return node, ClientView(node, name, found) if found is not None else None

            for node, view in self.pool.map(read, list(pending.items())):
                if view is not None and not self._confirm(view, plans.get(node, {})):
                    views[node] = view
                    pending.pop(node)
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(POLL)
        for node, name in pending.items():
            views[node] = ClientView(node, name, None, self._why_no_round(name))
        return views

    def _confirm(self, view: ClientView, targets: Mapping[str, Target]) -> bool:
        """A new client's first round can race the datapath programming of the Services it probes (the
        agent programs them moments after their EndpointSlices); a failure in it waits for round two."""
        if view.round is None or view.pod not in self.fresh or view.round.number > 1:
            return False
        for probe_id, target in targets.items():
            probe = view.round.probes.get(probe_id)
            if probe is None or not (probe.reset or probe.rc == 0 if target.kind == "nosni" else probe.ok):
                return True
        return False

    def _why_no_round(self, name: str) -> str:
        try:
            pod = self.kube.get(PODS, name, self.ns)
        except ClusterError as exc:
            return f"pod {name}: {exc}"
        status = pod.get("status") or {}
        states = [cs.get("state") or {} for cs in status.get("containerStatuses") or []]
        waiting = next((s["waiting"] for s in states if "waiting" in s), None)
        detail = f" ({waiting.get('reason')}: {waiting.get('message', '')})" if waiting else ""
        return f"no complete probe round within the timeout; pod {name} is {status.get('phase')}{detail}"

    # --- cleanup -------------------------------------------------------------------------------------
    def _delete_pod(self, name: str) -> None:
        with contextlib.suppress(ClusterError):
            self.kube.delete(PODS, name, self.ns)

    def cleanup(self, timeout: float = 20.0) -> None:
        """Delete every pod and Service of this run (and kept ones), then the namespace if verify made it."""
        names = set(self.pods) | set(self.stale)
        with contextlib.suppress(ClusterError):
            names |= {(p.get("metadata") or {}).get("name", "") for p in self.existing()}
        jobs = [self.pool.submit(self._delete_pod, n) for n in names if n]
        for node in self.services:
            jobs.append(self.pool.submit(self._delete_service, workload.service_name(node)))
        for job in jobs:
            job.result()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self.existing():
                    break
            except ClusterError:
                break
            time.sleep(POLL)
        if self.created_namespace or _labelled_ours(self.kube, self.ns):
            with contextlib.suppress(ClusterError):
                self.kube.delete(NAMESPACES, self.ns)

    def _delete_service(self, name: str) -> None:
        with contextlib.suppress(ClusterError):
            self.kube.delete(SERVICES, name, self.ns)


def _labelled_ours(kube: KubeAPI, namespace: str) -> bool:
    """A namespace an earlier (kept) verify run created: it carries verify's labels."""
    try:
        labels = (kube.get(NAMESPACES, namespace).get("metadata") or {}).get("labels") or {}
    except ClusterError:
        return False
    return labels.get("app.kubernetes.io/name") == workload.APP


def _ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _last_begun(text: str) -> int:
    found = _ROUND_BEGIN.findall(text)
    return int(found[-1]) if found else 0


# ---------------------------------------------------------------- the desired cilium-config


def render_cilium_config(values: Mapping[str, Any], chart: str, *, release: str, namespace: str,
                         version: str | None, helm_path: str | None) -> dict[str, str]:
    """The cilium-config the chart renders from `values` (`helm template`, offline)."""
    from cilium_tune.adapters.helm import find_helm

    helm = find_helm(helm_path)
    with tempfile.TemporaryDirectory(prefix="cilium-tune-verify-") as tmp:
        path = Path(tmp) / "desired.yaml"
        path.write_text(yaml.safe_dump(dict(values), sort_keys=False), encoding="utf-8")
        args = ["template", release, chart, "--namespace", namespace, "-f", str(path)]
        if version and not Path(chart).exists():
            args += ["--version", version]
        done = helm.run(args, timeout=60)
    for doc in yaml.safe_load_all(done.stdout):
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap" and \
                (doc.get("metadata") or {}).get("name") == "cilium-config":
            return {str(k): "" if v is None else str(v) for k, v in (doc.get("data") or {}).items()}
    raise ClusterError(f"helm template of {chart} rendered no cilium-config ConfigMap")


def read_agent_statuses(kube: KubeAPI, facts: Snapshot) -> dict[str, AgentStatus | str]:
    """Per node, the status block of its agent's log, or why there is none.

    A terminating agent pod is never read: while an agent restarts, the old pod lingers beside the new one,
    and its log describes the datapath the node is leaving (a check would pass on what is no longer there)."""
    out: dict[str, AgentStatus | str] = {}
    for agent in facts.agents:
        if agent.node is None or (agent.node in out and isinstance(out[agent.node], AgentStatus)):
            continue
        if agent.terminating:
            out.setdefault(agent.node, f"the agent pod {agent.name} is terminating; wait for its successor")
            continue
        try:
            text = kube.logs(agent.name, agent.namespace, container="cilium-agent")
        except ClusterError as exc:
            out[agent.node] = f"cannot read the agent log of {agent.name}: {exc}"
            continue
        status = parse_agent_status(text)
        out[agent.node] = status if status is not None else (
            f"the log of {agent.name} holds no status block (a real cilium-agent prints none; "
            "run `cilium-dbg status` in it)")
    for node in facts.nodes:
        out.setdefault(node.name, f"no Cilium agent pod on {node.name}")
    return out


def listener_from(facts: Snapshot, hostnames: Sequence[str]) -> Listener | None:
    """The ports cilium Gateways listen on, and the names to ask for (the profile's, else the listeners')."""
    from cilium_tune.checks.features import CILIUM_GATEWAY_CONTROLLER

    classes = {g.name for g in facts.gateway_classes if g.controller_name == CILIUM_GATEWAY_CONTROLLER}
    listeners = [li for gw in facts.gateways if gw.gateway_class in classes for li in gw.listeners]
    if not listeners:
        return None
    http = tuple(sorted({li.port for li in listeners if li.protocol == "HTTP"}))
    https = tuple(sorted({li.port for li in listeners if li.protocol == "HTTPS"}))
    names = tuple(hostnames) or tuple(sorted({li.hostname for li in listeners if li.hostname}))
    return Listener(http, https, names)


# ---------------------------------------------------------------- the run


def run_verify(kube: KubeAPI, opts: VerifyOptions, progress: Progress = lambda _m: None) -> Report:
    """Run the selected checks against the cluster behind `kube` (see the module docstring)."""
    from cilium_tune.desired import DesiredInputs, load_desired

    started = time.monotonic()
    deadline = started + opts.timeout
    info = kube.server_info()  # fails fast (exit 3) when the API server is unreachable
    checks = selected(opts.selection)
    want_pods = any(NEEDS_PODS in c.needs for c in checks)
    want_probes = opts.probe_nodes and any(r.feature == "node-probes" for c in checks for r in c.requires)
    pool = ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="ct-verify")
    session = _Session(kube, opts, pool, progress)
    try:
        facts_job = pool.submit(collect, kube, CollectOptions(
            namespace=opts.cilium_namespace, release=opts.release, probe_nodes=want_probes,
            probe_image=opts.probe_image, probe_timeout=min(opts.timeout, 120.0), workers=opts.workers))
        nodes = sorted(str((n.get("metadata") or {}).get("name")) for n in kube.list(NODES))
        if want_pods:
            session.start_servers(nodes, deadline)
        facts = facts_job.result()
        probed = sum(1 for p in facts.probes if p.ok)
        progress(f"facts: {len(facts.nodes)} node(s), {len(facts.agents)} agent(s), {probed} node probe(s)")
        desired = load_desired(DesiredInputs(profile_ref=opts.profile_ref, value_files=opts.value_files,
                                             chart=opts.chart, facts=facts, require_profile=True))
        release = desired.release
        chart = opts.chart or (release.chart if release else None)
        config_job = pool.submit(render_cilium_config, desired.chart_values.values, chart or "",
                                 release=opts.release, namespace=opts.cilium_namespace,
                                 version=release.version if release else None, helm_path=opts.helm)
        agents_job = pool.submit(read_agent_statuses, kube, facts)
        hostnames = tuple(desired.profile.ingress.hostnames) if desired.profile else ()
        observations = None
        if want_pods:
            sides = session.wait_servers(nodes, facts, deadline)
            plans = session.start_clients(sides, listener_from(facts, hostnames))
            views = session.wait_rounds(plans, deadline)
            observations = Observations(views, plans, dict(session.services))
            done = sum(1 for v in views.values() if v.round is not None)
            progress(f"pods: {done} of {len(views)} client(s) reported a probe round")
        services_job = pool.submit(kube.list, SERVICES)
        slices_job = pool.submit(kube.list, ENDPOINT_SLICES)
        config: dict[str, str] | None = None
        config_error = None
        try:
            config = config_job.result() if chart else None
            if not chart:
                config_error = "no chart to render the desired cilium-config from (pass --chart)"
        except CiliumTuneError as exc:
            config_error = f"the desired cilium-config could not be rendered: {exc.message}"
        features = derive_features(facts, desired.chart_values.values, config)
        pods_feature = Feature("verify-pods", observations is not None,
                               "client pods ran" if observations is not None else "no selected check needs pods")
        extra = {"verify-pods": pods_feature}
        if not opts.probe_nodes:
            extra["node-probes"] = Feature("node-probes", False, "--no-probes was given")
        features = FeatureSet({**features.features, **extra})
        ctx = CheckContext(
            facts=facts, values=desired.chart_values.values, config=config, features=features,
            agent_status=agents_job.result(), observations=observations, services=services_job.result(),
            endpoint_slices=slices_job.result(), config_error=config_error,
            ca_bundle=bool(opts.ca_bundle),
        )
        cases = list(run_checks(ctx, checks, opts.selection))
        _family_progress(cases, progress)
        return Report(
            kind="verify",
            title=f"cilium-tune verify: {info.context or info.server}",
            cases=tuple(cases),
            meta={
                "context": info.context,
                "server": info.server,
                "profile": desired.profile_choice.label,
                "nodes": list(nodes),
                "duration_s": round(time.monotonic() - started, 2),
                "kept": opts.keep,
                "namespace": opts.namespace,
            },
        )
    finally:
        if not opts.keep:
            progress(f"cleanup: deleting verify's pods and Services in {opts.namespace}")
            session.cleanup()
        pool.shutdown(wait=True, cancel_futures=True)


def _family_progress(cases: Sequence[Case], progress: Progress) -> None:
    from cilium_tune.checks.framework import FAMILIES

    for family in FAMILIES:
        mine = [c for c in cases if c.family == family]
        if not mine:
            continue
        counts: dict[str, int] = {}
        for c in mine:
            counts[str(c.outcome)] = counts.get(str(c.outcome), 0) + 1
        progress(f"{family}: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
