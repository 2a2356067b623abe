"""Where a command's cluster facts come from: a saved snapshot (`--facts FILE`) or the live cluster.

`facts`, `lint` and `plan` share these options (--facts/--kubeconfig/--context/-n/--release/
--probe-nodes...) and `snapshot_from_options(**those)`, so `--facts FILE` works the same everywhere. Kept
apart from the `facts` command so that an offline `plan` or `lint` does not build that command too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cilium_tune import names
from cilium_tune.cli.options import DEFAULT_TIMEOUT, timeout_option
from cilium_tune.errors import InputError

if TYPE_CHECKING:
    from cilium_tune.facts.model import Snapshot

F = TypeVar("F", bound=Callable[..., Any])
LIVE = "live"  # `--facts live`: collect from the cluster (for commands that are offline by default)


# Options that only matter when facts are collected from the cluster.
_LIVE_ONLY = ("kubeconfig", "kube_context", "namespace", "release", "probe_nodes", "probe_image", "probe_timeout")


def _name(check: Callable[[str], str]) -> Callable[[click.Context, click.Parameter, str], str]:
    def callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _positive(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not value > 0:
        raise click.BadParameter(f"{value} is not a positive number of seconds", ctx=ctx, param=param)
    return value


def facts_options(func: F) -> F:
    """The options that choose where facts come from: a saved file, or the live cluster."""
    options = [
        click.option(
            "--facts",
            "facts_file",
            type=click.Path(dir_okay=False),
            help="Read a saved snapshot (from `cilium-tune facts -o json`; '-' for stdin) instead of the "
            "cluster; 'live' collects from the cluster.",
        ),
        click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default $KUBECONFIG)."),
        click.option("--context", "kube_context", help="Kubeconfig context (default: the current context)."),
        click.option(
            "-n",
            "--namespace",
            default="kube-system",
            show_default=True,
            callback=_name(lambda v: names.dns1123_label(v, "namespace")),
            help="Namespace of the Cilium release.",
        ),
        click.option(
            "--release",
            default="cilium",
            show_default=True,
            callback=_name(names.release_name),
            help="Helm release name of Cilium.",
        ),
        click.option(
            "--probe-nodes",
            is_flag=True,
            help="Also run a short-lived privileged pod on every node (kernel config, iptables, CNI dirs).",
        ),
        click.option(
            "--probe-image",
            default="debian:bookworm-slim",
            show_default=True,
            help="Image of the probe pods (needs sh; nsenter when the node's tools are used).",
        ),
        click.option(
            "--probe-timeout",
            default=120.0,
            show_default=True,
            callback=_positive,
            help="Seconds to wait for the probes.",
        ),
        timeout_option(help="Give up on any one call to the API server or to helm after this long."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def refuse_idle_options(live: bool) -> None:
    """Refuse cluster options given where no cluster is read (`--probe-nodes` with `--facts FILE`...).

    An option that silently does nothing misleads: the user believes the nodes were probed.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None or live:
        return
    given = [
        name for name in _LIVE_ONLY if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
    ]
    if given:
        flags = ", ".join("--" + name.replace("kube_context", "context").replace("_", "-") for name in given)
        facts_file = ctx.params.get("facts_file")
        why = f"the facts come from {facts_file}" if facts_file else "no cluster is read (no --facts)"
        raise InputError(
            f"{flags} would do nothing here: {why}",
            hint="drop it, or collect from the cluster (`--facts live`, or `cilium-tune facts`)",
        )


def optional_snapshot(**source: Any) -> Snapshot | None:
    """For commands that are offline by default (lint, plan): None without --facts, else the snapshot."""
    if source.get("facts_file") is None:
        refuse_idle_options(live=False)
        return None
    return snapshot_from_options(**source)


def snapshot_from_options(
    facts_file: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    namespace: str,
    release: str,
    probe_nodes: bool,
    probe_image: str,
    probe_timeout: float,
    timeout: float = DEFAULT_TIMEOUT,
) -> Snapshot:
    """Load `facts_file` ('-' is stdin), or collect live from the kubeconfig/context (errors are CiliumTuneErrors)."""
    live = not facts_file or facts_file == LIVE
    refuse_idle_options(live)
    if not live:
        from cilium_tune.facts.io import load_snapshot

        return load_snapshot(facts_file)  # type: ignore[arg-type]
    from cilium_tune.adapters.kube import LightkubeAPI
    from cilium_tune.facts.collect import CollectOptions, collect

    kube = LightkubeAPI(kubeconfig, kube_context, timeout=timeout)
    try:
        if probe_nodes and sys.stderr.isatty():
            click.echo("collecting facts and probing every node...", err=True)
        return collect(
            kube,
            CollectOptions(
                namespace=namespace,
                release=release,
                probe_nodes=probe_nodes,
                probe_image=probe_image,
                probe_timeout=probe_timeout,
            ),
        )
    finally:
        kube.close()
