"""Show a Plan: as text for people and as data for machines (both from the same Plan object)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from cilium_tune.layout import fit, provenance, shell_words, wrap, wrap_command
from cilium_tune.names import printable
from cilium_tune.plan.impact import impact
from cilium_tune.plan.planner import Plan
from cilium_tune.plan.steps import Step, display_lines, step_to_json
from cilium_tune.values.loader import Origin
from cilium_tune.values.paths import format_path
from cilium_tune.values.redact import redact


def _source(origin: Origin | None) -> str | None:
    return origin.source if origin else None


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


PLAN_SCHEMA = "cilium-tune/plan/v1"


def to_json(
    plan: Plan, *, overlay_status: dict[str, str], vms: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The plan as JSON-able data; keys are stable (scripts depend on them). The preflight findings are
    added by the CLI under `preflight` (a lint document)."""
    merged = plan.merged
    return {
        "schema": PLAN_SCHEMA,
        "profile": plan.profile,
        "release": {
            "namespace": plan.release.namespace,
            "name": plan.release.name,
            "chart": plan.release.chart,
            "version": plan.release.version,
            "kubeconfig": plan.release.kubeconfig,
            "kube_context": plan.release.kube_context,
        },
        "layers": [
            {"role": layer.role, "name": layer.name, "path": layer.path, "status": overlay_status.get(layer.path)}
            for layer in (*plan.layers, *([plan.migration_layer] if plan.migration_layer else []))
        ],
        "values": {
            format_path(path): {
                "value": redact(path, value),
                "origin": str(merged.origins[path]) if path in merged.origins else None,
                "overrode": [
                    {"value": redact(path, item.value), "origin": str(item.origin) if item.origin else None}
                    for item in merged.history.get(path, ())
                ],
            }
            for path, value in sorted(merged.leaves())
        },
        "baseline": None
        if plan.baseline is None
        else {"path": plan.baseline.path, "chart_version": plan.baseline.chart_version},
        "diff": None if plan.diff is None else plan.diff.to_dict(),
        "datapath_change": None
        if plan.datapath_change is None
        else {"from": plan.datapath_change.old, "to": plan.datapath_change.new},
        "changes_pending": plan.changes_pending,
        "apply": [step_to_json(step) | {"impact": impact(step, vms).to_dict()} for step in plan.apply],
        "rollback": [step_to_json(step) | {"impact": impact(step, vms).to_dict()} for step in plan.rollback],
        "notes": list(plan.notes),
        "warnings": list(plan.merged.warnings),
    }


def _commands(
    steps: Sequence[Step], width: int | None = None, vms: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Each step's commands, under a `# purpose` line printed once per run of steps sharing it, each step
    ending in its id (`# [switch/node-1/evict]`): the id `apply` runs it under and the journal records.
    Too wide a command continues on the next line (` \\`); a heredoc manifest is indented JSON then."""
    lines: list[str] = []
    purpose = None
    for step in steps:
        if step.purpose != purpose:
            purpose = step.purpose
            lines.extend(wrap(printable(purpose), width, indent="  # ", subsequent="  #   "))
        shown = display_lines(step)
        heredoc = shown[0].endswith("<<'EOF'")
        commands, body = (shown[:1], shown[1:]) if heredoc else (shown, [])
        for index, command in enumerate(commands):
            comment = f"# [{printable(step.id)}]" if index == 0 else ""
            lines.extend(wrap_command(shell_words(command), width, comment=comment))
        if body and width is not None and any(len(line) + 2 > width for line in body):
            body = [*json.dumps(json.loads(body[0]), indent=2, sort_keys=True).splitlines(), *body[1:]]
        lines.extend(f"  {line}" for line in body)
        effect = impact(step, vms)
        if effect.bound_s is not None or effect.replaces != "no pod":  # quiet steps (label, cordon) say nothing
            lines.extend(wrap(effect.line(), width, indent="  #   ", subsequent="  #     "))
    return lines


def to_text(
    plan: Plan,
    *,
    overlay_status: dict[str, str],
    all_values: bool = False,
    width: int | None = None,
    vms: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The plan as a person reads it, top to bottom in the order things happen, fitted to `width`."""
    lines: list[str] = []
    out = lines.append
    rel = plan.release
    out(f"Plan for {plan.profile}: release {rel.namespace}/{rel.name}, chart {rel.chart} {rel.version}")
    out("")
    out("Values files, in helm -f order:")
    path_width = max((len(layer.path) for layer in plan.layers), default=0)
    for index, layer in enumerate(plan.layers, 1):
        status = overlay_status.get(layer.path, "")
        out(f"  {index}. {layer.role:<8} {layer.path:<{path_width}}  {status}".rstrip())
    if plan.migration_layer is not None:
        layer = plan.migration_layer
        status = overlay_status.get(layer.path, "")
        out(f"  +  one-time {layer.path}  (phase 1 of the datapath switch only) {status}".rstrip())
    out("")

    merged = plan.merged
    baseline_source = plan.baseline.path if plan.baseline else None
    overlay_paths = {layer.path for layer in plan.layers if layer.role == "overlay"}
    leaves = sorted(merged.leaves())
    shown = [(p, v) for p, v in leaves if all_values or _source(merged.origins.get(p)) in overlay_paths]
    scope = "all" if all_values else "set by the overlays"
    out(f"Effective values ({scope}: {len(shown)} of {len(leaves)}; each with the file:line that set it):")
    rows = []
    for path, value in shown:
        origin = merged.origins.get(path)
        history = merged.history.get(path, ())
        was = ""
        if history:
            last = history[-1]
            was = f"  (overrides {_show(redact(path, last.value))} from {last.origin})"
        rows.append((f"{format_path(path)} = {_show(redact(path, value))}", f"{origin}{was}"))
    lines.extend(provenance(rows, width))
    out("")

    if plan.diff is None:
        out("Changes: unknown. No baseline: capture one first (see notes).")
    elif plan.diff.is_empty:
        out(f"Changes against {baseline_source}: none.")
    else:
        diff = plan.diff
        out(
            f"Changes against {baseline_source}: {len(diff.added)} added, {len(diff.removed)} removed, "
            f"{len(diff.changed)} changed"
        )
        lines.extend(f"  {entry.line()}" for entry in diff.entries)
    out("")

    change = plan.datapath_change
    if change is None:
        out("Datapath mode: unchanged; no migration needed.")
    else:
        out(f"Datapath mode: {change.old} -> {change.new}: needs the two-phase switch, one node at a time.")
    out("")
    env = [f"  export KUBECONFIG={shlex.quote(rel.kubeconfig)}"] if rel.kubeconfig else []
    out("Apply:")
    lines.extend(env + _commands(plan.apply, width, vms))
    out("")
    out("Rollback:")
    lines.extend(env + _commands(plan.rollback, width, vms) if plan.rollback else ["  (none: see notes)"])
    if plan.notes:
        out("")
        out("Notes:")
        for note in plan.notes:
            out(f"  - {note}")
    if plan.merged.warnings:
        out("")
        out("Warnings from reading the values (helm accepts these silently):")
        for warning in plan.merged.warnings:
            out(f"  - {warning}")
    return "\n".join(fit(lines, width, hang=2)) + "\n"
