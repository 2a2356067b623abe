"""The profile's field types: msgspec checks types and bounds in C, `Valid` adds what a type cannot say.

A profile is validated with msgspec rather than pydantic because `plan` reads one on every run and
starts in a fraction of a second (issue 8: no slower than `helm template`): msgspec imports and builds
its classes several times faster. msgspec has no per-field validators, so a field type carries its
check as `Annotated` metadata (`Valid(check)`), and `Strict.__post_init__` runs the checks of the
struct's fields once msgspec has typed them. A failing check raises `InconsistentProfile` with the
field's location; msgspec wraps it in a `ValidationError` naming the struct's path, and the loader
joins the two.

The helpers at the end read the same `Annotated` types back, for the loader's did-you-mean and
choices, and for the comments of `profile init`.

This module and `model.py` do without `from __future__ import annotations` on purpose: msgspec reads a
struct's annotations at its first decode, and strings would be compiled then (docs/plan-speed.md).
"""

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, get_args, get_origin

from msgspec import Meta, Struct
from msgspec.structs import FieldInfo, fields, force_setattr

from cilium_tune import names


class InconsistentProfile(ValueError):
    """A field or cross-field contradiction, carrying the location of the field to fix (below the struct)."""

    def __init__(self, loc: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.loc = loc
        self.hint = hint


class Valid:
    """`Annotated` marker: a check run on the field's value after msgspec typed it; returns it normalised."""

    __slots__ = ("check",)

    def __init__(self, check: Callable[[str], str]) -> None:
        self.check = check


Check = tuple[str, tuple[Callable[[str], str], ...], bool]  # field name, its checks, whether it is a list
_CHECKS: dict[type[Struct], tuple[Check, ...]] = {}


class Strict(Struct, forbid_unknown_fields=True, frozen=True):
    """Base of every profile struct: unknown fields are errors, instances are immutable, fields checked.

    Subclasses repeat `frozen=True`: msgspec inherits it, but mypy's reading of the class does not.
    """

    def __post_init__(self) -> None:
        checks = _CHECKS.get(type(self))
        if checks is None:
            checks = _CHECKS[type(self)] = _checks_of(type(self))
        for name, funcs, many in checks:
            value = getattr(self, name)
            if value is None:
                continue
            if many:
                force_setattr(self, name, [_checked((name, i), item, funcs) for i, item in enumerate(value)])
            else:
                force_setattr(self, name, _checked((name,), value, funcs))


def _checked(loc: tuple[str | int, ...], value: str, funcs: tuple[Callable[[str], str], ...]) -> str:
    try:
        for check in funcs:
            value = check(value)
    except ValueError as exc:
        raise InconsistentProfile(loc, str(exc)) from None
    return value


def _checks_of(cls: type[Struct]) -> tuple[Check, ...]:
    found: list[Check] = []
    for field in fields(cls):
        funcs = tuple(part.check for part in parts(field.type) if isinstance(part, Valid))
        if funcs:
            found.append((field.name, funcs, any(get_origin(part) is list for part in parts(field.type))))
    return tuple(found)


# ---------------------------------------------------------------- reading the types back


def parts(annotation: Any) -> Iterator[Any]:
    """`annotation` and everything inside it: `Annotated` metadata, union members, list items."""
    yield annotation
    for arg in get_args(annotation):
        yield from parts(arg)


def nested_struct(annotation: Any) -> type[Strict] | None:
    """The struct class inside a field type (`X`, `X | None`, `list[X]`), if any."""
    for part in parts(annotation):
        if isinstance(part, type) and issubclass(part, Strict):
            return part
    return None


def choices(annotation: Any) -> tuple[Any, ...]:
    """The values a `Literal` field type allows (empty when it is not one)."""
    for part in parts(annotation):
        if get_origin(part) is Literal:
            return get_args(part)
    return ()


def description(annotation: Any) -> str | None:
    """The field's own description (its outermost `Meta(description=...)`)."""
    if get_origin(annotation) is not Annotated:
        return None
    texts = [meta.description for meta in get_args(annotation)[1:] if isinstance(meta, Meta) and meta.description]
    return texts[-1] if texts else None


def field_at(root: type[Strict], loc: tuple[str | int, ...]) -> FieldInfo | None:
    """The field a location names (list indexes skipped), or None when the path leaves the model."""
    struct: type[Strict] | None = root
    found: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if struct is None:
            return None
        found = next((field for field in fields(struct) if field.name == part), None)
        if found is None:
            return None
        struct = nested_struct(found.type)
    return found


# ---------------------------------------------------------------- names and free text

NodeName = Annotated[str, Meta(min_length=1), Valid(names.node_name)]
Namespace = Annotated[str, Meta(min_length=1), Valid(names.namespace)]
ReleaseName = Annotated[str, Meta(min_length=1), Valid(names.release_name)]
ChartVersion = Annotated[str, Meta(min_length=1), Valid(names.chart_version)]
SingleLine = Annotated[str, Valid(names.single_line)]
