#!/usr/bin/env python3
"""Benchmark live facts collection: 1,000 nodes on the lab API server, `collect()` timed end to end.

Target (issue 5): a live snapshot of a 1,000-node cluster from the lab API in under 3 s (parallel,
paginated). The lab API server runs in-process (`ApiServer(auto_ready=True)`, its own thread and loop),
is loaded with 1,000 k3s-style nodes, one cilium agent pod per node plus `--pods-per-node` workload
pods, a Cilium release written the way helm stores it, cilium-config, Services and Gateway API CRDs.
Then `collect()` runs `--runs` times through the real client; min / median / max are printed and the
exit code is 1 when the median misses the target.

Note: the API server shares the process (and the 2 cores) with the collector, so the figure includes
the server's JSON encoding: a pessimistic measure of the client side.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cilium_tune.adapters.kube import CONFIGMAPS, CRDS, NODES, PODS, SECRETS, SERVICES, LightkubeAPI, Resource
from cilium_tune.facts.collect import CollectOptions, collect
from cilium_tune.lab.apiserver import ApiServer

TARGET_S = 3.0


def node(i: int) -> dict[str, Any]:
    args = [
        "server" if i == 0 else "agent",
        "--flannel-backend",
        "none",
        "--disable-kube-proxy",
        "--node-ip",
        f"198.18.{i // 250}.{i % 250 + 1}",
    ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"node-{i:04d}",
            "labels": {
                "kubernetes.io/hostname": f"node-{i:04d}",
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "k3s",
            },
            "annotations": {"k3s.io/node-args": json.dumps(args)},
        },
        "spec": {"podCIDR": f"10.{64 + i // 256}.{i % 256}.0/24", "podCIDRs": [f"10.{64 + i // 256}.{i % 256}.0/24"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": f"198.18.{i // 250}.{i % 250 + 1}"}],
            "nodeInfo": {
                "kernelVersion": "6.8.0-45-generic",
                "osImage": "Ubuntu 24.04.1 LTS",
                "kubeletVersion": "v1.33.1+k3s1",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def pod(name: str, namespace: str, node_name: str, labels: dict[str, str], image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"nodeName": node_name, "containers": [{"name": "main", "image": image}]},
    }


def release_secret() -> dict[str, Any]:
    release = {
        "name": "cilium",
        "namespace": "kube-system",
        "version": 1,
        "info": {"status": "deployed", "last_deployed": "2026-11-26T07:00:00Z"},
        "chart": {"metadata": {"name": "cilium", "version": "1.19.0-rc.1"}, "values": {"routingMode": ""}},
        "config": {"routingMode": "native"},
    }
    body = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": "sh.helm.release.v1.cilium.v1",
            "namespace": "kube-system",
            "labels": {"owner": "helm", "name": "cilium", "status": "deployed", "version": "1"},
        },
        "stringData": {"release": body},
    }


def crd(plural: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.gateway.networking.k8s.io",
            "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.4.0"},
        },
        "spec": {
            "group": "gateway.networking.k8s.io",
            "scope": "Namespaced",
            "names": {"plural": plural, "kind": kind, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def load(api: LightkubeAPI, nodes: int, pods_per_node: int, services: int) -> int:
    """Create the cluster's objects in parallel; returns how many objects were created."""
    work: list[tuple[Resource, dict[str, Any], str | None]] = []
    for i in range(nodes):
        name = f"node-{i:04d}"
        work.append((NODES, node(i), None))
        work.append(
            (
                PODS,
                pod(
                    f"cilium-{i:04d}", "kube-system", name, {"k8s-app": "cilium"}, "quay.io/cilium/cilium:v1.19.0-rc.1"
                ),
                "kube-system",
            )
        )
        for j in range(pods_per_node):
            work.append((PODS, pod(f"app-{i:04d}-{j}", "default", name, {"app": "web"}, "nginx:1.27"), "default"))
    for s in range(services):
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"svc-{s}", "namespace": "default"},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}},
        }
        work.append((SERVICES, svc, "default"))
    work.append((SECRETS, release_secret(), "kube-system"))
    work.append(
        (
            CONFIGMAPS,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"routing-mode": "native", "cluster-pool-ipv4-cidr": "10.64.0.0/10"},
            },
            "kube-system",
        )
    )
    for plural, kind in (("gatewayclasses", "GatewayClass"), ("gateways", "Gateway"), ("httproutes", "HTTPRoute")):
        work.append((CRDS, crd(plural, kind), None))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda w: api.create(w[0], w[1], w[2]), work))
    return len(work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods-per-node", type=int, default=5)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    server = ApiServer(auto_ready=True)
    url = server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = Path(tmp) / "kubeconfig"
            kubeconfig.write_text(
                "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
                f"clusters:\n- name: lab\n  cluster:\n    server: {url}\n"
                "contexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\n"
                "users:\n- name: lab\n  user: {}\n"
            )
            api = LightkubeAPI(str(kubeconfig))
            start = time.perf_counter()
            created = load(api, args.nodes, args.pods_per_node, args.services)
            print(f"loaded {created} objects in {time.perf_counter() - start:.1f} s", flush=True)

            times = []
            snap = None
            for _ in range(args.runs):
                start = time.perf_counter()
                snap = collect(api, CollectOptions())
                times.append(time.perf_counter() - start)
            api.close()
    finally:
        server.stop()

    assert snap is not None
    pods = sum(p.pods for p in snap.pod_ips)
    print(
        f"collect: {len(snap.nodes)} nodes, {pods} pods, {len(snap.agents)} agents, {len(snap.services)} services; "
        f"min {min(times):.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"over {len(times)} runs (target < {TARGET_S:g} s)"
    )
    if len(snap.nodes) != args.nodes or snap.helm_release is None:
        print("snapshot incomplete")
        return 1
    return 0 if statistics.median(times) < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
