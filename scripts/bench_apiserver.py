#!/usr/bin/env python3
"""Benchmark the lab API server: big listings, paginated listing, and helm installs.

Target (issue 3): list 1,000 nodes and 10,000 pods in under 1 s each; a helm install in well under 1 s.
Run: .venv/bin/python scripts/bench_apiserver.py [--nodes 1000] [--pods 10000] [--repeat 5]
Figures are medians over --repeat runs (min in brackets), measured from a client in the same machine.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from cilium_tune.lab.apiserver import ApiServer

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "tests" / "lab" / "apiserver" / "chart"
TOOLS = ROOT / "tools" / "bin"


class Conn:
    """A keep-alive HTTP/1.1 connection, so the figures measure the server rather than TCP setup."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)

    def call(self, method: str, path: str, body: object = None, accept: str = "application/json") -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json", "Accept": accept})
        resp = self.conn.getresponse()
        return resp.status, resp.read()


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def report(label: str, figures: tuple[float, float], extra: str = "") -> None:
    med, low = figures
    print(f"{label:<58} {med * 1000:8.1f} ms  [min {low * 1000:7.1f}]  {extra}", flush=True)


def kubeconfig(path: Path, url: str) -> None:
    path.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: lab\nclusters:\n- name: lab\n  cluster:\n"
                    f"    server: {url}\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\n"
                    "users:\n- name: lab\n  user: {}\n")


def big_cluster(nodes: int, pods: int, repeat: int) -> None:
    server = ApiServer(auto_ready=True, service_cidrs=["198.18.64.0/18", "fd00:64::/112"])
    url = server.start()
    conn = Conn(url)
    try:
        start = time.perf_counter()
        for i in range(nodes):
            node = {"metadata": {"name": f"node-{i:04d}", "labels": {"kubernetes.io/hostname": f"node-{i:04d}"}},
                    "spec": {"podCIDRs": [f"198.19.{i // 4}.{i % 4 * 64}/26"]},
                    "status": {"addresses": [{"type": "InternalIP", "address": f"198.18.{i // 250}.{i % 250 + 1}"}]}}
            assert conn.call("POST", "/api/v1/nodes", node)[0] == 201
        print(f"created {nodes} nodes over HTTP in {time.perf_counter() - start:.2f} s")

        start = time.perf_counter()
        deploy = {"metadata": {"name": "bulk"}, "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "bulk"}},
                  "template": {"metadata": {"labels": {"app": "bulk"}},
                               "spec": {"containers": [{"name": "c", "image": "registry.invalid/bulk:1"}]}}}}
        assert conn.call("POST", "/apis/apps/v1/namespaces/default/deployments", deploy)[0] == 201
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            _, body = conn.call("GET", "/apis/apps/v1/namespaces/default/deployments/bulk")
            if json.loads(body).get("status", {}).get("readyReplicas") == pods:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("the Deployment did not become Ready within 600 s")
        print(f"Deployment of {pods} pods scheduled and Ready (controllers) in {time.perf_counter() - start:.2f} s")

        size = {}

        def get(path: str) -> Callable[[], None]:
            def run() -> None:
                status, body = conn.call("GET", path)
                assert status == 200
                size[path] = len(body)
            return run

        for path, label in (("/api/v1/nodes", f"GET /api/v1/nodes ({nodes})"),
                            ("/api/v1/pods", f"GET /api/v1/pods ({pods}, all namespaces)"),
                            ("/api/v1/pods?labelSelector=app%3Dbulk", "GET pods ?labelSelector=app=bulk"),
                            ("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-0007",
                             "GET pods ?fieldSelector=spec.nodeName")):
            report(label, timed(get(path), repeat), f"{size.get(path, 0) / 1e6:.1f} MB" if path in size else "")

        def paginate() -> None:
            token, count = "", 0
            while True:
                _, body = conn.call("GET", "/api/v1/pods?limit=500" + (f"&continue={token}" if token else ""))
                doc = json.loads(body)
                count += len(doc["items"])
                token = doc["metadata"].get("continue", "")
                if not token:
                    break
            assert count == pods, count

        report(f"GET pods with limit=500/continue ({pods // 500} pages, parsed)", timed(paginate, repeat))
        table = "application/json;as=Table;v=v1;g=meta.k8s.io"
        report(f"GET /api/v1/pods as=Table (kubectl get's request, {pods})",
               timed(lambda: conn.call("GET", "/api/v1/pods", accept=table), repeat))
        report(f"GET /api/v1/pods + json.loads ({pods})", timed(lambda: json.loads(conn.call("GET", "/api/v1/pods")[1]),
                                                              repeat))

        from lightkube import Client, KubeConfig
        from lightkube.resources.core_v1 import Node, Pod

        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "kubeconfig"
            kubeconfig(cfg, url)
            client = Client(KubeConfig.from_file(cfg))
            report(f"lightkube list(Node) ({nodes}, models built)", timed(lambda: list(client.list(Node)), repeat))
            report(f"lightkube list(Pod) ({pods}, models built)", timed(lambda: list(client.list(Pod)), repeat))
            client.close()
            kubectl = TOOLS / "kubectl"
            if kubectl.exists():
                env = {**os.environ, "KUBECONFIG": str(cfg), "HOME": tmp}
                for fmt in ("json", "wide"):
                    report(f"kubectl get pods -A -o {fmt} ({pods}, client-side decoding included)",
                           timed(functools.partial(subprocess.run, [kubectl, "get", "pods", "-A", "-o", fmt],
                                                   env=env, check=True, capture_output=True), 1))
    finally:
        conn.conn.close()
        server.stop()


def _install(binary: Path, env: dict[str, str], counter: Iterator[int]) -> None:
    n = next(counter)
    subprocess.run([binary, "upgrade", "--install", f"r{n}", CHART, "-n", f"ns{n}", "--create-namespace", "--wait",
                    "--timeout", "60s"], env=env, check=True, capture_output=True, timeout=120)


def helm_installs(repeat: int) -> None:
    for helm in ("helm4", "helm3"):
        binary = TOOLS / helm
        if not binary.exists():
            print(f"{helm}: not found in {TOOLS}, skipped")
            continue
        server = ApiServer(auto_ready=True, service_cidrs=["198.18.64.0/18", "fd00:64::/112"])
        url = server.start()
        conn = Conn(url)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                for i in range(3):
                    conn.call("POST", "/api/v1/nodes", {"metadata": {"name": f"node{i}"}})
                cfg = Path(tmp) / "kubeconfig"
                kubeconfig(cfg, url)
                env = {"PATH": os.environ["PATH"], "HOME": tmp, "KUBECONFIG": str(cfg),
                       "HELM_CACHE_HOME": f"{tmp}/c", "HELM_CONFIG_HOME": f"{tmp}/g", "HELM_DATA_HOME": f"{tmp}/d"}
                counter = iter(range(1000))
                install = functools.partial(_install, binary, env, counter)
                report(f"{helm} upgrade --install --wait (Deployment+DaemonSet+CM+Svc)", timed(install, repeat))
            finally:
                conn.conn.close()
                server.stop()
                shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    helm_installs(args.repeat)
    big_cluster(args.nodes, args.pods, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
