"""The check registry, selection by name, requirements with reasons, and the known benign states."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

import cilium_tune.checks as checks
from cilium_tune.checks.benign import KNOWN_BENIGN
from cilium_tune.checks.features import derive_features
from cilium_tune.checks.framework import FAMILIES, Action, CheckContext, Selection, registry, run_checks, selected
from cilium_tune.facts.model import Condition, Gateway, GatewayClass, NodeFacts, Snapshot
from cilium_tune.report.model import Outcome

NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_every_check_is_well_formed() -> None:
    names = [c.name for c in registry.all()]
    assert len(names) == len(set(names))
    for c in registry.all():
        assert c.family in FAMILIES and NAME.match(c.scenario), c.name
        assert c.title and c.func.__module__ in {m.__name__ for m in checks.FAMILY_MODULES}
    # every family has checks, and every family module registers some
    assert {c.family for c in registry.all()} == set(FAMILIES)


def test_benign_entries_name_registered_checks_and_upstream_links() -> None:
    names = {c.name for c in registry.all()}
    for entry in KNOWN_BENIGN:
        assert entry.check in names
        assert re.match(r"^https://github\.com/cilium/cilium/(issues|pull)/\d+$", entry.link)


@pytest.mark.parametrize(
    ("patterns", "case", "wanted"),
    [
        ((), "dual-stack/pod-to-service/ipv6-lab-1-to-lab-2", True),
        (("dual-stack",), "dual-stack/pod-to-service/ipv6-lab-1-to-lab-2", True),
        (("dual-stack/pod-to-service",), "dual-stack/pod-to-service/ipv6-lab-1-to-lab-2", True),
        (("dual-stack/*/ipv6-*",), "dual-stack/pod-to-service/ipv6-lab-1-to-lab-2", True),
        (("dual-stack/*/ipv6-*",), "dual-stack/pod-to-service/ipv4-lab-1-to-lab-2", False),
        (("ingress",), "dual-stack/pod-to-service/ipv4-lab-1-to-lab-2", False),
    ],
)
def test_selection_by_glob(patterns: tuple[str, ...], case: str, wanted: bool) -> None:
    assert Selection(patterns).wants_case(case) is wanted


def test_selection_picks_checks_before_running_them() -> None:
    assert {c.family for c in selected(Selection(("kube-proxy",)))} == {"kube-proxy"}
    assert [c.name for c in selected(Selection(("ingress/https/*",)))] == ["ingress/https"]


def _snapshot(**kw: object) -> Snapshot:
    base: dict[str, object] = {"collected_at": datetime(2026, 11, 26, tzinfo=UTC),
                               "nodes": (NodeFacts(name="n1"), NodeFacts(name="n2"))}
    base.update(kw)
    return Snapshot.model_validate(base)


def _ctx(facts: Snapshot, config: dict[str, str]) -> CheckContext:
    return CheckContext(facts=facts, values={}, config=config, features=derive_features(facts, {}, config))


def test_unmet_requirements_skip_with_every_reason() -> None:
    facts = _snapshot(unknown={"probes": "not collected (run with --probe-nodes)"})
    cases = list(run_checks(_ctx(facts, {"kube-proxy-replacement": "false"}), selected(Selection(("kube-proxy",)))))
    chains = next(c for c in cases if c.name == "kube-proxy/service-chains/all")
    assert chains.outcome is Outcome.SKIP
    assert chains.reason == (
        "kube-proxy-replacement is disabled, the check needs enabled (cilium-config kube-proxy-replacement); "
        "node-probes is disabled, the check needs enabled (not collected (run with --probe-nodes))"
    )


def test_address_not_assigned_is_explained_only_in_host_network_mode() -> None:
    cls = GatewayClass(name="cilium", controller_name="io.cilium/gateway-controller")
    gw = Gateway(namespace="default", name="lab", gateway_class="cilium", conditions=(
        Condition(type="Accepted", status="True"),
        Condition(type="Programmed", status="False", reason="AddressNotAssigned")))
    facts = _snapshot(gateway_classes=(cls,), gateways=(gw,))
    config = {"enable-gateway-api": "true", "gateway-api-hostnetwork-enabled": "true"}
    sel = Selection(("ingress/gateway-status",))
    case = next(iter(run_checks(_ctx(facts, config), selected(sel), sel)))
    assert (case.outcome, case.link) == (Outcome.EXPLAINED, "https://github.com/cilium/cilium/issues/42786")
    config["gateway-api-hostnetwork-enabled"] = "false"
    case = next(iter(run_checks(_ctx(facts, config), selected(sel), sel)))
    assert case.outcome is Outcome.FAIL and case.link is None


def test_actions_carry_their_evidence() -> None:
    action = Action.failed("lab-2", "down", command="iptables-save", count=1)
    assert dict(action.evidence) == {"command": "iptables-save", "count": 1}


def test_cilium_config_names_each_differing_key_and_leaves_redacted_ones_out() -> None:
    from cilium_tune.facts.model import CiliumConfig

    live = {"routing-mode": "tunnel", "agent-not-ready-taint-key": "node.cilium.io/agent-not-ready"}
    facts = _snapshot(cilium_config=CiliumConfig(namespace="kube-system", data=live))
    desired = {"routing-mode": "native", "agent-not-ready-taint-key": "<redacted>"}
    sel = Selection(("datapath/cilium-config",))
    case = next(iter(run_checks(_ctx(facts, desired), selected(sel), sel)))
    assert case.outcome is Outcome.FAIL
    assert case.message == "1 key(s) differ from the desired state: routing-mode"
    assert case.evidence["cilium-config.routing-mode"] == "live 'tunnel', desired 'native'"
    assert case.evidence["not_compared"] == ["agent-not-ready-taint-key"]
