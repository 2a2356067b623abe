"""datapath: every agent is Ready, runs the desired cilium-config, and reports the desired datapath.

The agent's own report (`cilium-dbg status` lines, `facts.agent_status`) is compared field by field with
the cilium-config the chart renders from the desired values, per node, so a node whose agent restarted
with other settings (an edited ConfigMap, a per-node override) is named. The pods' interface kind (veth
or netkit) is read inside the client pods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cilium_tune.checks.framework import NEEDS_PODS, Action, CheckContext, Require, check
from cilium_tune.facts.agent_status import AgentStatus
from cilium_tune.values.redact import REDACTED

MAX_DIFFS_SHOWN = 20


@check("datapath", "agent-ready", "Every node runs a Ready Cilium agent")
def agent_ready(ctx: CheckContext) -> Iterator[Action]:
    if not ctx.facts.is_known("agents"):
        yield Action.skipped("all", f"agent pods unknown: {ctx.facts.unknown.get('agents')}")
        return
    for node in ctx.nodes:
        pods = [a for a in ctx.facts.agents if a.node == node]
        if not pods:
            yield Action.failed(node, f"no Cilium agent pod on {node}", namespace=ctx.facts.cilium_namespace)
            continue
        agent = pods[0]
        evidence: dict[str, Any] = {"pod": f"{agent.namespace}/{agent.name}", "phase": agent.phase,
                                    "restarts": agent.restarts}
        if agent.ready:
            yield Action.passed(node, f"{agent.name} is Ready", **evidence)
            continue
        if agent.last_termination is not None and agent.last_termination.message:
            evidence["last_termination"] = agent.last_termination.message.splitlines()[-1][:300]
        yield Action.failed(node, f"{agent.name} is not Ready", **evidence)


@check("datapath", "cilium-config", "cilium-config equals what the chart renders from the desired values")
def cilium_config(ctx: CheckContext) -> Iterator[Action]:
    """Keys whose desired value came out redacted (a `*Key`/`*Token` value of the live release, which the
    facts keep redacted) cannot be compared; they are listed as `not_compared`."""
    if ctx.config is None:
        yield Action.skipped("matches-desired", ctx.config_error or "the desired cilium-config was not rendered")
        return
    live = ctx.facts.cilium_config
    if live is None:
        why = ctx.facts.unknown.get("cilium_config", "no cilium-config ConfigMap in the cluster")
        yield Action.failed("matches-desired", f"cannot compare: {why}")
        return
    hidden = sorted(k for k, v in ctx.config.items() if REDACTED in v)
    desired = {k: v for k, v in ctx.config.items() if k not in hidden}
    diffs = config_diff(desired, {k: v for k, v in live.data.items() if k not in hidden})
    note = {"not_compared": hidden} if hidden else {}
    if not diffs:
        yield Action.passed("matches-desired", f"{len(desired)} keys equal the desired state",
                            namespace=live.namespace, **note)
        return
    shown = dict(sorted(diffs.items())[:MAX_DIFFS_SHOWN])
    keys = ", ".join(shown)
    yield Action.failed("matches-desired", f"{len(diffs)} key(s) differ from the desired state: {keys}",
                        **{f"cilium-config.{k}": v for k, v in shown.items()}, **note)


def config_diff(desired: Mapping[str, str], live: Mapping[str, str]) -> dict[str, str]:
    """Key -> `live X, desired Y` for every key whose live value is not the desired one."""
    out: dict[str, str] = {}
    for key in sorted(set(desired) | set(live)):
        want, have = desired.get(key), live.get(key)
        if want != have:
            out[key] = f"live {_shown(have)}, desired {_shown(want)}"
    return out


def _shown(value: str | None) -> str:
    return "(absent)" if value is None else repr(value)


# ---------------------------------------------------------------- the agent's own report, per node


def _statuses(ctx: CheckContext) -> Iterator[tuple[str, AgentStatus | None, str]]:
    for node in ctx.nodes:
        found = ctx.agent_status.get(node)
        if isinstance(found, AgentStatus):
            yield node, found, ""
        else:
            yield node, None, str(found or "no agent status for this node")


def _flag(ctx: CheckContext, key: str, default: bool = False) -> bool:
    raw = (ctx.config or {}).get(key)
    return default if raw is None else raw.strip().lower() == "true"


def _lines(status: AgentStatus, *labels: str) -> dict[str, str]:
    return {f"status.{label}": status.fields[label] for label in labels if label in status.fields}


def expected_host_routing(ctx: CheckContext) -> str:
    """BPF host routing needs kube-proxy replacement and BPF masquerading, and no legacy override."""
    bpf = (_flag(ctx, "kube-proxy-replacement") and _flag(ctx, "enable-bpf-masquerade")
           and not _flag(ctx, "enable-host-legacy-routing"))
    return "BPF" if bpf else "Legacy"


@check("datapath", "agent-routing", "Each agent routes as configured (Native/Tunnel, Host: BPF/Legacy)")
def agent_routing(ctx: CheckContext) -> Iterator[Action]:
    want = str(ctx.features.value("routing"))
    host = expected_host_routing(ctx)
    for node, status, why in _statuses(ctx):
        if status is None:
            yield Action.skipped(node, why)
            continue
        evidence = _lines(status, "Routing")
        if status.routing_network != want:
            yield Action.failed(node, f"the agent on {node} routes {status.routing_network}, desired {want}",
                                **evidence)
        elif status.host_routing != host:
            yield Action.failed(node, f"the agent on {node} uses Host: {status.host_routing}, desired {host}",
                                **evidence)
        else:
            yield Action.passed(node, f"Network: {want}, Host: {host}", **evidence)


@check("datapath", "agent-device-mode", "Each agent runs the configured device mode (veth/netkit)")
def agent_device_mode(ctx: CheckContext) -> Iterator[Action]:
    want = str(ctx.features.value("datapath-mode"))
    for node, status, why in _statuses(ctx):
        if status is None:
            yield Action.skipped(node, why)
        elif status.device_mode != want:
            yield Action.failed(node, f"Device Mode {status.device_mode}, desired {want}",
                                **_lines(status, "Device Mode"))
        else:
            yield Action.passed(node, f"Device Mode {want}", **_lines(status, "Device Mode"))


def expected_masquerading(ctx: CheckContext) -> str:
    if not (_flag(ctx, "enable-ipv4-masquerade", True) or _flag(ctx, "enable-ipv6-masquerade", True)):
        return "Disabled"
    return "BPF" if _flag(ctx, "enable-bpf-masquerade") else "IPTables"


@check("datapath", "agent-masquerading", "Each agent masquerades as configured (BPF/IPTables)")
def agent_masquerading(ctx: CheckContext) -> Iterator[Action]:
    want = expected_masquerading(ctx)
    for node, status, why in _statuses(ctx):
        if status is None:
            yield Action.skipped(node, why)
        elif status.masquerading != want:
            yield Action.failed(node, f"Masquerading {status.masquerading}, desired {want}",
                                **_lines(status, "Masquerading"))
        else:
            yield Action.passed(node, f"Masquerading {want}", **_lines(status, "Masquerading"))


@check("datapath", "agent-big-tcp", "Each agent has BIG TCP on or off as configured, per family")
def agent_big_tcp(ctx: CheckContext) -> Iterator[Action]:
    for node, status, why in _statuses(ctx):
        for family, label in (("ipv4", "IPv4 BIG TCP"), ("ipv6", "IPv6 BIG TCP")):
            name = f"{family}-{node}"
            if status is None:
                yield Action.skipped(name, why)
                continue
            if not ctx.features.on(family):
                yield Action.skipped(name, f"{family} is not enabled")
                continue
            want = ctx.features.on(f"{family}-big-tcp")
            seen = status.ipv4_big_tcp if family == "ipv4" else status.ipv6_big_tcp
            seen_size = status.ipv4_big_tcp_size if family == "ipv4" else status.ipv6_big_tcp_size
            evidence = _lines(status, label)
            if seen is None:
                yield Action.failed(name, f"the agent on {node} does not report {label}")
            elif seen != want:
                hint = " (the agent disables it with only a warning when the kernel is too old)" if want else ""
                yield Action.failed(name, f"{label} {'on' if seen else 'off'}, desired "
                                          f"{'on' if want else 'off'}{hint}", **evidence)
            else:
                size = f" [{seen_size}]" if seen_size else ""
                yield Action.passed(name, f"{label} {'on' if want else 'off'}{size}", **evidence)


@check("datapath", "agent-kpr", "Each agent reports kube-proxy replacement as configured")
def agent_kpr(ctx: CheckContext) -> Iterator[Action]:
    want = ctx.features.on("kube-proxy-replacement")
    for node, status, why in _statuses(ctx):
        if status is None:
            yield Action.skipped(node, why)
        elif status.kube_proxy_replacement != want:
            yield Action.failed(node, f"KubeProxyReplacement {status.kube_proxy_replacement}, desired {want}",
                                **_lines(status, "KubeProxyReplacement"))
        else:
            evidence = _lines(status, "KubeProxyReplacement", "Socket LB Coverage")
            yield Action.passed(node, f"KubeProxyReplacement {want}", **evidence)


_DEVICE_KIND = {"veth": "veth", "netkit": "netkit", "netkit-l2": "netkit"}


@check("datapath", "pod-device", "Pods get host devices of the configured kind", needs=(NEEDS_PODS,),
       requires=(Require.enabled("verify-pods"),))
def pod_device(ctx: CheckContext) -> Iterator[Action]:
    mode = str(ctx.features.value("datapath-mode"))
    want = _DEVICE_KIND.get(mode, mode)
    assert ctx.observations is not None  # required feature verify-pods
    for node in ctx.nodes:
        view = ctx.observations.clients.get(node)
        if view is None or view.round is None:
            yield Action.failed(node, f"no result from the client pod on {node}: "
                                      f"{view.error if view else 'not started'}")
            continue
        kinds = {name: kind for name, kind in view.round.link_kinds.items() if kind != "loopback"}
        if not kinds:
            yield Action.failed(node, "the client pod shows no network device but loopback")
        elif all(kind == want for kind in kinds.values()):
            yield Action.passed(node, f"{', '.join(sorted(kinds))}: {want}", pod=view.pod, devices=kinds)
        else:
            yield Action.failed(node, f"pod device kind {', '.join(sorted(set(kinds.values())))}, "
                                      f"datapath-mode {mode} wants {want}", pod=view.pod, devices=kinds)
