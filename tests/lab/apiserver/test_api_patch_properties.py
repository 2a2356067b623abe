"""Properties of the patch functions over generated JSON documents."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cilium_tune.lab.apiserver import managed, patch

keys = st.sampled_from(["a", "b", "c", "name"])
scalars = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.booleans())
docs = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12)
maps: st.SearchStrategy[dict[str, Any]] = st.dictionaries(keys, docs, max_size=4)
patches = st.recursive(st.one_of(scalars, st.none()),
                       lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12)
FEW = settings(max_examples=60, deadline=None)


@FEW
@given(maps, patches)
def test_merge_patch_is_idempotent(target: dict[str, Any], p: Any) -> None:
    once = patch.merge_patch(target, p)
    assert patch.merge_patch(once, p) == once


@FEW
@given(maps, patches)
def test_strategic_merge_equals_merge_patch_without_lists(target: dict[str, Any], p: Any) -> None:
    assert patch.strategic_merge(target, p) == patch.merge_patch(target, p)


@FEW
@given(maps, keys, docs)
def test_json_patch_add_then_remove_restores_a_new_key(target: dict[str, Any], key: str, value: Any) -> None:
    target.pop(key, None)
    added = patch.json_patch(target, [{"op": "add", "path": f"/{key}", "value": value}])
    assert added[key] == value
    assert patch.json_patch(added, [{"op": "remove", "path": f"/{key}"}]) == target


@FEW
@given(maps, maps)
def test_applying_the_same_configuration_twice_changes_nothing(live: dict[str, Any], applied: dict[str, Any]) -> None:
    live, applied = {**live, "metadata": {}}, {k: v for k, v in applied.items() if k != "metadata"}
    once = managed.apply(live, applied, "m", "v1", "", "t")
    assert managed.apply(once, applied, "m", "v1", "", "t") == once
