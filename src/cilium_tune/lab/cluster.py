"""`lab up` / `lab down` / `lab status`: one lab instance, its processes, namespaces and files.

A lab instance is a name (default `ctlab`) and a state directory (`<base>/<name>`, base being
$CILIUM_TUNE_LAB_DIR, else `/run/cilium-tune/lab` for root and `$XDG_STATE_HOME/cilium-tune/lab`
otherwise: never the current directory, so `lab status` and `lab down` find the lab from anywhere).
Everything the instance makes carries its name: namespaces
`<name>-fabric`, `<name>-n<i>`, `<name>-p<pod uid>`; its two processes (API server, kubelet) have the
state directory on their command line and a pid file in it. So `down`, and `up` cleaning up after a
crashed run, find exactly this instance's leftovers and never another's.

State directory: lab.json (topology), kubeconfig, apiserver.{pid,log,url}, kubelet.{pid,log,ready},
and the pod logs, logs/<namespace>_<pod>_<uid>/<container>/<restart>.log (podlogs.py). `down` removes
everything but the two processes' own logs (kept for diagnosing the run that ended; `up` starts them
afresh; `purge=True` removes the directory).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from cilium_tune.adapters.helm import Helm, find_helm
from cilium_tune.errors import ClusterError, InputError, ToolMissingError
from cilium_tune.files import write_atomic
from cilium_tune.lab import netns, topology
from cilium_tune.lab.topology import Topology

DEFAULT_NAME = "ctlab"
PROCESSES = ("kubelet", "apiserver")
START_TIMEOUT = 15.0
# Processes this Python process started; kept so they are reaped (not left as zombies, not warned about).
_children: dict[int, subprocess.Popen[bytes]] = {}
_CAP_NET_ADMIN = 12
_CAP_SYS_ADMIN = 21


@dataclass(frozen=True)
class LabInstance:
    """A running lab: where its files are and how to reach its API."""

    name: str
    state_dir: Path
    topology: Topology
    api_url: str

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def log_dir(self) -> Path:
        """Pod logs, one directory per pod instance (podlogs.py; the API server serves them)."""
        return self.state_dir / "logs"


def base_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("CILIUM_TUNE_LAB_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/cilium-tune/lab")  # runtime state: gone at reboot, as the namespaces are
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "cilium-tune" / "lab"


def state_dir(name: str, base: Path | None = None) -> Path:
    return (base_dir(base) / topology.validate_name(name)).absolute()


def require_privileges() -> None:
    """Namespaces, veths and routes need root, or CAP_NET_ADMIN and CAP_SYS_ADMIN."""
    caps = effective_capabilities()
    if caps & (1 << _CAP_NET_ADMIN) and caps & (1 << _CAP_SYS_ADMIN):
        return
    raise InputError(
        "the lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces",
        hint="run it with sudo, e.g. `sudo -E cilium-tune lab up`",
    )


def require_iproute2() -> None:
    """Namespaces are added and entered by containers with iproute2's `ip`."""
    if shutil.which("ip") is None:
        raise ToolMissingError("the lab needs iproute2's `ip` command, which is not on PATH",
                               hint="install it, e.g. `apt-get install iproute2`")


def effective_capabilities() -> int:
    """The CapEff bit mask of this process (root normally has every bit)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("CapEff:"))
        return int(line.split()[1], 16)
    return 0


# --- processes --------------------------------------------------------------------------------------
def _pid_file(sdir: Path, proc: str) -> Path:
    return sdir / f"{proc}.pid"


_MODULES = {b"cilium_tune.lab.apiserver", b"cilium_tune.lab.kubelet"}


def _argv(pid: int) -> list[bytes] | None:
    """The argv of a live (not zombie) process, or None."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state == "Z" else argv


def _owned(pid: int, sdir: Path) -> bool:
    """True if `pid` is alive and is one of this instance's processes (its argv names the state dir)."""
    argv = _argv(pid)
    return argv is not None and str(sdir).encode() in argv


def _same_name(argv: list[bytes], name: str) -> bool:
    """A lab process of an instance called `name`, whatever its base directory (names are global,
    as the namespaces they prefix are), so `down` from another directory still finds it."""
    if not _MODULES.intersection(argv) or b"--state-dir" not in argv:
        return False
    i = argv.index(b"--state-dir")
    return i + 1 < len(argv) and Path(argv[i + 1].decode(errors="replace")).name == name


def instance_pids(sdir: Path) -> dict[str, int]:
    """The instance's live processes: from the pid files, plus any stray lab process of the same name."""
    found: dict[str, int] = {}
    for proc in PROCESSES:
        with contextlib.suppress(OSError, ValueError):
            pid = int(_pid_file(sdir, proc).read_text().split()[0])
            if _owned(pid, sdir):
                found[proc] = pid
    known = {*found.values(), os.getpid()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in known:
            continue
        argv = _argv(int(entry.name))
        if argv is not None and (str(sdir).encode() in argv or _same_name(argv, sdir.name)):
            found[f"stray-{entry.name}"] = int(entry.name)
    return found


def _stop_pids(pids: list[int], grace: float) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.02)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return stat != "Z"


def _spawn(sdir: Path, proc: str, argv: list[str]) -> subprocess.Popen[bytes]:
    with open(sdir / f"{proc}.log", "wb") as log:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=sdir)
    _children[child.pid] = child
    write_atomic(_pid_file(sdir, proc), f"{child.pid}\n")
    return child


def _wait_file(path: Path, child: subprocess.Popen[bytes], what: str, log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            text = path.read_text().strip()
            if text:
                return text
        if child.poll() is not None:
            raise ClusterError(f"the lab {what} exited with code {child.returncode} while starting",
                               hint=f"see {log}:\n{_tail(log)}")
        time.sleep(0.02)
    raise ClusterError(f"the lab {what} did not become ready within {START_TIMEOUT:g} s", hint=f"see {log}")


def _tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# --- kubeconfig ---------------------------------------------------------------------------------------
def kubeconfig_text(name: str, url: str) -> str:
    """A single-context kubeconfig for the lab's API (plain HTTP on loopback, no credentials)."""
    cluster = f"lab-{name}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": url}}],
        "users": [{"name": cluster, "user": {}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster, "namespace": "default"}}],
        "current-context": cluster,
        "preferences": {},
    }
    return str(yaml.safe_dump(doc, sort_keys=False))


# --- up / down ----------------------------------------------------------------------------------------
def _remove_runtime_files(sdir: Path) -> None:
    for name in ("apiserver.pid", "apiserver.url", "kubelet.pid", "kubelet.ready", "kubelet.sock", "kubeconfig",
                 "lab.json"):
        with contextlib.suppress(FileNotFoundError):
            (sdir / name).unlink()


def _clean(name: str, sdir: Path) -> None:
    """Stop the instance's processes, then remove its namespaces (which takes devices and routes along)."""
    # All at once: the kubelet stops its pods without needing the API, and the API server's own
    # shutdown (~0.8 s) then overlaps with it. Whatever ignores SIGTERM for 1 s is killed.
    _stop_pids(list(instance_pids(sdir).values()), grace=1.0)
    topology.teardown(name)
    _remove_runtime_files(sdir)
    shutil.rmtree(sdir / "logs", ignore_errors=True)


def current(name: str = DEFAULT_NAME, base: Path | None = None) -> LabInstance | None:
    """The running instance, if its processes are alive and its namespaces exist."""
    sdir = state_dir(name, base)
    try:
        topo = topology.load_topology(sdir / "lab.json")
        url = (sdir / "apiserver.url").read_text().strip()
    except (OSError, ValueError, KeyError):
        return None
    pids = instance_pids(sdir)
    if not all(p in pids for p in PROCESSES):
        return None
    present = set(topology.lab_namespaces(name))
    if not {topo.fabric_ns, *(n.netns for n in topo.nodes)} <= present:
        return None
    return LabInstance(name=name, state_dir=sdir, topology=topo, api_url=url)


CALL_TIMEOUT = 30.0
"""Seconds any one API call of the set-up, or one of helm's quick calls, may take (`lab up --timeout`)."""
CHART_TIMEOUT = 180.0
"""Seconds helm may take to install --chart, its --wait for the pods included (`lab up --chart-timeout`)."""


def up(
    name: str = DEFAULT_NAME, *, nodes: int | None = None, dual_stack: bool | None = None,
    profile: str = "lab", base_dir: Path | None = None, node_routes: bool = True,
    gateway_crds: str = "experimental", emulate_netkit: bool = False, chart: str | None = None,
    values: Sequence[Path] = (), helm: str | None = None, progress: Callable[[str], None] | None = None,
    timeout: float = CALL_TIMEOUT, chart_timeout: float = CHART_TIMEOUT,
) -> LabInstance:
    """Start (or keep) the lab: API server, namespaces, Node objects, kubelet. Idempotent.

    A healthy instance with the same topology is left as it is; anything else of this instance
    (a crashed run, another node count) is removed first. `node_routes=False` builds the nodes
    without the static routes to each other's pod blocks (for a datapath that routes itself).
    `gateway_crds` ("experimental", "standard" or "none") prepares the cluster the way the runbook's
    was before Gateway API was enabled in Cilium: the paired v1.4 CRD bundle, TLSRoute included or not.
    `emulate_netkit` lets pod devices be veth pairs marked as netkit (lab/netkit.py), so a veth <-> netkit
    switch can be rehearsed on a kernel without netkit. `chart` (a packaged Cilium chart, a chart
    directory or `builtin:lab`) is then installed with helm as a user would (`install_cilium`).
    `timeout` bounds any one API call of the set-up and helm's quick calls; `chart_timeout` the chart's install.
    """
    from cilium_tune.profile import load_profile

    say = progress or (lambda _msg: None)
    binary = None
    if chart is not None:  # the chart and helm are checked before anything is started, once
        _check_chart(chart)
        binary = find_helm(helm, timeout=timeout)
    require_privileges()
    require_iproute2()
    topo = topology.topology_from_profile(name, load_profile(profile), nodes=nodes, dual_stack=dual_stack)
    topo = dataclasses.replace(topo, emulate_netkit=emulate_netkit)
    sdir = state_dir(name, base_dir)
    running = current(name, base_dir)
    if running is not None and running.topology == topo:
        say(f"lab {name} is already up")
        instance = running
    else:
        _clean(name, sdir)
        sdir.mkdir(parents=True, exist_ok=True)
        (sdir / "logs").mkdir(exist_ok=True)
        topology.save_topology(topo, sdir / "lab.json")
        try:
            instance = _start(topo, sdir, say, node_routes, gateway_crds, timeout)
        except BaseException:
            _clean(name, sdir)
            raise
    if chart is not None and binary is not None:
        install_cilium(instance, chart, binary, values=values, progress=say, timeout=timeout,
                       chart_timeout=chart_timeout)
    return instance


LAB_CHART = "builtin:lab"
RELEASE = ("kube-system", "cilium")


def chart_values(topo: Topology) -> dict[str, Any]:
    """What any Cilium chart needs to run on the lab: the API address the agents reach on every node
    (the relay at the first node's address) and the pod pools of the lab's address plan."""
    values: dict[str, Any] = {
        "k8sServiceHost": str(topo.nodes[0].ipv4),
        "k8sServicePort": "6443",
        "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": [str(topo.plan.pods_v4)],
                              "clusterPoolIPv4MaskSize": topo.plan.pod_mask_v4}},
    }
    if topo.dual_stack:
        values["ipv6"] = {"enabled": True}
        values["ipam"]["operator"].update(clusterPoolIPv6PodCIDRList=[str(topo.plan.pods_v6)],
                                          clusterPoolIPv6MaskSize=topo.plan.pod_mask_v6)
    return values


def install_cilium(instance: LabInstance, chart: str, helm: Helm, *, values: Sequence[Path] = (),
                   progress: Callable[[str], None] | None = None, timeout: float = CALL_TIMEOUT,
                   chart_timeout: float = CHART_TIMEOUT) -> None:
    """`helm upgrade --install cilium CHART -n kube-system --wait`, the lab's values first, then `values`.

    `chart` and `helm` are as `up` checked them before starting anything (`_check_chart`, `find_helm`):
    the package is not decompressed nor helm's version asked a second time. The real Cilium chart runs
    with the lab's stand-ins for its images (lab/images.py); `builtin:lab` is the stand-in chart. Helm is
    told to wait `chart_timeout` seconds, and stopped `timeout` seconds later if it has not ended by then
    (a HelmTimeout naming `helm upgrade`).
    """
    from cilium_tune.lab.chart import CHART_DIR

    say = progress or (lambda _msg: None)
    ref = str(CHART_DIR) if chart == LAB_CHART else chart
    for path in values:
        if not path.is_file():
            raise InputError(f"values file {path} does not exist", hint="pass existing -f/--values files")
    lab_values = instance.state_dir / "lab-values.yaml"
    write_atomic(lab_values, yaml.safe_dump(chart_values(instance.topology), sort_keys=False))
    argv = ["upgrade", "--install", RELEASE[1], ref, "-n", RELEASE[0], "-f", str(lab_values)]
    for path in values:
        argv += ["-f", str(path)]
    argv += ["--wait", "--timeout", f"{chart_timeout:g}s"]
    say(f"installing {chart} with helm (release {RELEASE[0]}/{RELEASE[1]})")
    helm.run(argv, env={"KUBECONFIG": str(instance.kubeconfig)}, timeout=chart_timeout + timeout)


def _check_chart(chart: str) -> None:
    """InputError unless `chart` is builtin:lab, a chart directory or a packaged chart within the input limits."""
    from cilium_tune.chart_archive import check_local_chart

    if chart == LAB_CHART:
        return
    if not Path(chart).exists():
        raise InputError(f"chart {chart} does not exist",
                         hint="pass a packaged Cilium chart (.tgz), a chart directory or builtin:lab")
    check_local_chart(chart)


def _start(
    topo: Topology, sdir: Path, say: Callable[[str], None], node_routes: bool, gateway_crds: str, timeout: float
) -> LabInstance:
    py = sys.executable
    services = [str(topo.plan.services_v4)] + ([str(topo.plan.services_v6)] if topo.dual_stack else [])
    argv = [py, "-m", "cilium_tune.lab.apiserver", "--host", "127.0.0.1", "--port", "0",
            "--ready-file", str(sdir / "apiserver.url"), "--state-dir", str(sdir)]
    for cidr in services:
        argv += ["--service-cidr", cidr]
    api = _spawn(sdir, "apiserver", argv)
    say(f"building {len(topo.nodes)} node namespaces")
    topology.build(topo, node_routes=node_routes)
    url = _wait_file(sdir / "apiserver.url", api, "API server", sdir / "apiserver.log")
    write_atomic(sdir / "kubeconfig", kubeconfig_text(topo.lab, url))
    kubelet = _spawn(sdir, "kubelet", [py, "-m", "cilium_tune.lab.kubelet", "--kubeconfig",
                                       str(sdir / "kubeconfig"), "--state-dir", str(sdir), "--name", topo.lab,
                                       "--ready-file", str(sdir / "kubelet.ready")])
    say(f"API server at {url}; registering nodes")
    register_nodes(sdir / "kubeconfig", topo, timeout=timeout)
    if gateway_crds != "none":
        say(f"installing the Gateway API CRDs ({gateway_crds} channel)")
        install_gateway_crds(sdir / "kubeconfig", experimental=gateway_crds == "experimental", timeout=timeout)
    _wait_file(sdir / "kubelet.ready", kubelet, "kubelet", sdir / "kubelet.log")
    return LabInstance(name=topo.lab, state_dir=sdir, topology=topo, api_url=url)


def register_nodes(kubeconfig: Path, topo: Topology, *, timeout: float = CALL_TIMEOUT) -> None:
    """Create (or replace) the Node objects, then set their status through the status subresource."""
    import httpx2
    from lightkube import Client, KubeConfig
    from lightkube.core.exceptions import ApiError
    from lightkube.resources.core_v1 import Node
    from lightkube.types import PatchType

    from cilium_tune.lab.kubelet_node import node_object

    def one(obj: dict[str, Any]) -> None:
        try:
            client.create(cast(Node, Node.from_dict(obj)))
        except ApiError as exc:
            if exc.status.code != 409:
                raise
            client.replace(cast(Node, Node.from_dict(obj)))
        client.patch(Node.Status, obj["metadata"]["name"], {"status": obj["status"]}, patch_type=PatchType.MERGE)

    # Sequential on purpose: lightkube's msgspec decoders are not safe to build from several threads.
    try:
        with Client(KubeConfig.from_file(kubeconfig), field_manager="cilium-tune-lab",
                    timeout=httpx2.Timeout(timeout)) as client:
            for node in topo.nodes:
                one(node_object(topo, node))
    except ApiError as exc:
        raise ClusterError(f"registering the lab's nodes failed: {exc}") from exc
    except httpx2.TimeoutException:
        raise _api_timeout("registering the lab's nodes", timeout) from None


def install_gateway_crds(kubeconfig: Path, *, experimental: bool, timeout: float = CALL_TIMEOUT) -> None:
    """Create the lab's Gateway API CRDs (v1.4 bundle: what Cilium 1.19 pairs with)."""
    import httpx2
    from lightkube import Client, KubeConfig
    from lightkube.core.exceptions import ApiError
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    from cilium_tune.lab.gateway.crds import gateway_api_crds

    try:
        with Client(KubeConfig.from_file(kubeconfig), field_manager="cilium-tune-lab",
                    timeout=httpx2.Timeout(timeout)) as client:
            for crd in gateway_api_crds(experimental=experimental):
                client.create(cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(crd)))
    except ApiError as exc:
        raise ClusterError(f"installing the Gateway API CRDs failed: {exc}") from exc
    except httpx2.TimeoutException:
        raise _api_timeout("installing the Gateway API CRDs", timeout) from None


def _api_timeout(what: str, timeout: float) -> ClusterError:
    return ClusterError(f"{what}: a call to the lab's API server did not finish within {timeout:g} s",
                        hint="see the lab's apiserver.log, or give it longer with --timeout SECONDS")


def down(name: str = DEFAULT_NAME, *, base_dir: Path | None = None, purge: bool = False) -> list[str]:
    """Stop the instance's processes and remove its namespaces; returns what was removed."""
    require_privileges()
    sdir = state_dir(name, base_dir)
    removed = [f"process {k} ({v})" for k, v in instance_pids(sdir).items()]
    removed += [f"namespace {n}" for n in topology.lab_namespaces(name)]
    _clean(name, sdir)
    if purge and sdir.exists():
        shutil.rmtree(sdir)
    return removed


def leftovers(name: str = DEFAULT_NAME, *, base_dir: Path | None = None) -> list[str]:
    """Anything of the instance still there: namespaces, processes, runtime files. Empty after `down`."""
    sdir = state_dir(name, base_dir)
    found = [f"namespace {n}" for n in topology.lab_namespaces(name)]
    found += [f"process {k} ({v})" for k, v in instance_pids(sdir).items()]
    found += [f"pid {p} in {ns}" for ns, ps in netns.pids(topology.lab_namespaces(name)).items() for p in ps]
    found += [f"file {sdir / f}" for f in ("apiserver.pid", "kubelet.pid", "kubeconfig", "logs") if (sdir / f).exists()]
    return found


def status(name: str = DEFAULT_NAME, *, base_dir: Path | None = None) -> dict[str, Any]:
    """Health of the instance: processes, namespaces with their process counts, API nodes."""
    sdir = state_dir(name, base_dir)
    pids = instance_pids(sdir)
    spaces = topology.lab_namespaces(name)
    in_ns = netns.pids(spaces)
    out: dict[str, Any] = {
        "name": name,
        "state_dir": str(sdir),
        "kubeconfig": str(sdir / "kubeconfig") if (sdir / "kubeconfig").exists() else None,
        "processes": {p: pids.get(p) for p in PROCESSES},
        "api_url": None,
        "nodes": [],
        "pod_namespaces": len([n for n in spaces if n.startswith(f"{name}-p")]),
    }
    with contextlib.suppress(OSError):
        out["api_url"] = (sdir / "apiserver.url").read_text().strip()
    try:
        topo = topology.load_topology(sdir / "lab.json")
    except (OSError, ValueError, KeyError):
        out["up"] = False
        return out
    out["emulate_netkit"] = topo.emulate_netkit
    ready, pods = _api_view(sdir / "kubeconfig") if "apiserver" in pids else ({}, {})
    out["chart"] = _chart_view(sdir / "kubeconfig") if "apiserver" in pids else None
    for node in topo.nodes:
        out["nodes"].append({
            "name": node.name,
            "netns": node.netns,
            "netns_present": node.netns in spaces,
            "addresses": node.addresses,
            "pod_cidrs": node.pod_cidrs,
            "processes": len(in_ns.get(node.netns, [])),
            "ready": ready.get(node.name),
            "pods": pods.get(node.name, 0),
        })
    out["up"] = all(p in pids for p in PROCESSES) and all(n["netns_present"] for n in out["nodes"])
    return out


def _api_view(kubeconfig: Path) -> tuple[dict[str, bool], dict[str, int]]:
    """Per node: Ready in the API, and how many pods are bound to it and not finished."""
    from collections import Counter

    from lightkube import Client, KubeConfig
    from lightkube.resources.core_v1 import Node, Pod

    try:
        with Client(KubeConfig.from_file(kubeconfig), timeout=2.0) as client:  # type: ignore[arg-type]
            ready = {
                n.metadata.name: any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
                for n in client.list(Node)
                if n.metadata and n.metadata.name and n.status
            }
            pods = Counter(
                p.spec.nodeName for p in client.list(Pod, namespace="*")
                if p.spec and p.spec.nodeName and not (p.status and p.status.phase in ("Succeeded", "Failed"))
            )
            return ready, dict(pods)
    except Exception:  # status must report a broken API, not crash on it
        return {}, {}


def _chart_view(kubeconfig: Path) -> dict[str, Any] | None:
    """The Cilium release's chart: name, version and whether it is the real chart or the lab's stand-in."""
    from lightkube import Client, KubeConfig
    from lightkube.resources.core_v1 import Secret

    from cilium_tune.facts.helm_release import decode_release

    try:
        with Client(KubeConfig.from_file(kubeconfig), timeout=2.0) as client:  # type: ignore[arg-type]
            secrets = [s.to_dict() for s in client.list(Secret, namespace=RELEASE[0],
                                                         labels={"owner": "helm", "name": RELEASE[1]})]
        releases = [decode_release(s) for s in secrets]
    except Exception:  # status must report a broken API, not crash on it
        return None
    deployed = [r for r in releases if (r.get("info") or {}).get("status") == "deployed"] or releases
    if not deployed:
        return None
    latest = max(deployed, key=lambda r: int(r.get("version") or 0))
    meta = (latest.get("chart") or {}).get("metadata") or {}
    stand_in = str(meta.get("description", "")).startswith("Lab stand-in")
    return {"name": meta.get("name"), "version": meta.get("version"), "revision": latest.get("version"),
            "kind": "stand-in" if stand_in else "real"}
