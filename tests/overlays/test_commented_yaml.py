"""The YAML writer behind overlays and the starter: what it writes reads back as the same data.

PyYAML is checked on random trees; the real helm binary on the scalars where YAML parsers disagree
(Go's parser takes `y`, `0o17` and `1e5` as a bool and numbers, PyYAML as strings).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cilium_tune.profile.commented_yaml import dump

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["y", "n", "on", "off", "yes", "null", "~", "1e5", "0o17", "0x1F", "1_000", "1.19", "<<", "="]),
)
keys = st.one_of(st.text(min_size=1, max_size=10), st.sampled_from(["y", "on", "null", "1", "a.b", "- x", "#"]))
trees = st.recursive(
    scalars | st.lists(scalars, max_size=3),
    lambda inner: st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(keys, trees, max_size=5), st.dictionaries(keys, st.text(max_size=30), max_size=3))
def test_pyyaml_reads_back_what_was_written(data: dict[str, Any], comments: dict[str, str]) -> None:
    text = dump(data, {(k,): v for k, v in comments.items()}, header="header\nsecond line")
    assert (yaml.safe_load(text) or {}) == data


def test_comments_sit_above_their_key() -> None:
    text = dump({"b": {"c": 1}, "a": True}, {("b", "c"): "why c", ("a",): "why a"}, header="top")
    assert text == "# top\n# why a\na: true\nb:\n  # why c\n  c: 1\n"


def test_output_order_is_sorted_or_kept() -> None:
    assert dump({"b": 1, "a": 2}) == "a: 2\nb: 1\n"
    assert dump({"b": 1, "a": 2}, sort_keys=False) == "b: 1\na: 2\n"


TRICKY = {
    "bool_words": ["y", "n", "Y", "on", "off", "yes", "no", "true", "True", "null", "~"],
    "number_words": ["1e5", "0o17", "0x1F", "0b101", "1_000", "1.19", "-5", ".5", "+1"],
    "plain_looking": ["1.19.0-rc.1", "10.0.0.1", "100.70.0.0/16", "/var/lib/x", "netkit", "cluster-pool"],
    "needs_quotes": ["fd00::/104", "a: b", "#x", "- x", " lead", "trail ", "multi\nline", "tab\tin", "ünï", ""],
    "numbers": [0, -3, 6443, 1.5, 1e100],
    "y": {"on": {"null": "n"}},
}


@pytest.mark.helm
def test_helm_reads_back_the_tricky_scalars(helm4: Path, tmp_path: Path) -> None:
    chart = tmp_path / "dump"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: dump\nversion: 0.1.0\n")
    (chart / "templates" / "values.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  json: {{ toJson .Values | quote }}\n"
    )
    values = tmp_path / "values.yaml"
    values.write_text(dump(TRICKY))
    env = {**os.environ, "HELM_CACHE_HOME": str(tmp_path / "c"), "HELM_CONFIG_HOME": str(tmp_path / "g")}
    env["HELM_DATA_HOME"] = str(tmp_path / "d")
    result = subprocess.run(
        [str(helm4), "template", "x", str(chart), "-f", str(values)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(yaml.safe_load(result.stdout)["data"]["json"])
    assert got == TRICKY


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9_./+-]{1,8}", fullmatch=True))
def test_plain_words_are_strings_to_the_go_yaml_resolver(word: str) -> None:
    """Whatever is written unquoted must also be a string to Helm's parser (the values engine models it)."""
    from cilium_tune.profile.commented_yaml import scalar
    from cilium_tune.values.loader import resolve_plain_scalar

    if not scalar(word).startswith('"'):
        assert resolve_plain_scalar(word) == ("str", word)
