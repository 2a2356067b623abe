"""The lab's node agent: runs the pods bound to the lab's nodes, for real, and reports them.

One process per lab serves every node (not one per node): on a 2-core machine one Python process,
one pod watch and one API connection cost far less than N of each, and the nodes are namespaces of
the same host anyway. Per pod it keeps a `PodRunner` (kubelet_runtime.py), which owns the pod's
namespace and processes; this module only connects runners to the API:

- watch Pods of all namespaces; start a runner for each pod bound (spec.nodeName) to a lab node;
- patch `status` through the status subresource whenever a runner's status changes;
- finish graceful deletion: a pod with a deletionTimestamp has its processes stopped and its
  namespace removed, then it is deleted with gracePeriodSeconds=0;
- relay the API into every node namespace at `<node IP>:6443` (kubelet_apiproxy.py);
- serve exec and attach on `<state dir>/kubelet.sock` for the API server to relay (kubelet_exec.py);
- renew each node's Lease in `kube-node-lease` (heartbeats: without them the API server marks the
  node NotReady, apiserver/nodelifecycle.py).

Run as `python -m cilium_tune.lab.kubelet --kubeconfig K --state-dir D --name NAME [--ready-file F]`;
it reads the topology `lab up` saved in `D/lab.json`. SIGTERM stops every pod it runs and exits.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import logging
import os
import queue
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.core.resource import NamespacedResourceG
from lightkube.generic_resource import Generic, create_api_info
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap, Node, Pod, Secret
from lightkube.types import OnErrorAction, OnErrorResult, PatchType

from cilium_tune.files import write_atomic
from cilium_tune.lab import kubelet_exec, netns, podlogs, topology
from cilium_tune.lab.kubelet_apiproxy import ApiRelay
from cilium_tune.lab.kubelet_exec import StreamServer
from cilium_tune.lab.kubelet_node import LEASE_DURATION, lease_object, node_conditions
from cilium_tune.lab.kubelet_runtime import PodRunner, now_iso
from cilium_tune.lab.topology import LabNode, Topology

log = logging.getLogger("cilium_tune.lab.kubelet")
SYNC_INTERVAL = 0.1
RESYNC_INTERVAL = 2.0  # full relist, so a missed or broken watch only delays, never loses, a pod
MAX_GRACE = 5.0
LEASE_RENEW_INTERVAL = LEASE_DURATION / 4
WATCH_RESTART_DELAY = 0.5


class NodeIPAM:
    """Hands out pod addresses from one node's blocks; the same host offset in both families."""

    def __init__(self, node: LabNode) -> None:
        self.node = node
        self.used: set[int] = set()
        self.size = node.pod_cidr_v4.num_addresses
        if node.pod_cidr_v6 is not None:
            self.size = min(self.size, node.pod_cidr_v6.num_addresses)

    def addresses(self, offset: int) -> list[str]:
        out = [str(self.node.pod_cidr_v4[offset])]
        if self.node.pod_cidr_v6 is not None:
            out.append(str(self.node.pod_cidr_v6[offset]))
        return out

    def reserve(self, ips: list[str]) -> list[str] | None:
        """Keep the addresses a pod already had (after a kubelet restart), if they are this node's."""
        for ip in ips:
            addr = ipaddress.ip_address(ip)
            if addr.version == 4 and addr in self.node.pod_cidr_v4:
                offset = int(addr) - int(self.node.pod_cidr_v4.network_address)
                if offset not in self.used and 2 <= offset < self.size - 1:
                    self.used.add(offset)
                    return self.addresses(offset)
        return None

    def allocate(self) -> list[str]:
        # .0 is the network, .1 stays free for a node-side router address (e.g. cilium_host).
        for offset in range(2, self.size - 1):
            if offset not in self.used:
                self.used.add(offset)
                return self.addresses(offset)
        raise RuntimeError(f"node {self.node.name}: pod CIDR {self.node.pod_cidr_v4} is full")

    def release(self, ips: list[str]) -> None:
        for ip in ips:
            addr = ipaddress.ip_address(ip)
            if addr.version == 4 and addr in self.node.pod_cidr_v4:
                self.used.discard(int(addr) - int(self.node.pod_cidr_v4.network_address))


def warm_up_models() -> None:
    """Build lightkube's decoders for every type the kubelet's threads decode, on this one thread.

    lightkube 1.x decodes with msgspec, which builds a type's decoder on first use; two threads
    doing that first use at the same moment crashed the interpreter (seen as a segfault in
    `Node.from_dict` under a thread pool). After this warm-up the threads only read the caches.
    """
    from lightkube.core import decoders

    for res in (Pod, ConfigMap, Secret, Node, Lease):
        decoders.decode_object(b"{}", res)
        decoders.decode_list(b'{"items": []}', res)
        res.from_dict({}).to_dict()
    decoders.decode_list(b'{"items": []}', RawPod)
    decoders.decode_watch_event(b'{"type": "ADDED", "object": {}}')
    decoders.decode_status(b"{}")


class RawPod(NamespacedResourceG, Generic):  # type: ignore[misc]
    """Pods as the API server sent them (plain dicts): the typed model refuses some objects a server
    stores (a number where it wants a string), and one such pod must not end the kubelet's watch."""

    _api_info = create_api_info("", "v1", "Pod", "pods")


def _retry(_: Exception, count: int) -> OnErrorResult:
    return OnErrorResult(OnErrorAction.RETRY, sleep=min(0.2 * count, 2.0))


class Kubelet:
    """Keeps the pods of the lab's nodes running and their status in the API."""

    def __init__(self, client: Client, topo: Topology, state_dir: Path) -> None:
        self.client = client
        self.topo = topo
        self.log_dir = state_dir / "logs"
        self.nodes = {n.name: n for n in topo.nodes}
        self.ipam = {n.name: NodeIPAM(n) for n in topo.nodes}
        self.runners: dict[str, PodRunner] = {}
        self.sent: dict[str, dict[str, Any]] = {}
        self.deleting: set[str] = set()
        self.failed: set[str] = set()
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pod-stop")
        self.stopping = threading.Event()

    # --- API helpers ------------------------------------------------------------------------------
    def lookup(self, kind: str, namespace: str, name: str, key: str) -> str | None:
        """Values for env valueFrom/envFrom (ConfigMap and Secret keys)."""
        try:
            if kind == "Secret":
                secret = self.client.get(Secret, name, namespace=namespace)
                data = {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.data or {}).items()}
            else:
                data = dict(self.client.get(ConfigMap, name, namespace=namespace).data or {})
        except ApiError:
            return None
        if key:
            return data.get(key)
        return "\n".join(f"{k}={v}" for k, v in data.items())

    def find_pod(self, namespace: str, name: str, uid: str) -> PodRunner | None:
        """The runner of a pod instance (for exec and attach; called from the stream server's thread)."""
        runner = self.runners.get(uid)
        if runner is None or runner.namespace != namespace or runner.name != name or runner.stopped:
            return None
        return runner

    # --- event handling ---------------------------------------------------------------------------
    def handle(self, kind: str, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata", {})
        uid = meta.get("uid", "")
        node = self.nodes.get(pod.get("spec", {}).get("nodeName") or "")
        if kind == "DELETED":
            if uid not in self.runners:  # e.g. a pod that finished before this kubelet started
                podlogs.remove_pod(self.log_dir, meta.get("namespace", ""), meta.get("name", ""), uid)
            self._forget(uid)
            return
        if node is None:
            return
        if meta.get("deletionTimestamp"):
            if uid not in self.deleting:
                self.deleting.add(uid)
                self.pool.submit(self._finish_deletion, pod)
            return
        if uid in self.runners:
            return
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return  # finished before this kubelet started: nothing to run again
        try:
            self._start(pod, node)
        except Exception as exc:  # one bad pod must not take the node agent down; retried on relist
            if uid not in self.failed:
                self.failed.add(uid)
                log.exception("pod %s/%s could not start", meta.get("namespace"), meta.get("name"))
            self._report_failure(pod, exc)

    def _start(self, pod: dict[str, Any], node: LabNode) -> None:
        uid = pod["metadata"]["uid"]
        ips: list[str] = []
        if not pod.get("spec", {}).get("hostNetwork"):
            known = [p["ip"] for p in pod.get("status", {}).get("podIPs", []) or []]
            ips = self.ipam[node.name].reserve(known) or self.ipam[node.name].allocate()
        runner = PodRunner(pod, node, self.topo, ips, self.log_dir, lookup=self.lookup)
        try:
            runner.start()
        except Exception:
            self._stop_runner(runner, 0.0)
            raise
        self.runners[uid] = runner
        log.info("pod %s/%s started on %s in %s (%s)", runner.namespace, runner.name, node.name, runner.netns,
                 " ".join(runner.pod_ips))
        with contextlib.suppress(Exception):  # sync() sends it again, and logs, if the API is away
            self._push(uid, runner)

    def _report_failure(self, pod: dict[str, Any], exc: Exception) -> None:
        meta = pod["metadata"]
        status = {"phase": "Pending", "reason": "LabStartFailed", "message": f"{type(exc).__name__}: {exc}"}
        with contextlib.suppress(Exception):
            self.client.patch(Pod.Status, meta["name"], {"status": status}, namespace=meta.get("namespace"),
                              patch_type=PatchType.MERGE)

    def _forget(self, uid: str) -> None:
        """The pod is gone from the API: stop what still runs, then drop its logs (a kubelet's log GC)."""
        runner = self.runners.pop(uid, None)
        self.sent.pop(uid, None)
        if runner is not None:
            if not runner.stopped:
                self.pool.submit(self._stop_runner, runner, 0.5).add_done_callback(
                    lambda _: podlogs.remove_pod(self.log_dir, runner.namespace, runner.name, uid))
            else:
                podlogs.remove_pod(self.log_dir, runner.namespace, runner.name, uid)

    def _stop_runner(self, runner: PodRunner, grace: float) -> None:
        runner.stop(grace=grace)
        log.info("pod %s/%s stopped, namespace %s removed", runner.namespace, runner.name, runner.netns)
        if not runner.host_network:
            self.ipam[runner.node.name].release(runner.pod_ips)

    def _finish_deletion(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        runner = self.runners.get(uid)
        grace = float(meta.get("deletionGracePeriodSeconds") or 0)
        if runner is not None:
            self._stop_runner(runner, min(grace, MAX_GRACE))
        elif not pod.get("spec", {}).get("hostNetwork"):
            netns.remove([self.topo.pod_netns(uid)])
        try:
            self.client.delete(Pod, meta["name"], namespace=meta.get("namespace"), grace_period=0)
        except ApiError as exc:
            if exc.status.code != 404:
                log.warning("deleting pod %s/%s: %s", meta.get("namespace"), meta["name"], exc)
        finally:
            self.deleting.discard(uid)

    # --- status -----------------------------------------------------------------------------------
    def _push(self, uid: str, runner: PodRunner) -> None:
        status = runner.status()
        if self.sent.get(uid) == status:
            return
        try:
            self.client.patch(Pod.Status, runner.name, {"status": status}, namespace=runner.namespace,
                              patch_type=PatchType.MERGE)
            self.sent[uid] = status
        except ApiError as exc:
            if exc.status.code != 404:
                log.warning("status of %s/%s: %s", runner.namespace, runner.name, exc)

    def sync(self) -> None:
        for uid, runner in list(self.runners.items()):
            if runner.stopped or uid in self.deleting:
                continue
            try:
                runner.tick()
                self._push(uid, runner)
            except Exception as exc:  # API away for a moment: the next round sends it again
                log.warning("pod %s/%s: %s", runner.namespace, runner.name, exc)

    # --- node heartbeats ---------------------------------------------------------------------------
    def _heartbeat(self) -> None:
        """Renew every node's Lease (the API server marks a silent node NotReady), and post Ready again
        where it was marked so, as a kubelet that comes back does."""
        while not self.stopping.is_set():
            missing = False
            for name in self.nodes:
                try:
                    missing |= not self._beat(name)
                except Exception as exc:  # the API may be restarting; the next round renews
                    log.warning("heartbeat of node %s: %s", name, exc)
            self.stopping.wait(1.0 if missing else LEASE_RENEW_INTERVAL)

    def _beat(self, name: str) -> bool:
        try:
            node = self.client.get(Node, name)
        except ApiError as exc:
            if exc.status.code == 404:  # not registered yet (`lab up` registers after starting us)
                return False
            raise
        uid = node.metadata.uid if node.metadata and node.metadata.uid else ""
        renew = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.client.apply(cast(Lease, Lease.from_dict(lease_object(name, uid, renew))), force=True)
        conditions = (node.status.conditions if node.status else None) or []
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
        if not ready:
            self.client.patch(Node.Status, name, {"status": {"conditions": node_conditions(now_iso())}},
                              patch_type=PatchType.MERGE)
            log.info("node %s: posted Ready again", name)
        return True

    # --- main loop ----------------------------------------------------------------------------------
    def _watch(self, resource_version: str | None) -> None:
        """Feed pod events to the main loop, for as long as the kubelet runs.

        Pods are read as plain JSON (`RawPod`), so an object the typed model would refuse is still an
        event. A watch that breaks anyway (a line it cannot read) is logged and started again from now:
        the event is skipped, and the relist every RESYNC_INTERVAL brings back whatever it missed.
        """
        while not self.stopping.is_set():
            try:
                for kind, obj in self.client.watch(RawPod, namespace="*", resource_version=resource_version,
                                                   on_error=_retry):
                    self.events.put((kind, dict(obj)))
                    if self.stopping.is_set():
                        return
            except Exception:
                log.exception("pod watch broke; watching again from now (the relist catches up)")
                resource_version = None
                self.stopping.wait(WATCH_RESTART_DELAY)

    def _relist(self) -> None:
        while not self.stopping.wait(RESYNC_INTERVAL):
            try:
                items = [dict(p) for p in self.client.list(RawPod, namespace="*")]
            except Exception as exc:  # the API may be restarting; try again next round
                log.warning("pod relist failed: %s", exc)
                continue
            self.events.put(("RELIST", {"items": items}))

    def _apply_relist(self, items: list[dict[str, Any]]) -> None:
        present = {p.get("metadata", {}).get("uid") for p in items}
        for uid in [u for u in self.runners if u not in present]:
            self._forget(uid)
        for pod in items:
            self._handle_safely("MODIFIED", pod)

    def _handle_safely(self, kind: str, pod: dict[str, Any]) -> None:
        """`handle`, except that a pod it cannot make sense of is logged (once) and skipped."""
        try:
            self.handle(kind, pod)
        except Exception:
            found = pod.get("metadata")
            meta: dict[str, Any] = found if isinstance(found, dict) else {}
            uid = str(meta.get("uid", ""))
            if uid not in self.failed:
                self.failed.add(uid)
                log.exception("pod %s/%s skipped: the kubelet cannot read it", meta.get("namespace"),
                              meta.get("name"))

    def run(self, ready_file: Path | None = None) -> int:
        stale = [n for n in topology.lab_namespaces(self.topo.lab) if n.startswith(f"{self.topo.lab}-p")]
        netns.remove(stale)
        listing = self.client.list(RawPod, namespace="*")
        pods = [dict(p) for p in listing]
        podlogs.remove_except(self.log_dir, (p.get("metadata", {}).get("uid", "") for p in pods))
        for pod in pods:
            self.handle("ADDED", pod)
        threading.Thread(target=self._watch, args=(listing.resourceVersion,), daemon=True,
                         name="pod-watch").start()
        threading.Thread(target=self._relist, daemon=True, name="pod-relist").start()
        threading.Thread(target=self._heartbeat, daemon=True, name="node-heartbeat").start()
        if ready_file is not None:
            write_atomic(ready_file, f"{os.getpid()}\n")
        last = 0.0
        while not self.stopping.is_set():
            try:
                kind, pod = self.events.get(timeout=SYNC_INTERVAL)
                while True:
                    if kind == "RELIST":
                        self._apply_relist(pod["items"])
                    else:
                        self._handle_safely(kind, pod)
                    kind, pod = self.events.get_nowait()
            except queue.Empty:
                pass
            if time.monotonic() - last >= SYNC_INTERVAL:
                self.sync()
                last = time.monotonic()
        return 0

    def shutdown(self) -> None:
        """Stop every pod this kubelet runs (processes, then namespaces)."""
        self.stopping.set()
        for runner in list(self.runners.values()):
            runner.stop(grace=0.2)
        self.pool.shutdown(wait=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cilium_tune.lab.kubelet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--name", required=True, help="lab instance name")
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s kubelet %(levelname)s %(message)s")
    for noisy in ("httpx", "httpx2", "httpcore"):  # one line per API request drowns the pod events
        logging.getLogger(noisy).setLevel(logging.WARNING)

    topo = topology.load_topology(args.state_dir / "lab.json")
    if topo.lab != args.name:
        parser.error(f"{args.state_dir}/lab.json is lab {topo.lab!r}, not {args.name!r}")
    warm_up_models()
    config = KubeConfig.from_file(args.kubeconfig)
    client = Client(config, field_manager="cilium-tune-lab-kubelet")
    context = config.get()
    if context is None:
        parser.error(f"{args.kubeconfig} has no current context")
    server = urlsplit(context.cluster.server)
    relay = ApiRelay([n.netns for n in topo.nodes], server.hostname or "127.0.0.1", server.port or 443)
    relay.start()
    kubelet = Kubelet(client, topo, args.state_dir)
    streams = StreamServer(kubelet_exec.socket_path(args.state_dir), kubelet.find_pod)
    streams.start()

    def on_term(signum: int, _frame: object) -> None:
        kubelet.stopping.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        code = kubelet.run(args.ready_file)
    finally:
        kubelet.shutdown()
        with contextlib.suppress(Exception):
            relay.stop()
        with contextlib.suppress(Exception):
            streams.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
