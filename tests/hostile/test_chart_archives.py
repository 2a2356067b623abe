"""Every reader of a packaged chart refuses a hostile one the same way: an InputError naming the file, with a hint.

The catalog (`KeyCatalog.from_chart`), the defaults (`load_chart_values`), the version (`chart_version_of`)
and the guard before helm reads a chart (`check_local_chart`: the render check, `lab up --chart`) all go
through `chart_archive.read_chart_archive`; the CLI cases are in test_hostile.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_charts import HOSTILE_CHARTS

from cilium_tune.chart_archive import check_local_chart, read_chart_archive
from cilium_tune.desired import chart_version_of
from cilium_tune.errors import InputError
from cilium_tune.values.catalog import KeyCatalog
from cilium_tune.values.loader import load_chart_values

REAL_CHART = Path("/work/shared/charts/cilium-1.19.0.tgz")

READERS: dict[str, Callable[[Path], object]] = {
    "catalog": KeyCatalog.from_chart,
    "defaults": load_chart_values,
    "version": lambda path: chart_version_of(str(path)),
    "before-helm": lambda path: check_local_chart(str(path)),
}


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile-charts")
    built = {}
    for kind, (build, _phrase) in HOSTILE_CHARTS.items():
        built[kind] = folder / f"{kind}.tgz"
        built[kind].write_bytes(build())
    return built


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", HOSTILE_CHARTS)
def test_a_hostile_chart_is_refused_by_every_reader(kind: str, reader: str, archives: dict[str, Path]) -> None:
    with pytest.raises(InputError) as caught:
        READERS[reader](archives[kind])
    assert str(archives[kind]) in caught.value.message
    assert HOSTILE_CHARTS[kind][1] in caught.value.message, caught.value.message
    assert caught.value.hint


@pytest.mark.skipif(not REAL_CHART.exists(), reason="needs the real Cilium charts (/work/shared/charts)")
def test_a_real_chart_passes_and_keeps_only_what_was_asked_for() -> None:
    archive = read_chart_archive(REAL_CHART, wanted=lambda name: name.endswith("/values.yaml"))
    assert archive.top == "cilium"
    assert len(archive.names) > 100
    assert "cilium/values.yaml" in archive.files and "cilium/Chart.yaml" not in archive.files
    assert "enableIPv4BIGTCP" in archive.text("cilium/values.yaml")
