"""Load the data-driven rule fixtures: tests/rules/CT###/{fires_*,quiet_*}.yaml.

A fixture describes one situation and what the rule of its folder must say about it:

    description: netkit asked for while skyforge-2 still runs kernel 6.1
    values_base: skyforge-dev        # optional: _bases/values/<name>.yaml
    values: {bpf: {datapathMode: netkit}}   # merged over the base as `helm -f` does (null deletes)
    facts_base: skyforge-dev         # optional: _bases/facts/<name>.yaml (a Snapshot)
    facts:                           # merged over the base; lists of named items merge by name/node,
      nodes: [{name: skyforge-2, kernel: 6.1.0-18-amd64}]   # an item with `$delete: true` is removed,
      unknown: {probes: $delete}     # a key whose value is `$delete` is removed
    profile: skyforge-dev            # optional built-in profile name
    baseline: {source: before.yaml, chart_version: 1.18.4, values: {}}   # optional
    expect:                          # the rule's findings, in order ([] for a quiet fixture)
      - severity: error
        message: [skyforge-2, "6.1"] # substrings the message must contain
        evidence: {"nodes[skyforge-2].kernel": 6.1.0-18-amd64}   # a subset of the evidence

`facts: null` (with no base) means "no snapshot at all". Kernel versions may be written as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cilium_tune.desired import chart_target
from cilium_tune.facts.model import KernelVersion, Snapshot
from cilium_tune.rules import BaselineInfo, Finding, RuleContext

HERE = Path(__file__).resolve().parent
BASES = HERE / "_bases"
_DELETE = "$delete"


@dataclass(frozen=True)
class Case:
    path: Path
    rule_id: str
    fires: bool
    description: str
    ctx: RuleContext
    expect: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.rule_id}/{self.path.stem}"


def case_paths() -> list[Path]:
    return sorted(HERE.glob("CT[0-9][0-9][0-9]/*.yaml"))


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def merge_values(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Helm's -f semantics for the fixtures: maps deep-merge, lists are replaced, null deletes."""
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def merge_facts(base: Any, patch: Any) -> Any:
    """Maps deep-merge; lists of named items (name/node) merge item by item; anything else replaces."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value == _DELETE:
                out.pop(key, None)
            else:
                out[key] = merge_facts(out[key], value) if key in out else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and patch and all(_item_key(p) for p in patch):
        items = list(base)
        for item in patch:
            key = _item_key(item)
            index = next((i for i, old in enumerate(items) if _item_key(old) == key), None)
            if item.get(_DELETE):
                if index is not None:
                    del items[index]
            elif index is None:
                items.append(item)
            else:
                items[index] = merge_facts(items[index], item)
        return items
    return patch


def _item_key(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    key = item.get("name", item.get("node"))
    return key if isinstance(key, str) else None


def snapshot_from(data: dict[str, Any]) -> Snapshot:
    """Validate fixture facts into a Snapshot, accepting `kernel: "6.1.0-18-amd64"` shorthand."""
    nodes = []
    for node in data.get("nodes", []):
        kernel = node.get("kernel")
        if isinstance(kernel, str):
            parsed = KernelVersion.parse(kernel)
            node = {**node, "kernel": parsed.model_dump() if parsed else None}
        nodes.append(node)
    return Snapshot.model_validate({**data, "nodes": nodes})


def build_context(doc: dict[str, Any]) -> RuleContext:
    """The RuleContext a fixture (or a facts/values base pair) describes."""
    values: dict[str, Any] = {}
    if doc.get("values_base"):
        values = read_yaml(BASES / "values" / f"{doc['values_base']}.yaml") or {}
    values = merge_values(values, doc.get("values") or {})
    facts: Snapshot | None = None
    if doc.get("facts_base") or doc.get("facts") is not None:
        raw: Any = read_yaml(BASES / "facts" / f"{doc['facts_base']}.yaml") if doc.get("facts_base") else {}
        facts = snapshot_from(merge_facts(raw, doc.get("facts") or {}))
    profile = None
    if doc.get("profile"):
        from cilium_tune.profile.load import load_profile

        profile = load_profile(doc["profile"])
    baseline = None
    if doc.get("baseline") is not None:
        b = doc["baseline"]
        baseline = BaselineInfo(
            values=b.get("values") or {},
            source=b["source"],
            chart_version=b.get("chart_version"),
            user_values_layered=bool(b.get("user_values_layered")),
        )
    live = facts.helm_release.chart_version if facts is not None and facts.helm_release is not None else None
    target = chart_target(None, profile.release.version if profile is not None else None, live)
    return RuleContext(values=values, facts=facts, profile=profile, baseline=baseline, target_version=target)


def load_case(path: Path) -> Case:
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not doc.get("description") or "expect" not in doc:
        raise ValueError(f"{path}: a fixture needs `description` and `expect`")
    return Case(
        path=path,
        rule_id=path.parent.name,
        fires=path.name.startswith("fires_"),
        description=doc["description"],
        ctx=build_context(doc),
        expect=list(doc["expect"] or []),
    )


def mismatch(finding: Finding, expected: dict[str, Any]) -> str | None:
    """Why `finding` does not match one `expect` entry, or None when it does."""
    severity = expected.get("severity")
    if severity is not None and str(finding.severity) != severity:
        return f"severity {finding.severity} != {severity}"
    wanted = expected.get("message", [])
    for part in [wanted] if isinstance(wanted, str) else wanted:
        if str(part) not in finding.message:
            return f"message {finding.message!r} lacks {part!r}"
    for key, value in (expected.get("evidence") or {}).items():
        if key not in finding.evidence:
            return f"evidence lacks {key!r} (has {sorted(finding.evidence)})"
        if str(finding.evidence[key]) != str(value):
            return f"evidence {key}={finding.evidence[key]!r} != {value!r}"
    return None
