"""The stand-in cilium-operator's Gateway API duties: statuses, the TLSRoute error, lab-CA certificates.

What a user of the runbook sees on a 1.19.0-rc.1 cluster, reproduced:
- GatewayClass `cilium` Accepted; each Gateway Accepted but PROGRAMMED=False / AddressNotAssigned in
  host-network mode (a reporting regression upstream, #42786; the data plane works anyway);
- without the experimental TLSRoute CRD, the operator logs `no kind is registered for the type
  v1alpha2.TLSRouteList` on every resync (#38420), while HTTP routing keeps working;
- HTTPS listeners whose certificateRefs Secret does not exist get one, issued for the listener's
  hostname by the lab CA (Secret kube-system/cilium-tune-lab-ca), as cert-manager would on a cluster.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from lightkube import Client
from lightkube.core.exceptions import ApiError

from cilium_tune.lab.agent.cluster import WatchedServices, kube_config
from cilium_tune.lab.agent.model import Service
from cilium_tune.lab.agent.run import Log
from cilium_tune.lab.gateway import api, model, tls

CA_SECRET = ("kube-system", "cilium-tune-lab-ca")
MANAGED = {"app.kubernetes.io/managed-by": "cilium-tune"}
TLSROUTE_ERROR = "failed to list *v1alpha2.TLSRoute: no kind is registered for the type v1alpha2.TLSRouteList"
RESYNC_SECONDS = 2.0
TLSROUTE_RETRY_SECONDS = 30.0


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "lastTransitionTime"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


class Operator:
    def __init__(self, client: Client, host_network: bool, log: Log,
                 services: Callable[[], Sequence[Service]]) -> None:
        self.client = client
        self.services = services
        self.host_network = host_network
        self.log = log
        self.warned_required = False
        self.tlsroute_logged_at: float | None = None

    def lab_ca(self) -> tls.Pem:
        found = api.read_tls_secret(self.client, *CA_SECRET)
        if found is not None:
            return tls.Pem(*found)
        ca = tls.new_ca()
        try:
            api.write_tls_secret(self.client, *CA_SECRET, ca.cert, ca.key, ca.cert, MANAGED)
        except ApiError as exc:
            if exc.status.code != 409:
                raise
            found = api.read_tls_secret(self.client, *CA_SECRET)
            return tls.Pem(*found) if found else ca
        self.log("info", "Created the lab CA", secret="/".join(CA_SECRET))
        return ca

    def sync(self) -> None:
        crds = api.installed_crds(self.client)
        missing = [c for c in api.REQUIRED_CRDS if c not in crds]
        if missing:
            if not self.warned_required:
                self.log("warning", "Required GatewayAPI resources are not found, Gateway API support stays off",
                         missing=",".join(missing))
                self.warned_required = True
            return
        if "tlsroutes" not in crds:
            now_mono = time.monotonic()
            if self.tlsroute_logged_at is None or now_mono - self.tlsroute_logged_at >= TLSROUTE_RETRY_SECONDS:
                self.log("error", "Failed to watch TLSRoute", error=TLSROUTE_ERROR)
                self.tlsroute_logged_at = now_mono
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        classes = api.list_dicts(self.client, api.GatewayClass)
        ours = model.cilium_classes(classes)
        for gc in classes:
            if gc["metadata"]["name"] in ours:
                gen = int(gc["metadata"].get("generation", 1))
                status = {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                          "message": "Valid GatewayClass", "observedGeneration": gen,
                                          "lastTransitionTime": now}]}
                self._patch(api.GatewayClass, gc, status)
        gateways = [g for g in api.list_dicts(self.client, api.Gateway)
                    if g.get("spec", {}).get("gatewayClassName") in ours]
        routes = api.list_dicts(self.client, api.HTTPRoute)
        rules = model.http_rules(routes)
        for gw in gateways:
            self._patch(api.Gateway, gw, model.gateway_status(gw, rules, self.host_network, now))
        ours_gw = {f"{g['metadata'].get('namespace', 'default')}/{g['metadata']['name']}" for g in gateways}
        services = {(s.namespace, s.name) for s in self.services()}
        for route in routes:
            if any(gw in ours_gw for r in model.http_rules([route]) for gw, _, _ in r.parents):
                self._patch(api.HTTPRoute, route, model.route_status(route, services, now))
        self._issue_certificates(model.listeners(gateways, ours))

    def _patch(self, kind: Any, obj: dict[str, Any], status: dict[str, Any]) -> None:
        if _without_times(obj.get("status") or {}) != _without_times(status):
            api.patch_status(self.client, kind, obj, status)

    def _issue_certificates(self, listeners: list[model.Listener]) -> None:
        ca: tls.Pem | None = None
        for li in listeners:
            if li.protocol != "HTTPS" or not li.hostname:
                continue
            for namespace, name in li.certificate_refs:
                if api.read_tls_secret(self.client, namespace, name) is not None:
                    continue
                ca = ca or self.lab_ca()
                leaf = tls.issue(ca, li.hostname)
                try:
                    api.write_tls_secret(self.client, namespace, name, leaf.cert, leaf.key, ca.cert, MANAGED)
                except ApiError as exc:
                    if exc.status.code != 409:
                        raise
                    continue
                self.log("info", "Issued a lab certificate", hostname=li.hostname, secret=f"{namespace}/{name}")


def run(client: Client, host_network: bool, log: Log, stop: threading.Event) -> None:
    """Reconcile Gateway API statuses every few seconds until `stop` is set."""
    log("info", "Starting the Gateway API reconciler", hostNetwork=host_network)
    services = WatchedServices(kube_config(os.environ), log)
    try:
        if not services.start(stop):
            return
        operator = Operator(client, host_network, log, services)
        while True:
            try:
                operator.sync()
            except Exception as exc:  # the API can blip; try again on the next resync
                log("error", "Gateway API sync failed", error=str(exc))
            if stop.wait(RESYNC_SECONDS):
                return
    finally:
        services.stop()
