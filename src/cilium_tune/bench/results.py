"""A bench run as versioned, frozen data: `run.json` plus one CSV per metric (every raw sample).

`schema` is bumped on any incompatible change; `load_run` refuses versions it does not know rather
than misread them. The raw samples are kept in the order they ran (round and time), so a reader can
redo the statistics, look for drift, or plot the distribution.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from cilium_tune.errors import InputError
from cilium_tune.files import write_atomic

SCHEMA = 1
RUN_FILE = "run.json"

Stop = Literal["ci-target", "budget", "fixed", "failed", "skipped"]
"""Why sampling of a probe ended: its CI met the target, the time budget ran out, a fixed design
(churn: an up-and-down pass over the service counts), repeated errors, or it could not run at all."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sample(_Frozen):
    """One run of the tool: its round, seconds since the run started, and its values (or its error)."""

    probe: str
    round: int
    t: float
    values: tuple[float, ...] | None = None
    error: str | None = None


class MetricResult(_Frozen):
    """One metric of one probe, with its median, bootstrap CI and why sampling ended."""

    probe: str
    scenario: str
    test: str
    family: int
    services: int | None = None
    metric: str
    unit: str
    higher_is_better: bool
    samples: tuple[float, ...]
    median: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    stop: Stop
    note: str | None = None

    @property
    def key(self) -> str:
        """`metric/scenario[@N]/ipvF`: what `compare` matches across two runs."""
        at = f"@{self.services}" if self.services is not None else ""
        return f"{self.metric}/{self.scenario}{at}/ipv{self.family}"

    @property
    def half_width(self) -> float | None:
        if self.median in (None, 0) or self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2 / abs(self.median)


class RunMeta(_Frozen):
    label: str
    started: str
    finished: str
    seed: int
    target_half_width: float
    budget_s: float
    sample_seconds: int
    pinning: str | None
    nodes: tuple[str, str]
    namespace: str
    image: str
    tool_versions: dict[str, str]
    config_digest: str | None = None
    plan_digest: str | None = None
    facts: dict[str, Any] = {}
    machine: dict[str, Any] = {}
    order: Literal["randomized"] = "randomized"


class BenchRun(_Frozen):
    schema_version: int = SCHEMA
    meta: RunMeta
    metrics: tuple[MetricResult, ...]
    raw: tuple[Sample, ...]

    def metric(self, key: str) -> MetricResult | None:
        return next((m for m in self.metrics if m.key == key), None)


def save_run(run: BenchRun, directory: Path) -> list[Path]:
    """Write run.json and `<metric>.csv` files into `directory` (atomically, each); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / RUN_FILE]
    write_atomic(written[0], run.model_dump_json(indent=2) + "\n")
    for name, text in metric_csvs(run).items():
        path = directory / f"{name}.csv"
        write_atomic(path, text)
        written.append(path)
    return written


def metric_csvs(run: BenchRun) -> dict[str, str]:
    """One CSV per metric name: every raw sample of every probe that yields it."""
    tables: dict[str, io.StringIO] = {}
    writers: dict[str, Any] = {}
    names_of: dict[str, list[MetricResult]] = {}
    for m in run.metrics:
        names_of.setdefault(m.probe, []).append(m)
    for sample in run.raw:
        if sample.values is None:
            continue
        for m, value in zip(names_of.get(sample.probe, []), sample.values, strict=False):
            if m.metric not in tables:
                tables[m.metric] = io.StringIO()
                writers[m.metric] = csv.writer(tables[m.metric], lineterminator="\n")
                writers[m.metric].writerow(
                    ["probe", "scenario", "test", "family", "services", "round", "t_s", "value", "unit"])
            writers[m.metric].writerow([m.probe, m.scenario, m.test, f"ipv{m.family}",
                                        "" if m.services is None else m.services, sample.round,
                                        f"{sample.t:.3f}", repr(value), m.unit])
    return {name: buf.getvalue() for name, buf in sorted(tables.items())}


def load_run(path: Path) -> BenchRun:
    """A run from its directory (or its run.json). Bad or unknown-version input is an InputError."""
    file = path / RUN_FILE if path.is_dir() else path
    try:
        doc = json.loads(file.read_text())
    except FileNotFoundError:
        raise InputError(f"{file}: no such bench result", hint="give the -o DIR of `cilium-tune bench run`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{file}: not a bench result: {exc}") from None
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if version != SCHEMA:
        raise InputError(f"{file}: bench result schema {version!r}, this cilium-tune reads {SCHEMA}",
                         hint="re-run `cilium-tune bench run` with this version")
    try:
        return BenchRun.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{file}: {where}: {first['msg']}") from None
