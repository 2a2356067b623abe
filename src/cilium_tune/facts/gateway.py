"""Parse CRDs (which API versions the cluster serves) and Gateway API objects with their status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cilium_tune.facts.k8s import conditions, meta
from cilium_tune.facts.model import Condition, Crd, Gateway, GatewayClass, Listener

BUNDLE_VERSION_ANNOTATION = "gateway.networking.k8s.io/bundle-version"
CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"


def parse_crd(raw: Mapping[str, Any]) -> Crd:
    """A CustomResourceDefinition: group, kind, served versions and Gateway API bundle annotations."""
    spec = raw.get("spec") or {}
    annotations = meta(raw).get("annotations") or {}
    versions = [v for v in spec.get("versions") or [] if isinstance(v, Mapping)]
    return Crd(
        name=str(meta(raw).get("name", "")),
        group=str(spec.get("group", "")),
        kind=str((spec.get("names") or {}).get("kind", "")),
        served_versions=tuple(str(v.get("name")) for v in versions if v.get("served")),
        storage_version=next((str(v.get("name")) for v in versions if v.get("storage")), None),
        bundle_version=annotations.get(BUNDLE_VERSION_ANNOTATION),
        channel=annotations.get(CHANNEL_ANNOTATION),
    )


def parse_conditions(status: Mapping[str, Any]) -> tuple[Condition, ...]:
    """status.conditions -> Conditions, in the order the controller wrote them."""
    return tuple(
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "Unknown")),
            reason=c.get("reason") or None,
            message=c.get("message") or None,
            observed_generation=c.get("observedGeneration"),
        )
        for c in conditions(status)
    )


def parse_gateway_class(raw: Mapping[str, Any]) -> GatewayClass:
    """A GatewayClass: which controller owns it and whether it was accepted."""
    return GatewayClass(
        name=str(meta(raw).get("name", "")),
        controller_name=str((raw.get("spec") or {}).get("controllerName", "")),
        conditions=parse_conditions(raw.get("status") or {}),
    )


def parse_gateway(raw: Mapping[str, Any]) -> Gateway:
    """A Gateway: listeners (spec joined with status by name), addresses and conditions."""
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    listener_status = {str(ls.get("name")): ls for ls in status.get("listeners") or [] if isinstance(ls, Mapping)}
    return Gateway(
        namespace=str(meta(raw).get("namespace", "")),
        name=str(meta(raw).get("name", "")),
        gateway_class=str(spec.get("gatewayClassName", "")),
        listeners=tuple(
            Listener(
                name=str(ls.get("name", "")),
                port=int(ls.get("port", 0)),
                protocol=str(ls.get("protocol", "")),
                hostname=ls.get("hostname"),
                conditions=parse_conditions(listener_status.get(str(ls.get("name")), {})),
            )
            for ls in spec.get("listeners") or []
            if isinstance(ls, Mapping)
        ),
        addresses=tuple(str(a.get("value")) for a in status.get("addresses") or [] if isinstance(a, Mapping)),
        conditions=parse_conditions(status),
    )
