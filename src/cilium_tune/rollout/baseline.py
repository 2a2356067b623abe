"""Baseline capture: what the release is before cilium-tune changes it, kept so it can be restored exactly.

A baseline is a directory, never overwritten (a second capture goes beside the first):

    values.yaml         `helm get values --all` without its nulls (`replayable`), headed by `# chart-version:`,
                        `# release:`, `# revision:` (the header plan/baseline.py reads; helm ignores comments)
    user-values.yaml    `helm get values` (the user-supplied values, nulls kept: they delete chart keys on
                        purpose), same header: what an upgrade to another chart version layers, so the new
                        chart's defaults apply (`cilium_tune.desired.baseline_layers`)
    release.json        chart name and version, revision, status, as `helm get metadata` reports them
    cilium-config.json  the ConfigMap's data (what the agents were started with)
    facts.json          the facts snapshot (optional)
    SHA256SUMS          checksums of the files above, in `sha256sum -c` format

A capture made before user-values.yaml was recorded still rolls back and applies on its own chart
version; an apply to another version refuses it (capture again).

The directory is written under a temporary name and renamed into place, so it exists whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cilium_tune.adapters.helm import Helm, ReleaseRef, get_metadata, get_values_all, get_values_user
from cilium_tune.adapters.kube import CONFIGMAPS, KubeAPI, NotFound
from cilium_tune.errors import InputError
from cilium_tune.files import write_atomic
from cilium_tune.plan.baseline import USER_VALUES, deletes_keys, header_fields
from cilium_tune.values.emit import dump_yaml
from cilium_tune.values.loader import load_values_text
from cilium_tune.values.merge import merge_values

VALUES, RELEASE, CONFIG, FACTS, SUMS = "values.yaml", "release.json", "cilium-config.json", "facts.json", "SHA256SUMS"
CILIUM_CONFIG = "cilium-config"


@dataclass(frozen=True)
class CapturedBaseline:
    """A baseline directory as read back."""

    path: Path
    release: dict[str, Any]
    cilium_config: dict[str, str]

    @property
    def values_file(self) -> Path:
        return self.path / VALUES

    @property
    def chart_version(self) -> str:
        return str(self.release["version"])

    @property
    def revision(self) -> int:
        return int(self.release["revision"])


def capture(
    helm: Helm,
    kube: KubeAPI,
    ref: ReleaseRef,
    out_dir: Path,
    *,
    facts_json: str | None = None,
) -> CapturedBaseline:
    """Capture the live release into a new directory under `out_dir`.

    The metadata is read first and both values are read at its revision: an upgrade landing between the
    three helm calls cannot mix one revision's values with another's chart version."""
    meta = get_metadata(helm, ref)
    if not meta.get("version") or not meta.get("revision"):
        raise InputError(f"helm get metadata {ref.name} did not give the chart version and revision: {meta}")
    revision = int(meta["revision"])
    values = replayable(get_values_all(helm, ref, revision=revision))
    user_values = get_values_user(helm, ref, revision=revision)
    if not load_values_text(user_values, "helm get values").values:
        user_values = "{}\n"  # helm prints `null` for a release installed with no values of its own
    config = running_config(kube, ref.namespace) or {}
    release = {
        "namespace": ref.namespace,
        "name": ref.name,
        "chart": meta.get("chart"),
        "version": meta.get("version"),
        "app_version": meta.get("appVersion"),
        "revision": revision,
        "status": meta.get("status"),
        "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    header = (
        f"# chart-version: {release['version']}\n# release: {ref.namespace}/{ref.name}\n"
        f"# revision: {release['revision']}\n"
    )
    files = {
        VALUES: header + values,
        USER_VALUES: header + user_values,
        RELEASE: json.dumps(release, indent=2, sort_keys=True) + "\n",
        CONFIG: json.dumps(config, indent=2, sort_keys=True) + "\n",
    }
    if facts_json is not None:
        files[FACTS] = facts_json
    files[SUMS] = "".join(f"{_sha(text.encode())}  {name}\n" for name, text in sorted(files.items()))

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    final = publish(out_dir, f"{ref.namespace}-{ref.name}-r{release['revision']}-{stamp}-{secrets.token_hex(2)}",
                    files)
    return CapturedBaseline(final, release, config)


def publish(out_dir: Path, name: str, files: dict[str, str]) -> Path:
    """Write `files` as the new directory `out_dir/name`, whole or not at all.

    They are written under a temporary dot-name (`latest` never reads one) and renamed into place; a write
    that fails or is interrupted removes that temporary directory, so no half capture is left behind.
    """
    final = out_dir / name
    tmp = out_dir / f".capture-{secrets.token_hex(4)}"
    try:
        for file, text in files.items():
            write_atomic(tmp / file, text, scrub=False)  # the release as it is, credentials included: it is restored
        os.rename(tmp, final)  # never over an existing capture: the name is new
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(out_dir)
    return final


def running_config(kube: KubeAPI, namespace: str) -> dict[str, str] | None:
    """The `cilium-config` data the agents run with, as the cluster holds it (None: there is none)."""
    try:
        config_map = kube.get(CONFIGMAPS, CILIUM_CONFIG, namespace)
    except NotFound:
        return None
    return {str(k): str(v) for k, v in (config_map.get("data") or {}).items()}


def replayable(all_values: str, user_values: str | None = None) -> str:
    """`helm get values --all` as a `-f` file that renders the release again exactly: its nulls left out,
    and the user's deletions put back when `user_values` (`helm get values`) are given.

    `--all` lists every chart default, the null ones too (`policyCIDRMatchMode: null` in Cilium 1.19). Given
    back with `-f`, a null is an order to delete the key, to Helm 3 and 4 alike, so the chart's
    `hasKey .Values "policyCIDRMatchMode"` turns false and `policy-cidr-match-mode` leaves cilium-config:
    an apply would change a key nobody asked for and a rollback would not restore the release. Without the
    nulls, the chart's own defaults fill those keys in again (null where the release had null). Nulls
    inside lists are values and stay. What `--all` cannot carry is a key the user deleted with a null over
    a non-null default: helm already left it out, so the default would return. The user-supplied values,
    merged over the rest as helm merges `-f` files, put those nulls back (`Baseline.restoring` does the
    same with a capture's two files).
    """
    values = _without_nulls(load_values_text(all_values, "helm get values --all").values)
    if user_values is not None:
        user = load_values_text(user_values, "helm get values")
        if deletes_keys(user.values):
            values = merge_values([load_values_text(dump_yaml(values), "helm get values --all"), user]).values
    return dump_yaml(values)


def _without_nulls(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _without_nulls(v) if isinstance(v, dict) else v for k, v in values.items() if v is not None}


def load(path: Path) -> CapturedBaseline:
    """A captured baseline directory (or its values.yaml)."""
    folder = path.parent if path.name == VALUES else path
    try:
        release = json.loads((folder / RELEASE).read_text(encoding="utf-8"))
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(
            f"{folder}: not a captured baseline ({Path(exc.filename).name} is missing)",
            hint="capture one with `cilium-tune baseline capture`",
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: unreadable baseline ({exc})") from None
    return CapturedBaseline(folder, release, config)


def verify(path: Path) -> list[str]:
    """Problems with a baseline directory: checksums that differ, files missing, a header that disagrees."""
    baseline = load(path)
    problems = []
    sums = baseline.path / SUMS
    if not sums.is_file():
        return [f"{sums}: missing"]
    for line in sums.read_text(encoding="utf-8").splitlines():
        checksum, _, name = line.partition("  ")
        target = baseline.path / name
        if not target.is_file():
            problems.append(f"{target}: missing")
        elif _sha(target.read_bytes()) != checksum:
            problems.append(f"{target}: changed since capture (sha256 differs)")
    header = header_fields(baseline.values_file.read_text(encoding="utf-8"))
    if header.get("chart-version") != baseline.chart_version:
        problems.append(
            f"{baseline.values_file}: header chart-version {header.get('chart-version')} != release.json "
            f"{baseline.chart_version}"
        )
    return problems


def verified(baseline: CapturedBaseline, flag: str) -> CapturedBaseline:
    """`baseline`, refused when it does not verify: a run never starts from a capture changed since it was
    taken (`flag` is the command's option that names another)."""
    problems = verify(baseline.path)
    if problems:
        raise InputError(f"baseline {baseline.path} does not verify: {problems[0]}", hint=f"pass another with {flag}")
    return baseline


def latest(out_dir: Path, namespace: str | None = None, name: str | None = None) -> CapturedBaseline | None:
    """The newest capture of that release (of any release, without one) under `out_dir`, if any."""
    if not out_dir.is_dir():
        return None
    pattern = f"{namespace}-{name}-r*" if namespace is not None and name is not None else "*"
    # a dot-name is a capture still being written (or left by an interrupted one): pathlib globs match it
    found = sorted(p for p in out_dir.glob(pattern) if not p.name.startswith(".") and (p / RELEASE).is_file())
    found.sort(key=lambda p: p.stat().st_mtime)
    return load(found[-1]) if found else None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
