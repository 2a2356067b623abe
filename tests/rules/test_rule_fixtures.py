"""Every rule against its fixtures: each `fires_*` case yields exactly the expected findings, each
`quiet_*` case yields none."""

from __future__ import annotations

import pytest
from rule_cases import Case, case_paths, load_case, mismatch

from cilium_tune.rules import registry
from cilium_tune.rules.per_node import merge_per_node


@pytest.fixture(params=case_paths(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def case(request: pytest.FixtureRequest) -> Case:
    return load_case(request.param)


def test_rule_finds_what_the_fixture_expects(case: Case) -> None:
    rule = registry.find(case.rule_id)
    assert rule is not None, f"{case.path}: no rule {case.rule_id}"
    findings = merge_per_node(rule.run(case.ctx))  # as lint shows them: per-node repeats merged
    if not case.fires:
        assert findings == [], f"{case.description}: expected no findings"
        return
    assert case.expect, f"{case.path}: a fires_ fixture must list its expected findings"
    assert len(findings) == len(case.expect), [f.message for f in findings]
    for finding, expected in zip(findings, case.expect, strict=True):
        assert finding.rule_id == case.rule_id
        problem = mismatch(finding, expected)
        assert problem is None, f"{case.description}: {problem}"
