"""Dotted paths, the structural diff, and YAML output that Helm reads back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cilium_tune.errors import InputError
from cilium_tune.values import diff_values, flatten, format_path, get_path, load_values_text, parse_path
from cilium_tune.values.emit import dump_json, dump_yaml

# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("bpf", "datapathMode"), "bpf.datapathMode"),
        (("nodeSelector", "kubernetes.io/os"), 'nodeSelector."kubernetes.io/os"'),
        (("a", 'say "hi"'), 'a."say \\"hi\\""'),
        (("a", ""), 'a.""'),
        (("with space",), '"with space"'),
    ],
)
def test_paths_quote_only_keys_that_need_it(path: tuple[str, ...], text: str) -> None:
    assert format_path(path) == text
    assert parse_path(text) == path


@settings(max_examples=200)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=4).map(tuple))
def test_parse_path_inverts_format_path(path: tuple[str, ...]) -> None:
    assert parse_path(format_path(path)) == path


@pytest.mark.parametrize("text", ["", "a..b", 'a."b', 'a."b"c', "a.", 'a."\\x"'])
def test_malformed_paths_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_path(text)


def test_get_path_and_flatten() -> None:
    values = {"ipam": {"mode": "kubernetes", "operator": {}}, "nodeSelector": {"kubernetes.io/os": "linux"}}
    assert get_path(values, "ipam.mode") == "kubernetes"
    assert get_path(values, "ipam.nope", default=None) is None
    with pytest.raises(KeyError):
        get_path(values, "ipam.mode.deeper")
    assert flatten(values) == {
        "ipam.mode": "kubernetes",
        "ipam.operator": {},
        'nodeSelector."kubernetes.io/os"': "linux",
    }


# --- diff ----------------------------------------------------------------------------------------


def test_diff_reports_added_removed_changed_by_path() -> None:
    old = {"a": 1, "b": {"c": [1, 2], "d": True}, "gone": "x"}
    new = {"a": 1.0, "b": {"c": [1, 3], "d": 1}, "new": {"k.z": None}}
    diff = diff_values(old, new)
    assert [(e.kind, e.dotted) for e in diff.entries] == [
        ("changed", "b.c"),  # lists are compared whole
        ("changed", "b.d"),  # true is not 1
        ("removed", "gone"),
        ("added", "new"),
    ]
    assert diff.to_dict() == {
        "added": [{"kind": "added", "path": "new", "new": {"k.z": None}}],
        "removed": [{"kind": "removed", "path": "gone", "old": "x"}],
        "changed": [
            {"kind": "changed", "path": "b.c", "old": [1, 2], "new": [1, 3]},
            {"kind": "changed", "path": "b.d", "old": True, "new": 1},
        ],
    }


def test_a_map_turning_into_a_scalar_is_one_change() -> None:
    diff = diff_values({"a": {"b": 1}}, {"a": 5})
    assert [(e.kind, e.dotted, e.old, e.new) for e in diff.entries] == [("changed", "a", {"b": 1}, 5)]


def test_same_values_have_an_empty_diff() -> None:
    values = {"a": {"b": [1, {"c": None}]}, "s": "1"}
    assert diff_values(values, values).is_empty
    assert not diff_values({"s": "1"}, {"s": 1}).is_empty


# --- emit ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=15,
)  # fmt: skip


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_emitted_yaml_reads_back_to_the_same_values(values: dict[str, Any]) -> None:
    assert diff_values(load_values_text(dump_yaml(values), "out.yaml").values, values).is_empty


@pytest.mark.parametrize("text", ["y", "n", "08", "0o12", "1_", "<<", "yes", "~", "1e3", "0x1F", ".5_0"])
def test_strings_go_yaml_would_misread_are_quoted(text: str) -> None:
    assert dump_yaml({"k": text}) != f"k: {text}\n"
    assert load_values_text(dump_yaml({"k": text}), "out.yaml").values == {"k": text}


def test_output_is_sorted_block_yaml_and_json() -> None:
    values = {"b": [1, "x"], "a": {"d": True, "c": None}, "e": {}}
    assert dump_yaml(values) == "a:\n  c: null\n  d: true\nb:\n- 1\n- x\ne: {}\n"
    assert dump_json(values).startswith('{\n  "a": {\n    "c": null,')


def test_public_surface_is_pinned() -> None:
    import cilium_tune.values as package

    assert sorted(package.__all__) == [
        "DiffEntry", "Explanation", "LoadedValues", "MergedValues", "Origin", "Override", "ValuesDiff",
        "diff_values", "flatten", "format_path", "get_path", "load_values", "load_values_text", "merge_values",
        "parse_path",
    ]  # fmt: skip
