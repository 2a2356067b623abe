"""`cilium-tune values merge|diff` as a user runs it: output, exit codes, and bad input without tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text("ipam:\n  mode: kubernetes\nlist: [3]\n")
    (tmp_path / "tuning.yaml").write_text("ipam:\n  mode: multi-pool\n  operator: null\nroutingMode: native\n")
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("ipam:\n  mode: cluster-pool\n  operator:\n    maskSize: 24\nlist: [1, 2]\n")
    return tmp_path


def test_merge_prints_sorted_yaml(cli: Callable[..., Any], files: Path) -> None:
    code, out, err = cli("values", "merge", "-f", str(files / "base.yaml"), "-f", str(files / "tuning.yaml"))
    assert code == 0
    assert out == "ipam:\n  mode: multi-pool\n  operator: null\nlist:\n- 3\nroutingMode: native\n"
    unknown = "unknown key 'list': Helm accepts it but nothing reads it (built-in)"
    assert err == f"warning: {files / 'base.yaml'}:3:1: {unknown}\n"


def test_merge_with_chart_defaults_as_json(cli: Callable[..., Any], files: Path) -> None:
    code, out, _ = cli(
        "values", "merge", "--chart", str(files / "chart"), "-f", str(files / "tuning.yaml"), "-o", "json"
    )
    assert code == 0
    assert json.loads(out) == {"ipam": {"mode": "multi-pool"}, "list": [1, 2], "routingMode": "native"}


def test_merge_explain(cli: Callable[..., Any], files: Path) -> None:
    base, tuning = files / "base.yaml", files / "tuning.yaml"
    code, out, _ = cli(
        "values", "merge", "--chart", str(files / "chart"), "-f", str(base), "-f", str(tuning),
        "--explain", "ipam.mode",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        'ipam.mode = "multi-pool"',
        f"  set by    {tuning}:2:3",
        f'  overrode "kubernetes" from {base}:2:3',
        f'          "cluster-pool" from {files / "chart" / "values.yaml"}:2:3',
    ]


def test_explain_of_an_unknown_key_is_an_input_error(cli: Callable[..., Any], files: Path) -> None:
    code, _, err = cli("values", "merge", "-f", str(files / "base.yaml"), "--explain", "ipam.mod")
    assert code == 2
    assert "error: ipam.mod is not set by any of" in err
    assert "hint: did you mean ipam.mode" in err


def test_diff_exit_codes_follow_diff1(cli: Callable[..., Any], files: Path) -> None:
    base, tuning = str(files / "base.yaml"), str(files / "tuning.yaml")
    assert cli("values", "diff", base, base) == (0, "no differences\n", "")
    code, out, _ = cli("values", "diff", base, tuning)
    assert code == 1
    assert out.splitlines() == [
        '~ ipam.mode: "kubernetes" -> "multi-pool"',
        "+ ipam.operator: null",
        "- list: [3]",
        '+ routingMode: "native"',
        "4 differences (2 added, 1 removed, 1 changed)",
    ]
    code, out, _ = cli("values", "diff", base, tuning, "-o", "json")
    assert code == 1
    assert json.loads(out)["changed"] == [
        {"kind": "changed", "path": "ipam.mode", "old": "kubernetes", "new": "multi-pool"}
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("tab.yaml", "a: 1\nb:\n\tc: 1\n", "tab.yaml:3:1: a tab character"),
        ("broken.yaml", "a:\n  b: [1, 2\nc: 3\n", "broken.yaml:3:2: invalid YAML"),
        ("list.yaml", "- a\n", "list.yaml:1:1: the document is a list"),
    ],
)
def test_bad_files_exit_2_naming_file_and_line(
    cli: Callable[..., Any], tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    code, out, err = cli("values", "merge", "-f", str(tmp_path / name))
    assert (code, out) == (2, "")
    assert message in err
    assert "hint: " in err
    assert "Traceback" not in err


def test_a_missing_file_exits_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    code, _, err = cli("values", "merge", "-f", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err == f"error: {tmp_path / 'nope.yaml'}: values file not found\n" + (
        "hint: check the path given to -f (helm would fail the same way)\n"
    )


def test_duplicate_keys_warn_but_merge(cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text("a: 1\na: 2\n")
    code, out, err = cli("values", "merge", "-f", str(tmp_path / "dup.yaml"))
    assert (code, out) == (0, "a: 2\n")
    assert "warning: " in err and "dup.yaml:2:1: duplicate key a (first at line 1)" in err


def test_helm3_reads_only_the_first_document(cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "docs.yaml").write_text("a: 1\n---\nb: 2\n")
    assert cli("values", "merge", "-f", str(tmp_path / "docs.yaml"))[1] == "a: 1\nb: 2\n"
    assert cli("values", "merge", "--helm", "3", "-f", str(tmp_path / "docs.yaml"))[1] == "a: 1\n"
