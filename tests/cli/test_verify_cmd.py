"""`cilium-tune verify` without a cluster: bad input is exit 2, an unreachable cluster exit 3 (with a JUnit
report that still records the failed setup), never a traceback."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "u"}}],
    }))
    return path


def test_unreachable_cluster_is_exit_3_and_junit_records_it(cli: Callable[..., Any], tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    done = cli("verify", "-p", "lab", "--kubeconfig", str(kubeconfig(tmp_path)), "--junit", str(junit),
               "--timeout", "5")
    assert done.code == 3, done.err
    assert done.err.startswith("error: cannot reach the API server") and "Traceback" not in done.err
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None and case.get("name") == "setup/run/start" and case.find("error") is not None


def test_unknown_check_family_is_exit_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    done = cli("verify", "--check", "dualstack/*", "--kubeconfig", str(kubeconfig(tmp_path)))
    assert done.code == 2
    assert "no family 'dualstack'" in done.err and "hint: families: datapath, dual-stack" in done.err


def test_a_namespace_that_is_not_a_name_is_exit_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    done = cli("verify", "--verify-namespace", "../kube-system", "--kubeconfig", str(kubeconfig(tmp_path)))
    assert done.code == 2 and "not a Kubernetes namespace name" in done.err
