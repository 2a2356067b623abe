"""`cilium-tune lab ...` as a user runs it: up, status, kubeconfig, a pod, down, and nothing left."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cilium_tune.lab import cluster, netns

pytestmark = pytest.mark.root


def cli(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cilium_tune", "lab", *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_up_status_kubeconfig_down_leaves_nothing_behind(
        root: None, lab_name: str, tmp_path: Path, kubectl_bin: Path) -> None:
    lab_dir = str(tmp_path)
    up = cli("up", "--name", lab_name, "--lab-dir", lab_dir, "--nodes", "1", "--single-stack")
    try:
        assert up.returncode == 0, up.stderr
        assert "export KUBECONFIG=" in up.stdout
        status = cli("status", "--name", lab_name, "--lab-dir", lab_dir)
        assert status.returncode == 0 and "lab-1" in status.stdout and "up" in status.stdout
        kubeconfig = cli("kubeconfig", "--name", lab_name, "--lab-dir", lab_dir).stdout.strip()
        assert Path(kubeconfig).is_file()
        assert "server: http://127.0.0.1:" in cli("kubeconfig", "--name", lab_name, "--lab-dir", lab_dir,
                                                  "--raw").stdout
        env = {**os.environ, "KUBECONFIG": kubeconfig}
        subprocess.run([str(kubectl_bin), "run", "sleeper", "--image=busybox", "--command", "--", "sleep", "300"],
                       env=env, check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while len(netns.names(f"{lab_name}-p")) != 1:
            assert time.monotonic() < deadline, "the pod's namespace never appeared"
            time.sleep(0.1)
    finally:
        down = cli("down", "--name", lab_name, "--lab-dir", lab_dir)
    assert down.returncode == 0, down.stderr
    assert cluster.leftovers(lab_name, base_dir=tmp_path) == []
    assert netns.names(f"{lab_name}-") == []
    assert cli("status", "--name", lab_name, "--lab-dir", lab_dir).returncode == 1


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_up_cleans_up_after_a_crashed_run(root: None, lab_name: str, tmp_path: Path) -> None:
    first = cluster.up(lab_name, nodes=1, base_dir=tmp_path)
    try:
        kubelet = int((first.state_dir / "kubelet.pid").read_text())
        os.kill(kubelet, 9)  # "crash"
        deadline = time.monotonic() + 5
        while running(kubelet):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = cluster.up(lab_name, nodes=1, base_dir=tmp_path)
        assert cluster.status(lab_name, base_dir=tmp_path)["up"] is True
        assert second.api_url != first.api_url  # a fresh API server replaced the old one
    finally:
        cluster.down(lab_name, base_dir=tmp_path)
    assert cluster.leftovers(lab_name, base_dir=tmp_path) == []


def _others_can_enter(path: Path) -> bool:
    """True when an unprivileged user can reach `path` (every directory on the way has o+x)."""
    return all(p.stat().st_mode & 0o001 for p in (path, *path.parents))


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux) to drop root")
@pytest.mark.skipif(not _others_can_enter(Path(sys.prefix)), reason="the venv is not reachable by other users "
                    "(checked out under a 0700 directory), so an unprivileged user cannot run the tool from it")
def test_without_root_up_says_what_is_needed_and_exits_2(root: None, tmp_path: Path) -> None:
    result = cli("up", "--name", "tnoroot", "--lab-dir", str(tmp_path), user="65534")

    assert result.returncode == 2
    assert "needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN)" in result.stderr
    assert "Traceback" not in result.stderr


def test_kubeconfig_of_a_lab_that_is_not_up_is_an_input_error(tmp_path: Path) -> None:
    result = cli("kubeconfig", "--name", "tnotup", "--lab-dir", str(tmp_path))

    assert result.returncode == 2
    assert "cilium-tune lab up" in result.stderr


def test_without_iproute2_up_names_the_package(root: None, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH: no `ip`
    result = subprocess.run([sys.executable, "-m", "cilium_tune", "lab", "up", "--name", "tnoip", "--lab-dir",
                             str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 2
    assert "iproute2" in result.stderr and "Traceback" not in result.stderr
