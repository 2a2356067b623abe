"""The agent's life: start-up checks, the first datapath, then keep it current until SIGTERM.

Like cilium-agent, the running agent works from watches, not by re-reading the cluster: informers.py
keeps a copy of the Nodes, Services, EndpointSlices, cilium-config and CiliumNodeConfigs, and the rule
text is rebuilt only after one of the datapath's inputs changed, once a burst of changes has settled
(DEBOUNCE_SECONDS quiet, or MAX_DELAY_SECONDS after its first change, and never more than APPLY_SHARE
of the time spent loading rules): creating 5,000 Services is a few syncs, not 5,000, and an idle
cluster costs no CPU per Service. The node's own devices (pods the
kubelet wired, the uplink) are read from the kernel every TICK_SECONDS: that is a netlink dump whose
size does not depend on the Services.

Like cilium-agent, the configuration is resolved once at start: cilium-config overlaid with the
CiliumNodeConfigs that select this node (nodeconfig.py). A later change to either is only noticed (and
logged) while running; it takes effect when the agent's pod restarts, which the chart triggers for
every node when rollOutCiliumPods is true (a new pod-template checksum), and a per-node rollout does
node by node. Every start that gets the datapath up prints the status block (status.py) that tools
parse. Exiting non-zero on a refusal is what makes the lab kubelet report CrashLoopBackOff with the
message in the pod log.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO

from lightkube import Client

from cilium_tune.lab.agent import cluster
from cilium_tune.lab.agent.config import AgentConfig, AgentConfigError, parse_config
from cilium_tune.lab.agent.endpoints import NETKIT_PROBE_FAILED, device_kind_for, incompatible_endpoints_error
from cilium_tune.lab.agent.informers import Informers
from cilium_tune.lab.agent.ipam import outside_pool
from cilium_tune.lab.agent.kernel import EndpointDevice, KernelError, NodeKernel
from cilium_tune.lab.agent.model import Endpoint, NodeInfo, Service
from cilium_tune.lab.agent.nodeconfig import Resolved
from cilium_tune.lab.agent.routing import endpoint_mtu, plan_routing
from cilium_tune.lab.agent.services import Masquerade, iptables_nat, nft_ruleset, plan_masquerade
from cilium_tune.lab.agent.status import Observed, status_block

HEALTH_ADDRESS = ("127.0.0.1", 9879)
"""Where the chart's probes ask /healthz (cilium-agent's health port, in both charts)."""
TICK_SECONDS = 1.0
DEBOUNCE_SECONDS = 0.2
MAX_DELAY_SECONDS = 2.0
APPLY_SHARE = 0.2
"""While changes keep coming, the agent spends at most this share of its time loading rules: after a
load that took t seconds the next waits 4t (at most MAX_HOLD_SECONDS), as kube-proxy's minSyncPeriod
spaces its iptables-restore runs."""
MAX_HOLD_SECONDS = 10.0
MAX_RETRY_SECONDS = 10.0
"""A failed sync is tried again after 1, 2, 4, 8, then every 10 seconds; changes arriving meanwhile wait
for the retry, so a copy the agent cannot read does not turn every change into a failed rebuild."""
SYNC_TIMEOUT_SECONDS = 60.0
"""How long the first list of every watched resource may take before the agent gives up (and restarts)."""
BIG_TCP_IPV4_KERNEL = (6, 3)
BIG_TCP_IPV6_KERNEL = (5, 19)


class Log:
    """cilium-agent style log lines (logfmt) on stdout, which the kubelet keeps as the pod log."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, level: str, msg: str, **fields: object) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        extra = "".join(f" {k}={_quote(str(v))}" for k, v in fields.items())
        self.out.write(f"time={stamp} level={level} msg={_quote(msg)} subsys=daemon{extra}\n")
        self.out.flush()

    def block(self, lines: Sequence[str]) -> None:
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


def _quote(text: str) -> str:
    return text if text and " " not in text and '"' not in text and "=" not in text else '"' + text.replace(
        '"', '\\"') + '"'


def kernel_version(release: str | None = None) -> tuple[int, int]:
    """(major, minor) of a kernel release string such as 6.18.44-fc or 6.3rc1; (0, 0) if unreadable."""
    match = re.match(r"(\d+)\.(\d+)", release or platform.release())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class Refusal(Exception):
    """The agent cannot start; the message is its fatal log line."""


@dataclass
class Health:
    """What /healthz answers: 200 once `ready`, else 503 (the lab agent, operator and proxy serve one)."""

    ready: bool = False


def serve_health(health: Health, address: tuple[str, int] = HEALTH_ADDRESS) -> ThreadingHTTPServer | None:
    """Serve /healthz on `address` in a thread; None when the port is taken."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 200 if health.ready and self.path.startswith("/healthz") else 503
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok\n" if code == 200 else b"not ready\n")

        def log_message(self, format: str, *args: object) -> None:
            return

    try:
        server = ThreadingHTTPServer(address, Handler)
    except OSError:
        return None
    threading.Thread(target=server.serve_forever, name="healthz", daemon=True).start()
    return server


class Changes:
    """Which watched resources changed, collected from the watch thread until the agent takes them."""

    def __init__(self, debounce: float = DEBOUNCE_SECONDS, max_delay: float = MAX_DELAY_SECONDS) -> None:
        self.debounce = debounce
        self.max_delay = max_delay
        self._cond = threading.Condition()
        self._names: set[str] = set()
        self._first = 0.0
        self._last = 0.0

    def note(self, name: str) -> None:
        with self._cond:
            now = time.monotonic()
            if not self._names:
                self._first = now
            self._names.add(name)
            self._last = now
            self._cond.notify()

    def take(self, wait: float, not_before: float = 0.0) -> set[str]:
        """The names changed, once their burst has settled and not before `not_before` (time.monotonic);
        an empty set when `wait` seconds pass first (the changes stay for the next take)."""
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                now = time.monotonic()
                until = deadline
                if self._names:
                    due = max(min(self._last + self.debounce, self._first + self.max_delay), not_before)
                    if now >= due:
                        names, self._names = self._names, set()
                        return names
                    until = min(due, deadline)
                if now >= deadline:
                    return set()
                self._cond.wait(until - now)


class Agent:
    """One node's agent: owns the node namespace's datapath."""

    def __init__(self, cfg: AgentConfig, config: Resolved, node: str, client: Client,
                 kernel: NodeKernel, log: Log, namespace: str) -> None:
        self.cfg = cfg
        self.config = config
        self.node = node
        self.client = client
        self.kernel = kernel
        self.log = log
        self.namespace = namespace
        self.applied: tuple[object, ...] | None = None
        self._rules_for: tuple[tuple[Service, ...], tuple[Masquerade, ...]] | None = None
        self._rules: tuple[str, str, str] = ("", "", "")
        self.netkit_emulated = False
        self.config_drift_logged = False
        version = kernel_version()
        self.ipv4_big_tcp = cfg.enable_ipv4_big_tcp and version >= BIG_TCP_IPV4_KERNEL
        self.ipv6_big_tcp = cfg.enable_ipv6_big_tcp and version >= BIG_TCP_IPV6_KERNEL

    def _me(self, nodes: Sequence[NodeInfo]) -> NodeInfo:
        for node in nodes:
            if node.name == self.node:
                return node
        raise Refusal(f"unable to find the Node object of this node ({self.node})")

    def _endpoints(self, devices: Sequence[EndpointDevice]) -> list[Endpoint]:
        pods = cluster.pods_on_node(self.client, self.node)
        result = []
        for dev in devices:
            name = next((pods[a] for a in dev.addresses if a in pods), f"unknown/{dev.ifname}")
            result.append(Endpoint(name, dev.addresses, dev.ifname, dev.kind))
        return result

    def start(self) -> None:
        """Start-up checks in cilium-agent's order; raises Refusal with its message."""
        cfg = self.cfg
        if cfg.enable_ipv4_big_tcp and not self.ipv4_big_tcp:
            self.log("warning", "IPv4 BIG TCP needs kernel 6.3 or newer; disabling it")
        if cfg.enable_ipv6_big_tcp and not self.ipv6_big_tcp:
            self.log("warning", "IPv6 BIG TCP needs kernel 5.19 or newer; disabling it")
        view = cluster.read_cluster(self.client, cfg)
        outside = outside_pool(cfg, self._me(view.nodes).pod_cidrs)
        if outside:
            self.log("warning", "This node's pod CIDRs are outside the cluster-pool: Cilium would hand out "
                     "addresses from the pool, the lab keeps the node's podCIDRs", podCIDRs=",".join(outside))
        restored = self.kernel.endpoints()
        if cfg.clean_state:
            self.log("warning", "clean-cilium-state is set: removing all endpoint state", endpoints=len(restored))
            self.kernel.forget(restored)
            restored = []
        if cfg.clean_state or cfg.clean_bpf_state:
            # The lab's stand-in for wiping BPF maps: connection tracking and the service map start empty.
            self.kernel.reset_load_balancing()
            self.log("warning", "clean-cilium-bpf-state: connection tracking and service map reset")
        self.log("info", "Restored endpoints", count=len(restored))
        endpoints = self._endpoints(restored)
        ids = {ep.pod: dev.index for ep, dev in zip(endpoints, restored, strict=True)}
        error = incompatible_endpoints_error(cfg.datapath_mode, endpoints, ids)
        if error:
            raise Refusal(error)
        if cfg.datapath_mode != "veth":
            reason = self.kernel.probe_netkit()
            if reason is not None and not self.kernel.netkit_emulated():
                raise Refusal(f"{NETKIT_PROBE_FAILED}: {reason}")
            if reason is not None:
                self.netkit_emulated = True
                self.log("warning", "netkit is emulated by the lab (lab up --emulate-netkit): pod devices are veth "
                         "pairs marked as netkit; this rehearses the switch, it does not run netkit", kernel=reason)
        self.kernel.announce_pod_devices(device_kind_for(cfg.datapath_mode))

    def sync(self, view: cluster.ClusterView) -> bool:
        """Bring the datapath in line with `view` and the node's devices; True when something was (re)applied.

        The rule text depends on the Services and this node's masquerading only, so it is built again only
        when either changed: a sync for anything else (a new pod's device, a Node update) costs a netlink
        dump, not a rebuild of every Service. `view.services` is compared by identity: the main loop makes
        a new tuple only after a Service or EndpointSlice changed."""
        cfg = self.cfg
        me = self._me(view.nodes)
        uplink = self.kernel.uplink(str(me.ipv4 if me.ipv4 is not None else me.ipv6))
        devices = self.kernel.endpoints()
        routing = plan_routing(cfg, me, view.nodes, uplink.mtu)
        masq = plan_masquerade(cfg, me)
        if self._rules_for is None or view.services is not self._rules_for[0] or masq != self._rules_for[1]:
            kube_proxy = not cfg.kube_proxy_replacement
            self._rules = (iptables_nat(4, view.services, masq, kube_proxy=kube_proxy),
                           iptables_nat(6, view.services, masq, kube_proxy=kube_proxy),
                           nft_ruleset(view.services, masq, kube_proxy_replacement=cfg.kube_proxy_replacement,
                                       bpf_masquerade=cfg.enable_bpf_masquerade))
            self._rules_for = (view.services, masq)
        nat4, nat6, nft = self._rules
        desired = (routing, nat4, nat6, nft, tuple(devices))
        if desired == self.applied:
            return False
        self.kernel.apply_routing(routing)
        self.kernel.apply_nat(nat4, nat6, nft)
        self.kernel.apply_device_settings(uplink, devices, mtu=endpoint_mtu(routing, uplink.mtu, cfg.mtu),
                                          ipv4_big_tcp=self.ipv4_big_tcp, ipv6_big_tcp=self.ipv6_big_tcp)
        first = self.applied is None
        self.applied = desired
        frontends = sum(len(s.ports) for s in view.services)
        self.log("info", "Datapath updated", routes=len(routing.routes), endpoints=len(devices),
                 servicePorts=frontends)
        if first:
            seen = Observed(uplink.ifname, self.ipv4_big_tcp, self.ipv6_big_tcp, self.netkit_emulated)
            self.log.block(status_block(self.node, cfg, me, seen, self.config))
        return True

    def keep_current(self, view: cluster.ClusterView, informers: Informers, changes: Changes,
                     stop: threading.Event) -> None:
        """Until `stop`: sync after each settled burst of changes to the watched copies, and every tick for
        the node's own devices; notice configuration drift when a configuration source changed.

        What changed stays pending until the view built from it is applied and the configuration checked.
        A copy the agent cannot read (a Node whose InternalIP is not an address) or a failed kernel call is
        retried with backoff (at most MAX_RETRY_SECONDS apart) and logged once, with its recovery; the
        changes of that burst are not dropped, since nothing would report them again (a later relist finds
        the copy current)."""
        pending = set(cluster.CONFIG_INPUTS)
        hold_until = retry_at = 0.0
        failures = 0
        failed_with = ""
        while not stop.is_set():
            try:
                if pending & {"services", "endpointslices"}:
                    view = _view(informers, self.cfg)
                elif "nodes" in pending:
                    view = cluster.cluster_view(informers["nodes"].items(), view.services, self.cfg)
                started = time.monotonic()
                if self.sync(view):
                    took = time.monotonic() - started
                    hold_until = time.monotonic() + min(took * (1 / APPLY_SHARE - 1), MAX_HOLD_SECONDS)
                if pending & set(cluster.CONFIG_INPUTS):
                    self.check_config(_config(informers, self.namespace, self.node))
            except Exception as exc:  # the datapath stays as it is meanwhile
                failures += 1
                retry_at = time.monotonic() + min(TICK_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)
                if str(exc) != failed_with:
                    failed_with = str(exc)
                    what = "datapath sync failed" if isinstance(exc, KernelError | OSError) else \
                        "reading the cluster failed"
                    self.log("error", f"{what}, retrying", error=failed_with)
            else:
                if failures:
                    self.log("info", "datapath in line with the cluster again", attempts=failures + 1)
                pending.clear()
                failures, failed_with, retry_at = 0, "", 0.0
            wait = max(TICK_SECONDS, retry_at - time.monotonic())
            pending |= changes.take(wait, not_before=max(hold_until, retry_at))

    def check_config(self, now: Resolved | None) -> None:
        """Log (once) that the configuration differs from the one this agent started with."""
        if self.config_drift_logged:
            return
        if now is not None and now.data != self.config.data:
            self.log("warning", "cilium-config or a CiliumNodeConfig selecting this node changed; the new settings "
                     "take effect when this agent restarts", configSources=",".join(now.sources))
            self.config_drift_logged = True


def main() -> int:
    log = Log()
    env = os.environ
    node = env.get("NODE_NAME") or env.get("K8S_NODE_NAME")
    if not node:
        log("fatal", "NODE_NAME is not set: the agent must run as the cilium DaemonSet's pod")
        return 1
    namespace = cluster.namespace_from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log("info", "Starting cilium-tune lab agent", node=node)
    client = cluster.connect(env)
    resolved = _wait_for_config(client, namespace, node, log, stop)
    if resolved is None:
        return 0
    log("info", "Resolved the configuration", configSources=",".join(resolved.sources))
    if resolved.overridden:
        log("info", "CiliumNodeConfig overrides cilium-config", keys=",".join(resolved.overridden))
    for skipped in resolved.skipped:
        log("error", "Invalid key in CiliumNodeConfig, ignored", key=skipped)
    try:
        cfg = parse_config(resolved.data)
    except AgentConfigError as exc:
        log("fatal", str(exc))
        return 1
    health = Health()
    server = serve_health(health)
    changes = Changes()
    informers = Informers(cluster.kube_config(env), cluster.watched(namespace), changes.note, log)
    try:
        with NodeKernel() as kernel:
            agent = Agent(cfg, resolved, node, client, kernel, log, namespace)
            try:
                agent.start()
                informers.start()
                if not informers.wait_synced(SYNC_TIMEOUT_SECONDS):
                    raise Refusal(f"could not list the cluster's Nodes and Services within {SYNC_TIMEOUT_SECONDS:g} s")
                view = _view(informers, cfg)
                agent.sync(view)
            except (Refusal, KernelError) as exc:
                log("fatal", str(exc))
                return 1
            health.ready = True
            agent.keep_current(view, informers, changes, stop)
    finally:
        informers.stop()
        if server is not None:
            server.shutdown()
    log("info", "Stopping agent; the datapath stays in place for running pods")
    return 0


def _view(informers: Informers, cfg: AgentConfig) -> cluster.ClusterView:
    services = cluster.services_view(informers["services"].items(), informers["endpointslices"].items())
    return cluster.cluster_view(informers["nodes"].items(), services, cfg)


def _config(informers: Informers, namespace: str, node: str) -> Resolved | None:
    return cluster.resolve_from(informers["configmaps"].items(), informers["ciliumnodeconfigs"].items(),
                                informers["nodes"].items(), namespace, node)


def _wait_for_config(client: Client, namespace: str, node: str, log: Log, stop: threading.Event) -> Resolved | None:
    said = False
    while not stop.is_set():
        try:
            resolved = cluster.resolve_config(client, namespace, node)
        except Exception as exc:  # API not reachable yet
            resolved = None
            if not said:
                log("info", "waiting for the API server", error=str(exc))
                said = True
        if resolved is not None:
            return resolved
        if not said:
            log("info", f"waiting for ConfigMap {namespace}/{cluster.CONFIG_MAP}")
            said = True
        time.sleep(0.5)
    return None
