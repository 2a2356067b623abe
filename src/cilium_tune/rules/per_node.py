"""One finding per problem, not per node: the same rule saying the same thing on several nodes is
merged into a finding that lists the nodes (`each of nodes skyforge-1, skyforge-2, skyforge-3 runs ...`).

A finding is about one node when its evidence reads `nodes[NAME]...` for exactly one NAME and its
message names it. Findings merge when, with the node name taken out, message, evidence (keys and
values), fix, patch and severity are equal; a node that differs (another kernel) stays on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from cilium_tune.rules.registry import Finding

_NODE_KEY = re.compile(r"^nodes\[([^\]]+)\]")
_MARK = "\0"


def node_of(finding: Finding) -> str | None:
    """The one node a finding is about, or None."""
    names = {match.group(1) for key in finding.evidence if (match := _NODE_KEY.match(key))}
    if len(names) != 1:
        return None
    (name,) = names
    return name if name in finding.message else None


def merge_per_node(findings: Sequence[Finding]) -> list[Finding]:
    """The findings with per-node repeats merged (order kept: a group sits where its first member was)."""
    groups: dict[Any, list[tuple[str | None, Finding]]] = {}
    for index, finding in enumerate(findings):
        node = node_of(finding)
        key: Any = ("alone", index) if node is None else _shape(finding, node)
        groups.setdefault(key, []).append((node, finding))
    return [_merged(members) for members in groups.values()]


def _shape(finding: Finding, node: str) -> tuple[Any, ...]:
    evidence = tuple(
        (key.replace(f"nodes[{node}]", f"nodes[{_MARK}]"), json.dumps(value, sort_keys=True, default=str))
        for key, value in finding.evidence.items()
    )
    patch = json.dumps(finding.patch, sort_keys=True, default=str)
    return (finding.rule_id, finding.message.replace(node, _MARK), evidence, finding.fix, patch, finding.severity)


def _merged(members: list[tuple[str | None, Finding]]) -> Finding:
    node, first = members[0]
    if node is None:
        return first
    nodes = tuple(name for name, _ in members if name is not None)
    if len(nodes) == 1:
        return msgspec.structs.replace(first, nodes=nodes)
    names = ", ".join(nodes)
    message = first.message.replace(node, _MARK).replace(f"node {_MARK}", f"each of nodes {names}")
    message = message.replace(_MARK, names)
    evidence = {key.replace(f"nodes[{node}]", f"nodes[{','.join(nodes)}]"): value
                for key, value in first.evidence.items()}
    return msgspec.structs.replace(first, message=message, evidence=evidence, nodes=nodes)
