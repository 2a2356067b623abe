"""Run one CLI invocation in a forked child: isolated like a subprocess, but without paying the imports again.

A hostile case may hang, eat memory or crash the interpreter; the child runs under a memory cap and a
deadline, so one bad case fails its test instead of the session. The parent imports the CLI once; each
child is a fork of it (a few milliseconds), with its own cwd, environment, stdin and output files.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cilium_tune.cli.main import main

MEMORY_CAP = 1536 * 1024 * 1024


def warm_up() -> None:
    """Import what the commands import, and build the models they validate with, once in the parent.

    Each case's child is a fork of this process, so it starts with all of it ready: the cases then cost
    what the command itself costs, not the imports (most of a short command's time).
    """
    import importlib

    for module in (
        "cilium_tune.cli.plan_cmd",
        "cilium_tune.cli.lint_cmd",
        "cilium_tune.cli.facts_cmd",
        "cilium_tune.cli.values_cmd",
        "cilium_tune.cli.render_cmd",
        "cilium_tune.cli.profile_cmd",
        "cilium_tune.cli.baseline_cmd",
        "cilium_tune.rollout.baseline",
        "cilium_tune.adapters.kube",
        "cilium_tune.facts.collect",
        "cilium_tune.facts.io",
        "cilium_tune.rules",
        "cilium_tune.profile.load",
        "lightkube.config.kubeconfig",
        "lightkube.config.client_adapter",
    ):
        importlib.import_module(module)
    from cilium_tune.facts.model import Snapshot
    from cilium_tune.profile.load import load_profile

    Snapshot.model_json_schema()  # builds every deferred facts model
    load_profile("skyforge-dev")


warm_up()


@dataclass(frozen=True)
class Result:
    """What a person would see: exit code (None when killed at the deadline), stdout, stderr, seconds."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float
    signal: int | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Child:
    """A forked CLI run in progress; `wait()` collects it (killing it at the deadline)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str | None] | None = None,
        stdin: bytes | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        # Closed by wait() (the output files) and below (stdin), after the child has them.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        stdin_file = tempfile.TemporaryFile()  # noqa: SIM115
        stdin_file.write(stdin or b"")
        stdin_file.seek(0)
        sys.stdout.flush()
        sys.stderr.flush()
        self.started = time.monotonic()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - runs in the child
            code = 99
            try:
                os.setpgid(0, 0)
                resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
                os.dup2(stdin_file.fileno(), 0)
                os.dup2(self._out.fileno(), 1)
                os.dup2(self._err.fileno(), 2)
                sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
                sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
                sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.chdir(cwd)
                for key, value in (env or {}).items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                if before is not None:
                    before()
                main(list(argv))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                code = 98
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        stdin_file.close()

    def wait(self, timeout: float) -> Result:
        deadline = self.started + timeout
        status = None
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                status = None
                break
            time.sleep(0.005)
        seconds = time.monotonic() - self.started
        code = sig = None
        if status is not None:
            if os.WIFEXITED(status):
                code = os.WEXITSTATUS(status)
            else:
                sig = os.WTERMSIG(status)
        return Result(code, _read(self._out), _read(self._err), seconds, sig)


def _read(handle: tempfile._TemporaryFileWrapper[bytes] | io.BufferedRandom) -> str:
    handle.seek(0)
    data = handle.read().decode("utf-8", errors="replace")
    handle.close()
    return data


def run(argv: Sequence[str], *, cwd: Path, timeout: float = 5.0, **kw: object) -> Result:
    """Run the CLI with `argv` in a forked child and return what it printed."""
    return Child(argv, cwd=cwd, **kw).wait(timeout)  # type: ignore[arg-type]
