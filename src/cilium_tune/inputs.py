"""Reading untrusted files: size, type, depth and alias limits, checked before a parser builds anything.

Every file the tool reads (values, baselines, profiles, facts snapshots, kubeconfigs) may come from
someone else: a ticket, a repository, a CI artifact. A 1 KB YAML file with nested aliases (the "billion
laughs") expands to gigabytes; `&a [*a]` makes a value contain itself; 100,000 nested brackets overflow
the C stack of the YAML composer (a segfault, not an exception); `/dev/zero` or a FIFO never ends.

So, in this order: only regular files (or stdin, when the user says `-`) are read, at most `MAX_BYTES`;
YAML is first walked as a stream of parser events (libyaml's parser keeps its own stack, so it does not
recurse) to measure nesting depth and the size the aliases expand to, and only then composed; decoded
JSON is walked iteratively for depth, and huge integers are refused with the line they are on.

The values loader reads large files, and that walk cost a fifth of its time. So a loader may count the
depth itself while libyaml composes (`DepthLimited`: the composer calls it before it descends into every
node, so it stops at the limit long before the C stack is at risk) and call `check_yaml_aliases`, which
walks the events only when the text holds an alias (`*`), the one thing composing cannot bound.
The limits are far above anything a real Helm values file, profile or snapshot needs (the Cilium chart's
own values.yaml nests 8 deep and expands to about 5,000 nodes).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from cilium_tune.errors import InputError

MAX_BYTES = 32 * 1024 * 1024
"""The largest input file read (a snapshot of a 1,000-node cluster is about 5 MB)."""
MAX_DEPTH = 100
"""The deepest nesting of maps and lists accepted."""
MAX_NODES = 1_000_000
"""The most values a YAML document may hold once its aliases are expanded."""
MAX_INT_DIGITS = 4300
"""Python's own limit for decimal integers in text (sys.get_int_max_str_digits default)."""


class _EventParser(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's event parser (no composing, no constructing)."""


def read_bytes(path: str | os.PathLike[str], what: str, *, missing: str = "check the path") -> bytes:
    """The content of a regular file (or stdin for `-`), refusing devices, FIFOs, directories and huge files.

    `what` names the file in messages ("values file", "facts file"...); `missing` is the hint when the
    file does not exist.
    """
    if str(path) == "-":
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)
        data = buffer.read(MAX_BYTES + 1) if buffer is not None else stream.read(MAX_BYTES + 1).encode()
        _check_size(len(data), "<stdin>", what)
        return data
    check_regular_file(path, what, missing=missing)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the {what}: {exc.strerror}", hint="check the path and permissions"
        ) from None
    _check_size(len(data), str(path), what)
    return data


def check_regular_file(path: str | os.PathLike[str], what: str, *, missing: str = "check the path") -> None:
    """InputError unless `path` is a regular file of at most MAX_BYTES (a FIFO would block, a device never end)."""
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found", hint=missing) from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the {what}: {exc.strerror}", hint="check the path and permissions"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, not a {what}", hint=f"pass the {what} itself")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or special file"
        raise InputError(
            f"{path}: is {kind}, not a regular file", hint=f"save the {what} to a file first (or use '-' for stdin)"
        )
    _check_size(info.st_size, str(path), what)


def _check_size(size: int, source: str, what: str) -> None:
    if size > MAX_BYTES:
        raise InputError(
            f"{source}: the {what} is larger than {MAX_BYTES // (1024 * 1024)} MiB",
            hint=f"pass the right file; a {what} is never this large",
        )


def decode_utf8(data: bytes, source: str, what: str) -> str:
    """UTF-8 text (a BOM is dropped); a bad byte is reported with its line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{source}:{line}: the {what} is not valid UTF-8 (byte {exc.start})", hint="save the file as UTF-8"
        ) from None


def read_text(path: str | os.PathLike[str], what: str, *, missing: str = "check the path") -> str:
    """`read_bytes` then `decode_utf8`."""
    source = "<stdin>" if str(path) == "-" else str(path)
    return decode_utf8(read_bytes(path, what, missing=missing), source, what)


# ------------------------------------------------------------------------------------------------ YAML


def check_yaml(text: str, source: str) -> None:
    """Refuse YAML that nests deeper than MAX_DEPTH, aliases a node inside itself, or expands past MAX_NODES.

    Syntax errors are left to the real parse that follows, which reports them with its own message.
    """
    if len(text) < 64 and "*" not in text:
        return
    _walk_events(text, source, _check_aliases if "*" in text else _check_depth_only)


def check_yaml_aliases(text: str, source: str) -> None:
    """`check_yaml` for a loader that is `DepthLimited`: walks the events only when the text has an alias.

    Without a `*` no alias can occur, so nothing can expand or refer to itself, and the depth is counted
    by the composer; with one, the events are walked as `check_yaml` does (depth included).
    """
    if "*" in text:
        _walk_events(text, source, _check_aliases)


class DepthLimited:
    """Mixin for a libyaml loader: refuse nesting deeper than MAX_DEPTH while the document is composed.

    libyaml's composer (C, recursive) calls `descend_resolver` before it composes any node, `resolve`
    before it descends into a collection without an explicit tag, and `ascend_resolver` after; raising
    there stops it at most MAX_DEPTH + 2 frames deep. The loader's `resolve` calls `check_collection`
    for sequences and maps: a collection at nesting level MAX_DEPTH + 1 is refused, as `check_yaml`
    refuses it (an explicitly tagged one as soon as it holds anything). Set `depth_source` (the file
    name for messages) before composing.
    """

    depth_source = "<yaml>"
    _depth = 0
    _parent: Any = None

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """Count one level; a node inside a collection that is already too deep is refused."""
        self._depth += 1
        self._parent = current_node
        if self._depth > MAX_DEPTH + 1:
            raise _too_deep(self.depth_source, current_node.start_mark)

    def ascend_resolver(self) -> None:
        """Leave the level `descend_resolver` counted."""
        self._depth -= 1

    def check_collection(self) -> None:
        """Refuse the collection being composed when it is one level too deep."""
        if self._depth > MAX_DEPTH:
            raise _too_deep(self.depth_source, self._parent.start_mark)


def _walk_events(text: str, source: str, check: Any) -> None:
    loader = _EventParser(text)
    try:
        check(loader, source)
    except yaml.YAMLError:
        return  # the real parse reports it, with line and column
    finally:
        loader.dispose()


_STARTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_depth_only(loader: Any, source: str) -> None:
    depth = 0
    get = loader.get_event
    while loader.check_event():
        kind = type(event := get())
        if kind in _STARTS:
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(source, event.start_mark)
        elif kind in _ENDS:
            depth -= 1


def _check_aliases(loader: Any, source: str) -> None:
    # One frame per open collection: [nodes so far, anchor or None]. `sizes` holds closed anchors' sizes.
    stack: list[list[Any]] = [[0, None]]
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    while loader.check_event():
        event = loader.get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.anchor:
                sizes[event.anchor] = 1
            stack[-1][0] += 1
            continue
        if kind in _STARTS:
            if len(stack) > MAX_DEPTH:
                raise _too_deep(source, event.start_mark)
            stack.append([1, event.anchor])
            if event.anchor:
                open_anchors.add(event.anchor)
            continue
        if kind in _ENDS:
            size, anchor = stack.pop()
            if anchor:
                sizes[anchor] = size
                open_anchors.discard(anchor)
            stack[-1][0] += size
        elif kind is yaml.AliasEvent:
            if event.anchor in open_anchors:
                raise InputError(
                    f"{_where(source, event.start_mark)}: the alias *{event.anchor} refers to a node that "
                    "contains it (a recursive alias)",
                    hint="a value cannot contain itself; copy the values instead of aliasing them",
                )
            stack[-1][0] += sizes.get(event.anchor, 1)
        elif kind is yaml.DocumentEndEvent:
            stack[-1][0] = 0
        if stack[-1][0] > MAX_NODES:
            raise InputError(
                f"{_where(source, event.start_mark)}: the aliases expand to more than {MAX_NODES:,} values "
                "(an alias bomb?)",
                hint="write the values out instead of nesting aliases of aliases",
            )


def _where(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source


def _too_deep(source: str, mark: Any) -> InputError:
    return InputError(
        f"{_where(source, mark)}: maps and lists nest more than {MAX_DEPTH} levels deep",
        hint="this is not a values, profile or config file a person wrote; check what produced it",
    )


# ------------------------------------------------------------------------------------------------ JSON

_HUGE_INT = re.compile(rf"-?\d{{{MAX_INT_DIGITS + 1},}}")


def loads_json(text: str, source: str, what: str) -> Any:
    """Decode JSON with the line of any syntax error; refuse huge integers and deep nesting."""
    huge = _HUGE_INT.search(text)
    if huge is not None:
        line = text.count("\n", 0, huge.start()) + 1
        raise InputError(
            f"{source}:{line}: a number with {len(huge.group()):,} digits", hint=f"the {what} is corrupt or forged"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})",
            hint=f"the {what} must be the JSON cilium-tune wrote",
        ) from None
    except RecursionError:
        raise InputError(
            f"{source}: maps and lists nest more than {MAX_DEPTH} levels deep",
            hint=f"the {what} is corrupt or forged",
        ) from None
    check_depth(data, source)
    return data


def check_depth(data: Any, source: str) -> None:
    """Refuse decoded data nesting deeper than MAX_DEPTH (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise InputError(
                f"{source}: maps and lists nest more than {MAX_DEPTH} levels deep",
                hint="this was not written by cilium-tune or helm; check what produced it",
            )
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
