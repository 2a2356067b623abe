"""Write values as YAML or JSON that Helm reads back to exactly the same values.

PyYAML decides whether a string may be written unquoted by asking its resolver whether the plain text
would read back as a string. Its YAML 1.1 resolver disagrees with go-yaml v2 (it writes `y`, `0o12` or
`08` unquoted, which Helm then reads as true, 8 and 8), so the dumper here asks our go-yaml resolver
instead. Keys are sorted, as Helm sorts them.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from yaml.cyaml import CEmitter
from yaml.nodes import Node, ScalarNode, SequenceNode
from yaml.representer import SafeRepresenter

from cilium_tune.values.loader import resolve_plain_scalar

__all__ = ["dump_json", "dump_yaml"]

_STD = "tag:yaml.org,2002:"
_KIND_TAGS = {"str": "str", "int": "int", "uint": "int", "float": "float", "bool": "bool", "null": "null"}


class _GoYamlResolver(yaml.resolver.BaseResolver):  # type: ignore[misc]
    """Tells the emitter how go-yaml v2 would read a plain scalar, so strings get quoted when needed."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                if value == "<<":  # a plain `<<` key is YAML's merge key: keep the text quoted
                    return _STD + "merge"
                go_kind, _ = resolve_plain_scalar(value)
                return _STD + _KIND_TAGS[go_kind]
            return _STD + "str"
        return _STD + ("seq" if kind is SequenceNode else "map")


class _HelmRepresenter(SafeRepresenter):  # type: ignore[misc]
    def represent_float(self, data: float) -> ScalarNode:
        text = repr(data).lower()
        if "e" in text and "." not in text:
            text = text.replace("e", ".0e", 1)
        return self.represent_scalar(_STD + "float", text)

    def represent_str(self, data: str) -> ScalarNode:
        """Multi-line text as a `|` block, as a person would write it."""
        return self.represent_scalar(_STD + "str", data, style="|" if "\n" in data else None)


_HelmRepresenter.add_representer(float, _HelmRepresenter.represent_float)
_HelmRepresenter.add_representer(str, _HelmRepresenter.represent_str)


class _Dumper(CEmitter, _HelmRepresenter, _GoYamlResolver):  # type: ignore[misc]
    """libyaml's emitter (the pinned PyYAML is built with it) with our representer and resolver."""

    def __init__(
        self,
        stream: Any,
        *,
        default_style: str | None = None,
        default_flow_style: bool = False,
        sort_keys: bool = True,
        **emitter_args: Any,
    ) -> None:
        CEmitter.__init__(self, stream, **emitter_args)
        SafeRepresenter.__init__(self, default_style, default_flow_style, sort_keys)
        _GoYamlResolver.__init__(self)


def dump_yaml(values: dict[str, Any]) -> str:
    """Block-style YAML with sorted keys and no line folding; `{}` for empty values."""
    text: str = yaml.dump(
        values,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=1 << 30,
    )
    return text


def dump_json(values: Any) -> str:
    """Indented JSON with sorted keys (what `-o json` prints)."""
    return json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
