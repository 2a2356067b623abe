"""Known benign states: failures that are upstream's known behaviour, reported as `explained`, with the link.

Each entry names the check it applies to, when it applies (a pure predicate over the failed action and
the context), why it is benign and what, if anything, to do; and the upstream issue or pull request that
documents it. The links were checked against the upstream threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cilium_tune.checks.framework import Action, CheckContext


@dataclass(frozen=True)
class Benign:
    check: str  # family/scenario
    applies: Callable[[Action, CheckContext], bool]
    why: str
    link: str


ADDRESS_NOT_ASSIGNED_WHY = (
    "In host-network mode the 1.18.3+ operator reads Gateway addresses only from a LoadBalancer Service, so "
    "the Gateway stays PROGRAMMED=False / AddressNotAssigned while every node serves it. Fixed upstream by "
    "filling the addresses from the node IPs (cilium/cilium PR #46350, in 1.19.6)"
)
ADDRESS_NOT_ASSIGNED_LINK = "https://github.com/cilium/cilium/issues/42786"


def _address_not_assigned(action: Action, ctx: CheckContext) -> bool:
    return action.evidence.get("reason") == "AddressNotAssigned" and ctx.features.on("gateway-host-network")


def _tlsroute_missing(action: Action, ctx: CheckContext) -> bool:
    del ctx
    return "not installed" in action.message


KNOWN_BENIGN: tuple[Benign, ...] = (
    Benign(
        check="ingress/gateway-status",
        applies=_address_not_assigned,
        why=ADDRESS_NOT_ASSIGNED_WHY + " (the ingress/http and ingress/https checks prove the data plane).",
        link=ADDRESS_NOT_ASSIGNED_LINK,
    ),
    Benign(
        check="ingress/tlsroute-crd",
        applies=_tlsroute_missing,
        why="Without the experimental TLSRoute CRD the 1.19 operator logs `no kind is registered for the "
        "type v1alpha2.TLSRouteList`; HTTP and HTTPS (terminated) routing keep working, TLS passthrough "
        "routes do not. Fix: install the experimental channel of the paired Gateway API bundle "
        "(experimental-install.yaml of v1.4), which carries TLSRoute v1alpha2.",
        link="https://github.com/cilium/cilium/issues/38420",
    ),
)


def explain(check_name: str, action: Action, ctx: CheckContext) -> Benign | None:
    """The known benign state a failed action is, or None."""
    return next((b for b in KNOWN_BENIGN if b.check == check_name and b.applies(action, ctx)), None)
