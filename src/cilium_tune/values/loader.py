"""Read a values file exactly the way Helm reads it, and remember where every key came from.

Helm parses values with sigs.k8s.io/yaml: go-yaml v2 decodes the YAML (YAML 1.1 scalars: `yes`/`on`/`y`
are booleans, `012` is octal, `0x1F` hex, `1_000` a number, timestamps stay text), the result is turned
into JSON (map keys become strings, a null key or a list key is an error, `.inf`/`.nan` are errors) and
decoded again, so every number ends up as a float64. PyYAML's own resolver follows different YAML 1.1
rules, so we only let libyaml *compose* the document (that keeps line/column marks) and resolve every
scalar ourselves with go-yaml v2's rules. The rules were established against helm 4.1.4 and 3.18.0 and
are pinned by tests/values/test_helm_differential.py.

Numbers: Helm holds them as float64. We give integral values within +-2**53 as `int` (what users write
and compare against) and everything else as `float`; both denote the same float64 Helm holds.

Helm 4 reads every `---` document of a values file and deep-merges them in order; Helm 3 reads only the
first document and never looks at the rest. `helm=` selects which of the two behaviours to model.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cilium_tune.errors import InputError
from cilium_tune.inputs import DepthLimited, check_yaml_aliases, decode_utf8, read_bytes
from cilium_tune.values.gc_pause import cycle_collection_paused
from cilium_tune.values.paths import KeyPath, format_path
from cilium_tune.values.redact import REDACTED, SECRETS, is_secret_path

if TYPE_CHECKING:
    from cilium_tune.chart_files import ChartFiles

__all__ = [
    "DEFAULT_HELM_MAJOR",
    "Document",
    "LoadedValues",
    "Origin",
    "chart_defaults",
    "load_chart_values",
    "load_values",
    "load_values_text",
    "resolve_plain_scalar",
]

DEFAULT_HELM_MAJOR = 4
"""The Helm major version modelled when a caller does not say (the multi-document rule differs)."""

_MAX_EXACT_INT = 2**53


class Origin(msgspec.Struct, frozen=True, order=True):
    """Where a key was written: a source label (normally the file path) and 1-based line and column."""

    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


class Document(msgspec.Struct, frozen=True):
    """One YAML document of a values file: its values (as Helm holds them) and the origin of every key.

    `origins` maps each key path (maps, lists and scalars alike) to the position of the key's text.
    """

    values: dict[str, Any]
    origins: dict[KeyPath, Origin]


class LoadedValues(msgspec.Struct, frozen=True, dict=True):  # dict: room for cached_property
    """A values file as Helm reads it.

    `documents` are the documents Helm uses, in order (always one with `helm=3`; with `helm=4` every
    non-empty document). `values` and `origins` are those documents deep-merged as Helm 4 does.
    `warnings` hold things Helm accepts silently but that are almost certainly mistakes (duplicate keys).
    """

    source: str
    documents: tuple[Document, ...]
    warnings: tuple[str, ...] = ()
    helm: int = DEFAULT_HELM_MAJOR

    @cached_property
    def _merged(self) -> Document:
        if len(self.documents) == 1:
            return self.documents[0]
        from cilium_tune.values.merge import merge_documents

        return merge_documents(self.documents)

    @property
    def values(self) -> dict[str, Any]:
        """The values Helm sees from this file alone (do not mutate: shared with the documents)."""
        return self._merged.values

    @property
    def origins(self) -> dict[KeyPath, Origin]:
        """The origin of every key path in `values`."""
        return self._merged.origins


def load_values(path: str | Path, *, helm: int = DEFAULT_HELM_MAJOR, label: str | None = None) -> LoadedValues:
    """Read a values file as `helm -f PATH` would; raise InputError naming the file, line and fix."""
    source = label if label is not None else str(path)
    try:
        raw = read_bytes(path, "values file", missing="check the path given to -f (helm would fail the same way)")
    except InputError as exc:
        raise InputError(f"{source}{exc.message.removeprefix(str(path))}", hint=exc.hint) from None
    text = decode_utf8(raw, source, "values file")
    return load_values_text(text, source, helm=helm)


@cycle_collection_paused
def load_values_text(text: str, source: str, *, helm: int = DEFAULT_HELM_MAJOR) -> LoadedValues:
    """Parse values from a string; `source` labels origins and error messages (normally a file path)."""
    if helm not in (3, 4):
        raise InputError(f"unsupported helm major version {helm}", hint="use 3 or 4")
    check_yaml_aliases(text, source)  # the depth is counted while composing (_ComposeOnly)
    reader = _DocumentReader(source, text)
    documents: list[Document] = []
    for root in _compose_documents(text, source, helm=helm):
        doc = reader.document(root)
        if doc is not None:
            documents.append(doc)
    if not documents:
        documents.append(Document({}, {}))
    for doc in documents:
        SECRETS.remember(doc.values)
    return LoadedValues(source=source, documents=tuple(documents), warnings=tuple(reader.warnings), helm=helm)


def load_chart_values(chart: str | Path, *, helm: int = DEFAULT_HELM_MAJOR) -> LoadedValues:
    """The defaults of a chart (its values.yaml), from a chart directory or a packaged .tgz (`chart_defaults`
    of the chart read without its templates)."""
    from cilium_tune.chart_files import read_chart

    return chart_defaults(read_chart(chart, templates=False), helm=helm)


def chart_defaults(files: ChartFiles, *, helm: int = DEFAULT_HELM_MAJOR) -> LoadedValues:
    """The defaults of a chart already read (`chart_files.read_chart`): its values.yaml.

    A chart without a values.yaml has no defaults (as with Helm). A chart with subcharts (a `charts/`
    folder or `dependencies:` in Chart.yaml) is refused: Helm rewrites such a chart's defaults before the
    merge (subchart defaults, `global` propagation, import-values, conditions, tags, aliases), which is
    not modelled, and a merge that looks right but is not would be worse than none.
    """
    if files.chart_yaml is None:
        raise InputError(f"{files.path}: no Chart.yaml, so not a Helm chart", hint="pass the chart's directory")
    _refuse_subcharts(files.path, files.chart_yaml, list(files.subcharts), helm)
    if not files.has_values:
        return LoadedValues(files.values_source, (Document({}, {}),), helm=helm)
    return load_values_text(files.values, files.values_source, helm=helm)


def _refuse_subcharts(chart: str | Path, chart_yaml: str, subcharts: list[str], helm: int) -> None:
    """InputError when the chart has subcharts: their value rules are not modelled (see load_chart_values)."""
    metadata = load_values_text(chart_yaml, f"{chart}/Chart.yaml", helm=helm).values
    declared = metadata.get("dependencies")
    names = (
        [str(d.get("alias") or d.get("name")) for d in declared if isinstance(d, dict)]
        if isinstance(declared, list)
        else []
    )
    names += [name for name in subcharts if name not in names]
    if declared or subcharts:
        raise InputError(
            f"{chart}: the chart has subcharts ({', '.join(names) or 'dependencies'}); cilium-tune does not "
            "model how Helm merges values into subcharts (globals, import-values, conditions, tags, aliases), "
            "so it will not print a merge Helm might not produce",
            hint="pass the Cilium chart itself (e.g. the umbrella's charts/cilium-<version>.tgz) and move the "
            "umbrella's `cilium:` values to the top level of a values file",
        )


# --- composing: libyaml builds the node graph, we keep its marks --------------------------------------

_PLAIN = "!cilium-tune/plain"
_NONPLAIN = "!cilium-tune/nonplain"
_SEQ = "!cilium-tune/seq"
_MAP = "!cilium-tune/map"


class _ComposeOnly(DepthLimited, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A loader that composes nodes and records only whether a scalar was plain (implicit) or not.

    Tag resolution is left to `_DocumentReader`, which follows go-yaml v2 rather than PyYAML. There are
    no path resolvers here, so `DepthLimited` replaces PyYAML's bookkeeping for them (a third of the
    compose time) with the depth count that guards the composer's recursion.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _NONPLAIN
        self.check_collection()
        return _SEQ if kind is SequenceNode else _MAP


def _compose_documents(text: str, source: str, *, helm: int) -> Iterator[Node]:
    """The root node of every document Helm reads.

    Helm 3 parses the text once and keeps its first document. Helm 4 first cuts the text into chunks at
    lines that start with `---` (a text-level split, as Kubernetes' YAML reader does), then keeps the
    first document of each chunk. In both cases text after the first document of a parse is ignored,
    even when it is not valid YAML (`{a: 1} junk` reads as `{a: 1}`), as go-yaml ignores it.
    """
    chunks = [text] if helm == 3 else _split_at_separators(text, source)
    for chunk in chunks:
        root = _compose_first(chunk, source)
        if root is not None:
            yield root


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")  # Kubernetes' YAML reader splits lines at \n only
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # what libyaml counts as a line break


def _split_at_separators(text: str, source: str) -> list[str]:
    """Chunks of `text`, each padded with newlines so that line numbers stay those of the file."""
    chunks: list[str] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(_LINE.findall(text)):
        if line.startswith("---"):
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):
                raise InputError(
                    f"{source}:{number + 1}: Helm 4 reads `---` at the start of a line as a document "
                    f"separator, and allows only a comment after it, not {rest[:30]!r}",
                    hint="put the document's content on the next line (or indent the line if it is text)",
                )
            if current:
                chunks.append("\n" * start + "".join(current))
            current, start = [], number + 1
            continue
        current.append(line)
    if current:
        chunks.append("\n" * start + "".join(current))
    return chunks


def _compose_first(text: str, source: str) -> Node | None:
    loader = _ComposeOnly(text)
    loader.depth_source = source
    try:
        return loader.get_node() if loader.check_node() else None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, source, text) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {exc}", hint="fix the YAML syntax") from None
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, source: str, text: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = exc.problem or "invalid YAML"
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        return InputError(
            f"{where}: a tab character where YAML expects indentation or a value",
            hint="YAML indentation must use spaces: replace the tab with spaces (helm rejects it too)",
        )
    context = f" ({exc.context})" if exc.context else ""
    return InputError(
        f"{where}: invalid YAML: {problem}{context}",
        hint="fix the YAML at that line and column (helm rejects this file too)",
    )


# --- go-yaml v2 scalar resolution ------------------------------------------------------------------

_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_SPECIAL_FLOATS = {
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), float("inf")),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), float("-inf")),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), float("nan")),
}
# Go's strconv.ParseInt/ParseUint with base 0 (underscores already removed by go-yaml).
_GO_UINT = re.compile(r"(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+(_[0-9]+)*([eE][-+]?[0-9]+(_[0-9]+)*)?\Z")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


class _Go:
    """Kinds of values go-yaml v2 produces before the JSON step (they matter for map keys)."""

    STR, INT, UINT, FLOAT, BOOL, NULL = "str", "int", "uint", "float", "bool", "null"


@lru_cache(maxsize=4096)
def resolve_plain_scalar(text: str) -> tuple[str, Any]:
    """Resolve an unquoted scalar the way go-yaml v2 does: returns (go kind, Python value).

    Timestamps are not special here: go-yaml hands them to Helm as the original text.
    """
    if text in _NULLS:
        return _Go.NULL, None
    first = text[0]
    if first in "yYnNtTfFoO":
        if text in _BOOLS:
            return _Go.BOOL, _BOOLS[text]
        return _Go.STR, text
    if first == ".":
        if text in _SPECIAL_FLOATS:
            return _Go.FLOAT, _SPECIAL_FLOATS[text]
        if _DOT_FLOAT.match(text):
            value = float(text.replace("_", ""))
            if value not in (float("inf"), float("-inf")):
                return _Go.FLOAT, value
        return _Go.STR, text
    if first in "+-" or (first.isascii() and first.isdigit()):
        if text in _SPECIAL_FLOATS:
            return _Go.FLOAT, _SPECIAL_FLOATS[text]
        return _resolve_number(text)
    return _Go.STR, text


def _resolve_number(text: str) -> tuple[str, Any]:
    plain = text.replace("_", "")
    sign, digits = (plain[0], plain[1:]) if plain[:1] in ("+", "-") else ("", plain)
    if len(digits) <= 66 and _GO_UINT.match(digits):  # longer cannot fit 64 bits (and int() would refuse it)
        magnitude = _go_uint(digits)
        value = -magnitude if sign == "-" else magnitude
        if _INT64[0] <= value <= _INT64[1]:
            return _Go.INT, value
        if not sign and value <= _UINT64_MAX:
            return _Go.UINT, value
    if _YAML_FLOAT.match(plain):
        number = float(plain)
        if number not in (float("inf"), float("-inf")):
            return _Go.FLOAT, number
    return _Go.STR, text


def _go_uint(digits: str) -> int:
    if len(digits) > 1 and digits[0] == "0":
        prefix = digits[1].lower()
        if prefix in "xob":
            return int(digits[2:], {"x": 16, "o": 8, "b": 2}[prefix])
        return int(digits[1:], 8)
    return int(digits)


def json_number(value: int | float) -> int | float:
    """A number after Helm's JSON round trip: a float64, given as int when integral and exact."""
    number = float(value)
    if number.is_integer() and abs(number) <= _MAX_EXACT_INT:
        return int(number)
    return number


def _float32_key(value: float) -> str:
    """Format a float map key as Go's strconv.FormatFloat(v, 'g', -1, 32) does (how Helm names it)."""
    if value != value:
        return ".nan"
    try:
        single = struct.unpack(">f", struct.pack(">f", value))[0]
    except OverflowError:
        single = float("inf") if value > 0 else float("-inf")
    if single in (float("inf"), float("-inf")):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if str(single).startswith("-") else "0"
    for precision in range(1, 10):
        text = f"{single:.{precision - 1}e}"
        if struct.unpack(">f", struct.pack(">f", float(text)))[0] == single:
            break
    mantissa, exp_text = text.split("e")
    exponent = int(exp_text)
    negative = mantissa.startswith("-")
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    sign = "-" if negative else ""
    if exponent < -4 or exponent >= 6:
        frac = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{frac}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent >= 0:
        whole = digits[: exponent + 1].ljust(exponent + 1, "0")
        frac = digits[exponent + 1 :]
    else:
        whole, frac = "0", "0" * (-exponent - 1) + digits
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


# --- building Helm's view of a document -------------------------------------------------------------

_STD = "tag:yaml.org,2002:"
# Explicitly tagged scalars (`!!int "12"`): the go kinds each standard tag accepts.
_TAGGED_KINDS = {
    _STD + "int": (_Go.INT, _Go.UINT),
    _STD + "float": (_Go.FLOAT, _Go.INT, _Go.UINT),
    _STD + "bool": (_Go.BOOL,),
    _STD + "null": (_Go.NULL,),
}


class _DocumentReader(msgspec.Struct, dict=True):
    """Turns composed nodes into Helm's values, origins and warnings for one file."""

    source: str
    text: str
    warnings: list[str] = msgspec.field(default_factory=list)

    @cached_property
    def lines(self) -> list[str]:
        return _BREAK.split(self.text)

    @cached_property
    def has_tags(self) -> bool:
        return "!" in self.text

    def document(self, root: Node) -> Document | None:
        origins: dict[KeyPath, Origin] = {}
        if isinstance(root, ScalarNode):
            kind, value = self._scalar(root)
            if kind == _Go.NULL:
                return None
            raise self._error(root, f"the document is a {kind} ({value!r}), not a map of values", "top")
        if isinstance(root, SequenceNode):
            raise self._error(root, "the document is a list, but Helm values must be a map", "top")
        values = self._mapping(root, (), origins)
        return Document(values, origins)

    def _error(self, node: Node, problem: str, what: str) -> InputError:
        mark = node.start_mark
        hint = {
            "top": "a values file must be a YAML map (key: value lines) or empty",
            "key": "use a plain string as the key (quote it to be sure)",
            "tag": "remove the tag or quote the value",
            "number": "Helm stores values as JSON, which has no infinity or NaN: quote the value",
            "merge": "`<<` must be given a map or a list of maps",
        }[what]
        return InputError(f"{self.source}:{mark.line + 1}:{mark.column + 1}: {problem}", hint=hint)

    def _origin(self, node: Node) -> Origin:
        return Origin(self.source, node.start_mark.line + 1, node.start_mark.column + 1)

    def _value(self, node: Node, path: KeyPath, origins: dict[KeyPath, Origin]) -> Any:
        if isinstance(node, ScalarNode):
            try:
                kind, value = self._scalar(node)
            except InputError as exc:
                if not (is_secret_path(path) and node.value):
                    raise
                message = exc.message.replace(repr(node.value), REDACTED).replace(node.value, REDACTED)
                raise InputError(message, hint=exc.hint) from None
            if kind == _Go.FLOAT and (value != value or value in (float("inf"), float("-inf"))):
                raise self._error(node, f"{node.value!r} is not a number JSON can hold", "number")
            if kind in (_Go.INT, _Go.UINT, _Go.FLOAT):
                return json_number(value)
            return value
        if isinstance(node, SequenceNode):
            return [self._value(item, path, {}) for item in node.value]
        return self._mapping(node, path, origins)

    def _scalar(self, node: ScalarNode) -> tuple[str, Any]:
        tag = node.tag
        if tag == _NONPLAIN or tag == _STD + "str" or (tag.startswith("!") and tag != _PLAIN):
            return _Go.STR, node.value
        if tag == _PLAIN:
            if self._has_bang_tag(node):
                return _Go.STR, node.value
            return resolve_plain_scalar(node.value)
        if tag == _STD + "binary":
            try:
                decoded = base64.b64decode("".join(node.value.split()), validate=True)
            except (binascii.Error, ValueError):
                raise self._error(node, f"!!binary value {node.value!r} is not base64", "tag") from None
            return _Go.STR, decoded.decode("utf-8", errors="replace")
        wanted = _TAGGED_KINDS.get(tag)
        if wanted is None:
            raise self._error(node, f"the tag {tag} is not supported", "tag")
        kind, value = resolve_plain_scalar(node.value)
        if kind not in wanted:
            raise self._error(node, f"cannot read {node.value!r} as {tag.removeprefix(_STD)}", "tag")
        return kind, value

    def _has_bang_tag(self, node: ScalarNode) -> bool:
        """True for `! 12`: libyaml reports the non-specific tag `!` like no tag, go-yaml reads a string."""
        if not self.has_tags:
            return False
        mark = node.start_mark
        line = self.lines[mark.line] if mark.line < len(self.lines) else ""
        if line[mark.column : mark.column + 1] not in ("!", "&"):
            return False
        text = line[mark.column :]
        if text.startswith("&"):
            text = text.split(None, 1)[1] if " " in text else ""
        return text.startswith("! ") or text == "!"

    def _key(self, node: Node) -> tuple[str, str]:
        """Return (go kind, Helm's string form) of a map key."""
        if not isinstance(node, ScalarNode):
            raise self._error(node, "a list or map cannot be a key in Helm values", "key")
        kind, value = self._scalar(node)
        if kind == _Go.STR:
            return kind, value
        if kind == _Go.BOOL:
            return kind, "true" if value else "false"
        if kind == _Go.INT:
            return kind, str(value)
        if kind == _Go.FLOAT:
            return kind, _float32_key(value)
        shown = "null" if kind == _Go.NULL else node.value
        raise self._error(node, f"the key {shown!r} is a {kind}, which Helm cannot turn into a string", "key")

    def _mapping(self, node: MappingNode, path: KeyPath, origins: dict[KeyPath, Origin]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # (go kind, string) of the key that set each entry, and where: to tell Helm's deterministic
        # duplicates (same go key, last wins) from its random ones (different go keys, same string).
        seen: dict[str, tuple[str, Origin]] = {}
        self._fill(node, path, origins, out, seen)
        return out

    def _fill(
        self,
        node: MappingNode,
        path: KeyPath,
        origins: dict[KeyPath, Origin],
        out: dict[str, Any],
        seen: dict[str, tuple[str, Origin]],
        merging: bool = False,
    ) -> None:
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _PLAIN and key_node.value == "<<":
                for merged in self._merge_sources(value_node):
                    self._fill(merged, path, origins, out, seen, merging=True)
                continue
            kind, key = self._key(key_node)
            here = self._origin(key_node)
            if key in seen:
                first_kind, first = seen[key]
                if first_kind != kind:
                    raise InputError(
                        f"{here}: key {key_node.value!r} and the key at line {first.line} both become "
                        f"{key!r} in Helm, which then keeps one of them at random",
                        hint="remove one of the two keys",
                    )
                if not merging:
                    self.warnings.append(
                        f"{here}: duplicate key {format_path((*path, key))} (first at line {first.line}); "
                        "Helm silently keeps the last one"
                    )
                _drop_subtree(origins, (*path, key), out[key])
            seen[key] = (kind, here)
            child = (*path, key)
            origins[child] = here
            out[key] = self._value(value_node, child, origins)

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        """Maps a `<<` key merges in, in the order go-yaml v2 applies them (a list is applied backwards)."""
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(item, MappingNode) for item in node.value):
            return list(reversed(node.value))
        raise self._error(node, "`<<` (merge key) needs a map or a list of maps", "merge")


def _drop_subtree(origins: dict[KeyPath, Origin], path: KeyPath, value: Any) -> None:
    """Forget the origins below `path` (its value was a map that a duplicate key replaced)."""
    if isinstance(value, dict):
        for key, item in value.items():
            origins.pop((*path, key), None)
            _drop_subtree(origins, (*path, key), item)
