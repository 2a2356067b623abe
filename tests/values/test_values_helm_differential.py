"""The engine against the real helm binaries (4.1.4 and 3.18.0), on generated values files.

Hypothesis writes 2-4 values files (and sometimes a chart values.yaml) as YAML text: nested maps, lists,
nulls, YAML 1.1 edge scalars (yes/no/on/off/y/n, ~, 0x1F, 012, 0o12, 08, 1e3, 1_000, dates, 1:30, huge
numbers, .inf), quoted and unquoted, unicode, keys that Helm renames (`yes:` -> "true", `0x1F:` -> "31",
`1e3:` -> "1000"), a second `---` document now and then (Helm 4 merges it, Helm 3 ignores it). Then
`helm template` of a chart that dumps .Values must equal `merge_values(...)`, or both must refuse the input.
Any disagreement is a bug in the engine.

Default: 60 examples per helm binary. Heavier run: VALUES_HYPOTHESIS_PROFILE=values-heavy (1000 each).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from values_oracle import HelmFailure, HelmOracle, canonical

from cilium_tune.errors import InputError
from cilium_tune.values import load_values_text, merge_values
from cilium_tune.values.emit import dump_yaml

pytestmark = pytest.mark.helm

settings.register_profile(
    "values-default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "values-heavy", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_PROFILE = settings.get_profile(os.environ.get("VALUES_HYPOTHESIS_PROFILE", "values-default"))

# Plain scalars whose meaning differs between YAML readers; all safe inside block and flow collections.
EDGE_PLAIN = [
    "yes", "no", "on", "off", "y", "n", "Y", "N", "True", "FALSE", "tRue", "Off", "ON", "yes please",
    "~", "null", "Null", "NULL",
    "0x1F", "-0x1F", "0X1f", "012", "0o12", "08", "00", "0b101", "1e3", "1E+3", "1_000", "1_", "+12", "-0",
    "1.5", "1.", ".5", "-.5e1", ".5_0", "0.1e-7", "1e-400", "1e400", "100000.5", "-0.0",
    "12345678901234567890", "9007199254740993", "123456789012345678901234567890",
    "2001-12-14", "2001-12-14T21:59:43Z", "2001-12-14 21:59:43.10 -5", "1:30", "190:20:30",
    "<<", "=", "0x", "1e", "héllo", "✓", "日本", "a.b", "kubernetes.io/os", "x-y_z",
]  # fmt: skip
# Both helm versions refuse these as values (JSON has no infinity or NaN).
INVALID_PLAIN = [".inf", "-.Inf", ".nan"]
# (text as written, key as Helm names it): distinct names within one map keep Helm deterministic.
KEYS = [
    ("a", "a"), ("b", "b"), ("c", "c"), ("enabled", "enabled"), ('"x.y"', "x.y"),
    ("kubernetes.io/os", "kubernetes.io/os"), ("yes", "true"), ("on", "true"), ("'yes'", "yes"),
    ("n", "false"), ("off", "false"), ("1", "1"), ("0x1F", "31"), ("'31'", "31"), ("1e3", "1000"),
    ("1000", "1000"), ("012", "10"), ("0o12", "10"), ("-0.0", "-0"), ("100000.5", "100000.5"),
    ("123456789.0", "1.2345679e+08"), ("é", "é"), ('"with space"', "with space"), ("'<<'", "<<"),
    ("1e-5", "1e-05"), (".inf", ".inf"), ("0.1", "0.1"), ("+1", "1"), ("1_0", "10"), ("2001-12-14", "2001-12-14"),
]  # fmt: skip

_SAFE_TEXT = st.text(alphabet="abcXYZ019 .-_/éü✓", min_size=0, max_size=8)


@dataclass(frozen=True)
class Scalar:
    """A scalar as written. `block` lines make a `|`/`>` block scalar (`text` is its header); block
    scalars and the empty plain null are only valid in block style (`~` stands in inside flow)."""

    text: str
    flow_ok: bool = True
    block: tuple[str, ...] = ()


def _quote(text: str, style: str) -> str:
    if style == "double":
        return json.dumps(text, ensure_ascii=False)
    return "'" + text.replace("'", "''") + "'"


scalars = st.one_of(
    st.sampled_from(EDGE_PLAIN).map(Scalar),
    st.builds(_quote, st.sampled_from(EDGE_PLAIN) | _SAFE_TEXT, st.sampled_from(["double", "single"])).map(Scalar),
    st.integers(-(2**70), 2**70).map(lambda n: Scalar(str(n))),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Scalar(repr(f))),
    st.just(Scalar("", flow_ok=False)),
    st.builds(
        lambda header, lines: Scalar(header, flow_ok=False, block=tuple(lines)),
        st.sampled_from(["|", "|-", "|+", ">", ">-"]),
        st.lists(
            st.sampled_from(["yes", "0x1F", "text  with  spaces", "", "  indented", "# not a comment"]),
            min_size=1,
            max_size=3,
        ).filter(lambda lines: lines[0].strip() != ""),
    ),
)
keys = st.lists(st.sampled_from(KEYS), min_size=0, max_size=4, unique_by=lambda key: key[1])


def _tree(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        keys.flatmap(lambda ks: st.tuples(*[children for _ in ks]).map(lambda vs: dict(zip(ks, vs, strict=True)))),
        st.lists(children, max_size=3),
    )


values_trees = st.recursive(scalars, _tree, max_leaves=12)


def _flow(node: Any) -> str:
    if isinstance(node, Scalar):
        return node.text if node.flow_ok else "~"
    if isinstance(node, list):
        return "[" + ", ".join(_flow(item) for item in node) + "]"
    return "{" + ", ".join(f"{key[0]}: {_flow(value)}" for key, value in node.items()) + "}"


def _block_map(node: dict[Any, Any], indent: int, flow: st.DataObject) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in node.items():
        if isinstance(value, Scalar):
            lines.append(f"{pad}{key[0]}:" + (f" {value.text}" if value.text else ""))
            lines.extend(f"{pad}  {line}" if line else "" for line in value.block)
        elif not value or flow.draw(st.booleans(), label="flow"):
            lines.append(f"{pad}{key[0]}: {_flow(value)}")
        elif isinstance(value, dict):
            lines.append(f"{pad}{key[0]}:")
            lines.extend(_block_map(value, indent + 2, flow))
        else:
            lines.append(f"{pad}{key[0]}:")
            lines.extend(f"{pad}- {_flow(item)}" for item in value)
    return lines


def render_file(data: st.DataObject) -> str:
    """One values file: usually a map, sometimes empty or only a comment, sometimes two documents."""
    kinds = ["map"] * 8 + ["empty", "comment", "two-docs", "anchors", "explicit-start"]
    kind = data.draw(st.sampled_from(kinds), label="file kind")
    if kind == "empty":
        return ""
    if kind == "comment":
        return "# nothing here\n"
    if kind == "anchors":
        return render_anchors(data)
    top = data.draw(keys.flatmap(lambda ks: st.tuples(*[values_trees for _ in ks]).map(
        lambda vs: dict(zip(ks, vs, strict=True)))), label="top")  # fmt: skip
    text = "\n".join(_block_map(top, 0, data)) + "\n" if top else "{}\n"
    if kind == "explicit-start":
        text = "# leading comment\n---\n" + text
    if kind == "two-docs":
        second = data.draw(st.dictionaries(st.sampled_from(KEYS[:6]), scalars, max_size=2), label="doc2")
        text += "---\n" + ("\n".join(_block_map(second, 0, data)) + "\n" if second else "")
    return text


def render_anchors(data: st.DataObject) -> str:
    """An anchored map reused by an alias and by `<<` merge keys (a single map or a list of maps)."""
    base = data.draw(st.dictionaries(st.sampled_from(KEYS[:8]), scalars, max_size=3), label="anchored")
    extra = data.draw(st.dictionaries(st.sampled_from(KEYS[:8]), scalars, max_size=2), label="extra")
    before = data.draw(st.dictionaries(st.sampled_from(KEYS[:8]), scalars, max_size=2), label="before")
    after = data.draw(st.dictionaries(st.sampled_from(KEYS[:8]), scalars, max_size=2), label="after")
    merge = data.draw(st.sampled_from(["*base", f"[*base, {_flow(extra)}]", f"[{_flow(extra)}, *base]"]))
    lines = [f"a: &base {_flow(base)}", "b: *base", "c:"]
    lines += [*_block_map(before, 2, data), f"  <<: {merge}", *_block_map(after, 2, data)]
    return "\n".join(lines) + "\n"


def engine(files: list[str], chart_values: str | None, helm: int) -> dict[str, Any] | InputError:
    try:
        layers = [load_values_text(text, f"f{index}.yaml", helm=helm) for index, text in enumerate(files)]
        defaults = load_values_text(chart_values, "values.yaml", helm=helm) if chart_values is not None else None
        return merge_values(layers, chart_defaults=defaults).values
    except InputError as exc:
        return exc


def assert_agrees(oracle: HelmOracle, files: list[str], chart_values: str | None) -> dict[str, Any] | None:
    """Both refuse, or both produce the same values; returns the values when they agree."""
    mine = engine(files, chart_values, oracle.major)
    theirs = oracle.render(files, chart_values)
    shown = "\n".join(f"--- file {i}\n{text}" for i, text in enumerate(files))
    if isinstance(theirs, HelmFailure) or isinstance(mine, InputError):
        assert isinstance(theirs, HelmFailure) and isinstance(mine, InputError), (
            f"helm: {theirs}\nengine: {mine}\n{shown}\n--- chart\n{chart_values}"
        )
        return None
    assert canonical(mine) == canonical(theirs), f"{shown}\n--- chart values.yaml\n{chart_values}"
    return mine


@_PROFILE
@given(data=st.data(), count=st.integers(2, 4), with_chart=st.booleans(), invalid=st.integers(0, 15))
def test_merge_agrees_with_helm(
    oracle: HelmOracle, data: st.DataObject, count: int, with_chart: bool, invalid: int
) -> None:
    files = [render_file(data) for _ in range(count)]
    if invalid == 0:  # now and then a value helm must refuse
        files.insert(data.draw(st.integers(0, count)), f"bad: {data.draw(st.sampled_from(INVALID_PLAIN))}\n")
    chart_values = render_file(data) if with_chart else None
    assert_agrees(oracle, files, chart_values)


@settings(_PROFILE, max_examples=max(10, _PROFILE.max_examples // 3))
@given(data=st.data(), count=st.integers(1, 3))
def test_emitted_yaml_reads_back_identically_in_helm(oracle: HelmOracle, data: st.DataObject, count: int) -> None:
    merged = engine([render_file(data) for _ in range(count)], None, oracle.major)
    assume(not isinstance(merged, InputError))
    assert isinstance(merged, dict)
    theirs = oracle.render([dump_yaml(merged)])
    assert not isinstance(theirs, HelmFailure)
    assert canonical(theirs) == canonical(merged)


# --- chart defaults that the user files actually meet --------------------------------------------------
# Independent random trees rarely share a path, so the null rules (a nested null over a null default,
# a null over a map, a map over a null) would go untested. Here the user files are derived from the
# chart's own tree: they revisit its keys and set them to nulls, maps, scalars or lists.

NULL_TEXTS = (Scalar("~"), Scalar("null"), Scalar("", flow_ok=False))
NULLS = st.sampled_from(NULL_TEXTS)
null_heavy_scalars = st.one_of(NULLS, NULLS, scalars)
null_heavy_trees = st.recursive(
    null_heavy_scalars, lambda children: st.one_of(_tree(children), _tree(children).filter(bool)), max_leaves=14
)


def derive(node: Any, data: st.DataObject, depth: int = 0) -> Any:
    """A user tree over the chart tree `node`: some of its keys again, each set to something else."""
    if not isinstance(node, dict) or not node:
        return data.draw(null_heavy_trees, label="replacement")
    out: dict[Any, Any] = {}
    for key, child in node.items():
        ways = ["skip", "null", "derive", "derive", "tree"] + ["null"] * 3 * (child in (NULL_TEXTS))
        choice = data.draw(st.sampled_from(ways), label="how")
        if choice == "null":
            out[key] = data.draw(NULLS, label="null")
        elif choice == "derive" and depth < 4:
            out[key] = derive(child, data, depth + 1) if isinstance(child, dict) else data.draw(null_heavy_trees)
        elif choice == "tree":
            out[key] = data.draw(null_heavy_trees, label="tree")
    extra = data.draw(keys, label="extra keys")
    for key in extra:
        if all(key[1] != known[1] for known in out) and all(key[1] != known[1] for known in node):
            out[key] = data.draw(null_heavy_trees, label="extra")
    return out


def render_tree(top: dict[Any, Any], data: st.DataObject) -> str:
    return "\n".join(_block_map(top, 0, data)) + "\n" if top else "{}\n"


chart_tops = keys.filter(bool).flatmap(
    lambda ks: st.tuples(*[null_heavy_trees for _ in ks]).map(lambda vs: dict(zip(ks, vs, strict=True)))
)


@settings(_PROFILE, max_examples=_PROFILE.max_examples // 2 if _PROFILE.max_examples < 1000 else 1000)
@given(data=st.data(), chart=chart_tops, count=st.integers(1, 3))
def test_merge_over_chart_defaults_agrees_with_helm(
    oracle: HelmOracle, data: st.DataObject, chart: dict[Any, Any], count: int
) -> None:
    files = [render_tree(derive(chart, data), data) for _ in range(count)]
    assert_agrees(oracle, files, render_tree(chart, data))
