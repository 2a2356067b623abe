"""Baseline directories as `baseline capture` writes them, made on disk without a cluster."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cilium_tune.rollout.baseline import CONFIG, RELEASE, SUMS, VALUES


def write_capture(folder: Path, *, version: str = "1.18.12", revision: int = 3, values: str = "MTU: 1400\n") -> Path:
    """A capture of kube-system/cilium at `revision` in `folder` (its checksums included)."""
    release = {"namespace": "kube-system", "name": "cilium", "chart": "cilium", "version": version,
               "revision": revision, "status": "deployed"}
    files = {
        VALUES: f"# chart-version: {version}\n# release: kube-system/cilium\n# revision: {revision}\n{values}",
        RELEASE: json.dumps(release, indent=2, sort_keys=True) + "\n",
        CONFIG: json.dumps({"datapath-mode": "veth"}, indent=2, sort_keys=True) + "\n",
    }
    files[SUMS] = "".join(f"{hashlib.sha256(t.encode()).hexdigest()}  {n}\n" for n, t in sorted(files.items()))
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
