"""`lab up --timeout`: a helm that hangs, or a lab API server that never answers, ends the call with a
ClusterError naming it and the time it had, instead of waiting forever (the CLI's side, a hanging
`helm version` before anything is built, is in the hostile corpus)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cilium_tune.adapters.helm import HelmTimeout, find_helm
from cilium_tune.errors import ClusterError
from cilium_tune.lab import cluster, topology
from cilium_tune.lab.cluster import LabInstance

HANGING_HELM = """#!/bin/sh
case "$1" in
  version) echo "v3.18.0+gfake" ;;
  upgrade) exec sleep 60 ;;
esac
"""


@pytest.fixture
def silent_api() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung API server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.root
def test_a_hanging_helm_install_is_stopped_and_named(lab: LabInstance, tmp_path: Path) -> None:
    helm = tmp_path / "helm"
    helm.write_text(HANGING_HELM)
    helm.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(HelmTimeout, match=r"`helm upgrade` .* did not finish within 2 s"):
        cluster.install_cilium(lab, cluster.LAB_CHART, find_helm(str(helm)), timeout=1, chart_timeout=1)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda kc: cluster.register_nodes(kc, topology.plan_topology("tsilent", 1), timeout=1),
         "registering the lab's nodes"),
        (lambda kc: cluster.install_gateway_crds(kc, experimental=False, timeout=1), "installing the Gateway API CRDs"),
    ],
    ids=["nodes", "crds"],
)
def test_a_silent_lab_api_server_times_out_each_set_up_call(call, what: str, silent_api: str, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(cluster.kubeconfig_text("tsilent", silent_api))
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"{what}: a call to the lab's API server did not finish within 1 s"):
        call(kubeconfig)
    assert time.monotonic() - started < 4
