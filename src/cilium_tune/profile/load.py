"""Finding, reading and validating profiles; every failure becomes one InputError with file, line and fix.

msgspec stops at the first problem, so one problem is reported, not a count of them. An unknown field
anywhere goes first (a misspelt key is the likeliest cause of the rest; msgspec would report one only
when it reaches it), found by a walk of the data that runs only once validation has failed; otherwise
msgspec's own first problem: in the file's order
(it reads a mapping's keys in order), then a missing required field, then the cross-field checks. Its
message is plain text (`Expected `int`, got `str` - at `$.tuning.ipam.ipv4.mask_size``); it is parsed
back into a location so the error names the line and the dotted key, and gets the same hints as before.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import fields

from cilium_tune.errors import InputError
from cilium_tune.inputs import read_text
from cilium_tune.profile.fields import InconsistentProfile, Strict, choices, field_at, nested_struct
from cilium_tune.profile.model import Profile
from cilium_tune.profile.source import Loc, YamlDocument, parse_yaml

DEFAULT_PROFILE = "skyforge-dev"


def builtin_profile_names() -> list[str]:
    """Names of the profiles shipped with the tool, sorted."""
    folder = _builtin_dir()
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_profile_text(name: str) -> str:
    """The YAML text (with its comments) of a built-in profile."""
    if name not in builtin_profile_names():
        raise InputError(
            f"no built-in profile named {name!r}",
            hint=f"built-in profiles: {', '.join(builtin_profile_names())}; or pass a path to a YAML file",
        )
    return _builtin_dir().joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def _builtin_dir() -> Path:
    """The built-in profiles beside this module (a plain path: importlib.resources costs ~10 ms to set up)."""
    return Path(__file__).with_name("builtin")


def load_profile(name_or_path: str | None = None) -> Profile:
    """Load a profile: None is the default (`skyforge-dev`), a bare name a built-in, anything else a file."""
    name = DEFAULT_PROFILE if name_or_path is None else name_or_path
    if name in builtin_profile_names():
        return parse_profile(builtin_profile_text(name), f"builtin:{name}")
    path = Path(name)
    if not path.exists():
        if "/" not in name and not name.endswith((".yaml", ".yml")):
            close = difflib.get_close_matches(name, builtin_profile_names(), n=1)
            hint = f"did you mean {close[0]!r}?" if close else None
            known = ", ".join(builtin_profile_names())
            raise InputError(
                f"no built-in profile named {name!r} and no file {name}",
                hint=hint or f"built-in profiles: {known}; or pass a YAML file path",
            )
        raise InputError(
            f"profile file {name} does not exist", hint="check the path, or run `cilium-tune profile init`"
        )
    return parse_profile(read_text(path, "profile"), str(path))


def parse_profile(text: str, source: str) -> Profile:
    """Validate profile YAML text; `source` names the file in error messages."""
    doc = parse_yaml(text, source)
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else f"a {type(doc.data).__name__}"
        raise InputError(
            f"{source}: the profile is {kind}, not a mapping", hint="start from `cilium-tune profile init`"
        )
    try:
        profile = msgspec.convert(doc.data, Profile, strict=True)
    except msgspec.ValidationError as exc:
        raise _input_error(exc, doc) from None
    return profile.with_source(source)


# msgspec's location suffix: ` - at `$.tuning.ipam[0]``, or ` - at `key` in `$.tuning`` for a bad key.
_AT = re.compile(r" - at `(key` in `)?\$((?:\.\w+|\[\d+\])*)`\Z")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")
_MISSING = re.compile(r"Object missing required field `(\w+)`\Z")
_WRONG_TYPE = re.compile(r"Expected `([\w |]+)`, got `(\w+)`\Z")
_BAD_CHOICE = re.compile(r"Invalid enum value (.*)\Z", re.S)
# msgspec's type names, as a profile's author knows them.
_TYPES = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
    "date": "a date",
    "datetime": "a date and time",
}


def _input_error(exc: msgspec.ValidationError, doc: YamlDocument) -> InputError:
    """Turn msgspec's error into a message naming file, line, key and the fix."""
    unknown_field = _unknown_field(doc.data)
    if unknown_field is not None:
        return _unknown(doc, unknown_field)
    text, cause = str(exc), exc.__cause__
    # A check's message (the cause) may hold anything, even text like msgspec's suffix: look past it.
    start = len(str(cause)) if cause is not None and text.startswith(str(cause)) else 0
    located = _AT.search(text, start)
    what = text[: located.start()] if located is not None else text
    loc: Loc = _loc(located.group(2)) if located is not None else ()
    hint: str | None = None
    if located is not None and located.group(1):
        return _key_not_a_string(doc, loc)
    elif isinstance(cause, InconsistentProfile):
        loc = (*loc, *cause.loc)
        message, hint = str(cause), cause.hint
    elif cause is not None:
        message = what
    elif missing := _MISSING.match(what):
        loc = (*loc, missing.group(1))
        hint = f"add {loc[-1]!r} (see `cilium-tune profile schema`)"
        return _error(doc, loc, f"{_dotted(loc)}: required field is missing", hint)
    elif allowed := _choices_at(loc):
        message = f"expected {allowed}, got {_got(what)}"
        hint = "use one of the listed values"
    else:
        message = _plain(what)
        hint = _hint_for(what)
    path = _dotted(loc)
    return _error(doc, loc, f"{path}: {message}" if path else message, hint)


def _unknown_field(data: Any, struct: type[Strict] = Profile, loc: Loc = ()) -> Loc | None:
    """The location of the first key (in the file's order) that no field takes, if any."""
    if not isinstance(data, dict):
        return None
    known = {field.name: field for field in fields(struct)}
    for key, value in data.items():
        if not isinstance(key, str):
            continue  # msgspec's own error says what is wrong with it
        field = known.get(key)
        if field is None:
            return (*loc, key)
        nested = nested_struct(field.type)
        if nested is None:
            continue
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            found = _unknown_field(item, nested, (*loc, key) if i is None else (*loc, key, i))
            if found is not None:
                return found
    return None


def _key_not_a_string(doc: YamlDocument, loc: Loc) -> InputError:
    """A key YAML read as a number, a boolean or null (`1:`, `yes:`): no field has such a name."""
    mapping: Any = doc.data
    for part in loc:
        mapping = mapping[part]
    key = next(key for key in mapping if not isinstance(key, str))
    where = f"{_dotted(loc)}: key" if loc else "key"
    hint = "use a field name (see `cilium-tune profile schema`)"
    return _error(doc, (*loc, str(key)), f"{where} {key!r} is not a field name", hint)


def _unknown(doc: YamlDocument, loc: Loc) -> InputError:
    valid = [field.name for field in _fields_at(loc[:-1])]
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}?" if close else f"valid fields here: {', '.join(valid)}"
    return _error(doc, loc, f"unknown field {_dotted(loc)!r}", hint)


def _error(doc: YamlDocument, loc: Loc, message: str, hint: str | None) -> InputError:
    line = doc.line_of(loc)
    where = f"{doc.source}:{line}" if line is not None else doc.source
    return InputError(f"{where}: {message}", hint=hint or "fix the value (see `cilium-tune profile schema`)")


def _loc(path: str) -> Loc:
    return tuple(name or int(index) for name, index in _STEP.findall(path))


def _choices_at(loc: Loc) -> str:
    """The values a choice field allows, as a list to read (empty when the field is no choice)."""
    field = field_at(Profile, loc) if loc else None
    allowed = [repr(value) for value in choices(field.type)] if field is not None else []
    return f"{', '.join(allowed[:-1])} or {allowed[-1]}" if len(allowed) > 1 else "".join(allowed)


def _got(message: str) -> str:
    """What the file holds, as msgspec saw it: a refused choice's value, or the value's type."""
    bad = _BAD_CHOICE.match(message)
    if bad is not None:
        return bad.group(1)
    wrong = _WRONG_TYPE.match(message)
    return _TYPES.get(wrong.group(2), wrong.group(2)) if wrong is not None else "another value"


def _plain(message: str) -> str:
    """msgspec's `Expected `int` <= 32` as `expected a whole number <= 32`."""
    text = re.sub(r"`([\w |]+)`", lambda m: " or ".join(_TYPES.get(t, t) for t in m.group(1).split(" | ")), message)
    return text[:1].lower() + text[1:]


def _hint_for(message: str) -> str | None:
    """The fix for a value of the wrong type (bounds and lengths get the general hint)."""
    wrong_type = _WRONG_TYPE.match(message)
    if wrong_type is None:
        return None
    expected, got = wrong_type.group(1).split(" | "), wrong_type.group(2)
    if "bool" in expected:
        return "use true or false"
    if "str" in expected and got in {"int", "float", "date", "datetime"}:
        return 'quote the value, e.g. "1.19.0" (YAML reads 1.19 as a number)'
    if "int" in expected:
        return "use a whole number"
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(loc: Loc) -> tuple[msgspec.structs.FieldInfo, ...]:
    """The fields valid at `loc` (the profile's own at the top)."""
    if not any(isinstance(part, str) for part in loc):
        return fields(Profile)
    field = field_at(Profile, loc)
    struct = nested_struct(field.type) if field is not None else None
    return fields(struct) if struct is not None else ()
