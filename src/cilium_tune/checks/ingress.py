"""ingress: every node answers the Gateway's listeners, by Host header and by SNI, in both families.

In host-network mode each node binds the listener ports itself, so each node is probed on its own
addresses from the client pod on that node: HTTP with the `Host` header, HTTPS with each hostname as SNI
(status, latency, the certificate's subject, SANs and expiry, and whether its chain verified against the
CA bundle given with `--ca-bundle`), and HTTPS to the bare address without SNI, which Envoy resets when
no filter chain matches: that reset is the expected answer. The Gateway's and GatewayClass's status and
the TLSRoute CRD are read from the facts; their known benign states are explained (`checks.benign`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cilium_tune.checks.dual_stack import FAMILIES, judge_http
from cilium_tune.checks.features import CILIUM_GATEWAY_CONTROLLER
from cilium_tune.checks.framework import NEEDS_PODS, Action, CheckContext, Require, check
from cilium_tune.checks.observe import Probe
from cilium_tune.checks.workload import Target

GATEWAY_API = Require.enabled("gateway-api")
PODS = Require.enabled("verify-pods")
GATEWAY = Require.enabled("cilium-gateway")
TLSROUTE_CRD = "tlsroutes.gateway.networking.k8s.io"


def _condition(conditions: Any, kind: str) -> Any:
    return next((c for c in conditions if c.type == kind), None)


@check("ingress", "gateway-class", "The cilium GatewayClass is Accepted", requires=(GATEWAY_API,))
def gateway_class(ctx: CheckContext) -> Iterator[Action]:
    ours = [g for g in ctx.facts.gateway_classes if g.controller_name == CILIUM_GATEWAY_CONTROLLER]
    if not ours:
        yield Action.failed("cilium", f"no GatewayClass with controller {CILIUM_GATEWAY_CONTROLLER}")
        return
    for gc in ours:
        accepted = _condition(gc.conditions, "Accepted")
        evidence = {"Accepted": accepted.status if accepted else None, "reason": accepted.reason if accepted else None}
        if accepted is not None and accepted.status == "True":
            yield Action.passed(gc.name, "Accepted", **evidence)
        else:
            yield Action.failed(gc.name, "the GatewayClass is not Accepted", **evidence)


@check("ingress", "gateway-status", "Each cilium Gateway is Accepted and Programmed",
       requires=(GATEWAY_API, GATEWAY))
def gateway_status(ctx: CheckContext) -> Iterator[Action]:
    classes = {g.name for g in ctx.facts.gateway_classes if g.controller_name == CILIUM_GATEWAY_CONTROLLER}
    for gw in ctx.facts.gateways:
        if gw.gateway_class not in classes:
            continue
        name = f"{gw.namespace}.{gw.name}"
        accepted = _condition(gw.conditions, "Accepted")
        programmed = _condition(gw.conditions, "Programmed")
        evidence = {
            "Accepted": accepted.status if accepted else None,
            "Programmed": programmed.status if programmed else None,
            "reason": programmed.reason if programmed else None,
            "addresses": list(gw.addresses),
        }
        if accepted is None or accepted.status != "True":
            yield Action.failed(name, f"Gateway {name} is not Accepted", **evidence)
        elif programmed is None or programmed.status != "True":
            reason = programmed.reason if programmed else "no Programmed condition"
            yield Action.failed(name, f"Gateway {name} PROGRAMMED=False ({reason})", **evidence)
        else:
            yield Action.passed(name, f"Accepted and Programmed, addresses {', '.join(gw.addresses) or '-'}",
                                **evidence)


@check("ingress", "tlsroute-crd", "The experimental TLSRoute CRD the 1.19 operator lists is installed",
       requires=(GATEWAY_API,))
def tlsroute_crd(ctx: CheckContext) -> Iterator[Action]:
    if not ctx.facts.is_known("crds"):
        yield Action.skipped("present", f"CRDs unknown: {ctx.facts.unknown.get('crds')}")
        return
    crd = ctx.facts.crd(TLSROUTE_CRD)
    if crd is None:
        yield Action.failed("present", f"{TLSROUTE_CRD} is not installed: the operator logs "
                                       "`no kind is registered for the type v1alpha2.TLSRouteList`")
    elif "v1alpha2" not in crd.served_versions:
        yield Action.failed("present", f"{TLSROUTE_CRD} serves {', '.join(crd.served_versions)}, not v1alpha2",
                            served=list(crd.served_versions))
    else:
        yield Action.passed("present", f"served versions {', '.join(crd.served_versions)}",
                            channel=crd.channel, bundle=crd.bundle_version)


def _ingress_targets(ctx: CheckContext, purpose: str) -> Iterator[tuple[str, str, Target | None, Probe | None, str]]:
    assert ctx.observations is not None
    for node in ctx.nodes:
        view = ctx.observations.clients.get(node)
        targets = [t for t in ctx.observations.targets.get(node, {}).values() if t.purpose == purpose]
        for family in FAMILIES:
            if not ctx.features.on(family):
                continue
            mine = [t for t in targets if t.family == family]
            if not mine:
                yield f"{family}-{node}", node, None, None, view.pod if view else ""
                continue
            for t in mine:
                name = f"{family}-{node}" + (f"-{t.host}" if t.host else "")
                name += f"-{t.port}" if t.port not in (80, 443) else ""
                probe = view.round.probes.get(t.id) if view is not None and view.round is not None else None
                yield name, node, t, probe, view.pod if view else ""


def _missing(ctx: CheckContext, node: str) -> str:
    view = ctx.observations.clients.get(node) if ctx.observations else None
    if view is not None and view.round is None:
        return f"no result from the client pod: {view.error or 'no complete round'}"
    return f"{node} has no address of this family or the Gateway has no such listener"


@check("ingress", "http", "Every node answers HTTP with the Host header", requires=(GATEWAY_API, GATEWAY, PODS),
       needs=(NEEDS_PODS,))
def http(ctx: CheckContext) -> Iterator[Action]:
    for name, node, target, probe, pod in _ingress_targets(ctx, "ingress-http"):
        if target is None:
            yield Action.failed(name, _missing(ctx, node))
        else:
            yield judge_http(name, target, probe, pod, expect_node=None)


@check("ingress", "https", "Every node answers HTTPS with each hostname as SNI", requires=(GATEWAY_API, GATEWAY, PODS),
       needs=(NEEDS_PODS,))
def https(ctx: CheckContext) -> Iterator[Action]:
    for name, node, target, probe, pod in _ingress_targets(ctx, "ingress-https"):
        if target is None:
            yield Action.failed(name, _missing(ctx, node))
            continue
        address = f"[{target.address}]" if ":" in target.address else target.address
        evidence: dict[str, Any] = {
            "from": pod,
            "request": f"curl --resolve {target.host}:{target.port}:{address} https://{target.host}:{target.port}/",
            "sni": target.host,
        }
        if probe is None:
            yield Action.failed(name, "the client did not report this probe", **evidence)
            continue
        evidence.update(probe.evidence())
        cert = probe.certificate
        if cert is not None:
            evidence |= {"subject": cert.subject, "san": list(cert.sans), "not_after": cert.not_after,
                         "issuer": cert.issuer}
        if ctx.ca_bundle:
            evidence["chain"] = "verified" if probe.rc == 0 and probe.ssl_verify_result == 0 else "NOT verified"
        else:
            evidence["chain"] = "unverified (no --ca-bundle)"
        if not probe.ok:
            what = probe.error or (f"HTTP {probe.http_code}" if probe.http_code else f"curl exit {probe.rc}")
            yield Action.failed(name, f"HTTPS {target.host} on {target.address}: {what}", **evidence)
            continue
        latency = f" in {probe.time_total * 1000:.1f} ms" if probe.time_total is not None else ""
        subject = f", certificate {cert.subject}" if cert is not None else ""
        yield Action.passed(name, f"HTTP {probe.http_code}{latency}{subject}, chain {evidence['chain']}", **evidence)


@check("ingress", "no-sni", "HTTPS without SNI is reset, as Envoy does", requires=(GATEWAY_API, GATEWAY, PODS),
       needs=(NEEDS_PODS,))
def no_sni(ctx: CheckContext) -> Iterator[Action]:
    for name, node, target, probe, pod in _ingress_targets(ctx, "ingress-no-sni"):
        if target is None:
            yield Action.failed(name, _missing(ctx, node))
            continue
        address = f"[{target.address}]" if ":" in target.address else target.address
        evidence: dict[str, Any] = {"from": pod, "request": f"curl -k https://{address}:{target.port}/"}
        if probe is None:
            yield Action.failed(name, "the client did not report this probe", **evidence)
            continue
        evidence.update(probe.evidence())
        if probe.reset:
            yield Action.passed(name, "reset without SNI, as expected (no filter chain matches)", **evidence)
        elif probe.rc == 0:
            yield Action.warned(name, f"answered HTTP {probe.http_code} without SNI: a default certificate is "
                                      "served; clients dialling the address get it", **evidence)
        else:
            yield Action.failed(name, f"no TLS answer from {target.address}:{target.port}: "
                                      f"{probe.error or f'curl exit {probe.rc}'}", **evidence)
