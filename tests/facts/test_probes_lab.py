"""Node probes for real: `lab up` runs each probe pod's command in its node's network namespace.

The probe script then reads this machine's kernel config and the node namespace's iptables, and the
snapshot must say so; afterwards no probe pod may be left. Needs root (network namespaces).
"""

from __future__ import annotations

import platform
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cilium_tune.adapters.kube import PODS, LightkubeAPI
from cilium_tune.facts.collect import CollectOptions, collect
from cilium_tune.facts.model import Snapshot

pytestmark = [pytest.mark.root, pytest.mark.lab]


@pytest.fixture(scope="module")
def lab_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import os
    import shutil

    if os.geteuid() != 0 or shutil.which("ip") is None:
        if os.environ.get("CILIUM_TUNE_REQUIRE_ALL") == "1":
            pytest.fail("required in this run: needs root and iproute2 (network namespaces)")
        pytest.skip("needs root and iproute2 (network namespaces)")
    from cilium_tune.lab import cluster

    base = Path(tmp_path_factory.mktemp("lab"))
    instance = cluster.up("f" + secrets.token_hex(4), nodes=2, base_dir=base)
    try:
        yield instance.kubeconfig
    finally:
        cluster.down(instance.name, base_dir=base)
        assert cluster.leftovers(instance.name, base_dir=base) == []


@pytest.fixture(scope="module")
def probed(lab_kubeconfig: Path) -> Iterator[tuple[Snapshot, LightkubeAPI]]:
    api = LightkubeAPI(str(lab_kubeconfig))
    try:
        yield collect(api, CollectOptions(probe_nodes=True, probe_timeout=60)), api
    finally:
        api.close()


def test_every_lab_node_is_probed_with_this_machines_kernel(probed: tuple[Snapshot, LightkubeAPI]) -> None:
    snap, _ = probed
    assert snap.is_known("probes") and len(snap.probes) == len(snap.nodes) >= 2
    for probe in snap.probes:
        assert probe.ok, probe.error
        assert probe.kernel_release == platform.release()


def test_probes_see_each_nodes_addresses_with_their_prefix(probed: tuple[Snapshot, LightkubeAPI]) -> None:
    snap, _ = probed
    for node in snap.nodes:
        probe = snap.probe(node.name)
        assert probe is not None and probe.addresses is not None
        assert f"{node.internal_ipv4[0]}/24" in probe.addresses  # the lab fabric is one /24


def test_kernel_config_flags_match_the_host(probed: tuple[Snapshot, LightkubeAPI]) -> None:
    snap, _ = probed
    probe = snap.probes[0]
    if probe.kernel_config is None:
        assert probe.kernel_config_source is None  # no readable config on this machine: unknown, not "n"
        return
    # test-bed findings: this machine's kernel has BPF and VXLAN but no netkit.
    assert probe.kernel_config["CONFIG_BPF_SYSCALL"] == "y"
    assert probe.kernel_config["CONFIG_NETKIT"] == "n"


def test_no_probe_pod_is_left_behind(probed: tuple[Snapshot, LightkubeAPI]) -> None:
    _, api = probed
    left = api.list(PODS, "kube-system", label_selector="app.kubernetes.io/managed-by=cilium-tune")
    assert [p for p in left if not (p.get("metadata") or {}).get("deletionTimestamp")] == []
