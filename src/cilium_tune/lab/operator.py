"""`python3 -m cilium_tune.lab.operator`: the lab chart's cilium-operator.

Like the real operator, it registers the Cilium CRDs when it starts, so they exist once Cilium is
installed: for the lab that is CiliumNodeConfig, the one CRD the lab acts on (served as cilium.io/v2
and, deprecated, cilium.io/v2alpha1, as Cilium 1.19 serves it). An existing definition that differs is
replaced, as the real operator updates its CRDs on upgrade. It serves /healthz on cilium-operator's
port (9234). Then, with Gateway API enabled (`enable-gateway-api` in cilium-config; the lab chart also
passes GATEWAY_API_ENABLED), it runs the Gateway API reconciler (gateway/operator.py); otherwise it
idles until SIGTERM, as an operator with nothing to reconcile in the lab does.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, cast

from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from cilium_tune.lab.agent import nodeconfig
from cilium_tune.lab.agent.cluster import config_flag, connect, namespace_from_env
from cilium_tune.lab.agent.run import Health, Log, serve_health

RETRY_SECONDS = 0.5
HEALTH_ADDRESS = ("127.0.0.1", 9234)
"""cilium-operator's health port, where the Cilium chart's probes ask /healthz."""


def cilium_crds() -> list[dict[str, Any]]:
    """The Cilium CRDs the lab operator registers."""
    return [nodeconfig.crd()]


def register_crds(client: Client, log: Log) -> None:
    """Create each CRD, or replace it when the stored definition's spec differs."""
    for crd in cilium_crds():
        name = crd["metadata"]["name"]
        try:
            client.create(cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(crd)))
            log("info", "Registered CRD", name=name)
            continue
        except ApiError as exc:
            if exc.status.code != 409:
                raise
        stored = client.get(CustomResourceDefinition, name)
        if (stored.to_dict().get("spec") or {}).get("versions") != _versions(crd):
            body = {**crd, "metadata": {**crd["metadata"], "resourceVersion": stored.metadata.resourceVersion
                                        if stored.metadata else None}}
            client.replace(cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(body)))
            log("info", "Updated CRD", name=name)


def _versions(crd: dict[str, Any]) -> Any:
    return CustomResourceDefinition.from_dict(crd).to_dict()["spec"]["versions"]


def main() -> int:
    log = Log()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log("info", "Starting cilium-tune lab operator")
    client = connect(os.environ)
    namespace = namespace_from_env()
    health = Health()
    server = serve_health(health, HEALTH_ADDRESS)
    try:
        while not stop.is_set():
            try:
                register_crds(client, log)
                gateway = config_flag(client, namespace, "GATEWAY_API_ENABLED", "enable-gateway-api")
                host_network = config_flag(client, namespace, "GATEWAY_HOST_NETWORK",
                                           "gateway-api-hostnetwork-enabled")
                break
            except Exception as exc:  # the API may not be reachable yet
                log("info", "Registering the Cilium CRDs failed, retrying", error=str(exc))
                stop.wait(RETRY_SECONDS)
        health.ready = True
        if not stop.is_set() and gateway:
            from cilium_tune.lab.gateway.operator import run

            run(client, host_network, log, stop)
        stop.wait()
    finally:
        if server is not None:
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
