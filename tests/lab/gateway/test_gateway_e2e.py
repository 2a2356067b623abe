"""Ingress on every node, on a `lab up` cluster: the lab chart with Gateway API on the host network.

As the runbook validates it: from inside the cluster, every node answers HTTP with the Host header and
HTTPS with the hostname as SNI, in both families; HTTPS to a node address without SNI is reset. The
Gateway reports PROGRAMMED=False / AddressNotAssigned, and without the experimental CRDs the operator
logs the TLSRouteList error.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod, Secret, Service

from cilium_tune.lab import cluster
from cilium_tune.lab.chart import CHART_DIR
from cilium_tune.lab.gateway import api

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.helm]
MANAGED = {"app.kubernetes.io/managed-by": "cilium-tune"}
HOST = "app.lab.test"
VALUES: dict[str, Any] = {
    "ipv6": {"enabled": True},
    "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": ["198.19.0.0/16"],
                          "clusterPoolIPv6PodCIDRList": ["fd00:19::/104"]}},
    "routingMode": "native", "autoDirectNodeRoutes": True,
    "ipv4NativeRoutingCIDR": "198.19.0.0/16", "ipv6NativeRoutingCIDR": "fd00:19::/104",
    "kubeProxyReplacement": True,
    "gatewayAPI": {"enabled": True, "hostNetwork": {"enabled": True}},
}


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(ApiError, KeyError, IndexError):
            last = check()
            if last:
                return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Env:
    lab: cluster.LabInstance
    client: Client
    tmp: Path

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.lab.kubeconfig), "HELM_CACHE_HOME": str(self.tmp / "hc"),
               "HELM_CONFIG_HOME": str(self.tmp / "hg"), "HELM_DATA_HOME": str(self.tmp / "hd")}
        return subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False, timeout=60)

    def curl(self, *args: str) -> subprocess.CompletedProcess[str]:
        pod = self.client.get(Pod, "client", namespace="default")
        assert pod.metadata is not None and pod.metadata.uid is not None
        ns = self.lab.topology.pod_netns(pod.metadata.uid)
        return self.run("ip", "netns", "exec", ns, "curl", "-s", "-m", "5", *args)

    def log_of(self, prefix: str) -> str:
        return "".join(p.read_text() for p in self.lab.log_dir.glob(f"kube-system_{prefix}-*/*/*.log"))


@pytest.fixture(scope="module")
def env(root: None, helm4: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = Path(tmp_path_factory.mktemp("lab"))
    name = "ctag" + secrets.token_hex(3)
    # The standard channel only: no TLSRoute, so the operator's TLSRouteList error shows.
    instance = cluster.up(name, nodes=2, dual_stack=True, base_dir=state, gateway_crds="standard")
    try:
        with Client(KubeConfig.from_file(instance.kubeconfig), field_manager="cilium-tune-tests") as client:
            e = Env(instance, client, state)
            values = state / "values.yaml"
            values.write_text(yaml.safe_dump(VALUES))
            done = e.run(str(helm4), "upgrade", "--install", "cilium", str(CHART_DIR), "-n", "kube-system",
                         "-f", str(values))
            assert done.returncode == 0, done.stderr
            deploy_app(e)
            yield e
    finally:
        cluster.down(name, base_dir=state)
        assert cluster.leftovers(name, base_dir=state) == []


def deploy_app(env: Env) -> None:
    www = env.tmp / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from web\n")
    nodes = [n.name for n in env.lab.topology.nodes]
    for name, node, command in (
        ("web", nodes[1], ["python3", "-m", "http.server", "8080", "--bind", "::", "--directory", str(www)]),
        ("client", nodes[0], ["sleep", "3600"]),
    ):
        env.client.create(Pod.from_dict({
            "metadata": {"name": name, "namespace": "default", "labels": {**MANAGED, "app": name}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": name, "image": "lab", "command": command}]}}))
    env.client.create(Service.from_dict({
        "metadata": {"name": "web", "namespace": "default", "labels": MANAGED},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}))
    env.client.create(api.Gateway.from_dict({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "lab", "namespace": "default", "labels": MANAGED},
        "spec": {"gatewayClassName": "cilium", "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": HOST,
             "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "app-tls"}]}}]}}))
    env.client.create(api.HTTPRoute.from_dict({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "default", "labels": MANAGED},
        "spec": {"parentRefs": [{"name": "lab"}], "hostnames": [HOST],
                 "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}))


def node_addresses(env: Env) -> list[str]:
    return [a for n in env.lab.topology.nodes for a in n.addresses]


def ca_file(env: Env) -> Path:
    secret = wait_for("lab CA", lambda: env.client.get(Secret, "app-tls", namespace="default"))
    path = env.tmp / "ca.pem"
    path.write_bytes(base64.b64decode(secret.data["ca.crt"]))
    return path


def test_every_node_answers_http_by_host_header(env: Env) -> None:
    for address in node_addresses(env):
        host = f"[{address}]" if ":" in address else address
        body = wait_for(f"HTTP on {address}", lambda h=host: env.curl("-H", f"Host: {HOST}", f"http://{h}/").stdout,
                        timeout=60)
        assert body == "hello from web\n"


def test_every_node_answers_https_with_sni(env: Env) -> None:
    ca = ca_file(env)
    for address in node_addresses(env):
        target = f"[{address}]" if ":" in address else address
        body = wait_for(f"HTTPS on {address}", lambda t=target: env.curl(
            "--cacert", str(ca), "--resolve", f"{HOST}:443:{t}", f"https://{HOST}/").stdout)
        assert body == "hello from web\n"


def test_https_without_sni_is_reset(env: Env) -> None:
    ca_file(env)  # the listener is served (its certificate exists) ...
    for address in node_addresses(env):
        host = f"[{address}]" if ":" in address else address
        done = env.curl("-k", "-S", f"https://{host}/")  # ... but a client dialling an IP sends no SNI
        assert done.returncode in (35, 56), done
        assert "reset" in done.stderr.lower()


def test_gateway_status_and_operator_log_match_the_runbook(env: Env) -> None:
    gw = wait_for("gateway status", lambda: env.client.get(api.Gateway, "lab", namespace="default").to_dict()
                  .get("status", {}).get("conditions"))
    programmed = next(c for c in gw if c["type"] == "Programmed")
    assert (programmed["status"], programmed["reason"]) == ("False", "AddressNotAssigned")
    assert next(c for c in gw if c["type"] == "Accepted")["status"] == "True"
    log = wait_for("TLSRoute error", lambda: "TLSRouteList" in env.log_of("cilium-operator") and env.log_of(
        "cilium-operator"))
    assert "no kind is registered for the type v1alpha2.TLSRouteList" in log
