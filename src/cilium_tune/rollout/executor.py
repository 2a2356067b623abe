"""The executor: the only loop that acts on steps. It journals each step before and after running it.

    for each step not done:   record `started` (with what `prepare` read) -> run -> record `done`

Ctrl-C and SIGTERM set a flag; the loop stops at the next step boundary and leaves the run
`interrupted` (resumable). A step that fails ends the run `failed` with the error in the journal; when
the failed step belongs to a node's switch, the executor first runs the recovery the planner gives for
that node (back to its previous settings, uncordoned) and the run stops with exit 3.

`CILIUM_TUNE_KILL_AFTER=N` (tests only) makes the process SIGKILL itself at its N-th step boundary; the
kill test chains `apply` and `rollout resume` with N=1 to die once at every boundary of a run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from cilium_tune.errors import CiliumTuneError, ClusterError
from cilium_tune.plan.steps import Step
from cilium_tune.rollout.actions import Actions
from cilium_tune.rollout.journal import Journal

KILL_ENV = "CILIUM_TUNE_KILL_AFTER"


class Interrupted(CiliumTuneError):
    """Ctrl-C or SIGTERM: the run stopped at a step boundary and can be resumed."""

    exit_code = 130


class NodeFailed(ClusterError):
    """A node failed its switch; it was taken back (when recovery succeeded) and the run stopped."""


class Executor:
    """Runs a journal's steps with `actions`; `on_failure(step, error)` gives the recovery steps, if any."""

    def __init__(
        self,
        journal: Journal,
        actions: Actions,
        *,
        echo: Callable[[str], None],
        on_failure: Callable[[Step, CiliumTuneError], Sequence[Step]] | None = None,
    ) -> None:
        self.journal = journal
        self.actions = actions
        self.echo = echo
        self.on_failure = on_failure
        self._stop: int | None = None
        kill = os.environ.get(KILL_ENV)
        self._kill_after = int(kill) if kill and kill.isdigit() else None
        self._boundaries = 0
        self._failed_step: Step | None = None

    def run(self) -> None:
        """Run the pending steps, then (if the run is recovering) the pending recovery steps."""
        with self._signals():
            if self.journal.state in ("recovering", "aborting"):
                self._run_recovery()
                return
            self.journal.set_state("running")
            try:
                self._run_steps(self.journal.steps())
            except Interrupted:
                self.journal.set_state("interrupted", "stopped at a step boundary by a signal")
                raise
            except CiliumTuneError as exc:
                failed = self._failed_step
                recovery = self.on_failure(failed, exc) if self.on_failure and failed else []
                if not recovery:
                    self.journal.set_state("failed", exc.message)
                    raise
                self.journal.data["failed_step"] = failed.id if failed else None
                self.journal.set_recovery(recovery, exc.message)
                self.journal.set_state("recovering", exc.message)
                self._run_recovery()
                return
            self.journal.set_state("succeeded")

    def _run_recovery(self) -> None:
        aborting = self.journal.state == "aborting"
        reason = str(self.journal.data.get("recovery_reason") or "")
        try:
            self._run_steps(self.journal.recovery_steps())
        except Interrupted:
            raise
        except CiliumTuneError as exc:
            # The state stays recovering/aborting: a resume continues the recovery, not the run.
            self.journal.set_state(self.journal.state, f"{reason}; then the recovery failed: {exc.message}")
            where = self._failed_step.id if self._failed_step else "?"
            raise ClusterError(
                f"{reason}; then the recovery failed at {where}: {exc.message}",
                hint=f"fix the cause, then `cilium-tune rollout resume {self.journal.run_id}`",
            ) from None
        if aborting:
            self.journal.set_state("aborted")
            return
        run = self.journal.run_id
        if any(s.id.endswith("release/helm") for s in self.journal.recovery_steps()):
            self.journal.set_state("reverted", reason)
            raise NodeFailed(
                f"{reason}; the node was taken back and uncordoned, and the release restored: the cluster is as "
                f"before the run (journal: run {run})",
                hint=f"`cilium-tune rollout status {run}` shows every step; fix the cause and apply again",
            )
        self._reset_failed_node()
        self.journal.set_state("failed", reason)
        raise NodeFailed(
            f"{reason}; the node was taken back to its previous settings and uncordoned, no other node was "
            f"touched (run {run})",
            hint=f"`cilium-tune rollout status {run}` shows every step; after fixing the cause "
            f"`cilium-tune rollout resume {run}` retries the node, `cilium-tune rollout abort {run}` goes back",
        )

    def _reset_failed_node(self) -> None:
        """Make the failed node's switch steps pending again, so a resume switches it from the start."""
        failed = str(self.journal.data.get("failed_step") or "")
        group = failed.rsplit("/", 1)[0] + "/"
        for step in self.journal.steps():
            if step.id.startswith(group) and self.journal.status_of(step.id) != "pending":
                self.journal.record(step.id, "reset")

    def _run_steps(self, steps: Sequence[Step]) -> None:
        pending = list(self.journal.pending(steps))
        total = len(steps)
        for step in pending:
            self._boundary()
            index = next(i for i, s in enumerate(steps, 1) if s.id == step.id)
            self._failed_step = step
            self.echo(f"[{index}/{total}] {step.id}: {step.purpose}")
            detail = self.journal.started_detail(step.id) if self.journal.status_of(step.id) == "started" else {}
            detail = detail or self.actions.prepare(step)
            self.journal.record(step.id, "started", detail)
            try:
                result = self.actions.run(step, detail)
            except CiliumTuneError as exc:
                self.journal.record(step.id, "failed", {"error": exc.message})
                raise
            self.journal.record(step.id, "done", result)
        self._boundary()

    def _boundary(self) -> None:
        """A step boundary: honour a pending signal, and the kill hook of the kill test."""
        if self._stop is not None:
            name = signal.Signals(self._stop).name
            raise Interrupted(
                f"{name}: stopped at a step boundary (run {self.journal.run_id})",
                hint=f"`cilium-tune rollout resume {self.journal.run_id}` continues it",
            )
        if self._kill_after is not None:
            self._boundaries += 1
            if self._boundaries > self._kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        def stop(signum: int, frame: FrameType | None) -> None:
            del frame
            if self._stop is None:
                self.echo(f"{signal.Signals(signum).name}: stopping after the current step")
            self._stop = signum

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
