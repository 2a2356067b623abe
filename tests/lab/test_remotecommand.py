"""The remote-command protocol rules the lab's API server and kubelet share (remotecommand.py)."""

from __future__ import annotations

import pytest

from cilium_tune.lab import remotecommand as rc


@pytest.mark.parametrize(("offered", "chosen"), [
    (["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"],
     "v5.channel.k8s.io"),  # kubectl 1.35's offer
    (["v4.channel.k8s.io", "v5.channel.k8s.io"], "v5.channel.k8s.io"),  # the translator takes v5 wherever it is
    (["v3.channel.k8s.io", "base64.channel.k8s.io"], "base64.channel.k8s.io"),  # the kubelet skips SPDY names
    ([], ""),
    (["v3.channel.k8s.io"], None),
])
def test_negotiation_picks_what_a_cluster_picks(offered: list[str], chosen: str | None) -> None:
    assert rc.negotiate(offered) == chosen


def test_options_read_both_query_forms_and_a_tty_merges_stderr() -> None:
    api = rc.Options.from_query({"stdin": "true", "stdout": "1", "stderr": "True", "tty": "false"}, ["sh"])
    assert (api.stdin, api.stdout, api.stderr, api.tty) == (True, True, True, False)
    assert rc.Options.from_query(dict(api.kubelet_query()), ["sh"]) == api
    tty = rc.Options.from_query({"stdout": "true", "stderr": "true", "tty": "true"}, ["sh"])
    assert (tty.stderr, tty.announce_channel) == (False, rc.STDOUT)
    with pytest.raises(ValueError, match='parsing "yes": invalid syntax'):
        rc.Options.from_query({"stdin": "yes"}, ["sh"])


def test_codecs_frame_binary_and_base64_and_old_protocols_stay_silent_on_success() -> None:
    binary, text, old = rc.Codec(rc.V5), rc.Codec(rc.V4_BASE64), rc.Codec(rc.V1)
    assert binary.encode(rc.STDOUT, b"hi") == b"\x01hi" and binary.decode(b"\x00in") == (rc.STDIN, b"in")
    assert text.encode(rc.STDERR, b"hi") == "2aGk=" and text.decode("0aGk=") == (rc.STDIN, b"hi")
    assert binary.status(rc.success()) == b'\x03{"metadata":{},"status":"Success"}'
    assert old.status(rc.success()) is None
    assert old.status(rc.exit_status(3, ["false"], rc.V1)) == \
        b"\x03command terminated with non-zero exit code: error executing command [false], exit code 3"
