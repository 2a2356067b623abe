"""collect() against a recorded cluster (FakeKube): every area, unknown vs absent, probes and cleanup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from facts_cluster import fake, raw, seed

from cilium_tune.adapters.kube import (
    GATEWAYS,
    PODS,
    VMIS,
    FakeKube,
    Forbidden,
    NotServed,
    Resource,
    UnseededRead,
)
from cilium_tune.facts.collect import CollectOptions, collect, run_probes
from cilium_tune.facts.io import load_snapshot, save_snapshot
from cilium_tune.facts.model import KernelVersion

T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def test_collect_builds_every_area_from_the_recorded_cluster() -> None:
    snap = collect(fake(), now=lambda: T0)

    assert [n.name for n in snap.nodes] == ["skyforge-1", "skyforge-2", "worker-7"]
    server = snap.node("skyforge-1")
    assert server is not None and server.kernel is not None and server.kernel >= KernelVersion(6, 8)
    assert server.k3s is not None and server.k3s.disable_kube_proxy
    assert snap.helm_release is not None and snap.helm_release.revision == 2  # the failed rev 3 is skipped
    assert snap.cilium_config is not None and snap.cilium_config.get("datapath-mode") == "netkit"
    assert [(a.node, a.ready) for a in snap.agents] == [("skyforge-1", True), ("skyforge-2", False)]
    assert {c.kind for c in snap.crds} == {"TLSRoute", "VirtualMachineInstance"}
    assert snap.gateways[0].conditions[1].reason == "AddressNotAssigned"
    by_node = {p.node: p.by_cidr for p in snap.pod_ips}
    assert by_node["skyforge-2"]["10.42.0.0/16"] == 1  # the flannel-addressed coredns pod shows
    assert {w.name for w in snap.vm_workloads} >= {"sros-1", "fedora-vm"}
    assert snap.kube_proxy is not None and snap.kube_proxy.k3s_nodes_enabled == ("skyforge-2",)
    assert snap.source.context == "fake" and snap.collected_at == T0
    assert snap.unknown == {"probes": "not collected (run with --probe-nodes)"}


def test_forbidden_area_is_unknown_not_absent() -> None:
    snap = collect(fake(secrets=Forbidden("secrets is forbidden")))
    assert snap.helm_release is None
    assert not snap.is_known("helm_release")
    assert snap.is_known("cilium_config") and snap.cilium_config is not None


def test_forbidden_pods_make_every_pod_derived_area_unknown() -> None:
    snap = collect(fake(pods=Forbidden("pods is forbidden")))
    assert {"agents", "pod_ips", "vm_workloads", "kube_proxy"} <= set(snap.unknown)
    assert snap.kube_proxy is None


def test_missing_gateway_api_and_kubevirt_mean_none_exist() -> None:
    kube = fake(gateways=NotServed("no"), virtualmachineinstances=NotServed("no"))
    # Bundles before v1.0 serve Gateways as v1beta1 only: collect falls back to it.
    kube.seed[Resource(GATEWAYS.group, "v1beta1", "gateways", "Gateway", True)] = []
    snap = collect(kube)
    assert snap.gateways == () and snap.is_known("gateways")
    assert all(w.kind != "VirtualMachineInstance" for w in snap.vm_workloads) and snap.is_known("vm_workloads")


def test_absent_cilium_config_is_known_absent() -> None:
    snap = collect(fake(configmaps=[]))
    assert snap.cilium_config is None and snap.is_known("cilium_config")


def test_fake_refuses_reads_the_test_did_not_seed() -> None:
    data = seed()
    del data[VMIS]
    with pytest.raises(UnseededRead, match="virtualmachineinstances"):
        collect(FakeKube(seed=data))


def test_snapshot_round_trips_through_a_file(tmp_path: Path) -> None:
    snap = collect(fake(), now=lambda: T0)
    path = tmp_path / "facts.json"
    save_snapshot(snap, path)
    assert load_snapshot(path) == snap
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temp file


PROBE_OUTPUT = raw("probes.NodeProbe", "k3s_node_netkit_ready")["output"]


def _kubelet(pod: dict[str, object]) -> tuple[str, str]:
    """Plays the kubelet: a probe pod on worker-7 never starts, the others print the recorded output."""
    spec = pod["spec"]
    assert isinstance(spec, dict)
    assert spec["hostNetwork"] and spec["tolerations"] == [{"operator": "Exists"}]
    if spec["nodeName"] == "worker-7":
        return "Pending", ""
    return "Succeeded", PROBE_OUTPUT


def test_probes_run_on_every_node_and_are_always_cleaned_up() -> None:
    kube = fake()
    kube.on_create_pod = _kubelet
    pods_before = len(kube.list(PODS))
    snap = collect(kube, CollectOptions(probe_nodes=True, probe_timeout=0.2))

    assert snap.is_known("probes")
    assert [(p.node, p.ok) for p in snap.probes] == [("skyforge-1", True), ("skyforge-2", True), ("worker-7", False)]
    assert "did not finish" in (snap.probes[2].error or "")
    assert (snap.probes[0].kernel_config or {})["CONFIG_NETKIT"] == "y"
    assert len(kube.list(PODS)) == pods_before  # every probe pod deleted
    assert sum(1 for c in kube.calls if c[0] == "create") == 3


def test_probe_pods_are_deleted_on_ctrl_c() -> None:
    kube = fake()
    kube.on_create_pod = lambda pod: ("Succeeded", PROBE_OUTPUT)

    def interrupt(*_: object, **__: object) -> str:
        raise KeyboardInterrupt

    kube.logs = interrupt  # type: ignore[method-assign]
    before = len(kube.list(PODS))
    with pytest.raises(KeyboardInterrupt):
        run_probes(kube, ["skyforge-1", "skyforge-2"], CollectOptions(probe_timeout=5))
    assert len(kube.list(PODS)) == before
    assert sum(1 for c in kube.calls if c[0] == "delete") == 2


def test_probe_pods_carry_the_managed_by_label() -> None:
    kube = fake()
    seen: list[dict[str, object]] = []

    def record(pod: dict[str, object]) -> tuple[str, str]:
        seen.append(pod)
        return "Succeeded", PROBE_OUTPUT

    kube.on_create_pod = record
    run_probes(kube, ["skyforge-1"], CollectOptions())
    meta = seen[0]["metadata"]
    assert isinstance(meta, dict) and meta["labels"]["app.kubernetes.io/managed-by"] == "cilium-tune"
