"""Meta-tests over the registry: every rule is well-formed, documented, registered and has fixtures."""

from __future__ import annotations

import typing
from pathlib import Path

import msgspec
import pytest
from pydantic import BaseModel
from rule_cases import HERE, case_paths, load_case

import cilium_tune.rules as rules_pkg
from cilium_tune.facts.model import AREAS as AREAS_OF_FACTS
from cilium_tune.facts.model import Snapshot
from cilium_tune.rules import AREAS, Rule, Severity, registry
from cilium_tune.rules.registry import (
    DOC_SECTIONS,
    ID_PATTERN,
    NAME_PATTERN,
    Registry,
    RegistryError,
    parse_doc,
    rule,
)

RULES = registry.all()
RULES_DIR = Path(rules_pkg.__file__).parent


def by_id(r: Rule) -> str:
    return r.id


def test_there_are_rules_in_every_area() -> None:
    assert {r.area for r in RULES} == set(AREAS)


@pytest.mark.parametrize("r", RULES, ids=by_id)
def test_id_and_name_are_well_formed(r: Rule) -> None:
    assert ID_PATTERN.match(r.id)
    assert NAME_PATTERN.match(r.name)
    assert int(r.id[2]) == AREAS.index(r.area) + 1, f"{r.id}: area digit does not match area {r.area}"


def test_names_are_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("r", RULES, ids=by_id)
def test_docs_have_every_section_and_fix_ends_with_a_period(r: Rule) -> None:
    assert set(DOC_SECTIONS) <= set(r.sections)
    assert r.title.endswith("."), r.title
    assert r.fix.endswith("."), r.fix
    assert r.sections["References"].strip()


@pytest.mark.parametrize("r", RULES, ids=by_id)
def test_each_rule_has_a_firing_and_a_quiet_fixture(r: Rule) -> None:
    folder = HERE / r.id
    assert list(folder.glob("fires_*.yaml")), f"{r.id}: add tests/rules/{r.id}/fires_<case>.yaml"
    assert list(folder.glob("quiet_*.yaml")), f"{r.id}: add tests/rules/{r.id}/quiet_<case>.yaml"


def test_every_fixture_folder_belongs_to_a_rule() -> None:
    folders = {p.name for p in HERE.glob("CT[0-9][0-9][0-9]") if p.is_dir()}
    assert folders <= {r.id for r in RULES}


def test_every_rule_module_is_registered_once() -> None:
    modules = {r.module for r in RULES}
    for path in RULES_DIR.glob("*/*.py"):
        if path.name == "__init__.py":
            continue
        dotted = ".".join(path.relative_to(RULES_DIR.parent.parent).with_suffix("").parts)
        assert dotted in modules, f"{path} registers no rule (missing @rule?)"
    assert len(modules) == len(RULES), "a module registers more than one rule"


def _field_exists(model: type[BaseModel], dotted: str) -> bool:
    current: object = model
    for part in dotted.split("."):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return False
        if part not in current.model_fields:
            return False
        current = _inner_model(current.model_fields[part].annotation)
    return True


def _inner_model(annotation: object) -> object:
    """The BaseModel inside Optional[...] / tuple[X, ...] / dict[..., X], else the annotation itself."""
    for arg in (*typing.get_args(annotation), annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        nested = [a for a in typing.get_args(arg) if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            return nested[0]
    return annotation


@pytest.mark.parametrize("r", RULES, ids=by_id)
def test_required_facts_exist_in_the_snapshot_schema(r: Rule) -> None:
    for dotted in r.requires:
        assert _field_exists(Snapshot, dotted), f"{r.id} requires {dotted}, which Snapshot does not have"


# ---- the registry itself


def _doc_rule(into: Registry, rule_id: str = "CT999", name: str = "example-condition") -> None:
    @rule(id=rule_id, name=name, severity=Severity.INFO, since="0.1.0", into=into)
    def check(ctx: object) -> list[object]:
        """Example.

        What it checks: a.
        Why it matters: b.
        Example: c.
        Fix: d.
        References: e.
        """
        return []


def test_registry_refuses_a_duplicate_id() -> None:
    fresh = Registry()
    _doc_rule(fresh)
    with pytest.raises(RegistryError, match="duplicate rule id CT999"):
        _doc_rule(fresh, name="other-condition")


def test_registry_refuses_a_duplicate_name() -> None:
    fresh = Registry()
    _doc_rule(fresh)
    with pytest.raises(RegistryError, match="duplicate rule name"):
        _doc_rule(fresh, rule_id="CT998")


@pytest.mark.parametrize("bad_id", ["CT21", "ct201", "XX201", "CT2011"])
def test_registry_refuses_a_malformed_id(bad_id: str) -> None:
    with pytest.raises(RegistryError, match="does not match"):
        _doc_rule(Registry(), rule_id=bad_id)


def test_registry_refuses_a_rule_without_doc_sections() -> None:
    with pytest.raises(RegistryError, match="sections"):

        @rule(id="CT997", name="undocumented", severity=Severity.INFO, since="0.1.0", into=Registry())
        def check(ctx: object) -> list[object]:
            """Only a title."""
            return []


def test_parse_doc_splits_title_and_sections() -> None:
    title, sections = parse_doc(
        """Title line.

        What it checks:
            first
            second
        Fix: inline text.
        """
    )
    assert title == "Title line."
    assert sections == {"What it checks": "first\nsecond", "Fix": "inline text."}


def test_find_accepts_id_name_and_any_case() -> None:
    r = RULES[0]
    assert registry.find(r.id.lower()) is r
    assert registry.find(r.name) is r
    assert registry.find("CT000") is None


def test_select_by_area_prefix() -> None:
    selected = registry.select(["CT2"])
    assert selected and all(r.id.startswith("CT2") for r in selected)
    with pytest.raises(KeyError):
        registry.select(["no-such-rule"])


# ---- unknown is not false

ALL_UNKNOWN = Snapshot.model_validate(
    {"collected_at": "2026-01-01T00:00:00Z", "unknown": {area: "not collected (test)" for area in AREAS_OF_FACTS}}
)
FACT_PREFIXES = tuple(f"{area}{sep}" for area in AREAS_OF_FACTS for sep in ("[", "."))


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_finding_cites_a_fact_that_was_not_collected(path: Path) -> None:
    """Each fixture's values against a snapshot where every area is unknown: no finding may rest on facts."""
    case = load_case(path)
    found = registry.find(case.rule_id)
    assert found is not None
    target = case.ctx.target_version
    if target is not None and target[1].startswith(FACT_PREFIXES):
        target = None  # the live release's chart version: unknown with the facts, as the desired state has it
    ctx = msgspec.structs.replace(case.ctx, facts=ALL_UNKNOWN, target_version=target)
    for finding in found.run(ctx):
        cited = [key for key in finding.evidence if key.startswith(FACT_PREFIXES)]
        assert not cited, f"{case.rule_id} fired on unknown facts: {cited}"
