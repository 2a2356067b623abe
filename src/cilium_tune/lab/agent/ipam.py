"""Cluster-pool IPAM: which pod block a node owns. Pure.

Cilium's operator carves the cluster-pool CIDRs into blocks of the configured mask size and hands one to
each node. The lab's address plan gives node i (1-based) the i-th block, and records it in the Node's
spec.podCIDRs as k3s would; the agent takes spec.podCIDRs when present and otherwise computes the block
itself from the pool, so both views agree as long as cilium-config and the lab profile do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cilium_tune.lab.agent.config import AgentConfig
from cilium_tune.lab.agent.model import IPNetwork


class PoolExhausted(ValueError):
    pass


def pool_block(pools: Sequence[IPNetwork], mask: int, index: int) -> IPNetwork:
    """The `index`-th block of size /mask across the pool list, in order."""
    for pool in pools:
        if mask < pool.prefixlen:
            raise PoolExhausted(f"mask size /{mask} is larger than the pool {pool}")
        count = 1 << (mask - pool.prefixlen)
        if index < count:
            step = 1 << (pool.max_prefixlen - mask)
            return ipaddress.ip_network((int(pool.network_address) + index * step, mask))
        index -= count
    raise PoolExhausted(f"no /{mask} block left in {' '.join(map(str, pools))}")


def node_pod_cidrs(cfg: AgentConfig, spec_cidrs: Sequence[str], index: int) -> tuple[IPNetwork, ...]:
    """The node's pod blocks for the enabled families: spec.podCIDRs first, the cluster pool otherwise."""
    given = [ipaddress.ip_network(c, strict=False) for c in spec_cidrs]
    result: list[IPNetwork] = []
    for version in cfg.families:
        found = next((c for c in given if c.version == version), None)
        if found is None:
            pools: Sequence[IPNetwork] = cfg.cluster_pool_ipv4 if version == 4 else cfg.cluster_pool_ipv6
            mask = cfg.cluster_pool_ipv4_mask if version == 4 else cfg.cluster_pool_ipv6_mask
            if not pools:
                continue
            found = pool_block(pools, mask, index)
        result.append(found)
    return tuple(result)


def outside_pool(cfg: AgentConfig, cidrs: Sequence[IPNetwork]) -> list[str]:
    """Blocks that no cluster-pool CIDR contains (a profile / cilium-config mismatch worth logging)."""
    bad = []
    for cidr in cidrs:
        pools: Sequence[IPNetwork] = cfg.cluster_pool_ipv4 if cidr.version == 4 else cfg.cluster_pool_ipv6
        if pools and not any(cidr.subnet_of(p) for p in pools):  # type: ignore[arg-type]
            bad.append(str(cidr))
    return bad
