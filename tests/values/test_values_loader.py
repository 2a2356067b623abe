"""Reading values as Helm does: each example below was observed with helm 4.1.4 and 3.18.0."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.errors import InputError
from cilium_tune.values import Origin, load_values, load_values_text
from cilium_tune.values.loader import load_chart_values

# (plain scalar as written after `key: `, what Helm's .Values holds)
SCALARS: list[tuple[str, Any]] = [
    ("yes", True), ("Yes", True), ("YES", True), ("on", True), ("y", True), ("Y", True), ("True", True),
    ("no", False), ("off", False), ("n", False), ("N", False), ("FALSE", False),
    ("tRue", "tRue"), ("yes please", "yes please"),
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None),
    ("0x1F", 31), ("0X1F", 31), ("-0x1F", -31), ("012", 10), ("0o12", 10), ("0b101", 5), ("08", 8),
    ("00", 0), ("1_000", 1000), ("1_", 1), ("+12", 12), ("-0", 0), ("1e3", 1000), ("1E+3", 1000),
    ("1.5", 1.5), ("1.", 1), (".5", 0.5), (".5_0", 0.5), ("-.5e1", -5), ("0.1e-7", 1e-8), ("1_0.5", 10.5),
    ("1e-400", 0), ("1e400", "1e400"), (".5e400", ".5e400"), ("0x", "0x"), ("1e", "1e"), ("._5", "._5"),
    ("0x1p3", "0x1p3"), ("1:30", "1:30"), ("190:20:30", "190:20:30"),
    ("12345678901234567890", 12345678901234567890.0),  # a uint64, then a float64
    ("9007199254740993", 9007199254740992),  # 2**53 + 1 is not a float64
    ("2001-12-14", "2001-12-14"), ("2001-12-14T21:59:43Z", "2001-12-14T21:59:43Z"),
    ("<<", "<<"), ("=", "="), ("héllo ✓", "héllo ✓"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SCALARS)
def test_plain_scalars_read_as_helm_reads_them(text: str, expected: Any) -> None:
    value = load_values_text(f"key: {text}\n", "v.yaml").values["key"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("text", ['"yes"', "'on'", '"0x1F"', "!!str 12", "! 12", "|\n  yes", '"~"'])
def test_quoted_or_tagged_scalars_stay_strings(text: str) -> None:
    value = load_values_text(f"key: {text}\n", "v.yaml").values["key"]
    assert isinstance(value, str)


def test_tags_that_change_a_value() -> None:
    values = load_values_text('a: !!int "12"\nb: !!float 1\nc: !!binary aGk=\n', "v.yaml").values
    assert values == {"a": 12, "b": 1, "c": "hi"}


def test_keys_become_strings_the_way_helm_names_them() -> None:
    text = "yes: a\n0x1F: b\n1e3: c\n123456789.0: d\n-0.0: e\n100000.5: f\n1e-5: g\n'yes': h\n"
    values = load_values_text(text, "v.yaml").values
    assert values == {
        "true": "a", "31": "b", "1000": "c", "1.2345679e+08": "d", "-0": "e", "100000.5": "f",
        "1e-05": "g", "yes": "h",
    }  # fmt: skip


def test_origins_give_file_line_and_column_of_every_key() -> None:
    loaded = load_values_text("ipam:\n  mode: kubernetes\nlist: [1, 2]\n", "tuning.yaml")
    assert loaded.origins[("ipam",)] == Origin("tuning.yaml", 1, 1)
    assert loaded.origins[("ipam", "mode")] == Origin("tuning.yaml", 2, 3)
    assert str(loaded.origins[("list",)]) == "tuning.yaml:3:1"


def test_merge_keys_follow_go_yaml_v2() -> None:
    text = "base: &b\n  x: 1\n  z: 2\nm:\n  z: 9\n  <<: *b\nm2:\n  <<: [*b, {x: 5, w: 1}]\n  z: 0\n"
    values = load_values_text(text, "v.yaml").values
    assert values["m"] == {"x": 1, "z": 2}  # the merged map overwrites keys written before `<<`
    assert values["m2"] == {"x": 1, "w": 1, "z": 0}  # the first map of a list wins


def test_helm4_merges_every_document_helm3_reads_only_the_first() -> None:
    text = "a: {x: 1, l: [1]}\nc: 1\n---\na: {z: 2, l: [2]}\nc: null\n"
    assert load_values_text(text, "v.yaml", helm=4).values == {"a": {"x": 1, "z": 2, "l": [2]}, "c": None}
    assert load_values_text(text, "v.yaml", helm=3).values == {"a": {"x": 1, "l": [1]}, "c": 1}


def test_text_after_the_first_document_is_ignored_as_go_yaml_ignores_it() -> None:
    assert load_values_text("{a: 1} junk\n", "v.yaml").values == {"a": 1}
    assert load_values_text("a: 1\n---\n- not a map\n", "v.yaml", helm=3).values == {"a": 1}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~\n", "---\n"])
def test_empty_files_are_empty_values(text: str) -> None:
    assert load_values_text(text, "v.yaml").values == {}


def test_duplicate_keys_are_accepted_last_wins_with_a_warning() -> None:
    loaded = load_values_text("a: 1\nb: 2\na: 3\n", "dup.yaml")
    assert loaded.values == {"a": 3, "b": 2}
    assert loaded.warnings == ("dup.yaml:3:1: duplicate key a (first at line 1); Helm silently keeps the last one",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb:\n\tc: 1\n", "bad.yaml:3:1: a tab character"),
        ("a: [1, 2\n", "bad.yaml:2:1: invalid YAML: did not find expected ',' or ']'"),
        ("- 1\n- 2\n", "bad.yaml:1:1: the document is a list"),
        ("a: .inf\n", "bad.yaml:1:4: '.inf' is not a number JSON can hold"),
        ("~: 1\n", "bad.yaml:1:1: the key 'null' is a null"),
        ("? [a]\n: 1\n", "bad.yaml:1:3: a list or map cannot be a key"),
        ("1: a\n'1': b\n", "both become '1' in Helm, which then keeps one of them at random"),
        ("a: 1\n--- {b: 1}\n", "bad.yaml:2: Helm 4 reads `---` at the start of a line as a document separator"),
        ("a: !!int abc\n", "bad.yaml:1:4: cannot read 'abc' as int"),
    ],
)
def test_bad_input_names_file_line_and_a_fix(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_values_text(text, "bad.yaml")
    assert message in caught.value.message
    assert caught.value.hint


def test_a_missing_file_is_one_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="values file not found") as caught:
        load_values(tmp_path / "nope.yaml")
    assert "-f" in (caught.value.hint or "")


def test_chart_defaults_come_from_a_directory_or_a_tgz(tmp_path: Path) -> None:
    chart = tmp_path / "mychart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: mychart\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("ipam:\n  mode: cluster-pool\n")
    assert load_chart_values(chart).values == {"ipam": {"mode": "cluster-pool"}}
    packaged = tmp_path / "mychart-1.0.0.tgz"
    with tarfile.open(packaged, "w:gz") as archive:
        archive.add(chart, arcname="mychart")
    loaded = load_chart_values(packaged)
    assert loaded.values == {"ipam": {"mode": "cluster-pool"}}
    assert str(loaded.origins[("ipam", "mode")]) == f"{packaged}:mychart/values.yaml:2:3"


def test_a_directory_without_chart_yaml_is_not_a_chart(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no Chart\.yaml"):
        load_chart_values(tmp_path)
