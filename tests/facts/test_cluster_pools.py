"""Cilium's cluster pool as `cilium-config` lists it: one reading for facts, `verify cni` and `verify dual-stack`."""

from __future__ import annotations

from ipaddress import ip_network

from cilium_tune.facts.workloads import cluster_pool_cidrs


def test_both_families_space_or_comma_separated_and_a_part_that_is_no_cidr_passed_over() -> None:
    config = {
        "cluster-pool-ipv4-cidr": "198.19.0.0/16 198.18.128.0/17,not-a-cidr",
        "cluster-pool-ipv6-cidr": "fd00:19::/104",
        "ipam": "cluster-pool",
    }
    assert cluster_pool_cidrs(config) == [
        ip_network("198.19.0.0/16"), ip_network("198.18.128.0/17"), ip_network("fd00:19::/104"),
    ]


def test_no_config_or_no_pool_is_no_pool() -> None:
    assert cluster_pool_cidrs(None) == []
    assert cluster_pool_cidrs({"ipam": "kubernetes"}) == []
