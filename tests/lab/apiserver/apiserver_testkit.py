"""Helpers shared by the API server tests (named uniquely: tests have no packages)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lightkube import Client

from cilium_tune.lab.apiserver import ApiServer

T = TypeVar("T")


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


def http(url: str, method: str = "GET", body: Any = None, ctype: str = "application/json",
         raw: bytes | None = None) -> tuple[int, Any]:
    """One request; returns (status, decoded JSON body or text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, payload = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode()


def watch_lines(url: str) -> list[dict[str, Any]]:
    """Read a whole (finite) watch stream as a list of events."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        return [json.loads(line) for line in resp.read().splitlines() if line.strip()]


def eventually(fn: Callable[[], T | None], timeout: float = 5.0) -> T:
    """Poll `fn` until it returns something truthy (controllers run asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(0.05)


def node(name: str, index: int, **spec: Any) -> dict[str, Any]:
    """A lab node as the lab creates it: pod CIDRs of both families, a fabric address."""
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"podCIDRs": [f"198.19.{index}.0/24", f"fd00:19::{index}:0/120"], **spec},
            "status": {"addresses": [{"type": "InternalIP", "address": f"198.18.0.{10 + index}"},
                                     {"type": "InternalIP", "address": f"fd00:18::{10 + index}"}]}}
