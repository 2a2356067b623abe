"""Every parser against recorded raw input: tests/facts/<module>.<Fact>/<case>.json = {raw, expected}.

`expected` is the fact as JSON (`model_dump(mode="json")`). After a deliberate parser change, rewrite the
expectations with `CT_UPDATE_FIXTURES=1 pytest tests/facts/test_parsers.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cilium_tune.facts.agent_status import parse_agent_status
from cilium_tune.facts.cilium import parse_agent_pod, parse_cilium_config
from cilium_tune.facts.gateway import parse_crd, parse_gateway, parse_gateway_class
from cilium_tune.facts.helm_release import parse_helm_release
from cilium_tune.facts.k3s import parse_k3s_args
from cilium_tune.facts.nodes import parse_node
from cilium_tune.facts.probes import parse_probe_output
from cilium_tune.facts.workloads import find_vm_workloads, parse_kube_proxy, parse_service, summarise_pod_ips

HERE = Path(__file__).parent


def _pod_ips(raw: dict[str, Any]) -> Any:
    return summarise_pod_ips(
        raw["pods"],
        [ip_network(p) for p in raw["pools"]],
        {node: [ip_network(c) for c in cidrs] for node, cidrs in raw["node_pod_cidrs"].items()},
    )


# "<module>.<Fact>" -> how to call the parser with a fixture's raw value.
PARSERS: dict[str, Callable[[Any], Any]] = {
    "nodes.NodeFacts": parse_node,
    "k3s.K3sArgs": parse_k3s_args,
    "helm_release.HelmRelease": lambda raw: parse_helm_release(raw["secrets"], raw["name"]),
    "cilium.CiliumConfig": parse_cilium_config,
    "cilium.AgentPod": parse_agent_pod,
    "gateway.Crd": parse_crd,
    "gateway.GatewayClass": parse_gateway_class,
    "gateway.Gateway": parse_gateway,
    "workloads.PodIPSummary": _pod_ips,
    "workloads.ServiceFacts": parse_service,
    "workloads.VmWorkload": lambda raw: find_vm_workloads(raw["pods"], raw["vmis"]),
    "workloads.KubeProxy": lambda raw: parse_kube_proxy(
        raw["daemonsets"], raw["pods"], [parse_node(n) for n in raw["nodes"]]
    ),
    "probes.NodeProbe": lambda raw: parse_probe_output(raw["node"], raw["output"]),
    "agent_status.AgentStatus": parse_agent_status,
}

CASES = sorted(HERE.glob("*.*/*.json"))


def _as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_as_json(v) for v in value]
    return value


def test_every_fixture_folder_has_a_parser() -> None:
    folders = {p.parent.name for p in CASES}
    assert folders == set(PARSERS), f"folders without parser: {folders - set(PARSERS)}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_parser_matches_recorded_fixture(case: Path) -> None:
    fixture = json.loads(case.read_text())
    got = _as_json(PARSERS[case.parent.name](fixture["raw"]))
    if os.environ.get("CT_UPDATE_FIXTURES") == "1":
        fixture["expected"] = got
        case.write_text(json.dumps(fixture, indent=2) + "\n")
    assert fixture["expected"] is not None or got is None, f"{case}: no expectation recorded"
    assert got == fixture["expected"]
