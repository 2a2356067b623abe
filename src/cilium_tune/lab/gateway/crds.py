"""Minimal Gateway API CRDs for the lab API server (what `kubectl apply -f standard-install.yaml` adds).

The schemas accept any object (the lab does not validate Gateway API fields); names, versions, scope
and the status subresource are what the real CRDs declare, which is what clients and the operator use.
Cilium 1.19 pairs with Gateway API v1.4: TLSRoute is only in the experimental channel, as v1alpha2.
"""

from __future__ import annotations

from typing import Any

GROUP = "gateway.networking.k8s.io"
# plural -> (kind, served versions (storage last), experimental only)
_TYPES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "gatewayclasses": ("GatewayClass", ("v1beta1", "v1"), False),
    "gateways": ("Gateway", ("v1beta1", "v1"), False),
    "httproutes": ("HTTPRoute", ("v1beta1", "v1"), False),
    "grpcroutes": ("GRPCRoute", ("v1",), False),
    "referencegrants": ("ReferenceGrant", ("v1beta1",), False),
    "tlsroutes": ("TLSRoute", ("v1alpha2",), True),
}
CLUSTER_SCOPED = {"gatewayclasses"}


def gateway_api_crds(*, experimental: bool = False) -> list[dict[str, Any]]:
    """The CRDs of the standard channel, plus TLSRoute when `experimental`."""
    result = []
    for plural, (kind, versions, exp_only) in _TYPES.items():
        if exp_only and not experimental:
            continue
        result.append({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}",
                         "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.4.0",
                                         "gateway.networking.k8s.io/channel":
                                             "experimental" if experimental else "standard"}},
            "spec": {
                "group": GROUP,
                "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                "scope": "Cluster" if plural in CLUSTER_SCOPED else "Namespaced",
                "versions": [
                    {"name": v, "served": True, "storage": v == versions[-1],
                     "schema": {"openAPIV3Schema": {"type": "object",
                                                    "x-kubernetes-preserve-unknown-fields": True}},
                     "subresources": {"status": {}}}
                    for v in versions
                ],
            },
        })
    return result
