"""Fixtures: an in-process lab API server, and per-test client environments for helm and kubectl."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_testkit import Kube, write_kubeconfig
from lightkube import Client, KubeConfig

from cilium_tune.lab.apiserver import ApiServer


def _kube(server: ApiServer, tmp_path: Path) -> Iterator[Kube]:
    url = server.start()
    try:
        config = write_kubeconfig(tmp_path / "kubeconfig", url)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
               "KUBECONFIG": str(config)}
        for name in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{name}_HOME"] = str(tmp_path / f"helm-{name.lower()}")
        client = Client(KubeConfig.from_file(config), field_manager="cilium-tune-test")
        try:
            yield Kube(server, url, env, client)
        finally:
            client.close()
    finally:
        server.stop()


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Kube]:
    """A fresh server with --auto-ready (no kubelet: pods become Ready by themselves)."""
    yield from _kube(ApiServer(auto_ready=True, service_cidrs=["198.18.64.0/18", "fd00:64::/112"],
                               state_dir=tmp_path / "state"), tmp_path)


@pytest.fixture
def kube_graceful(tmp_path: Path) -> Iterator[Kube]:
    """A fresh server without --auto-ready: the test plays the kubelet."""
    yield from _kube(ApiServer(state_dir=tmp_path / "state"), tmp_path)
