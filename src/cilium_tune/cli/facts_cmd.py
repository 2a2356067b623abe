"""`cilium-tune facts`: collect a cluster snapshot, or show a saved one.

The options that choose where facts come from, shared with `lint` and `plan`, are in `facts_source`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cilium_tune.cli.facts_source import facts_options, snapshot_from_options
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.layout import fit

if TYPE_CHECKING:
    from cilium_tune.facts.model import Snapshot


@click.command("facts")
@facts_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "yaml"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Also save the JSON snapshot to FILE.")
def facts(output: str, out_file: str | None, **source: Any) -> None:
    """Collect a snapshot of the cluster (or show a saved one).

    \b
    Examples:
      cilium-tune facts                              # summary of the current context
      cilium-tune facts -o json > cluster.json       # save for offline planning/linting
      cilium-tune facts --probe-nodes --context prod # add kernel config / iptables / CNI dirs per node
      cilium-tune facts --facts cluster.json         # show a saved snapshot
      cilium-tune facts -o json | jq .nodes          # JSON for scripts
      cilium-tune lint --facts cluster.json          # ...and use it offline
    """
    from cilium_tune.facts.io import dump_snapshot, save_snapshot

    snapshot = snapshot_from_options(**source)
    if out_file:
        save_snapshot(snapshot, out_file)
    if output in MACHINE:
        echo_document(dump_snapshot(snapshot), output, "cilium-tune/facts/v1")
    else:
        from cilium_tune.cli.terminal import width

        click.echo(render_text(snapshot, width=width()))


def render_text(s: Snapshot, *, width: int | None = None) -> str:
    """A short human summary fitted to `width`; `-o json` has everything."""
    lines: list[str] = []
    src = s.source
    lines.append(
        f"cluster: {src.context or '-'} {src.server or ''} ({src.server_version or 'version unknown'}), "
        f"collected {s.collected_at:%Y-%m-%d %H:%M:%S %Z}"
    )
    lines.append(f"nodes: {len(s.nodes)}")
    for n in s.nodes[:50]:
        ips = " ".join(str(ip) for ip in (*n.internal_ipv4, *n.internal_ipv6)) or "-"
        k3s = ""
        if n.k3s is not None:
            flags = [f"flannel-backend={n.k3s.flannel_backend}"] if n.k3s.flannel_backend else []
            flags += ["disable-kube-proxy"] if n.k3s.disable_kube_proxy else []
            flags += [f"disable={','.join(n.k3s.disable)}"] if n.k3s.disable else []
            k3s = f"  k3s {n.k3s.role or '?'} {' '.join(flags)}".rstrip()
        state = {True: "Ready", False: "NotReady", None: "Ready?"}[n.ready] + (",cordoned" if n.unschedulable else "")
        lines.append(
            f"  {n.name:<24} {state:<16} kernel {n.kernel or '?'!s:<20} {ips}  podCIDRs "
            f"{','.join(map(str, n.pod_cidrs)) or '-'}{k3s}"
        )
    if len(s.nodes) > 50:
        lines.append(f"  ... {len(s.nodes) - 50} more (-o json for all)")
    r = s.helm_release
    lines.append(
        f"helm release: {r.namespace}/{r.name} rev {r.revision} {r.status}, chart {r.chart_version}"
        if r
        else "helm release: none found"
    )
    c = s.cilium_config
    if c:
        keys = ("routing-mode", "datapath-mode", "kube-proxy-replacement", "enable-ipv6", "ipam")
        shown = ", ".join(f"{k}={c.data[k]}" for k in keys if k in c.data)
        lines.append(f"cilium-config: {len(c.data)} keys ({shown})")
    else:
        lines.append("cilium-config: not found")
    bad = [a for a in s.agents if not a.ready]
    lines.append(f"agents: {len(s.agents)} ({len(bad)} not ready)")
    for a in bad[:10]:
        why = a.last_termination.message or a.last_termination.reason if a.last_termination else None
        lines.append(f"  {a.name} on {a.node}: restarts {a.restarts}" + (f", last: {why}" if why else ""))
    gw_crds = [c for c in s.crds if c.group == "gateway.networking.k8s.io"]
    lines.append(
        "gateway API CRDs: " + (", ".join(f"{c.kind}({'/'.join(c.served_versions)})" for c in gw_crds) or "none")
    )
    host_network = c is not None and c.data.get("gateway-api-hostnetwork-enabled") == "true"
    for g in s.gateways:
        cond = ", ".join(f"{c.type}={c.status}" + (f"/{c.reason}" if c.reason else "") for c in g.conditions)
        lines.append(f"  gateway {g.namespace}/{g.name} ({g.gateway_class}): {cond or 'no status'}")
        if host_network and any(c.reason == "AddressNotAssigned" and c.status == "False" for c in g.conditions):
            from cilium_tune.checks.benign import ADDRESS_NOT_ASSIGNED_LINK, ADDRESS_NOT_ASSIGNED_WHY

            why = f"{ADDRESS_NOT_ASSIGNED_WHY}; see {ADDRESS_NOT_ASSIGNED_LINK}"
            lines.append(f"    expected in host-network mode: {why}")
    cidrs: dict[str, int] = {}
    for p in s.pod_ips:
        for cidr, count in p.by_cidr.items():
            cidrs[cidr] = cidrs.get(cidr, 0) + count
    lines.append("pod IPs by CIDR: " + (", ".join(f"{k}: {v}" for k, v in sorted(cidrs.items())) or "none"))
    dual = sum(1 for svc in s.services if len(svc.ip_families) > 1)
    lines.append(f"services: {len(s.services)} ({dual} dual-stack)")
    lines.append(f"VM workloads: {len(s.vm_workloads)}")
    for w in s.vm_workloads[:10]:
        lines.append(f"  {w.kind} {w.namespace}/{w.name} on {w.node or '?'}: {', '.join(w.reasons)}")
    kp = s.kube_proxy
    if kp:
        lines.append(
            f"kube-proxy: daemonset {kp.daemonset or 'none'}, pods {kp.pods}, k3s embedded on "
            f"{len(kp.k3s_nodes_enabled)} node(s), disabled on {len(kp.k3s_nodes_disabled)}"
        )
    for pr in s.probes:
        if not pr.ok:
            lines.append(f"probe {pr.node}: FAILED {pr.error}")
            continue
        netkit = (pr.kernel_config or {}).get("CONFIG_NETKIT", "unknown")
        svc = sum(t.kube_svc_chains for t in pr.iptables or ())
        lines.append(f"probe {pr.node}: kernel {pr.kernel_release}, CONFIG_NETKIT={netkit}, KUBE-SVC chains {svc}")
    for area, why in s.unknown.items():
        lines.append(f"unknown: {area}: {why}")
    return "\n".join(fit(lines, width))
