"""The helm binary as a subprocess: locate it, check its version, run it.

The tool drives the user's helm (first `--helm PATH`, then `$CILIUM_TUNE_HELM`, then `helm` on PATH), never
a copy of its own, so what it plans is what the user's helm will do. Helm older than 3.14 is refused: the
flags and server-side behaviour the plan relies on (`--version` pinning with `upgrade --install`,
`--wait` on DaemonSets, `--timeout`) were settled by then, and 3.13 and older are out of support.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cilium_tune.errors import ClusterError, ToolMissingError

MINIMUM = (3, 14)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


DEFAULT_TIMEOUT = 30.0
"""Seconds one helm call may take unless the caller says otherwise (`--timeout`)."""


class HelmTimeout(ClusterError):
    """A helm call did not finish in time (the message names the call)."""


@dataclass(frozen=True)
class Helm:
    """A located, version-checked helm binary: `path` is absolute, and every call runs exactly it."""

    path: Path
    version: tuple[int, int, int]
    timeout: float = DEFAULT_TIMEOUT

    @property
    def major(self) -> int:
        return self.version[0]

    def run(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run helm with args; a non-zero exit becomes a ClusterError carrying helm's own message."""
        return _run(self.path, args, env=env, timeout=self.timeout if timeout is None else timeout)


def _run(
    path: Path, args: Sequence[str], *, env: Mapping[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    call = f"helm {' '.join(args[:1])}"
    try:
        result = subprocess.run(
            [str(path), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise HelmTimeout(
            f"`{call}` ({path}) did not finish within {timeout:g} s",
            hint="check that helm works on its own, or give it longer with --timeout SECONDS",
        ) from None
    except OSError as exc:
        raise ToolMissingError(
            f"{path} could not be run: {exc.strerror or exc}", hint="pass a working helm with --helm"
        ) from None
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}"
        raise ClusterError(f"{call} failed: {message}", hint="see helm's message above")
    return result


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Extract (major, minor, patch) from `helm version --short` output such as 'v3.18.0+gcc58e3f'."""
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def find_helm(explicit: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Helm:
    """Locate helm once, as an absolute path, and check it is new enough (ToolMissingError with the fix).

    `./helm` must stay that file: `Path("./helm")` prints as `helm`, which a later subprocess call would
    look up on PATH and so run a different binary from the one checked here.
    """
    candidate = explicit or os.environ.get("CILIUM_TUNE_HELM") or "helm"
    found = shutil.which(candidate)
    if found is None:
        where = f"'{candidate}'" if explicit or os.environ.get("CILIUM_TUNE_HELM") else "'helm' on PATH"
        raise ToolMissingError(
            f"helm binary not found: {where} (or not executable)",
            hint="install helm >= 3.14 and put it on PATH, or pass --helm /path/to/helm",
        )
    path = Path(os.path.abspath(found))
    try:
        out = _run(path, ["version", "--short"], env=None, timeout=timeout)
    except HelmTimeout:
        raise
    except ClusterError as exc:
        raise ToolMissingError(
            f"{path} is not a working helm: {exc.message}", hint="pass a working helm with --helm"
        ) from None
    version = parse_version(out.stdout)
    if version is None:
        raise ToolMissingError(
            f"{path} did not report a version (it said: {out.stdout.strip()[:200] or out.stderr.strip()[:200]})",
            hint="pass a working helm with --helm",
        )
    if version[:2] < MINIMUM:
        have = ".".join(map(str, version))
        raise ToolMissingError(
            f"{path} is helm {have}; cilium-tune needs helm >= {MINIMUM[0]}.{MINIMUM[1]}",
            hint="upgrade helm, or pass a newer one with --helm",
        )
    return Helm(path, version, timeout)


def template_args(
    *, release: str, chart: str, namespace: str, values_files: Sequence[str], version: str | None = None
) -> list[str]:
    """`helm template` arguments rendering `chart` with the -f files in order (no cluster contact)."""
    args = ["template", release, chart, "--namespace", namespace]
    if version is not None:
        args += ["--version", version]
    for path in values_files:
        args += ["-f", path]
    return args


# ------------------------------------------------------------------ release operations (argv only, with timeouts)


@dataclass(frozen=True)
class ReleaseRef:
    """Which release, on which cluster: helm's own flags for it."""

    namespace: str
    name: str
    kube_context: str | None = None
    kubeconfig: str | None = None

    def flags(self) -> list[str]:
        flags = ["-n", self.namespace]
        if self.kube_context:
            flags += ["--kube-context", self.kube_context]
        if self.kubeconfig:
            flags += ["--kubeconfig", self.kubeconfig]
        return flags


def get_values_all(helm: Helm, ref: ReleaseRef, *, revision: int | None = None, timeout: float = 60) -> str:
    """`helm get values --all -o yaml`: the computed values of `revision` (None: the current one)."""
    argv = [*ref.flags(), "get", "values", ref.name, "--all", "-o", "yaml", *_revision(revision)]
    return helm.run(argv, timeout=timeout).stdout


def get_values_user(helm: Helm, ref: ReleaseRef, *, revision: int | None = None, timeout: float = 60) -> str:
    """`helm get values -o yaml`: the values the user supplied to `revision` (None: the current one;
    `null` when none), what `--reuse-values` keeps over a new chart."""
    argv = [*ref.flags(), "get", "values", ref.name, "-o", "yaml", *_revision(revision)]
    return helm.run(argv, timeout=timeout).stdout


def _revision(revision: int | None) -> list[str]:
    return [] if revision is None else ["--revision", str(revision)]


def get_metadata(helm: Helm, ref: ReleaseRef, *, timeout: float = 60) -> dict[str, Any]:
    """`helm get metadata -o json`: chart name, chart version, revision, status of the current revision."""
    out = helm.run([*ref.flags(), "get", "metadata", ref.name, "-o", "json"], timeout=timeout).stdout
    try:
        data = json.loads(out)
    except ValueError as exc:
        raise ClusterError(f"helm get metadata {ref.name}: not JSON ({exc})") from None
    return dict(data) if isinstance(data, dict) else {}


def history(helm: Helm, ref: ReleaseRef, *, timeout: float = 60) -> list[dict[str, Any]]:
    """`helm history -o json`: every stored revision, oldest first."""
    out = helm.run([*ref.flags(), "history", ref.name, "-o", "json"], timeout=timeout).stdout
    try:
        data = json.loads(out)
    except ValueError as exc:
        raise ClusterError(f"helm history {ref.name}: not JSON ({exc})") from None
    return [dict(item) for item in data] if isinstance(data, list) else []


def run_step_argv(helm: Helm, argv: Sequence[str], *, kubeconfig: str | None = None, timeout: float) -> str:
    """Run a step's helm command line (its first element, the binary name, is replaced by this helm)."""
    args = list(argv[1:])
    if kubeconfig:
        args = ["--kubeconfig", kubeconfig, *args]
    return helm.run(args, timeout=timeout).stdout


def template(helm: Helm, args: Sequence[str], *, timeout: float = 120) -> str:
    """`helm template` (no cluster contact) with the given arguments; the rendered manifests."""
    return helm.run(list(args), timeout=timeout).stdout


def parse_duration(text: str) -> float:
    """Helm's `--timeout` form (`15m`, `90s`, `1h`, `5m30s`) in seconds."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
        else:
            raise ValueError(f"not a duration: {text!r}")
    return total + (float(number) if number else 0.0)
