"""The agent's watched copies of the cluster (informers.py) against the lab API server, the debounce
that turns a burst of changes into one datapath sync (run.Changes), and the agent keeping a node's
datapath current from those copies (run.Agent.keep_current)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from agent_wait import wait_for
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import ConfigMap, Node, Service
from lightkube.resources.discovery_v1 import EndpointSlice

from cilium_tune.lab.agent import cluster
from cilium_tune.lab.agent.config import parse_config
from cilium_tune.lab.agent.informers import Informer, Informers, Watched
from cilium_tune.lab.agent.kernel import NodeKernel
from cilium_tune.lab.agent.nodeconfig import Resolved
from cilium_tune.lab.agent.run import Agent, Changes, Log, _view
from cilium_tune.lab.apiserver import ApiServer

NS = "kube-system"


def _config(url: str) -> KubeConfig:
    return KubeConfig.from_dict({
        "clusters": [{"name": "lab", "cluster": {"server": url}}], "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "u"}}], "current-context": "lab"})


def _server(tmp_path: Path, port: int = 0) -> ApiServer:
    return ApiServer(port=port, snapshot=tmp_path / "snapshot.json", service_cidrs=["198.18.64.0/18"],
                     auto_ready=True)


@dataclass
class Watching:
    server: ApiServer
    client: Client
    informers: Informers
    changes: Changes
    log: io.StringIO

    def in_step(self) -> bool:
        """The copies give the same Services view (and configuration) as reading the API now."""
        copy = cluster.services_view(self.informers["services"].items(), self.informers["endpointslices"].items())
        config = cluster.resolve_from(self.informers["configmaps"].items(),
                                      self.informers["ciliumnodeconfigs"].items(), self.informers["nodes"].items(),
                                      NS, "node-1")
        return copy == cluster.read_services(self.client) and config == cluster.resolve_config(self.client, NS,
                                                                                                 "node-1")


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[Watching]:
    server = _server(tmp_path)
    url = server.start()
    out = io.StringIO()
    changes = Changes(debounce=0.1, max_delay=1.0)
    informers = Informers(_config(url), cluster.watched(NS), changes.note, Log(out))
    client = Client(_config(url), field_manager="test")
    informers.start()
    try:
        assert informers.wait_synced(10)
        yield Watching(server, client, informers, changes, out)
    finally:
        informers.stop()
        client.close()
        server.stop()


def _service(client: Client, name: str, port: int = 80) -> None:
    client.create(Service.from_dict({"metadata": {"name": name, "namespace": "default"},
                                     "spec": {"ports": [{"name": "http", "port": port}]}}))


def _slice(client: Client, service: str, address: str, ready: bool = True) -> None:
    client.apply(EndpointSlice.from_dict({
        "metadata": {"name": f"{service}-1", "namespace": "default", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": [address], "conditions": {"ready": ready}}]}), force=True)


def test_the_copies_of_services_and_slices_match_a_fresh_list(watching: Watching) -> None:
    for i in range(100):
        _service(watching.client, f"s{i}")
        _slice(watching.client, f"s{i}", f"198.19.0.{i + 1}")
    assert watching.changes.take(5) <= {"services", "endpointslices"}
    wait_for("the copies", watching.in_step, timeout=10)
    assert len(watching.informers["services"].items()) == 101  # with default/kubernetes

    _slice(watching.client, "s7", "198.19.0.8", ready=False)  # a backend leaves
    watching.client.delete(Service, "s9", namespace="default")
    wait_for("the update and the deletion", watching.in_step, timeout=10)
    ports = {s.name: s.ports for s in cluster.services_view(watching.informers["services"].items(),
                                                            watching.informers["endpointslices"].items())}
    assert "s9" not in ports and ports["s7"][0].backends == ()


def test_the_configuration_sources_are_watched_too(watching: Watching) -> None:
    watching.changes.take(0.5)
    watching.client.create(ConfigMap.from_dict({"metadata": {"name": "cilium-config", "namespace": NS},
                                                "data": {"routing-mode": "native"}}))
    watching.client.create(ConfigMap.from_dict({"metadata": {"name": "unrelated", "namespace": NS}}))
    assert watching.changes.take(5) == {"configmaps"}
    wait_for("cilium-config in the copy", watching.in_step)
    resolved = cluster.resolve_from(watching.informers["configmaps"].items(), [], [], NS, "node-1")
    assert resolved is not None and resolved.data["routing-mode"] == "native"
    assert [c.metadata.name for c in watching.informers["configmaps"].items() if c.metadata] == ["cilium-config"]


def test_a_broken_watch_lists_again_and_misses_no_deletion(watching: Watching, tmp_path: Path) -> None:
    for name in ("keep", "gone"):
        _service(watching.client, name)
    wait_for("both Services", watching.in_step)
    port = watching.server.port
    watching.server.stop()  # writes the snapshot; every watch stream ends
    time.sleep(0.5)
    restarted = _server(tmp_path, port)
    restarted.start()
    try:
        watching.client.delete(Service, "gone", namespace="default")
        _service(watching.client, "new")
        wait_for("the copy of the restarted server", watching.in_step, timeout=15)
        names = {s.metadata.name for s in watching.informers["services"].items() if s.metadata}
        assert {"keep", "new"} <= names and "gone" not in names
        assert "listing or watching failed" in watching.log.getvalue()
    finally:
        restarted.stop()
        watching.server = restarted  # the fixture stops it again: a no-op


def test_a_relist_that_finds_nothing_new_is_no_change() -> None:
    inf = Informer(Watched("services", (Service,), "*"))
    objs = [Service.from_dict({"metadata": {"name": n, "namespace": "a", "resourceVersion": v}})
            for n, v in (("x", "1"), ("y", "2"))]
    assert inf.replace(objs) is True and inf.replace(list(reversed(objs))) is False
    assert inf.apply("BOOKMARK", objs[0]) is False
    assert inf.apply("DELETED", objs[0]) is True and inf.apply("DELETED", objs[0]) is False
    assert inf.replace(objs) is True  # x is back: the relist repairs a missed event
    assert [s.metadata.name for s in inf.items() if s.metadata] == ["x", "y"]


def test_changes_wait_for_a_quiet_moment_but_not_forever() -> None:
    changes = Changes(debounce=0.2, max_delay=0.6)
    assert changes.take(0.05) == set()

    def trickle() -> None:  # a change every 50 ms for 1.5 s: never quiet for 200 ms
        for i in range(30):
            changes.note("services" if i % 2 else "endpointslices")
            time.sleep(0.05)

    thread = threading.Thread(target=trickle)
    start = time.monotonic()
    thread.start()
    assert changes.take(3) == {"services", "endpointslices"}
    assert time.monotonic() - start >= 0.2 and thread.is_alive()  # after max_delay, not the trickle's end
    thread.join()
    time.sleep(0.05)
    assert changes.take(1) == {"services", "endpointslices"}  # the rest of the trickle, in one more take


def test_changes_wait_for_the_hold_after_a_long_load_but_the_ticks_go_on() -> None:
    changes = Changes(debounce=0.05, max_delay=0.2)
    changes.note("services")
    hold = time.monotonic() + 0.6
    assert changes.take(0.3, not_before=hold) == set()  # a tick: the agent checks its devices meanwhile
    assert changes.take(2, not_before=hold) == {"services"}
    assert time.monotonic() >= hold


def test_watched_services_are_rebuilt_only_after_a_change(tmp_path: Path) -> None:
    server = _server(tmp_path)
    url = server.start()
    services = cluster.WatchedServices(_config(url), Log(io.StringIO()))
    try:
        with Client(_config(url), field_manager="test") as client:
            assert services.start(threading.Event(), 10)
            _service(client, "web")
            _slice(client, "web", "198.19.0.2")
            wait_for("web with its backend", lambda: services() == cluster.read_services(client))
            assert services() is services()  # nothing changed: the same view, nothing rebuilt
            client.delete(Service, "web", namespace="default")
            wait_for("web gone", lambda: [s.name for s in services()] == ["kubernetes"])
    finally:
        services.stop()
        server.stop()


def test_watched_services_wait_for_an_api_server_that_comes_up_late(tmp_path: Path) -> None:
    """The gateway's operator and proxy start only with a listed copy: an empty one reads as "no Services"."""
    with socket.socket() as probe:  # a free port, for a server started later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = io.StringIO()
    services = cluster.WatchedServices(_config(f"http://127.0.0.1:{port}"), Log(out))
    started: list[bool] = []
    starting = threading.Thread(target=lambda: started.append(services.start(threading.Event(), timeout=0.5)))
    starting.start()
    server = _server(tmp_path, port)
    try:
        wait_for("the wait to be logged", lambda: "not listed within 0.5 s" in out.getvalue(), timeout=5)
        assert started == []  # still waiting: nothing was read yet
        server.start()
        starting.join(10)
        assert started == [True] and [s.name for s in services()] == ["kubernetes"]
        assert "Services and EndpointSlices listed" in out.getvalue()
    finally:
        services.stop()
        server.stop()


def test_watched_services_stop_waiting_when_told_to() -> None:
    services = cluster.WatchedServices(_config("http://127.0.0.1:1"), Log(io.StringIO()))
    stop = threading.Event()
    stop.set()
    try:
        assert services.start(stop, timeout=0.1) is False
    finally:
        services.stop()


def _node(client: Client, name: str, address: str) -> None:
    """Create or update Node `name` with InternalIP `address` (its status, as the kubelet reports it)."""
    node = Node.from_dict({"metadata": {"name": name}, "spec": {"podCIDR": "198.19.1.0/24"},
                           "status": {"addresses": [{"type": "InternalIP", "address": address}]}})
    client.apply(node, force=True)
    client.patch(Node.Status, name, {"status": node.status.to_dict()})  # type: ignore[union-attr]


@pytest.fixture
def node_netns(root: None) -> Iterator[str]:
    """A network namespace standing for node-1: one device holding its address, 198.18.0.11."""
    name = f"ctinf{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        for argv in (["link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"],
                     ["addr", "add", "198.18.0.11/24", "dev", "eth0"], ["link", "set", "eth0", "up"]):
            subprocess.run(["ip", "-n", name, *argv], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=10)


@pytest.mark.root
def test_a_change_that_came_with_an_unreadable_node_is_applied_once_the_node_is_fixed(
        watching: Watching, node_netns: str) -> None:
    client = watching.client
    _node(client, "node-1", "198.18.0.11")
    cfg = parse_config({})
    stop = threading.Event()
    with NodeKernel(node_netns) as kernel:
        agent = Agent(cfg, Resolved({}, (), ()), "node-1", client, kernel, Log(watching.log), NS)
        wait_for("node-1 in the copy", lambda: watching.informers["nodes"].items())
        view = _view(watching.informers, cfg)
        keeping = threading.Thread(target=agent.keep_current, args=(view, watching.informers, watching.changes, stop))
        keeping.start()
        try:
            wait_for("the first datapath", lambda: agent.applied is not None, timeout=5)
            # One burst: a Service with a backend, and a Node whose InternalIP is not an address.
            _service(client, "web")
            _slice(client, "web", "198.19.1.5")
            _node(client, "node-2", "198.18.0.999")
            wait_for("the failure", lambda: "reading the cluster failed" in watching.log.getvalue(), timeout=5)

            _node(client, "node-2", "198.18.0.12")  # only the Node changes now
            web = client.get(Service, "web", namespace="default").spec.clusterIP  # type: ignore[union-attr]
            wait_for("web (of the failed burst) in node-1's NAT table",
                     lambda: f"-d {web}/32" in kernel.run(["iptables-save", "-t", "nat"]), timeout=8)
            wait_for("the recovery", lambda: "in line with the cluster again" in watching.log.getvalue(), timeout=2)
            assert watching.log.getvalue().count("reading the cluster failed") == 1  # retried, logged once
        finally:
            stop.set()
            keeping.join(5)


class RefusingWatches(BaseHTTPRequestHandler):
    """An API server that lists Services (none) and answers every watch with `server.watch_answer`:
    403, an ERROR event with code 500, or (once repaired) an ADDED event on a stream that stays open."""

    server: Refusing

    def do_GET(self) -> None:
        if "watch=true" not in self.path:
            self.server.lists += 1
            self._send(200, {"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                             "items": []})
        elif self.server.watch_answer == "403":
            self._send(403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
                             "reason": "Forbidden", "message": "services is forbidden"})
        elif self.server.watch_answer == "error event":
            self._send(200, {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "code": 500,
                                                         "message": "etcd is away"}})
        else:
            self._send(200, {"type": "ADDED", "object": {"kind": "Service", "apiVersion": "v1", "metadata": {
                "name": "web", "namespace": "default", "resourceVersion": "2"}}})
            self.server.closing.wait(10)

    def _send(self, code: int, body: dict[str, object]) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode() + b"\n")
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


class Refusing(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, watch_answer: str) -> None:
        super().__init__(("127.0.0.1", 0), RefusingWatches)
        self.watch_answer = watch_answer
        self.lists = 0
        self.closing = threading.Event()


@pytest.mark.parametrize("refusal", ["403", "error event"])
def test_a_refused_watch_is_retried_with_backoff_and_reported_once(refusal: str) -> None:
    server = Refusing(refusal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = io.StringIO()
    informers = Informers(_config(f"http://127.0.0.1:{server.server_address[1]}"),
                          [Watched("services", (Service,), "*")], lambda name: None, Log(out))
    informers.start()
    try:
        time.sleep(1.3)  # lists at 0, 0.4 and 1.2 s (without the backoff: a list per round trip)
        assert server.lists <= 3
        assert out.getvalue().count("level=warning") == 1

        server.watch_answer = "working"  # the watch works again: the copy catches up and the log says so
        wait_for("web in the copy", lambda: informers["services"].items(), timeout=8)
        wait_for("the recovery", lambda: "watching works again" in out.getvalue(), timeout=2)
        assert out.getvalue().count("level=warning") == 1
    finally:
        server.closing.set()
        informers.stop()
        server.shutdown()
        server.server_close()
