"""Read a Helm release from Helm's own storage Secrets, so no helm binary is needed to collect facts.

Helm (3 and 4, driver `secret`) stores each revision as a Secret `sh.helm.release.v1.<name>.v<N>`
labelled `owner=helm, name=<name>, status=<status>, version=<N>`. Its `data.release` is, after the
API's own base64, the base64 text of a gzip-compressed JSON release (`name`, `version`, `info.status`,
`chart.metadata`, `chart.values` = chart defaults, `config` = user-supplied values).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from cilium_tune.facts.k8s import parse_time
from cilium_tune.facts.model import HelmRelease, ReleaseRevision
from cilium_tune.values.redact import redact_tree

_GZIP_MAGIC = b"\x1f\x8b"


class ReleaseDecodeError(ValueError):
    """A release Secret's body is not Helm's encoding."""


def decode_release(secret: Mapping[str, Any], storage: Literal["secret", "configmap"] = "secret") -> dict[str, Any]:
    """The release JSON stored in one Helm release Secret (or ConfigMap, for HELM_DRIVER=configmap)."""
    name = (secret.get("metadata") or {}).get("name", "?")
    data = secret.get("data") or {}
    body = data.get("release")
    if not isinstance(body, str):
        raise ReleaseDecodeError(f"{name}: no data.release")
    try:
        # Secrets carry the API's base64 around Helm's base64; a ConfigMap carries Helm's text directly.
        helm_text = base64.b64decode(body, validate=True) if storage == "secret" else body
        blob = base64.b64decode(helm_text, validate=True)
        if blob[:2] == _GZIP_MAGIC:
            blob = gzip.decompress(blob)
        release = json.loads(blob)
    except (binascii.Error, OSError, EOFError, ValueError) as exc:
        raise ReleaseDecodeError(f"{name}: data.release is not a Helm release ({exc})") from exc
    if not isinstance(release, dict):
        raise ReleaseDecodeError(f"{name}: data.release is not a JSON object")
    return release


def coalesce_values(defaults: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """Chart defaults overlaid with user values the way `helm get values --all` shows them.

    Maps merge deeply, anything else (lists included) is replaced whole, and a user `null` removes a
    key the defaults have (a null for a key the defaults lack is kept).
    """
    out: dict[str, Any] = {k: v for k, v in defaults.items()}
    for key, value in user.items():
        if value is None and key in defaults:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(defaults.get(key), Mapping):
            out[key] = coalesce_values(defaults[key], value)
        else:
            out[key] = value
    return out


def parse_helm_release(
    secrets: Iterable[Mapping[str, Any]],
    name: str = "cilium",
    storage: Literal["secret", "configmap"] = "secret",
) -> HelmRelease | None:
    """The release `name` from its storage objects: the latest deployed revision, else the newest.

    `secrets` are Helm's release Secrets (or ConfigMaps with `storage="configmap"`, HELM_DRIVER=configmap).
    Objects of other releases are ignored; None when the release has no stored revision.
    """
    revisions: list[tuple[int, dict[str, Any]]] = []
    for secret in secrets:
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if labels.get("owner", "helm") != "helm" or labels.get("name") != name:
            continue
        release = decode_release(secret, storage)
        revisions.append((int(release.get("version") or labels.get("version") or 0), release))
    if not revisions:
        return None
    revisions.sort(key=lambda r: r[0])
    deployed = [r for r in revisions if _status(r[1]) == "deployed"]
    number, chosen = (deployed or revisions)[-1]

    chart = chosen.get("chart") or {}
    meta = chart.get("metadata") or {}
    user = chosen.get("config") or {}
    defaults = chart.get("values") or {}
    return HelmRelease(
        name=str(chosen.get("name") or name),
        namespace=str(chosen.get("namespace") or ""),
        revision=number,
        status=_status(chosen),
        chart_name=meta.get("name"),
        chart_version=meta.get("version"),
        app_version=meta.get("appVersion"),
        updated=parse_time((chosen.get("info") or {}).get("last_deployed")),
        user_values=redact_tree(dict(user)),
        computed_values=redact_tree(coalesce_values(defaults, user)),
        history=tuple(
            ReleaseRevision(
                revision=n,
                status=_status(r),
                chart_version=((r.get("chart") or {}).get("metadata") or {}).get("version"),
                updated=parse_time((r.get("info") or {}).get("last_deployed")),
            )
            for n, r in revisions
        ),
    )


def _status(release: Mapping[str, Any]) -> str:
    return str((release.get("info") or {}).get("status") or "unknown")
