"""Baseline directories as `baseline capture` writes them, made on disk without a cluster."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cilium_tune.plan.baseline import USER_VALUES
from cilium_tune.rollout.baseline import CONFIG, RELEASE, SUMS, VALUES


def write_capture(
    folder: Path,
    *,
    version: str = "1.18.12",
    revision: int = 3,
    values: str = "MTU: 1400\n",
    user_values: str | None = "MTU: 1400\n",
) -> Path:
    """A capture of kube-system/cilium at `revision` in `folder` (its checksums included); `user_values`
    None makes one as captured before the user-supplied values were recorded."""
    release = {"namespace": "kube-system", "name": "cilium", "chart": "cilium", "version": version,
               "revision": revision, "status": "deployed"}
    header = f"# chart-version: {version}\n# release: kube-system/cilium\n# revision: {revision}\n"
    files = {
        VALUES: header + values,
        RELEASE: json.dumps(release, indent=2, sort_keys=True) + "\n",
        CONFIG: json.dumps({"datapath-mode": "veth"}, indent=2, sort_keys=True) + "\n",
    }
    if user_values is not None:
        files[USER_VALUES] = header + user_values
    files[SUMS] = "".join(f"{hashlib.sha256(t.encode()).hexdigest()}  {n}\n" for n, t in sorted(files.items()))
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
