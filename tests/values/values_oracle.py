"""The real helm binary as an oracle: `helm template` of a chart whose only template dumps .Values.

Imported by the tests of this folder (pytest puts the folder on sys.path via its conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHART_YAML = "apiVersion: v2\nname: dump\nversion: 0.1.0\n"
_TEMPLATE = "{{ toJson .Values }}\n"


@dataclass(frozen=True)
class HelmFailure:
    """helm refused the input; `stderr` says why."""

    stderr: str


@dataclass(frozen=True)
class HelmOracle:
    """Runs one pinned helm binary offline (no cluster: KUBECONFIG points nowhere)."""

    binary: Path

    @property
    def major(self) -> int:
        return int(self.binary.name.removeprefix("helm"))

    def render(self, files: list[str], chart_values: str | None = None) -> dict[str, Any] | HelmFailure:
        """The .Values helm builds from `-f` files (given as texts, in order) over a chart's values.yaml."""
        with tempfile.TemporaryDirectory(prefix="ct-helm-") as tmp:
            root = Path(tmp)
            chart = root / "chart"
            (chart / "templates").mkdir(parents=True)
            (chart / "Chart.yaml").write_text(_CHART_YAML)
            (chart / "templates" / "values.yaml").write_text(_TEMPLATE)
            if chart_values is not None:
                (chart / "values.yaml").write_text(chart_values, encoding="utf-8")
            args: list[str] = []
            for index, text in enumerate(files):
                path = root / f"f{index}.yaml"
                path.write_text(text, encoding="utf-8")
                args += ["-f", str(path)]
            return self.render_paths(chart, args, root)

    def render_paths(self, chart: Path, args: list[str], home: Path) -> dict[str, Any] | HelmFailure:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": str(home / "no-kubeconfig"),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        done = subprocess.run(
            [str(self.binary), "template", "dump", str(chart), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        if done.returncode != 0:
            return HelmFailure(done.stderr)
        body = [line for line in done.stdout.splitlines() if line and not line.startswith(("---", "# Source"))]
        result: dict[str, Any] = json.loads("\n".join(body))
        return result


def canonical(value: Any) -> Any:
    """Values as Helm compares them: every number a float64 (so 1 == 1.0), bools kept apart from numbers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return {key: canonical(item) for key, item in value.items()}
