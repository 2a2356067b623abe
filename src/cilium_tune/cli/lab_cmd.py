"""`cilium-tune lab`: up, down, status, kubeconfig. Parses, calls lab.cluster, renders.

Without root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) `up` and `down` stop with exit 2 and say so
(the environment, like a missing helm, is something the user fixes before re-running).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.cli.options import timeout_option
from cilium_tune.errors import FindingsError, InputError
from cilium_tune.lab import cluster

_name = click.option("--name", default=cluster.DEFAULT_NAME, show_default=True,
                     help="Lab instance name; prefixes every namespace and process of the lab.")
_dir = click.option("--lab-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                    help="Lab state base (default $CILIUM_TUNE_LAB_DIR, else /run/cilium-tune/lab as root).")


@click.group()
def lab() -> None:
    """Run a local lab cluster in network namespaces.

    \b
    Examples:
      sudo cilium-tune lab up                       # 3 dual-stack nodes from the `lab` profile
      export KUBECONFIG=$(cilium-tune lab kubeconfig)
      kubectl get nodes -o wide
      cilium-tune lab status
      sudo cilium-tune lab down
    """


@lab.command()
@_name
@_dir
@click.option("--nodes", type=click.IntRange(1, 50), default=None, help="Node count (default: the profile's).")
@click.option("--dual-stack/--single-stack", default=None, help="IP families (default: the profile's).")
@click.option("-p", "--profile", default="lab", show_default=True, help="Profile describing the lab cluster.")
@click.option("--node-routes/--no-node-routes", default=True, show_default=True,
              help="Static routes between the nodes' pod blocks (off: the lab agent's datapath routes).")
@click.option("--gateway-crds", type=click.Choice(["experimental", "standard", "none"]), default="experimental",
              show_default=True, help="Gateway API CRD bundle (v1.4) to install; experimental adds TLSRoute.")
@click.option("--emulate-netkit", is_flag=True,
              help="Pod devices become veth pairs marked netkit when the node's agent runs netkit (this "
                   "kernel has none): rehearses a veth <-> netkit switch; it tests the procedure, not netkit.")
@click.option("--chart", default=None, metavar="PATH.tgz|DIR|builtin:lab",
              help="Install this Cilium chart with helm once the lab is up: a real packaged chart runs with the "
                   "lab's stand-ins for its images; builtin:lab is the stand-in chart.")
@click.option("-f", "--values", "values", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Values files for --chart, after the lab's own (repeatable, in helm -f order).")
@click.option("--helm", default=None, help="helm binary for --chart (default: helm on PATH).")
@timeout_option(default=cluster.CALL_TIMEOUT)
@click.option("--chart-timeout", type=click.FloatRange(min=0, min_open=True), default=cluster.CHART_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="How long helm may take to install --chart (its --wait for the pods included).")
def up(name: str, lab_dir: Path | None, nodes: int | None, dual_stack: bool | None, profile: str,
       node_routes: bool, gateway_crds: str, emulate_netkit: bool, chart: str | None, values: tuple[Path, ...],
       helm: str | None, timeout: float, chart_timeout: float) -> None:
    """Start the lab (API server, node namespaces, Node objects, kubelet, Gateway API CRDs). Idempotent."""
    if values and chart is None:
        raise InputError("--values needs --chart", hint="add --chart PATH.tgz (or builtin:lab)")
    started = time.monotonic()
    instance = cluster.up(name, nodes=nodes, dual_stack=dual_stack, profile=profile, base_dir=lab_dir,
                          node_routes=node_routes, gateway_crds=gateway_crds, emulate_netkit=emulate_netkit,
                          chart=chart, values=values, helm=helm, timeout=timeout, chart_timeout=chart_timeout,
                          progress=lambda msg: click.echo(f"  {msg}", err=True))
    took = time.monotonic() - started
    click.echo(f"lab {instance.name} is up ({len(instance.topology.nodes)} nodes, {took:.1f} s): "
               f"API {instance.api_url}")
    if instance.topology.emulate_netkit:
        click.echo("  netkit is emulated: veth pairs marked netkit (tests the switch procedure, not netkit)")
    for node in instance.topology.nodes:
        click.echo(f"  {node.name:<12} {' '.join(node.addresses):<30} pods {' '.join(node.pod_cidrs)}")
    click.echo(f"\nUse it:\n  export KUBECONFIG={instance.kubeconfig}\n  kubectl get nodes -o wide")


@lab.command()
@_name
@_dir
@click.option("--purge", is_flag=True, help="Also delete the state directory (logs included).")
def down(name: str, lab_dir: Path | None, purge: bool) -> None:
    """Stop every lab process and remove every lab namespace (devices and routes go with them)."""
    started = time.monotonic()
    removed = cluster.down(name, base_dir=lab_dir, purge=purge)
    left = cluster.leftovers(name, base_dir=lab_dir)
    if left:
        raise InputError(f"lab {name}: left behind after down: {', '.join(left)}",
                         hint="run `cilium-tune lab down` again; report it if it stays")
    click.echo(f"lab {name} is down ({len(removed)} processes/namespaces removed, "
               f"{time.monotonic() - started:.1f} s)")


@lab.command()
@_name
@_dir
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True)
def status(name: str, lab_dir: Path | None, output: str) -> None:
    """Show the lab's processes, nodes, namespaces and readiness (exit 1 when it is not up)."""
    info = cluster.status(name, base_dir=lab_dir)
    if output in MACHINE:
        echo_document(info, output, "cilium-tune/lab-status/v1")
    else:
        click.echo(f"lab {name}: {'up' if info.get('up') else 'DOWN'}  (state {info['state_dir']})")
        click.echo(f"  API server  {_proc(info['processes']['apiserver'])}  {info['api_url'] or '-'}")
        click.echo(f"  kubelet     {_proc(info['processes']['kubelet'])}")
        if info.get("emulate_netkit"):
            click.echo("  netkit      emulated (veth pairs marked netkit)")
        chart = info.get("chart")
        if chart:
            kind = "the real chart, images stood in" if chart["kind"] == "real" else "the lab's stand-in chart"
            click.echo(f"  chart       {chart['name']} {chart['version']} ({kind}), revision {chart['revision']}")
        if info["nodes"]:
            click.echo(f"  {'NODE':<12} {'NETNS':<14} {'READY':<6} {'PODS':>4} {'PROCS':>5}  ADDRESSES")
        for n in info["nodes"]:
            ns = n["netns"] if n["netns_present"] else f"{n['netns']}(missing)"
            ready = {True: "yes", False: "no", None: "?"}[n["ready"]]
            click.echo(f"  {n['name']:<12} {ns:<14} {ready:<6} {n['pods']:>4} {n['processes']:>5}  "
                       f"{' '.join(n['addresses'])}")
        click.echo(f"  pod namespaces: {info['pod_namespaces']}")
    if not info.get("up"):
        raise FindingsError(f"lab {name} is not up", hint="start it with `cilium-tune lab up`")


def _proc(pid: int | None) -> str:
    return f"running (pid {pid})" if pid else "not running"


@lab.command()
@_name
@_dir
@click.option("--raw", is_flag=True, help="Print the file's contents instead of its path.")
def kubeconfig(name: str, lab_dir: Path | None, raw: bool) -> None:
    """Print the path of the lab's kubeconfig (or the file with --raw)."""
    path = cluster.state_dir(name, lab_dir) / "kubeconfig"
    if not path.exists():
        raise InputError(f"lab {name} has no kubeconfig at {path}", hint="start it with `cilium-tune lab up`")
    click.echo(path.read_text() if raw else str(path), nl=not raw)
