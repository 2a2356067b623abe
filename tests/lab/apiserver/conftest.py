"""Fixtures: an in-process lab API server, and per-test client environments for helm and kubectl."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig

from cilium_tune.lab.apiserver import ApiServer


def write_kubeconfig(path: Path, url: str) -> Path:
    """A kubeconfig for the lab: plain HTTP, no user credentials."""
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        f"clusters:\n- name: lab\n  cluster:\n    server: {url}\n"
        "contexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\n"
        "users:\n- name: lab\n  user: {}\n")
    return path


@dataclass
class Kube:
    """One test's view of a server: its URL, a lightkube client and an isolated tool environment."""

    server: ApiServer
    url: str
    env: dict[str, str]
    client: Client

    def run(self, argv: list[str | Path], *, check: bool = True, timeout: float = 60,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run helm or kubectl against this server; on failure show its output."""
        proc = subprocess.run([str(a) for a in argv], env=self.env, capture_output=True, text=True,
                              timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv[0]} {argv[1:]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc


def _kube(server: ApiServer, tmp_path: Path) -> Iterator[Kube]:
    url = server.start()
    try:
        config = write_kubeconfig(tmp_path / "kubeconfig", url)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
               "KUBECONFIG": str(config)}
        for name in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{name}_HOME"] = str(tmp_path / f"helm-{name.lower()}")
        client = Client(KubeConfig.from_file(config), field_manager="cilium-tune-test")
        yield Kube(server, url, env, client)
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
