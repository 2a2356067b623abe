"""Precision and recall of the unknown-key check on 50 real values files, from the manual review.

tests/catalog/corpus_review.yaml holds a judgment for every key the check reports and every key that is
not a real key of the chart's values.yaml (commented-out examples, template-only keys, unknown keys):
`ignored` (it has no effect, or makes the install fail) or `valid`, each with the reason. The corpus
itself is read from /work/shared/corpus at test time, never copied into the repository.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.values.catalog import MAP, KeyCatalog, unknown_keys
from cilium_tune.values.catalogs import catalog_for_version
from cilium_tune.values.paths import KeyPath, format_path, parse_path

CORPUS = Path("/work/shared/corpus/values")
FILES = sorted(CORPUS.glob("*.yaml"))
REVIEW = Path(__file__).with_name("corpus_review.yaml")

pytestmark = pytest.mark.skipif(len(FILES) != 50, reason=f"{CORPUS} is absent (shared reference data)")


@functools.cache
def review() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(REVIEW.read_text())
    return data


def _needs_judgment(values: dict[str, Any], catalog: KeyCatalog, parent: KeyPath = ()) -> set[str]:
    """Keys that are not real values.yaml keys, walked as the check walks (free-form maps are skipped)."""
    found: set[str] = set()
    if catalog.is_free(parent):
        return found
    for key, value in values.items():
        here = (*parent, str(key))
        if not catalog.knows(here):
            found.add(format_path(here))
            continue
        if catalog.seen_as.get(here) != "v":
            found.add(format_path(here))
        if isinstance(value, dict) and catalog.expected_type(here) in (MAP, None):
            found |= _needs_judgment(value, catalog, here)
    return found


def _below(key: str, ignored: set[str]) -> bool:
    path = parse_path(key)
    return any(format_path(path[:end]) in ignored for end in range(1, len(path)))


def measure() -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) over the corpus."""
    catalog = catalog_for_version(str(review()["version"]))
    tp = fp = fn = 0
    for path in FILES:
        values = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        judged: dict[str, list[str]] = review()["files"].get(path.name[:2], {})
        flagged = {u.dotted for u in unknown_keys(values, catalog)}
        assert flagged <= judged.keys(), f"{path.name}: findings nobody reviewed: {sorted(flagged - judged.keys())}"
        ignored = {key for key, (verdict, _why) in judged.items() if verdict == "ignored"}
        missing = {key for key in _needs_judgment(values, catalog) - judged.keys() if not _below(key, ignored)}
        assert not missing, f"{path.name}: keys to review: {sorted(missing)}"
        tp += len(flagged & ignored)
        fp += len(flagged - ignored)
        fn += len(ignored - flagged)
    return tp, fp, fn


def test_the_review_is_well_formed() -> None:
    for number, judged in review()["files"].items():
        for key, judgment in judged.items():
            verdict, why = judgment
            assert verdict in ("ignored", "valid"), (number, key)
            assert len(why) > 20, (number, key)


def test_precision_and_recall_on_the_reviewed_corpus() -> None:
    tp, fp, fn = measure()
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\ncorpus: {tp} true positives, {fp} false positives, {fn} missed; "
          f"precision {precision:.3f}, recall {recall:.3f}")  # fmt: skip
    assert precision >= 0.95
    assert recall >= 0.95
