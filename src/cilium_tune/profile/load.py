"""Finding, reading and validating profiles; every failure becomes one InputError with file, line and fix."""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from cilium_tune.errors import InputError
from cilium_tune.inputs import read_text
from cilium_tune.profile.model import InconsistentProfile, Profile, nested_model
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
        profile = Profile.model_validate(doc.data)
    except ValidationError as exc:
        raise _input_error(exc, doc) from None
    return profile.with_source(source)


def _input_error(exc: ValidationError, doc: YamlDocument) -> InputError:
    """Turn the first validation error into a message naming file, line, key and the fix."""
    errors = sorted(
        exc.errors(include_url=False),
        key=lambda e: (e["type"] != "extra_forbidden", doc.line_of(tuple(e["loc"])) or 0),
    )
    err = errors[0]
    loc: Loc = tuple(err["loc"])
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, InconsistentProfile):
        loc = (*loc, *original.loc)
    line = doc.line_of(loc)
    where = f"{doc.source}:{line}" if line is not None else doc.source
    path = _dotted(loc) or "profile"
    kind = err["type"]
    hint: str | None = None
    if kind == "extra_forbidden":
        valid = _field_names(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        message = f"unknown field {path!r}"
        hint = f"did you mean {close[0]!r}?" if close else f"valid fields here: {', '.join(valid)}"
    elif kind == "missing":
        message = f"{path}: required field is missing"
        hint = f"add {loc[-1]!r} (see `cilium-tune profile schema`)"
    else:
        text = str(original) if original is not None else err["msg"]
        message = f"{path}: {text}"
        hint = original.hint if isinstance(original, InconsistentProfile) else _hint_for(kind)
    more = f" (1 of {len(errors)} problems)" if len(errors) > 1 else ""
    return InputError(f"{where}: {message}{more}", hint=hint or "fix the value (see `cilium-tune profile schema`)")


def _hint_for(kind: str) -> str | None:
    if kind.startswith(("literal_", "enum")):
        return "use one of the listed values"
    if kind in {"bool_type", "bool_parsing"}:
        return "use true or false"
    if kind == "string_type":
        return 'quote the value, e.g. "1.19.0" (YAML reads 1.19 as a number)'
    if kind in {"int_type", "int_parsing"}:
        return "use a whole number"
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field_names(loc: Loc) -> list[str]:
    """The field names valid at `loc` (walking the model through nested models and lists)."""
    model: type[BaseModel] = Profile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        target = nested_model(field.annotation) if field is not None else None
        if target is None:
            return []
        model = target
    return list(model.model_fields)
