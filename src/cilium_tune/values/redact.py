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


# Keys that end in "key" but name something instead of holding a credential: a label or taint key
# (`topologyKey: kubernetes.io/hostname`, `agentNotReadyTaintKey`, the `key` of a toleration or selector
# expression) or the key of an entry in a ConfigMap or Secret (`configMapKey: cni-config`, the `key` of
# `caBundle: {name, key: ca.crt}` or of a `secretKeyRef`).
_NAMING_WORDS = {"map", "taint", "topology", "label", "annotation", "selector"}
_NAMING_PARENTS = {"tolerations", "matchExpressions", "matchFields", "caBundle"}


def is_secret_path(path: tuple[str, ...]) -> bool:
    """True when the value at `path` (list items keep their list's path) is a credential."""
    if not path or not is_secret_key(path[-1]):
        return False
    words = [word.lower() for word in _WORD.findall(path[-1])]
    if words[-1] == "key" and len(words) > 1 and words[-2] in _NAMING_WORDS:
        return False
    return not (path[-1] == "key" and len(path) > 1 and (path[-2] in _NAMING_PARENTS or path[-2].endswith("Ref")))


def redact(path: tuple[str, ...], value: Any) -> Any:
    """`value`, or REDACTED when `path` names a credential and the value is not empty."""
    if value in (None, "", [], {}) or isinstance(value, bool):
        return value
    return REDACTED if is_secret_path(path) else value


def redact_tree(values: Any, path: tuple[str, ...] = ()) -> Any:
    """A copy of a values tree with every credential redacted (for snapshots saved to disk)."""
    if isinstance(values, dict):
        reference = "name" in values  # {name, key}: `key` names an entry of a ConfigMap or Secret
        return {
            key: value if reference and key == "key" else redact_tree(value, (*path, str(key)))
            for key, value in values.items()
        }
    if isinstance(values, list):
        return [redact_tree(item, path) for item in values]
    return redact(path, values)


# --- the output boundary ---------------------------------------------------------------------------
#
# Structured output (plans, diffs, snapshots) redacts by key path with `redact`. Free text can still
# carry a credential: a finding that quotes the value it judged (`values.bgpPassword = hunter2`), an
# error message, a JUnit failure body. So every credential value read from any input during a command
# is remembered here, and the CLI passes everything it prints or writes through `scrub` once, at the
# boundary: a renderer added later cannot leak what an earlier one redacted.

_MIN_LENGTH = 4  # shorter values are not scrubbed from free text: "1" would eat every digit of a report
_LITERALS = {"true", "false", "null", "none", "redacted", REDACTED}


class SecretScrubber:
    """The credential values seen while a command runs, and the one function that hides them in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.active = False

    def start(self) -> None:
        """Begin a command: forget earlier secrets and scrub from now on."""
        self._secrets.clear()
        self._pattern = None
        self.active = True

    def stop(self) -> None:
        """End a command: forget its secrets (library use outside the CLI is not scrubbed)."""
        self.start()
        self.active = False

    def remember(self, values: Any) -> None:
        """Remember every non-empty credential in a values tree (walked without recursion)."""
        if not self.active:
            return
        pending: list[tuple[Any, tuple[str, ...]]] = [(values, ())]
        added = False
        while pending:
            item, path = pending.pop()  # the last two keys are enough for is_secret_path
            if isinstance(item, dict):
                # {name, key}: an entry of a named ConfigMap or Secret (`mtls: {name: ~, key: ca.crt}`)
                reference = "name" in item
                pending.extend(
                    (child, (*path[-1:], str(name)))
                    for name, child in item.items()
                    if not (reference and name == "key")
                )
            elif isinstance(item, list):
                pending.extend((child, path) for child in item)
            elif redact(path, item) is REDACTED:
                for text in _spellings(item):
                    if len(text) < _MIN_LENGTH or text.lower() in _LITERALS or (text.isdigit() and len(text) < 6):
                        continue
                    if text not in self._secrets:
                        self._secrets.add(text)
                        added = True
        if added:
            self._pattern = None

    def scrub(self, text: str) -> str:
        """`text` with every remembered credential replaced by REDACTED."""
        if not self.active or not self._secrets:
            return text
        if self._pattern is None:
            # Whole tokens only: the secret `cni-config` must not eat the middle of `/tmp/cni-configuration`.
            alternatives = "|".join(map(re.escape, sorted(self._secrets, key=len, reverse=True)))
            self._pattern = re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])")
        return self._pattern.sub(REDACTED, text)


def _spellings(value: Any) -> list[str]:
    """How a credential can appear in output: as text, JSON-escaped, YAML/XML-quoted."""
    import json
    from xml.sax.saxutils import escape

    text = value if isinstance(value, str) else json.dumps(value)
    found = {text.strip(), json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], escape(text)}
    for line in text.splitlines():
        found.add(line.strip())
    return [item for item in found if item]


SECRETS = SecretScrubber()
"""The scrubber of the running command (the CLI starts and stops it around each command)."""
