"""A local chart, read once per command: its Chart.yaml, values.yaml and templates, and the version it declares.

The chart's defaults (`values.loader.chart_defaults`), its key catalog (`values.catalog.KeyCatalog.from_chart_files`)
and its version all come from the same read: a packaged chart is decompressed once, through the one guard
for archives (`chart_archive.read_chart_archive`), not once for each of them. `chart_version` is the one
reader of a Chart.yaml's `version:`.

    files = read_chart("cilium-1.19.0-rc.1.tgz")
    files.version       # "1.19.0-rc.1"
    files.values        # values.yaml's text ("" when the chart has none)
    files.templates     # the text of every file under templates/
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cilium_tune.errors import InputError

_VERSION_LINE = re.compile(r"^version:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)


def chart_version(chart_yaml: str) -> str | None:
    """The `version:` a Chart.yaml declares (None when it does not say)."""
    match = _VERSION_LINE.search(chart_yaml)
    return match.group(1) if match else None


@dataclass(frozen=True)
class ChartFiles:
    """The files of a chart that cilium-tune reads. `chart_yaml` is None for a folder without one (a Helm
    chart needs it; a key catalog does not); `values_source` names values.yaml as provenance shows it
    (`dir/values.yaml`, `chart.tgz:cilium/values.yaml`); `subcharts` are the folders under charts/."""

    path: str
    chart_yaml: str | None
    values: str
    values_source: str
    has_values: bool
    templates: tuple[tuple[str, str], ...] = ()  # (file name, text), in name order
    subcharts: tuple[str, ...] = ()

    @property
    def version(self) -> str | None:
        return chart_version(self.chart_yaml) if self.chart_yaml is not None else None


def read_chart(path: str | Path, *, templates: bool = True) -> ChartFiles:
    """A chart directory or a packaged chart (.tgz), read once (InputError naming the file when it is missing
    or the archive is no chart or breaks a limit). `templates=False` leaves the templates' text out."""
    from cilium_tune.chart_archive import read_chart_archive
    from cilium_tune.inputs import read_text

    chart = Path(path)
    if chart.is_dir():
        meta, values = chart / "Chart.yaml", chart / "values.yaml"
        texts: tuple[tuple[str, str], ...] = ()
        if templates and (chart / "templates").is_dir():
            files = sorted(t for t in (chart / "templates").rglob("*") if t.is_file())
            texts = tuple((str(t.relative_to(chart)), read_text(t, "chart template")) for t in files)
        subcharts = sorted(p.name for p in (chart / "charts").iterdir()) if (chart / "charts").is_dir() else []
        return ChartFiles(
            path=str(path),
            chart_yaml=read_text(meta, "Chart.yaml") if meta.is_file() else None,
            values=read_text(values, "values file") if values.is_file() else "",
            values_source=str(values),
            has_values=values.is_file(),
            templates=texts,
            subcharts=tuple(subcharts),
        )
    if not chart.exists():
        raise InputError(f"{path}: chart not found", hint="pass a chart directory or a packaged .tgz")

    def wanted(name: str) -> bool:
        parts = name.split("/")
        if len(parts) == 2:
            return parts[1] in ("values.yaml", "Chart.yaml")
        return templates and len(parts) > 2 and parts[1] == "templates"

    archive = read_chart_archive(chart, wanted=wanted)
    top = archive.top
    values_name = f"{top}/values.yaml"
    return ChartFiles(
        path=str(path),
        chart_yaml=archive.text(f"{top}/Chart.yaml"),
        values=archive.text(values_name) if values_name in archive.files else "",
        values_source=f"{path}:{values_name}",
        has_values=values_name in archive.files,
        templates=tuple(
            (name.removeprefix(f"{top}/"), archive.files[name].decode("utf-8", errors="replace"))
            for name in archive.names
            if name.startswith(f"{top}/templates/") and name in archive.files
        ),
        subcharts=tuple(sorted({n.split("/")[2] for n in archive.names if n.startswith(f"{top}/charts/")})),
    )
