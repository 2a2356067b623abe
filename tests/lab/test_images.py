"""The image stand-in table: which lab program runs for which container of the Cilium chart."""

from __future__ import annotations

import re

import pytest

from cilium_tune.lab.images import AGENT, NOOP, OPERATOR, PROXY, NoStandIn, repository, stand_in

DIGEST = "@sha256:2df92477f0c53137c5238ca07844b9888167fa75906d281a21182d5c57b119ab"


def test_repository_drops_tag_and_digest_but_keeps_a_registry_port() -> None:
    assert repository(f"quay.io/cilium/cilium:v1.19.0-rc.1{DIGEST}") == "quay.io/cilium/cilium"
    assert repository("registry.local:5000/cilium/cilium") == "registry.local:5000/cilium/cilium"


@pytest.mark.parametrize(("image", "argv", "init", "expected"), [
    ("quay.io/cilium/cilium:v1.19.0-rc.1", ["cilium-agent", "--config-dir=/tmp/cilium/config-map"], False, AGENT),
    ("quay.io/cilium/cilium:v1.19.0-rc.1", ["cilium-dbg", "build-config"], True, NOOP),
    ("quay.io/cilium/cilium:v1.19.0-rc.1", ["/init-container.sh"], True, NOOP),
    ("quay.io/cilium/operator-generic:v1.19.0-rc.1", ["cilium-operator-generic", "--debug=false"], False, OPERATOR),
    ("quay.io/cilium/cilium-envoy:v1.35.9", ["/usr/bin/cilium-envoy-starter", "--"], False, PROXY),
], ids=["agent", "config-init", "clean-state-init", "operator", "envoy"])
def test_cilium_images_run_the_lab_programs(image: str, argv: list[str], init: bool, expected: list[str]) -> None:
    assert stand_in({"name": "c", "image": image + DIGEST}, argv, init=init) == expected


def test_lab_programs_and_other_images_run_as_they_are() -> None:
    lab_agent = ["python3", "-m", "cilium_tune.lab.agent"]
    assert stand_in({"image": "quay.io/cilium/cilium:v1.19.0-rc.1"}, lab_agent, init=False) is None
    assert stand_in({"image": "lab"}, ["sleep", "3600"], init=False) is None


def test_a_cilium_image_without_stand_in_says_which() -> None:
    with pytest.raises(NoStandIn, match=re.escape("hubble-relay of image quay.io/cilium/hubble-relay")):
        stand_in({"name": "hubble-relay", "image": "quay.io/cilium/hubble-relay:v1.19.0"}, ["hubble-relay"],
                 init=False)
