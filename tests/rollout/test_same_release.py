"""A second `apply` is a no-op even though the real chart renders fresh TLS certificates every time."""

from __future__ import annotations

import itertools
from typing import Any

from cilium_tune.rollout.run import same_release

_serial = itertools.count()


def render(**config: str) -> list[dict[str, Any]]:
    """What `helm template` of the real chart gives, in miniature: cilium-config and a generated certificate."""
    return [
        {"kind": "ConfigMap", "metadata": {"name": "cilium-config"}, "data": dict(config)},
        {"kind": "Secret", "metadata": {"name": "hubble-server-certs"}, "data": {"tls.crt": f"cert-{next(_serial)}"}},
    ]


def never_called() -> list[dict[str, Any]]:
    raise AssertionError("identical renders need no second render")


def test_identical_renders_are_the_same_release() -> None:
    docs = render(**{"routing-mode": "native"})
    assert same_release(docs, list(docs), never_called)


def test_a_certificate_generated_on_every_render_is_not_a_change() -> None:
    assert same_release(render(**{"routing-mode": "native"}), render(**{"routing-mode": "native"}),
                        lambda: render(**{"routing-mode": "native"}))


def test_a_config_change_is_a_change_even_beside_random_certificates() -> None:
    assert not same_release(render(**{"routing-mode": "tunnel"}), render(**{"routing-mode": "native"}),
                            lambda: render(**{"routing-mode": "native"}))


def test_an_object_that_appears_is_a_change() -> None:
    before = render(**{"routing-mode": "native"})
    after = [*before, {"kind": "Service", "metadata": {"name": "hubble-peer"}}]
    assert not same_release(before, after, lambda: list(after))
