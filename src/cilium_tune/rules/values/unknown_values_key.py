from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule
from cilium_tune.values.catalog import KeyCatalog, unknown_keys
from cilium_tune.values.paths import format_path, get_path


@cache
def _builtin_catalog() -> KeyCatalog:
    return KeyCatalog.builtin()


@rule(id="CT101", name="unknown-values-key", severity=Severity.WARNING, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A values key the chart does not know (usually a typo), which Helm accepts and ignores.

    What it checks:
        Every key of the merged values against the key catalog: the chart's own values.yaml when one
        was given, else cilium-tune's built-in catalog (which only reports near-misses inside subtrees it
        does not fully list). The finding names the file:line that wrote the key.
    Why it matters:
        The chart's values schema allows any extra key, so `socketLb.enabled` or `bpf.datapathmode` is
        silently accepted and does nothing: the tuning you reviewed never reaches the cluster.
    Example:
        socketLb: {enabled: true} (the chart's key is socketLB).
    Fix:
        Rename the key to the one the chart reads (the finding suggests the closest), or remove it.
    References:
        - cilium-k3s-facts section 1: values.schema.json has no additionalProperties, typos pass silently.
    """
    catalog = ctx.catalog or _builtin_catalog()
    for unknown in unknown_keys(ctx.values, catalog):
        suggestion = format_path(unknown.suggestion) if unknown.suggestion else None
        origin = ctx.origin(unknown.path)
        yield Finding(
            f"{origin}: {unknown.message()}" if origin else unknown.message(),
            evidence={
                f"values.{unknown.dotted}": get_path(ctx.values, unknown.path, None),
                **({"origin": str(origin)} if origin else {}),
                "catalog": catalog.source,
            },
            fix=f"Rename {unknown.dotted} to {suggestion}." if suggestion else None,
        )
