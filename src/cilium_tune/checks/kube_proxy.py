"""kube-proxy: with kube-proxy replacement on, no kube-proxy runs and no node keeps its service chains.

iptables rules on a node do not mean kube-proxy is back (Cilium and the CNI write their own); the
`KUBE-SVC-*`/`KUBE-SEP-*` chains do. They are read from the node probes' iptables digest, per family.
Stale `OLD_CILIUM_*` chains from an interrupted upgrade are flagged (a warning) whatever the mode.
"""

from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.checks.framework import Action, CheckContext, Require, check

KPR = Require.enabled("kube-proxy-replacement")
PROBES = Require.enabled("node-probes")


@check("kube-proxy", "daemonset", "No kube-proxy DaemonSet or pods", requires=(KPR,))
def daemonset(ctx: CheckContext) -> Iterator[Action]:
    kp = ctx.facts.kube_proxy
    if kp is None:
        yield Action.skipped("absent", f"kube-proxy facts unknown: {ctx.facts.unknown.get('kube_proxy', '')}")
    elif kp.daemonset is not None or kp.pods:
        yield Action.failed("absent", "kube-proxy runs alongside kube-proxy replacement",
                            daemonset=kp.daemonset, pods=kp.pods)
    else:
        yield Action.passed("absent", "no kube-proxy DaemonSet and no k8s-app=kube-proxy pod")


@check("kube-proxy", "k3s-embedded", "No k3s node runs its embedded kube-proxy",
       requires=(KPR, Require.enabled("k3s")))
def k3s_embedded(ctx: CheckContext) -> Iterator[Action]:
    """`--disable-kube-proxy` is a k3s server flag; agents take it from their server."""
    servers = [n for n in ctx.facts.nodes if n.k3s is not None and n.k3s.role == "server"]
    running = [n.name for n in servers if n.k3s is not None and not n.k3s.disable_kube_proxy]
    for node in ctx.facts.nodes:
        if node.k3s is None:
            yield Action.skipped(node.name, "no k3s.io/node-args annotation on this node")
        elif node.k3s.role == "server" and node.k3s.disable_kube_proxy:
            yield Action.passed(node.name, "k3s server runs with --disable-kube-proxy", role="server")
        elif node.k3s.role == "server":
            yield Action.failed(node.name, "k3s server runs its embedded kube-proxy (no --disable-kube-proxy)",
                                role="server", argv=" ".join(node.k3s.argv))
        elif node.k3s.disable_kube_proxy or (servers and not running):
            yield Action.passed(node.name, "k3s agent: kube-proxy disabled by its server(s)", role="agent",
                                servers=[s.name for s in servers])
        elif not servers:
            yield Action.skipped(node.name, "k3s agent, and no k3s server among the nodes to say")
        else:
            yield Action.failed(node.name, f"k3s agent of server(s) {', '.join(running)}, which run kube-proxy",
                                role="agent")


@check("kube-proxy", "service-chains", "No KUBE-SVC/KUBE-SEP chains on any node",
       requires=(KPR, PROBES))
def service_chains(ctx: CheckContext) -> Iterator[Action]:
    for node in ctx.nodes:
        probe = ctx.facts.probe(node)
        if probe is None or not probe.ok:
            yield Action.failed(node, f"no node probe result: {probe.error if probe else 'not probed'}")
            continue
        if not probe.iptables:
            yield Action.skipped(node, "iptables-save was not available on the node")
            continue
        counts = {f"{t.family}.KUBE-SVC": t.kube_svc_chains for t in probe.iptables}
        counts |= {f"{t.family}.KUBE-SEP": t.kube_sep_chains for t in probe.iptables}
        found = {k: v for k, v in counts.items() if v}
        if found:
            listed = ", ".join(f"{v} {k.split('.')[1]}-* ({k.split('.')[0]})" for k, v in found.items())
            yield Action.failed(node, f"kube-proxy service chains on {node}: {listed}", command="iptables-save",
                                **counts)
        else:
            yield Action.passed(node, "no KUBE-SVC-*/KUBE-SEP-* chain", command="iptables-save", **counts)


@check("kube-proxy", "stale-cilium-chains", "No OLD_CILIUM_* chains left by an upgrade", requires=(PROBES,))
def stale_cilium_chains(ctx: CheckContext) -> Iterator[Action]:
    for node in ctx.nodes:
        probe = ctx.facts.probe(node)
        if probe is None or not probe.ok or not probe.iptables:
            yield Action.skipped(node, "no iptables digest from this node's probe")
            continue
        stale = {t.family: t.old_cilium_chains for t in probe.iptables if t.old_cilium_chains}
        if stale:
            yield Action.warned(node, "stale OLD_CILIUM_* chains can break the gateway datapath; "
                                      "restart the agent on this node to remove them", command="iptables-save",
                                **stale)
        else:
            yield Action.passed(node, "no OLD_CILIUM_* chain", command="iptables-save")
