"""The preflight rule registry: `@rule` registers a check function, refusing duplicate ids and names.

A rule is one module holding one pure function `check(ctx) -> Iterable[Finding]`. Its docstring is the
rule's documentation: the first line is the one-line title, then the sections named in `DOC_SECTIONS`.
The registry is the only list of rules; `rules/__init__.py` imports every rule module so that
importing `cilium_tune.rules` fills it, and the docs (`docs/rules.md`) are generated from it.

Ids are `CT` + an area digit + two digits and are never reused; a renamed rule keeps its id, a removed
id can be pointed at its successor through `REDIRECTS`.
"""

from __future__ import annotations

import enum
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from cilium_tune.rules.context import RuleContext

ID_PATTERN = re.compile(r"^CT\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOC_SECTIONS = ("What it checks", "Why it matters", "Example", "Fix", "References")

# Old id -> current id, for rules that were merged or split. Empty until the first rename.
REDIRECTS: dict[str, str] = {}


class Severity(enum.StrEnum):
    """How bad a finding is. `lint` fails on `error` by default (`--fail-on` makes it stricter)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe, so findings sort worst first."""
        return _RANK[self]

    def at_least(self, threshold: Severity) -> bool:
        """True when this severity is as bad as `threshold` or worse."""
        return self.rank <= threshold.rank


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class RuleStatus(enum.StrEnum):
    """Lifecycle of a rule, as ruff does it: preview rules may change wording or conditions."""

    STABLE = "stable"
    PREVIEW = "preview"


class Finding(msgspec.Struct, frozen=True):
    """One problem a rule found.

    `evidence` maps the fact or value paths the rule read (`nodes[skyforge-2].kernel`,
    `values.bpf.datapathMode`) to the values it saw, so a user can check the claim. `fix` is one or
    more sentences; it defaults to the rule's documented fix. `patch` is an optional Helm values
    fragment that would fix it. `severity` defaults to the rule's; a rule lowers it only for
    findings that are merely informative (for example "unknown" facts). `nodes` lists the nodes a
    finding is about, once the runner has merged a rule's per-node repeats (`rules/per_node.py`).
    """

    message: str
    evidence: Mapping[str, Any] = msgspec.field(default_factory=dict)
    fix: str | None = None
    patch: Mapping[str, Any] | None = None
    severity: Severity | None = None
    rule_id: str = ""
    nodes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output (rule metadata is added by the report)."""
        return {
            "rule_id": self.rule_id,
            "severity": str(self.severity) if self.severity else None,
            "message": self.message,
            "evidence": dict(self.evidence),
            "fix": self.fix,
            "patch": dict(self.patch) if self.patch is not None else None,
            "nodes": list(self.nodes),
        }


CheckFunction = Callable[["RuleContext"], Iterable[Finding]]


class Rule(msgspec.Struct, frozen=True):
    """A registered rule: metadata, the parsed documentation and the check function."""

    id: str
    name: str
    severity: Severity
    since: str
    status: RuleStatus
    area: str
    title: str
    sections: Mapping[str, str]
    check: CheckFunction
    module: str
    source_file: str
    source_line: int
    requires: tuple[str, ...] = ()

    @property
    def fix(self) -> str:
        """The documented fix, as one paragraph."""
        return " ".join(self.sections.get("Fix", "").split())

    def run(self, ctx: RuleContext) -> list[Finding]:
        """Run the check and stamp each finding with this rule's id, severity and default fix."""
        out = []
        for finding in self.check(ctx):
            if finding.rule_id and finding.rule_id != self.id:
                raise ValueError(f"{self.id} yielded a finding for {finding.rule_id}")
            out.append(
                msgspec.structs.replace(
                    finding,
                    rule_id=self.id,
                    severity=finding.severity or self.severity,
                    fix=finding.fix or self.fix,
                )
            )
        return out


class RegistryError(Exception):
    """A rule is declared wrongly (duplicate id or name, bad id, missing doc sections)."""


class Registry:
    """Rules by id. Refuses duplicates so two modules can never claim the same id or name."""

    def __init__(self) -> None:
        self._by_id: dict[str, Rule] = {}
        self._by_name: dict[str, Rule] = {}

    def add(self, rule: Rule) -> None:
        if rule.id in self._by_id:
            other = self._by_id[rule.id]
            raise RegistryError(f"duplicate rule id {rule.id}: {other.module} and {rule.module}")
        if rule.name in self._by_name:
            other = self._by_name[rule.name]
            raise RegistryError(f"duplicate rule name {rule.name}: {other.module} and {rule.module}")
        if rule.id in REDIRECTS:
            raise RegistryError(f"rule id {rule.id} was retired (redirects to {REDIRECTS[rule.id]})")
        self._by_id[rule.id] = rule
        self._by_name[rule.name] = rule

    def all(self) -> list[Rule]:
        """Every rule, ordered by id."""
        return [self._by_id[key] for key in sorted(self._by_id)]

    def __len__(self) -> int:
        return len(self._by_id)

    def find(self, key: str) -> Rule | None:
        """A rule by id (case-insensitive, following redirects) or by name; None if unknown."""
        upper = key.upper()
        upper = REDIRECTS.get(upper, upper)
        return self._by_id.get(upper) or self._by_name.get(key.lower())

    def select(self, keys: Iterable[str]) -> list[Rule]:
        """Rules matching ids, names or id prefixes (`CT2` selects the datapath area)."""
        chosen: dict[str, Rule] = {}
        for key in keys:
            exact = self.find(key)
            matches = [exact] if exact else [r for r in self.all() if r.id.startswith(key.upper())]
            if not matches:
                raise KeyError(key)
            chosen.update((r.id, r) for r in matches)
        return [chosen[key] for key in sorted(chosen)]


registry = Registry()


def parse_doc(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a rule docstring into its one-line title and its named sections (dedented bodies)."""
    text = inspect.cleandoc(doc or "")
    lines = text.splitlines()
    title = lines[0].strip() if lines else ""
    sections: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []
    heading = re.compile(rf"^({'|'.join(map(re.escape, DOC_SECTIONS))}):\s*(.*)$")
    for line in lines[1:]:
        match = heading.match(line)
        if match:
            if current is not None:
                sections[current] = textwrap.dedent("\n".join(body)).strip()
            current, body = match.group(1), [match.group(2)] if match.group(2) else []
        elif current is not None:
            body.append(line)
    if current is not None:
        sections[current] = textwrap.dedent("\n".join(body)).strip()
    return title, sections


def rule(
    *,
    id: str,
    name: str,
    severity: Severity,
    since: str,
    status: RuleStatus = RuleStatus.STABLE,
    requires: Iterable[str] = (),
    into: Registry | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated check function as a rule.

    `requires` names the snapshot fields the rule reads (dotted, e.g. `nodes.kernel`); a meta-test
    checks them against the facts model. `into` exists for tests of the registry itself.
    """
    target = registry if into is None else into
    if not ID_PATTERN.match(id):
        raise RegistryError(f"rule id {id!r} does not match CT### (e.g. CT201)")
    if not NAME_PATTERN.match(name):
        raise RegistryError(f"rule name {name!r} is not kebab-case")

    def register(func: CheckFunction) -> CheckFunction:
        title, sections = parse_doc(func.__doc__)
        missing = [s for s in DOC_SECTIONS if not sections.get(s)]
        if not title or missing:
            raise RegistryError(f"{id} {name}: docstring lacks a title or sections {missing}")
        module = func.__module__
        parts = module.split(".")
        area = parts[-2] if len(parts) >= 2 and parts[-3:-2] == ["rules"] else ""
        # The code object knows its file and first line (the decorator's); reading the source is slow.
        source_file = func.__code__.co_filename
        source_line = func.__code__.co_firstlineno
        target.add(
            Rule(
                id=id,
                name=name,
                severity=Severity(severity),
                since=since,
                status=RuleStatus(status),
                area=area,
                title=title,
                sections=sections,
                check=func,
                module=module,
                source_file=source_file,
                source_line=source_line,
                requires=tuple(requires),
            )
        )
        return func

    return register
