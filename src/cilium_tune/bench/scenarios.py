"""What the bench measures: scenarios (who talks to whom), tests (how), families, and the metric names.

A *probe* is one scenario x test x family (x service count for churn); one sample of a probe is one
short run of iperf3 or netperf. Names follow the report model's `family/scenario/action` form with the
test as the family: `stream/pod-to-pod-cross-node/ipv4`, `churn/pod-to-local-service@5000/ipv4`.

Placement: node 1 is the client's node, node 2 the other one. `host` means the node's own network
namespace (a hostNetwork pod); `pod` an ordinary pod.

Churn runs from a pod to a Service whose backend is on the same node, so every connection crosses
exactly one node's NAT and connection tracking (the client node's), and flushing that node's conntrack
table between visits (the test bed measured that without the flush later runs slow down) resets all
the state the measurement touches.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cilium_tune.errors import InputError


class Kind(enum.StrEnum):
    STREAM = "stream"  # iperf3 single-stream TCP throughput
    RR = "rr"  # netperf TCP_RR: request/response latency percentiles
    CRR = "crr"  # netperf TCP_CRR: connect/request/response/close rate
    CHURN = "churn"  # TCP_CRR with N dummy Services present


@dataclass(frozen=True)
class Scenario:
    name: str
    client: str  # "host" | "pod" (on node 1)
    server: str  # "host" | "pod"
    server_node: int  # 0 = the client's node, 1 = the other node
    via_service: bool
    tests: tuple[Kind, ...]
    what: str


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("host-to-host", "host", "host", 1, False, (Kind.STREAM, Kind.RR, Kind.CRR),
             "node namespace to node namespace: the ceiling"),
    Scenario("pod-to-pod-same-node", "pod", "pod", 0, False, (Kind.STREAM, Kind.RR, Kind.CRR),
             "two pods on one node"),
    Scenario("pod-to-pod-cross-node", "pod", "pod", 1, False, (Kind.STREAM, Kind.RR, Kind.CRR),
             "a pod to a pod on the other node: the routing mode, tunnel or native"),
    Scenario("pod-to-service", "pod", "pod", 1, True, (Kind.STREAM, Kind.RR, Kind.CRR),
             "a pod to a ClusterIP whose backend is on the other node: the service load balancer"),
    Scenario("loopback", "host", "host", 0, False, (Kind.STREAM,),
             "client and server in one node namespace over loopback: the machine's own speed, a drift control"),
    Scenario("pod-to-local-service", "pod", "pod", 0, True, (Kind.CHURN,),
             "connection rate to a ClusterIP with N other Services present: kube-proxy chains vs a map"),
)

FAMILIES = (4, 6)
CALIBRATION = "stream/loopback/ipv4"
CALIBRATION_METRIC = "throughput/loopback/ipv4"
"""Measured in every run's rounds: when it moves between two runs, the machine changed, not the datapath."""
DEFAULT_CHURN = (0, 1000, 5000)


@dataclass(frozen=True)
class Metric:
    """One number a sample yields. `higher_is_better` decides what a ratio above 1 means."""

    name: str
    unit: str
    higher_is_better: bool


METRICS: dict[Kind, tuple[Metric, ...]] = {
    Kind.STREAM: (Metric("throughput", "Gbit/s", True),),
    Kind.RR: (
        Metric("latency-p50", "us", False),
        Metric("latency-p90", "us", False),
        Metric("latency-p99", "us", False),
        Metric("transactions", "1/s", True),
    ),
    Kind.CRR: (Metric("connections", "1/s", True),),
    Kind.CHURN: (Metric("connections", "1/s", True),),
}
"""The first metric of each test decides when its sampling may stop (p99 is too noisy for that)."""


@dataclass(frozen=True)
class Probe:
    scenario: Scenario
    test: Kind
    family: int
    services: int | None = None  # churn only: how many dummy Services exist

    @property
    def id(self) -> str:
        at = f"@{self.services}" if self.services is not None else ""
        return f"{self.test}/{self.scenario.name}{at}/ipv{self.family}"

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return METRICS[self.test]


def scenario_names() -> list[str]:
    return [s.name for s in SCENARIOS]


def select(
    patterns: Sequence[str] = ("*",),
    families: Iterable[int] = FAMILIES,
    tests: Iterable[Kind] | None = None,
    churn: Sequence[int] = DEFAULT_CHURN,
) -> list[Probe]:
    """The probes matching any glob (on the scenario name or on a probe id), in a stable order."""
    fams = sorted(set(families))
    if not fams or any(f not in FAMILIES for f in fams):
        raise InputError(f"--families {','.join(map(str, fams))}: only 4 and 6 exist", hint="use --families 4,6")
    wanted_tests = set(tests) if tests is not None else set(Kind)
    probes: list[Probe] = []
    for scenario in SCENARIOS:
        for test in scenario.tests:
            if test not in wanted_tests:
                continue
            for family in fams:
                for services in (churn if test is Kind.CHURN else (None,)):
                    probe = Probe(scenario, test, family, services)
                    if any(fnmatch.fnmatchcase(scenario.name, p) or fnmatch.fnmatchcase(probe.id, p)
                           for p in patterns):
                        probes.append(probe)
    if not probes:
        raise InputError(f"--scenario {' '.join(patterns)} matches nothing",
                         hint=f"scenarios: {', '.join(scenario_names())}; or a probe id glob like 'stream/*/ipv4'")
    return probes
