"""The agent's life: start-up checks, the first datapath, then keep it current until SIGTERM.

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
from cilium_tune.lab.agent.ipam import outside_pool
from cilium_tune.lab.agent.kernel import EndpointDevice, KernelError, NodeKernel
from cilium_tune.lab.agent.model import Endpoint, NodeInfo
from cilium_tune.lab.agent.nodeconfig import Resolved
from cilium_tune.lab.agent.routing import endpoint_mtu, plan_routing
from cilium_tune.lab.agent.services import iptables_nat, nft_ruleset, plan_masquerade
from cilium_tune.lab.agent.status import Observed, status_block

HEALTH_ADDRESS = ("127.0.0.1", 9879)
"""Where the chart's probes ask /healthz (cilium-agent's health port, in both charts)."""
RESYNC_SECONDS = 1.0
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

    def sync(self) -> bool:
        """Bring the datapath in line with the cluster; True when something was (re)applied."""
        cfg = self.cfg
        view = cluster.read_cluster(self.client, cfg)
        me = self._me(view.nodes)
        uplink = self.kernel.uplink(str(me.ipv4 if me.ipv4 is not None else me.ipv6))
        devices = self.kernel.endpoints()
        routing = plan_routing(cfg, me, view.nodes, uplink.mtu)
        masq = plan_masquerade(cfg, me)
        kube_proxy = not cfg.kube_proxy_replacement
        nat4 = iptables_nat(4, view.services, masq, kube_proxy=kube_proxy)
        nat6 = iptables_nat(6, view.services, masq, kube_proxy=kube_proxy)
        nft = nft_ruleset(view.services, masq, kube_proxy_replacement=cfg.kube_proxy_replacement,
                          bpf_masquerade=cfg.enable_bpf_masquerade)
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

    def watch_config(self) -> None:
        if self.config_drift_logged:
            return
        now = cluster.resolve_config(self.client, self.namespace, self.node)
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
    try:
        with NodeKernel() as kernel:
            agent = Agent(cfg, resolved, node, client, kernel, log, namespace)
            try:
                agent.start()
                agent.sync()
            except (Refusal, KernelError) as exc:
                log("fatal", str(exc))
                return 1
            health.ready = True
            while not stop.wait(RESYNC_SECONDS):
                try:
                    agent.sync()
                    agent.watch_config()
                except (KernelError, OSError) as exc:
                    log("error", "datapath sync failed, retrying", error=str(exc))
                except Exception as exc:  # the API can blip; the datapath stays as it is meanwhile
                    log("error", "reading the cluster failed, retrying", error=str(exc))
    finally:
        if server is not None:
            server.shutdown()
    log("info", "Stopping agent; the datapath stays in place for running pods")
    return 0


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
