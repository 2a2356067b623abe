"""Ask the real helm whether the chart accepts the planned values, before anything touches a cluster.

The rules predict the chart's refusals (native routing without a native routing CIDR, Gateway API without
kube-proxy replacement...), but the chart itself is the authority. `helm template` renders offline, so each
helm upgrade of a plan (phase 1 of a datapath switch, the final apply, the rollback) is rendered once with
exactly the files it will get, against the chart it installs (a rollback step's chart is the one that
restores the baseline's version, `cilium_tune.restore_chart`, not the one being installed); the overlays
are rendered from the profile into a temporary directory, so the check covers what the plan shows even
before `cilium-tune render --out` wrote them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cilium_tune.adapters.helm import Helm, HelmTimeout, template_args
from cilium_tune.chart_archive import check_local_chart
from cilium_tune.errors import ClusterError
from cilium_tune.plan.planner import Plan
from cilium_tune.plan.steps import HelmUpgrade

if TYPE_CHECKING:
    from cilium_tune.desired import Chart


@dataclass(frozen=True)
class RenderResult:
    purpose: str
    ok: bool
    error: str | None = None
    skipped: str | None = None  # why it was not rendered (ok stays True: nothing was found wrong)
    chart: str | None = None  # the chart it was rendered with


def check_renders(helm: Helm, plan: Plan, chart: Chart, overlay_texts: Mapping[str, str]) -> list[RenderResult]:
    """Render every helm upgrade of the plan against the chart it installs (`_chart_of`); `overlay_texts`
    maps layer paths to content.

    `chart` is the desired state's: a package was read through the archive guard when it was loaded, so it
    is not decompressed again here before helm reads it (anything else gets the guard's check now)."""
    upgrades = [step for step in (*plan.apply, *plan.rollback) if isinstance(step, HelmUpgrade)]
    charts = {step.id: _chart_of(step, chart) for step in upgrades}
    for local_chart in {c for c in charts.values() if c is not None and (c != chart.path or chart.files is None)}:
        check_local_chart(local_chart)
    with tempfile.TemporaryDirectory(prefix="cilium-tune-render-") as tmp:
        local = _materialise(Path(tmp), overlay_texts)
        results = []
        for step in upgrades:
            path = charts[step.id]
            if path is None:
                results.append(RenderResult(f"{step.id}: {step.purpose}", ok=True, skipped=(
                    f"{step.chart} {step.version} is not a local chart, and this check renders offline")))
            else:
                results.append(_render(helm, step, path, [local.get(p, p) for p in step.values_files]))
        return results


def _chart_of(step: HelmUpgrade, chart: Chart) -> str | None:
    """The local chart `step` installs: its own when local, else `chart` (the --chart) when that is the
    version the step pins; None for a repository reference to another version."""
    if step.chart == chart.path or Path(step.chart).exists():
        return step.chart
    return chart.path if chart.version in (None, step.version) else None


def _materialise(folder: Path, texts: Mapping[str, str]) -> dict[str, str]:
    local = {}
    for index, (path, text) in enumerate(sorted(texts.items())):
        target = folder / f"{index:02d}-{Path(path).name}"
        target.write_text(text, encoding="utf-8")
        local[path] = str(target)
    return local


def _render(helm: Helm, step: HelmUpgrade, chart: str, files: Sequence[str]) -> RenderResult:
    args = template_args(release=step.release, chart=chart, namespace=step.namespace, values_files=files)
    for key, value in step.set_values:
        args += ["--set", f"{key}={value}"]
    name = f"{step.id}: {step.purpose}"
    try:
        helm.run(args)
    except HelmTimeout:
        raise
    except ClusterError as exc:
        return RenderResult(name, ok=False, error=_first_error_line(exc.message), chart=chart)
    return RenderResult(name, ok=True, chart=chart)


def _first_error_line(message: str) -> str:
    """helm prints the template failure on the line starting `Error:`; keep that and drop the usage noise."""
    for line in message.splitlines():
        if "Error:" in line or "error" in line.lower():
            return line.strip()
    return message.strip()
