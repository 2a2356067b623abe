"""Property tests: the address rules agree with `ipaddress` on arbitrary pools (small example counts)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from rule_cases import build_context

from cilium_tune.rules import RuleContext, registry

networks = st.builds(
    lambda addr, prefix: ipaddress.ip_network((addr, prefix), strict=False),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=8, max_value=28),
)
FACTS = build_context({"facts_base": "skyforge-dev"}).facts


def run(rule_id: str, values: dict[str, object]) -> list[str]:
    found = registry.find(rule_id)
    assert found is not None
    return [f.message for f in found.run(RuleContext(values=values, facts=FACTS))]


@settings(max_examples=60, deadline=None)
@given(pool=networks)
def test_pool_service_overlap_matches_ipaddress(pool: ipaddress.IPv4Network) -> None:
    values = {"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": [str(pool)]}}}
    service = ipaddress.ip_network("10.43.0.0/16")
    assert bool(run("CT401", values)) == pool.overlaps(service)


@settings(max_examples=60, deadline=None)
@given(pool=networks, native=networks)
def test_native_cidr_must_contain_pool(pool: ipaddress.IPv4Network, native: ipaddress.IPv4Network) -> None:
    values = {
        "ipv4NativeRoutingCIDR": str(native),
        "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": [str(pool)]}},
    }
    assert bool(run("CT302", values)) == (not pool.subnet_of(native))


@settings(max_examples=60, deadline=None)
@given(pool=networks, mask=st.integers(min_value=1, max_value=32))
def test_blocks_per_node(pool: ipaddress.IPv4Network, mask: int) -> None:
    values = {
        "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": [str(pool)], "clusterPoolIPv4MaskSize": mask}},
    }
    blocks = 2 ** (mask - pool.prefixlen) if mask >= pool.prefixlen else 0
    assert bool(run("CT403", values)) == (blocks < 3)
