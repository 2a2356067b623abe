"""Label and field selectors, parsed once per request and applied to stored objects.

Supports the label grammar clients send (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`)
and field selectors on any dotted path (`metadata.name=x`, `spec.nodeName!=`, `status.phase=Running`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t for t in (t.strip() for t in terms) if t]


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    for op in ("!=", "==", "="):
        if op in term and "(" not in term:
            key, _, value = (s.strip() for s in term.partition(op))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    m = _SET_RE.match(term)
    if not m:
        raise bad_request(f"unable to parse requirement: {term!r}")
    neg, key, op, values = m.groups()
    if op:
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if neg:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def label_selector(text: str | None) -> Predicate | None:
    """A predicate over objects from a `labelSelector` string, or None when it selects everything."""
    if not text:
        return None
    terms = [_label_term(t) for t in _split_terms(text)]

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(t(labels) for t in terms)

    return match


def match_label_selector(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A structured LabelSelector (matchLabels + matchExpressions); an empty selector matches all."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
        if (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string form of a dotted path, "" when absent (Kubernetes compares missing as empty)."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_selector(text: str | None) -> Predicate | None:
    """A predicate from a `fieldSelector` string (`=`, `==`, `!=` on dotted paths)."""
    if not text:
        return None
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        for op in ("!=", "==", "="):
            if op in term:
                path, _, value = (s.strip() for s in term.partition(op))
                terms.append((path, op == "!=", value))
                break
        else:
            raise bad_request(f"invalid field selector: {term!r}: expected path=value or path!=value")

    def match(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, p) != v) if neg else (field_value(obj, p) == v) for p, neg, v in terms)

    return match


def combine(*preds: Predicate | None) -> Predicate | None:
    live = [p for p in preds if p is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0]
    return lambda obj: all(p(obj) for p in live)
