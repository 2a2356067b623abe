"""What a baseline file says about itself.

A baseline is `helm get values --all` of the live release. Values alone do not say which chart version
produced them, and a rollback that does not pin that version silently takes whatever chart is current.
So a captured baseline starts with comment lines (`# chart-version: 1.18.6`, `# release: kube-system/cilium`)
that Helm ignores and this module reads. A hand-made baseline without them needs --baseline-version.
The obvious spellings (`# chart version:`, `# chart_version:`, `# chartVersion:`, any case) are read as
the same header; a line that looks like a header but is none (`# chart-verison: 1.18.6`) is refused
with its line number rather than silently skipped, since a skipped header means an unpinned rollback.

Without a file, the live release in a facts snapshot can serve as the baseline: its computed values are
what `helm get values --all` prints, and its revision is a rollback target helm itself pins
(`helm rollback RELEASE REVISION` restores that revision's chart and values).

`--all` holds every default of the chart it came from, so under another chart version it would pin the
old defaults (image tag and digest included). A `baseline capture` directory therefore also keeps the
user-supplied values (`user-values.yaml`, `helm get values` without `--all`), and the facts carry them
too; `cilium_tune.desired` decides which of the two a change layers.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import msgspec

from cilium_tune import names
from cilium_tune.errors import InputError
from cilium_tune.inputs import read_text
from cilium_tune.values.emit import dump_yaml
from cilium_tune.values.loader import LoadedValues, load_values_text
from cilium_tune.values.paths import format_path, iter_leaves

HEADERS = ("chart-version", "release")
CAPTURE_VALUES, CAPTURE_RELEASE, USER_VALUES = "values.yaml", "release.json", "user-values.yaml"  # a capture's files
# `# some key: value`: a comment shaped like a header (a short key of words, a colon, maybe a value).
_HEADER = re.compile(r"^#\s*(?P<key>[A-Za-z][A-Za-z0-9 _-]{0,30}?)\s*:\s*(?P<value>\S*)\s*$")
_NO_COLON = re.compile(r"^#\s*chart[\s_-]*version\b(?!\s*:)", re.IGNORECASE)


def header_key(key: str) -> str:
    """`chart version`, `chart_version`, `chartVersion`, `Chart-Version` -> `chart-version`."""
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", key.strip())
    return re.sub(r"[\s_-]+", "-", kebab).lower()


def header_fields(text: str, source: str = "<baseline>") -> dict[str, str]:
    """The `# key: value` header lines at the top of a baseline file (up to the first non-comment line).

    InputError (naming the line) for a line that is nearly a known header, or a known one without a value.
    """
    fields: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        match = _HEADER.match(line)
        if match is None:
            if _NO_COLON.match(line):
                raise InputError(
                    f"{source}:{number}: `{line.strip()}` looks like the chart-version header but has no colon",
                    hint="write it as `# chart-version: X`",
                )
            continue
        key, value = header_key(match["key"]), match["value"]
        if key in HEADERS:
            if not value:
                raise InputError(
                    f"{source}:{number}: header `{key}` has no value", hint=f"write it as `# {key}: VALUE`"
                )
            if key not in fields:
                _check_header(key, value, f"{source}:{number}")
            fields.setdefault(key, value)
            continue
        near = difflib.get_close_matches(key, HEADERS, n=1, cutoff=0.75)
        if near:
            raise InputError(
                f"{source}:{number}: `{line.strip()}` looks like the `{near[0]}` header but is not one",
                hint=f"write it as `# {near[0]}: {value or 'VALUE'}` (or remove the line)",
            )
    return fields


def chart_version(text: str, source: str = "<baseline>") -> str | None:
    """The chart version a baseline was captured from, when its header says."""
    return header_fields(text, source).get("chart-version")


class Baseline(msgspec.Struct, frozen=True):
    """The captured values a change starts from, and the chart version they were captured with.

    `values` are the release as it was (`--all`: what a rollback restores); `user_values` are what the user
    supplied (None when not known: a hand-made file, or a capture made before they were recorded);
    `captured` says the file is a `baseline capture` directory's.
    """

    path: str
    values: LoadedValues
    chart_version: str | None
    live_revision: int | None = None
    user_values: LoadedValues | None = None
    captured: bool = False

    @property
    def is_file(self) -> bool:
        """True for a captured file (passed to helm with -f); False for the live release from facts."""
        return self.live_revision is None

    @property
    def restoring(self) -> tuple[LoadedValues, ...]:
        """The values that give helm back the release as it rendered, in -f order: `values`, then the
        user-supplied values when they delete a chart default with a null.

        `--all` cannot say that a key was deleted: helm leaves a user's null over a non-null chart default
        out of it, so given back alone the default returns (`bpf.monitorAggregation: null` renders
        `monitor-aggregation` empty in cilium-config; `--all` alone gives back `medium`). The whole
        user-supplied file goes after it, not only its nulls: its other keys are in `--all` with the same
        values (helm computed `--all` from them), so they change nothing, and helm reads the capture's own
        checksummed file rather than one derived from it. Without a deletion nothing is added."""
        user = self.user_values
        if user is None or not deletes_keys(user.values):
            return (self.values,)
        return (self.values, user)


def deletes_keys(values: dict[str, Any]) -> bool:
    """Whether values hold a null outside a list: given with -f, an order to helm to delete that key."""
    return bool(null_paths(values))


def null_paths(values: dict[str, Any]) -> list[str]:
    """The dotted paths of the nulls outside lists, in file order."""
    return [format_path(path) for path, value in iter_leaves(values) if value is None]


def load_baseline(path: str, chart_version_override: str | None = None) -> Baseline:
    """Read a baseline file (InputError naming the file and line when it is not valid values YAML, or when
    its `# chart-version:` header or the override is not a chart version)."""
    text = read_text(path, "values file", missing="check the path given to --baseline")
    values = load_values_text(text, path)
    header = chart_version(text, path)
    if chart_version_override is not None:
        _check_version(chart_version_override, "--baseline-version", "pass the chart version, e.g. 1.19.0")
    folder = Path(path).parent
    captured = Path(path).name == CAPTURE_VALUES and (folder / CAPTURE_RELEASE).is_file()
    user_file = folder / USER_VALUES
    user = None
    if captured and user_file.is_file():
        user = load_values_text(read_text(str(user_file), "values file"), str(user_file))
    return Baseline(path, values, chart_version_override or header, user_values=user, captured=captured)


def _check_header(key: str, value: str, where: str) -> None:
    """A header's value reaches printed commands (`helm ... --version V`): it must be what it claims to be."""
    if key == "chart-version":
        _check_version(value, f"{where}: # chart-version", "fix the header line, or pass --baseline-version")
        return
    namespace, _, name = value.partition("/")
    try:
        names.dns1123_label(namespace, "namespace")
        names.release_name(name)
    except ValueError as exc:
        raise InputError(f"{where}: # release: {exc}", hint="write it as `# release: NAMESPACE/NAME`") from None


def _check_version(version: str, where: str, hint: str) -> None:
    try:
        names.chart_version(version)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}", hint=hint) from None


def live_baseline(
    namespace: str,
    name: str,
    revision: int,
    chart_version: str | None,
    values: dict[str, Any],
    user_values: dict[str, Any] | None = None,
) -> Baseline:
    """The live release (from a facts snapshot) as a baseline; origins read `live:NS/NAME@REV:line`, the line
    being that of `helm get values --all -o yaml` (`... (user-supplied)`: of `helm get values -o yaml`),
    which print the same sorted YAML."""
    label = f"live:{namespace}/{name}@{revision}"
    user = None
    if user_values is not None:
        user_label = f"{label} (user-supplied)"
        user = load_values_text(dump_yaml(user_values), user_label)
    return Baseline(
        label, load_values_text(dump_yaml(values), label), chart_version, live_revision=revision, user_values=user
    )
