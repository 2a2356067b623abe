"""Options and set-up shared by the commands that change a cluster (baseline, apply, rollback, rollout).

They speak kubectl's and helm's language (`--kubeconfig`, `--context`, `--helm`), and keep their state
(baselines, run journals) under `--state-dir` (default `$CILIUM_TUNE_STATE_DIR`, else `./.cilium-tune`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cilium_tune.cli.options import DEFAULT_TIMEOUT, timeout_option

if TYPE_CHECKING:
    from cilium_tune.adapters.helm import Helm
    from cilium_tune.adapters.kube import LightkubeAPI
    from cilium_tune.rollout.actions import Actions

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(func: F) -> F:
    options = [
        click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default $KUBECONFIG)."),
        click.option("--context", "kube_context", help="Kubeconfig context (default: the current context)."),
        click.option("--helm", "helm_path", metavar="PATH", help="The helm binary [default: helm on PATH]."),
        timeout_option(expose_value=False, callback=_remember_timeout),
        click.option(
            "--state-dir",
            type=click.Path(file_okay=False),
            help="Where baselines and run journals are kept [default: $CILIUM_TUNE_STATE_DIR or ./.cilium-tune].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def strategy_option(*, switched: str) -> Callable[[F], F]:
    """`--strategy` of the commands that switch nodes; `switched` says what has not yet happened to a pending
    node ("switched" for apply, "switched back" for rollback)."""
    return click.option(
        "--strategy",
        type=click.Choice(["node-config", "clean-state"]),
        default="node-config",
        show_default=True,
        help=f"How nodes not yet {switched} keep their settings.",
    )


dry_run_option = click.option("--dry-run", is_flag=True, help="Stop after showing the steps.")
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask before changing the cluster.")


def _remember_timeout(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Kept in the context (not passed to every command function): `cluster()` reads it."""
    ctx.meta[_TIMEOUT] = value
    return value


_TIMEOUT = "cilium_tune.timeout"


@dataclass(frozen=True)
class State:
    root: Path

    @property
    def baselines(self) -> Path:
        return self.root / "baselines"

    @property
    def runs(self) -> Path:
        return self.root / "runs"


def state(state_dir: str | None) -> State:
    return State(Path(state_dir or os.environ.get("CILIUM_TUNE_STATE_DIR") or ".cilium-tune").absolute())


@dataclass
class Cluster:
    kube: LightkubeAPI
    helm: Helm
    kubeconfig: str | None

    def actions(self) -> Actions:
        from cilium_tune.rollout.actions import Actions

        return Actions(self.kube, self.helm, kubeconfig=self.kubeconfig, echo=echo)


@contextmanager
def cluster(kubeconfig: str | None, kube_context: str | None, helm_path: str | None) -> Iterator[Cluster]:
    from cilium_tune.adapters.helm import find_helm
    from cilium_tune.adapters.kube import LightkubeAPI

    ctx = click.get_current_context(silent=True)
    timeout = float(ctx.meta.get(_TIMEOUT, DEFAULT_TIMEOUT)) if ctx is not None else DEFAULT_TIMEOUT
    helm = find_helm(helm_path, timeout=timeout)
    kube = LightkubeAPI(kubeconfig, kube_context, timeout=timeout)
    try:
        yield Cluster(kube, helm, kubeconfig)
    finally:
        kube.close()


def echo(line: str) -> None:
    """Progress lines go to stderr, so stdout stays the result."""
    click.echo(line, err=True)
    sys.stderr.flush()
