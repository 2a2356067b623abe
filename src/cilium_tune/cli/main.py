"""Entry point. Subcommands are imported only when invoked, so `--help` stays fast."""

from __future__ import annotations

import importlib
import io
import signal
import sys
from typing import Any

import click

from cilium_tune import __version__
from cilium_tune.cli.terminal import COLOR_CHOICES, remember_color
from cilium_tune.errors import INTERRUPTED_EXIT, TERMINATED_EXIT, CiliumTuneError, Terminated, raise_terminated

# name -> (module, attribute, one-line help). The help text is here so `cilium-tune --help` needs no import.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "profile": ("cilium_tune.cli.profile_cmd", "profile", "List, show, initialise and export profiles."),
    "render": ("cilium_tune.cli.render_cmd", "render", "Write the Helm overlays derived from a profile."),
    "values": ("cilium_tune.cli.values_cmd", "values", "Merge and diff Helm values exactly as Helm does."),
    "plan": ("cilium_tune.cli.plan_cmd", "plan", "Show what an apply would change, and the helm commands."),
    "facts": ("cilium_tune.cli.facts_cmd", "facts", "Collect a snapshot of the cluster (or show a saved one)."),
    "lint": ("cilium_tune.cli.lint_cmd", "lint", "Run the preflight rules against values and facts."),
    "rules": ("cilium_tune.cli.rules_cmd", "rules", "List the preflight rules or explain one."),
    "verify": ("cilium_tune.cli.verify_cmd", "verify", "Prove on every node that the tuning is live and works."),
    "baseline": ("cilium_tune.cli.baseline_cmd", "baseline", "Capture, show and verify the release's baseline."),
    "apply": ("cilium_tune.cli.apply_cmd", "apply", "Apply a profile node by node, journaled and resumable."),
    "rollback": ("cilium_tune.cli.rollback_cmd", "rollback", "Restore a baseline (pinned chart), node by node."),
    "rollout": ("cilium_tune.cli.rollout_cmd", "rollout", "Status, resume and abort of apply/rollback runs."),
    "lab": ("cilium_tune.cli.lab_cmd", "lab", "Run a local lab cluster in network namespaces."),
    "bench": ("cilium_tune.cli.bench_cmd", "bench", "Measure throughput, latency and churn; compare two runs."),
    "report": ("cilium_tune.cli.report_cmd", "report", "Write Markdown, plots and an HTML page of bench results."),
    "demo": ("cilium_tune.cli.demo_cmd", "demo", "The whole flow on a throw-away lab, with the numbers (root)."),
    "docs": ("cilium_tune.cli.docs_cmd", "docs", "Generate the reference docs (rules, profile schema)."),
    "version": ("cilium_tune.cli.version_cmd", "version", "Print the cilium-tune version and the helm it would use."),
    "completion": ("cilium_tune.cli.completion_cmd", "completion", "Print the shell completion script."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (mod, _, _) in COMMANDS.items() if _module_exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry[0]):
            return None
        if _only_listing(ctx):
            return click.Command(cmd_name, help=entry[2], short_help=entry[2])
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command


def _module_exists(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def _only_listing(ctx: click.Context) -> bool:
    """True while click is formatting the top-level help (it asks every command for its short help)."""
    return bool(ctx.meta.get("cilium_tune.listing"))


class _Root(LazyGroup):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta["cilium_tune.listing"] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.meta.pop("cilium_tune.listing", None)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cilium-tune")
@click.option(
    "--color",
    type=click.Choice(COLOR_CHOICES),
    default="auto",
    show_default=True,
    is_eager=True,
    expose_value=False,
    callback=remember_color,
    help="Colour output: auto = on a terminal unless NO_COLOR is set.",
)
def cli() -> None:
    """Make Cilium datapath tuning on k3s safe, verifiable and measurable.

    \b
    Typical flow:
      cilium-tune profile show skyforge-dev     # the cluster and the tuning you want
      cilium-tune render --out deploy/          # the Helm overlays, with a reason per key
      cilium-tune plan --baseline before.yaml   # merged values, provenance, diff, helm commands
      cilium-tune lint --facts cluster.json     # refuse what the cluster cannot carry
    """


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; map the error hierarchy onto exit codes without tracebacks.

    Everything printed passes the credential scrubber (see `values.redact`); SIGINT exits 130 and
    SIGTERM 143 with one line, after `finally` blocks removed temporary files and pods.
    """
    from cilium_tune.values.redact import SECRETS

    SECRETS.start()
    previous = _install(signal.SIGTERM, raise_terminated)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Scrubbed(out), _Scrubbed(err)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = out, err
        _install(signal.SIGTERM, previous)
        SECRETS.stop()


def _install(signum: int, handler: Any) -> Any:
    """Set a signal handler when possible (only the main thread may); return the previous one."""
    try:
        return signal.signal(signum, handler)
    except (ValueError, TypeError):
        return None


def _run(argv: list[str] | None) -> Any:
    try:
        result = cli.main(args=argv, prog_name="cilium-tune", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail("interrupted", None, INTERRUPTED_EXIT)
    except Terminated:
        _fail("terminated", None, TERMINATED_EXIT)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "cilium-tune"
        _fail(exc.format_message(), f"see `{command} --help`", 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), "check the option's value (see --help)", 2)
    except CiliumTuneError as exc:
        _fail(exc.message, exc.hint or "see `cilium-tune --help`", exc.exit_code)
    # Without standalone mode click returns (rather than raises) the code of a `click.exceptions.Exit`.
    if isinstance(result, int) and not isinstance(result, bool):
        sys.exit(result)
    return result


def _fail(message: str, hint: str | None, code: int) -> None:
    """One `error:` line (newlines in the message are shown as \\n, so it stays one line) and a hint."""
    click.echo(f"error: {_one_line(message)}", err=True)
    if hint:
        click.echo(f"hint: {_one_line(hint)}", err=True)
    sys.exit(code)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class _Scrubbed(io.TextIOBase):
    """A text stream that hides remembered credentials in everything written through it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        from cilium_tune.values.redact import SECRETS

        if not isinstance(text, str):
            raise TypeError("text stream")
        self._inner.write(SECRETS.scrub(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    @property
    def buffer(self) -> Any:
        """The binary stream below (click writes bytes there: shell completion, never user data)."""
        return self._inner.buffer

    def isatty(self) -> bool:
        return bool(self._inner.isatty())

    def fileno(self) -> int:
        return int(self._inner.fileno())

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "errors", None) or "strict"
