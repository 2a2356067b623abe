"""The references of a rule's doc as links a reader can open.

A reference line names its source in words (`cilium/cilium issue #46337`, `Cilium tuning guide`,
`cilium-k3s-facts section 2`); this turns each name into the public page it stands for. The fact
sheet's sections are summaries of the Cilium documentation pages listed here. The runbook is the
user's own document, so it gets no link.
"""

from __future__ import annotations

import re

from cilium_tune.rules.registry import Rule

DOCS = "https://docs.cilium.io/en/stable"
FACT_SECTIONS = {
    "1": f"{DOCS}/helm-reference/",
    "2": f"{DOCS}/operations/system_requirements/",
    "3": f"{DOCS}/operations/performance/tuning/",
    "4": f"{DOCS}/installation/k3s/",
    "5": f"{DOCS}/operations/troubleshooting/",
}
_ISSUE = re.compile(r"cilium/cilium (issues?|PRs?) (#\d+(?:(?:,| and) #\d+)*)")
_FACTS = re.compile(r"cilium-k3s-facts section (\d)")
_URL = re.compile(r"https?://\S+[^\s.,;)]")


def links(rule: Rule) -> list[str]:
    """The URLs the rule's References section points to, in order, each once."""
    found: list[str] = []
    for line in rule.sections.get("References", "").splitlines():
        found += _URL.findall(line)
        for kind, numbers in _ISSUE.findall(line):
            path = "pull" if kind.startswith("PR") else "issues"
            found += [f"https://github.com/cilium/cilium/{path}/{n}" for n in re.findall(r"\d+", numbers)]
        found += [FACT_SECTIONS[n] for n in _FACTS.findall(line) if n in FACT_SECTIONS]
        if "Cilium tuning guide" in line:
            found.append(f"{DOCS}/operations/performance/tuning/")
    return list(dict.fromkeys(found))
