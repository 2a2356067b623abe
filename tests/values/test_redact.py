"""Credentials in values never reach a diff or a plan in clear text."""

from __future__ import annotations

import pytest

from cilium_tune.values.diff import diff_values
from cilium_tune.values.redact import REDACTED, is_secret_key, redact


@pytest.mark.parametrize("key", ["key", "tls.key", "caKey", "apiToken", "bgpPassword", "encryptionKey", "PSK"])
def test_credential_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["secretName", "keyFile", "tokenTTL", "monkey", "keepCapNetBindService", "keys"])
def test_names_of_and_settings_about_credentials_stay_visible(key: str) -> None:
    assert not is_secret_key(key)


def test_empty_and_boolean_values_are_information_not_secrets() -> None:
    assert redact(("tls", "key"), "") == ""
    assert redact(("auto", "key"), True) is True
    assert redact(("tls", "key"), "LS0tLS1CRUdJTi...") == REDACTED


def test_diff_lines_and_data_redact_changed_credentials() -> None:
    old = {"hubble": {"tls": {"server": {"key": "old-private-key", "cert": "c1"}}}}
    new = {"hubble": {"tls": {"server": {"key": "new-private-key", "cert": "c2"}}}}
    diff = diff_values(old, new)
    lines = [entry.line() for entry in diff.entries]
    assert lines == [
        '~ hubble.tls.server.cert: "c1" -> "c2"',
        f'~ hubble.tls.server.key: "{REDACTED}" -> "{REDACTED}"',
    ]
    assert "private" not in str(diff.to_dict())


def test_a_whole_tree_is_redacted_for_snapshots() -> None:
    from cilium_tune.values.redact import redact_tree

    tree = {"clustermesh": {"apiserver": {"tls": {"ca": {"cert": "c", "key": "k"}}}}, "etcd": [{"password": "p"}]}
    assert redact_tree(tree) == {
        "clustermesh": {"apiserver": {"tls": {"ca": {"cert": "c", "key": REDACTED}}}},
        "etcd": [{"password": REDACTED}],
    }


@pytest.mark.parametrize(
    "path",
    [
        ("affinity", "podAntiAffinity", "topologyKey"),
        ("cni", "configMapKey"),
        ("agentNotReadyTaintKey",),
        ("tolerations", "key"),
        ("nodeAffinity", "matchExpressions", "key"),
        ("tls", "caBundle", "key"),
        ("env", "secretKeyRef", "key"),
    ],
)
def test_keys_that_name_a_label_or_an_entry_are_not_credentials(path: tuple[str, ...]) -> None:
    from cilium_tune.values.redact import is_secret_path

    assert not is_secret_path(path)
    assert is_secret_path(("hubble", "tls", "server", "key"))


def test_the_scrubber_hides_remembered_credentials_as_whole_tokens_only_while_a_command_runs() -> None:
    from cilium_tune.values.redact import SecretScrubber

    scrubber = SecretScrubber()
    scrubber.remember({"bgpPassword": "hunter22"})
    assert scrubber.scrub("bgpPassword = hunter22") == "bgpPassword = hunter22"  # not started: library use
    scrubber.start()
    scrubber.remember({"bgpPassword": "hunter22", "mtls": {"name": None, "key": "ca.crt"}, "short": {"key": "abc"}})
    shown = scrubber.scrub('values.bgpPassword = hunter22, "hunter22"')
    assert shown == f'values.bgpPassword = {REDACTED}, "{REDACTED}"'
    assert scrubber.scrub("/tmp/hunter2234 ca.crt abc") == "/tmp/hunter2234 ca.crt abc"  # not a token; not secrets
    scrubber.stop()
    assert scrubber.scrub("hunter22") == "hunter22"
