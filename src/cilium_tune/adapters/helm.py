"""The helm binary as a subprocess: locate it, check its version, run it.

The tool drives the user's helm (first `--helm PATH`, then `$CILIUM_TUNE_HELM`, then `helm` on PATH), never
a copy of its own, so what it plans is what the user's helm will do. Helm older than 3.14 is refused: the
flags and server-side behaviour the plan relies on (`--version` pinning with `upgrade --install`,
`--wait` on DaemonSets, `--timeout`) were settled by then, and 3.13 and older are out of support.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cilium_tune.errors import ClusterError, ToolMissingError

MINIMUM = (3, 14)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Helm:
    """A located, version-checked helm binary."""

    path: Path
    version: tuple[int, int, int]

    @property
    def major(self) -> int:
        return self.version[0]

    def run(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """Run helm with args; a non-zero exit becomes a ClusterError carrying helm's own message."""
        full_env = {**os.environ, **(env or {})}
        try:
            result = subprocess.run(
                [str(self.path), *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"helm {' '.join(args[:2])} did not finish within {timeout:.0f} s") from exc
        if result.returncode != 0:
            message = result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}"
            raise ClusterError(f"helm {' '.join(args[:2])} failed: {message}")
        return result


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Extract (major, minor, patch) from `helm version --short` output such as 'v3.18.0+gcc58e3f'."""
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def find_helm(explicit: str | None = None) -> Helm:
    """Locate helm and check it is new enough; raise ToolMissingError with the fix otherwise."""
    candidate = explicit or os.environ.get("CILIUM_TUNE_HELM") or "helm"
    path = shutil.which(candidate)
    if path is None:
        where = f"'{candidate}'" if explicit or os.environ.get("CILIUM_TUNE_HELM") else "'helm' on PATH"
        raise ToolMissingError(
            f"helm binary not found: {where}",
            hint="install helm >= 3.14 and put it on PATH, or pass --helm /path/to/helm",
        )
    try:
        out = subprocess.run([path, "version", "--short"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissingError(f"{path} could not be run: {exc}", hint="pass a working helm with --helm") from exc
    version = parse_version(out.stdout)
    if out.returncode != 0 or version is None:
        raise ToolMissingError(
            f"{path} did not report a version (it said: {out.stdout.strip() or out.stderr.strip()})",
            hint="pass a working helm with --helm",
        )
    if version[:2] < MINIMUM:
        have = ".".join(map(str, version))
        raise ToolMissingError(
            f"{path} is helm {have}; cilium-tune needs helm >= {MINIMUM[0]}.{MINIMUM[1]}",
            hint="upgrade helm, or pass a newer one with --helm",
        )
    return Helm(Path(path), version)


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
