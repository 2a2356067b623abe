"""Hide credentials before values are shown: tls keys, tokens, passwords in Helm values.

Cilium's values carry secrets in a few places (hubble/clustermesh TLS keys, etcd and BGP passwords,
encryption keys). Plans and diffs are pasted into tickets and CI logs, so anything under a key that
names a credential is shown as `<redacted>`; empty values and booleans stay visible, because
"a key is set" or "TLS is auto-generated" is information, not a secret.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
_CREDENTIAL_WORDS = {"key", "password", "passwd", "token", "secret", "credentials", "psk"}


def is_secret_key(key: str) -> bool:
    """True when a key's last word names a credential: `key`, `tls.key`, `caKey`, `apiToken`, `bgpPassword`.

    Only the last word counts, so `secretName`, `keyFile` and `tokenTTL` (names of and settings about
    credentials) stay visible.
    """
    words = _WORD.findall(key)
    return bool(words) and words[-1].lower() in _CREDENTIAL_WORDS


def redact(path: tuple[str, ...], value: Any) -> Any:
    """`value`, or REDACTED when the last key of `path` names a credential and the value is not empty."""
    if value in (None, "", [], {}) or isinstance(value, bool):
        return value
    return REDACTED if path and is_secret_key(path[-1]) else value


def redact_tree(values: Any, path: tuple[str, ...] = ()) -> Any:
    """A copy of a values tree with every credential redacted (for snapshots saved to disk)."""
    if isinstance(values, dict):
        return {key: redact_tree(value, (*path, str(key))) for key, value in values.items()}
    if isinstance(values, list):
        return [redact_tree(item, path) for item in values]
    return redact(path, values)
