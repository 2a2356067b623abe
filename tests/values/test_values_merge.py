"""Helm's merge of `-f` files over chart defaults, with provenance.

CHART_CASES are both examples for readers and checks against the real helm binaries (helm-marked test).
"""

from __future__ import annotations

from typing import Any

import pytest
from values_oracle import HelmOracle, canonical

from cilium_tune.errors import InputError
from cilium_tune.values import Origin, load_values_text, merge_values

# (chart values.yaml, -f files, the .Values helm renders)
CHART_CASES: list[tuple[str, str, list[str], dict[str, Any]]] = [
    ("maps deep-merge, lists replace", "a: {x: 1, l: [1, 2]}\n", ["a: {z: 2, l: [3]}\n"],
     {"a": {"x": 1, "z": 2, "l": [3]}}),
    ("a null deletes a chart default", "a: 1\nb: 2\n", ["a: null\n"], {"b": 2}),
    ("a null deletes a whole default map", "a: {b: {c: 1}}\n", ["a: {b: null}\n"], {"a": {}}),
    ("a null for a key the chart lacks stays", "a: {c: 2}\n", ["a: {x: null}\n"], {"a": {"c": 2, "x": None}}),
    ("null only in an earlier file stays null", "{}\n", ["a: null\n", "b: 1\n"], {"a": None, "b": 1}),
    ("a later file's value beats an earlier null", "a: 1\n", ["a: null\n", "a: 2\n"], {"a": 2}),
    ("a later null beats an earlier value, then deletes", "a: 1\n", ["a: 5\n", "a: ~\n"], {}),
    ("a chart null is kept when unset", "a: null\nb: {c: null}\n", ["{}\n"], {"a": None, "b": {"c": None}}),
    ("a user scalar replaces a default map", "a: {b: 1}\n", ["a: 5\n"], {"a": 5}),
    ("a user map replaces a default scalar", "a: 5\n", ["a: {b: 1}\n"], {"a": {"b": 1}}),
    ("a user map under a default list", "a: [1]\n", ["a: {x: null}\n"], {"a": {"x": None}}),
    ("a user list over a default map", "a: {x: 1}\n", ["a: [1]\n"], {"a": [1]}),
    ("nested null inside a user map over a default scalar", "a: {b: 1}\n", ["a: {b: {x: null}}\n"],
     {"a": {"b": {"x": None}}}),
    ("an empty map does not delete", "a: {b: 1}\n", ["a: {}\n"], {"a": {"b": 1}}),
]  # fmt: skip


# Where Helm 4 and Helm 3 part: a nested user null over a chart default that is null too.
# (chart values.yaml, -f files, .Values from helm 4, .Values from helm 3)
NULL_CASES: list[tuple[str, str, list[str], dict[str, Any], dict[str, Any]]] = [
    ("a nested null over a null default", "a: {b: null, d: 1}\n", ["a: {b: null}\n"],
     {"a": {"b": None, "d": 1}}, {"a": {"d": 1}}),
    ("a top-level null over a null default", "a: null\nb: 1\n", ["a: null\n"], {"b": 1}, {"b": 1}),
    ("a deeper null over a null default", "a: {b: {c: null}}\n", ["a: {b: {c: null}}\n"],
     {"a": {"b": {"c": None}}}, {"a": {"b": {}}}),
    ("a later null over a null default", "a: {b: null}\n", ["a: {b: 5}\n", "a: {b: null}\n"],
     {"a": {"b": None}}, {"a": {}}),
    ("a nested null over a default map", "a: {b: {c: 1}}\n", ["a: {b: null}\n"], {"a": {}}, {"a": {}}),
    ("a map over a null default", "a: {b: null}\n", ["a: {b: {x: null, y: 1}}\n"],
     {"a": {"b": {"true": 1, "x": None}}}, {"a": {"b": {"true": 1, "x": None}}}),
    ("a top-level map over a null default", "a: null\n", ["a: {b: null}\n"], {"a": {"b": None}}, {"a": {"b": None}}),
]  # fmt: skip


def _merge(chart: str | None, files: list[str], helm: int = 4) -> Any:
    layers = [load_values_text(text, f"f{i}.yaml", helm=helm) for i, text in enumerate(files)]
    defaults = load_values_text(chart, "values.yaml", helm=helm) if chart is not None else None
    return merge_values(layers, chart_defaults=defaults)


@pytest.mark.parametrize(("title", "chart", "files", "helm4", "helm3"), NULL_CASES, ids=[c[0] for c in NULL_CASES])
def test_null_rules_per_helm_major(
    title: str, chart: str, files: list[str], helm4: dict[str, Any], helm3: dict[str, Any]
) -> None:
    assert _merge(chart, files, helm=4).values == helm4
    assert _merge(chart, files, helm=3).values == helm3


@pytest.mark.helm
@pytest.mark.parametrize(("title", "chart", "files", "helm4", "helm3"), NULL_CASES, ids=[c[0] for c in NULL_CASES])
def test_null_rules_per_helm_major_match_helm(
    oracle: HelmOracle, title: str, chart: str, files: list[str], helm4: dict[str, Any], helm3: dict[str, Any]
) -> None:
    assert canonical(oracle.render(files, chart)) == canonical(helm4 if oracle.major == 4 else helm3)


def test_a_kept_null_explains_the_null_default_it_met() -> None:
    why = _merge("a: {b: null, d: 1}\n", ["a: {b: null}\n"]).explain("a.b")
    assert why.present and why.value is None
    assert [(str(o.origin), o.value) for o in why.overridden] == [("values.yaml:1:5", None)]


@pytest.mark.parametrize(("title", "chart", "files", "expected"), CHART_CASES, ids=[c[0] for c in CHART_CASES])
def test_chart_default_cases(title: str, chart: str, files: list[str], expected: dict[str, Any]) -> None:
    assert _merge(chart, files).values == expected


@pytest.mark.helm
@pytest.mark.parametrize(("title", "chart", "files", "expected"), CHART_CASES, ids=[c[0] for c in CHART_CASES])
def test_chart_default_cases_match_helm(
    oracle: HelmOracle, title: str, chart: str, files: list[str], expected: dict[str, Any]
) -> None:
    assert canonical(oracle.render(files, chart)) == canonical(expected)


def test_files_merge_left_to_right() -> None:
    merged = _merge(None, ["a: 1\nb: {c: 1}\n", "b: {d: 2}\n", "a: 3\n"])
    assert merged.values == {"a": 3, "b": {"c": 1, "d": 2}}


def test_explain_names_the_setter_and_everything_it_overrode() -> None:
    merged = _merge("mode: cluster-pool\n", ["mode: kubernetes\n", "x: 1\nmode: multi-pool\n"])
    why = merged.explain("mode")
    assert why.present and why.value == "multi-pool"
    assert why.origin == Origin("f1.yaml", 2, 1)
    assert [(str(o.origin), o.value) for o in why.overridden] == [
        ("values.yaml:1:1", "cluster-pool"),
        ("f0.yaml:1:1", "kubernetes"),
    ]
    assert why.text().splitlines() == [
        'mode = "multi-pool"',
        "  set by    f1.yaml:2:1",
        '  overrode "kubernetes" from f0.yaml:1:1',
        '          "cluster-pool" from values.yaml:1:1',
    ]


def test_explain_a_default_deleted_by_null() -> None:
    merged = _merge("ipam:\n  operator:\n    maskSize: 24\n", ["ipam:\n  operator: null\n"])
    why = merged.explain("ipam.operator.maskSize")
    assert not why.present
    assert why.cause == ("ipam", "operator")
    assert why.removed_by == Origin("f0.yaml", 2, 3)
    assert why.to_dict()["overridden"] == [
        {"origin": {"source": "values.yaml", "line": 2, "column": 3}, "value": {"maskSize": 24}}
    ]


def test_explain_quoted_dotted_keys() -> None:
    merged = _merge(None, ["nodeSelector:\n  kubernetes.io/os: linux\n"])
    assert merged.explain('nodeSelector."kubernetes.io/os"').value == "linux"
    assert merged.get('nodeSelector."kubernetes.io/os"') == "linux"


def test_explain_an_unknown_key_suggests_close_ones() -> None:
    merged = _merge(None, ["bpf:\n  datapathMode: netkit\n"])
    with pytest.raises(InputError) as caught:
        merged.explain("bpf.datapathmode")
    assert caught.value.hint == "did you mean bpf.datapathMode?"


def test_replacing_a_map_forgets_the_origins_below_it() -> None:
    merged = _merge(None, ["a:\n  b: 1\n", "a: 2\n"])
    assert ("a", "b") not in merged.origins
    assert merged.explain("a.b").cause == ("a",)


def test_merging_never_mutates_the_loaded_layers() -> None:
    first = load_values_text("a: {b: 1, l: [1]}\n", "f0.yaml")
    merge_values([first, load_values_text("a: {c: 2}\n", "f1.yaml")])
    assert first.values == {"a": {"b": 1, "l": [1]}}


def test_type_clash_with_chart_defaults_warns_like_helm() -> None:
    merged = _merge("a: {b: 1}\n", ["a: 5\n"])
    assert merged.values == {"a": 5}
    assert merged.warnings == (
        "f0.yaml:1:1: a replaces the chart's map (values.yaml:1:1) with a non-map value; Helm keeps 5",
    )
