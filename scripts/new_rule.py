#!/usr/bin/env python3
"""Write the skeleton of a new preflight rule: its module and its two fixture stubs.

    scripts/new_rule.py --id CT207 --name big-tcp-with-tunnel-routing --area datapath --severity warning

Creates src/cilium_tune/rules/<area>/<name_with_underscores>.py (registered by being there: the area
package imports every module in it) and tests/rules/<ID>/{fires_example,quiet_example}.yaml. Fill in
the docstring sections, the check and the fixtures, then run `cilium-tune docs --write` to refresh
docs/rules.md. The meta-tests fail until the stubs hold a real rule.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cilium_tune import __version__  # noqa: E402
from cilium_tune.rules import AREAS, registry  # noqa: E402
from cilium_tune.rules.registry import ID_PATTERN, NAME_PATTERN  # noqa: E402

MODULE = '''from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="{id}", name="{name}", severity=Severity.{severity}, since="{since}")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """TODO: one line naming the condition found (not the fix).

    What it checks:
        TODO: the values and facts read, and the condition.
    Why it matters:
        TODO: what breaks, and how the user would notice.
    Example:
        TODO: a values/facts combination that triggers it.
    Fix:
        TODO: how to fix it, ending with a period.
    References:
        - TODO: cilium-k3s-facts section, issue or PR numbers.
    """
    if derive.kpr_enabled(ctx):  # TODO: the real condition
        yield Finding("TODO: what was found, naming the node/key", evidence={{"values.kubeProxyReplacement": True}})
'''

FIXTURE = """description: TODO {what}
values: {{}}
# values_base: skyforge-dev
# facts_base: skyforge-dev
# facts: {{nodes: [{{name: skyforge-2, kernel: 6.1.0-18-amd64}}]}}
expect: {expect}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--id", required=True, help="CT + area digit + two digits, never reused")
    parser.add_argument("--name", required=True, help="kebab-case, naming the condition found")
    parser.add_argument("--area", required=True, choices=AREAS)
    parser.add_argument("--severity", default="warning", choices=["error", "warning", "info"])
    args = parser.parse_args(argv)

    problems = []
    if not ID_PATTERN.match(args.id):
        problems.append(f"id {args.id!r} must look like CT201")
    elif int(args.id[2]) != AREAS.index(args.area) + 1:
        problems.append(f"ids of area {args.area} start with CT{AREAS.index(args.area) + 1}")
    if not NAME_PATTERN.match(args.name):
        problems.append(f"name {args.name!r} must be kebab-case")
    if registry.find(args.id) or registry.find(args.name):
        problems.append(f"{args.id} or {args.name} is already registered")
    module = ROOT / "src" / "cilium_tune" / "rules" / args.area / f"{args.name.replace('-', '_')}.py"
    fixtures = ROOT / "tests" / "rules" / args.id
    if module.exists() or fixtures.exists():
        problems.append(f"{module.relative_to(ROOT)} or {fixtures.relative_to(ROOT)} already exists")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2

    module.write_text(
        MODULE.format(id=args.id, name=args.name, severity=args.severity.upper(), since=__version__),
        encoding="utf-8",
    )
    fixtures.mkdir(parents=True)
    (fixtures / "fires_example.yaml").write_text(
        FIXTURE.format(what="a situation the rule reports", expect="\n  - {severity: " + args.severity + "}"),
        encoding="utf-8",
    )
    (fixtures / "quiet_example.yaml").write_text(
        FIXTURE.format(what="a close situation the rule must accept", expect="[]"), encoding="utf-8"
    )
    for path in (module, fixtures / "fires_example.yaml", fixtures / "quiet_example.yaml"):
        print(f"wrote {path.relative_to(ROOT)}")
    print("next: fill in the TODOs, run pytest tests/rules, then `cilium-tune docs --write`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
