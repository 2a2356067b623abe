"""The run journal: every step recorded before and after it runs, so a killed run resumes where it stopped.

A run lives in `<state>/runs/<run-id>/`: `journal.json` and `values/` (copies of the -f files the run
gives helm, so a resumed run uses exactly the files it started with). The journal holds the steps as
data (`plan.steps.step_to_json`), the events (`started`, `done`, `failed`, `reset`), the inputs' checksums
and a digest over steps and inputs that pins the run: `resume` refuses when it no longer matches.

Each record rewrites the whole file atomically (temp file, fsync, rename) and fsyncs the directory, so a
SIGKILL at any instant leaves either the journal before the record or the one after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cilium_tune.errors import InputError
from cilium_tune.files import write_atomic
from cilium_tune.plan.steps import Step, step_from_json, step_to_json

SCHEMA = "cilium-tune/journal/v1"
JOURNAL = "journal.json"
ACTIVE_STATES = ("running", "interrupted", "failed", "recovering", "aborting")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def sha256_file(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def digest_of(steps: Sequence[dict[str, Any]], inputs: dict[str, str], meta: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of the steps, the inputs' checksums and what the run is about."""
    doc = json.dumps({"steps": steps, "inputs": inputs, "meta": meta}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


@dataclass
class Journal:
    """A run's journal, in memory and on disk (`save` after every change)."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- creation and loading

    @classmethod
    def create(
        cls,
        run_dir: Path,
        *,
        kind: str,
        meta: dict[str, Any],
        steps: Sequence[Step],
        inputs: dict[str, str],
    ) -> Journal:
        """A new run directory and journal. `inputs` maps each input file (inside the run directory) to its
        sha256; `meta` says what the run is about (release, strategy, nodes, effect, previous target)."""
        run_id = run_dir.name
        step_docs = [step_to_json(s) for s in steps]
        data = {
            "schema": SCHEMA,
            "run_id": run_id,
            "kind": kind,
            "created": now(),
            "state": "running",
            "meta": meta,
            "inputs": inputs,
            "digest": digest_of(step_docs, inputs, meta),
            "steps": step_docs,
            "recovery": [],
            "events": [],
        }
        journal = cls(run_dir / JOURNAL, data)
        journal.save()
        return journal

    @classmethod
    def load(cls, run_dir: Path) -> Journal:
        path = run_dir / JOURNAL
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no journal there", hint="`cilium-tune rollout status` lists the runs") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable journal ({exc})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise InputError(f"{path}: not a cilium-tune journal ({SCHEMA})")
        return cls(path, data)

    def save(self) -> None:
        # not scrubbed: the digest is over what is read back (what `rollout status` prints is scrubbed)
        write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n", scrub=False)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ---------------------------------------------------------------- what the run is

    @property
    def run_dir(self) -> Path:
        return self.path.parent

    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def state(self) -> str:
        return str(self.data["state"])

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.data["meta"])

    def steps(self) -> list[Step]:
        return [step_from_json(doc) for doc in self.data["steps"]]

    def recovery_steps(self) -> list[Step]:
        return [step_from_json(doc) for doc in self.data["recovery"]]

    def verify_digest(self) -> None:
        """Refuse a run whose steps or input files changed since it was planned."""
        for name, checksum in self.data["inputs"].items():
            path = self.run_dir / name
            if not path.is_file() or sha256_file(path) != checksum:
                raise InputError(
                    f"{path}: changed since run {self.run_id} was planned",
                    hint="restore the file, or `cilium-tune rollout abort` and apply again",
                )
        expected = digest_of(self.data["steps"], self.data["inputs"], self.data["meta"])
        if expected != self.data["digest"]:
            raise InputError(
                f"{self.path}: the steps no longer match the run's digest",
                hint="the journal was edited; `cilium-tune rollout abort` and apply again",
            )

    # ---------------------------------------------------------------- events

    def record(self, step_id: str, event: str, detail: dict[str, Any] | None = None) -> None:
        self.data["events"].append(
            {"id": step_id, "event": event, "at": now(), **({"detail": detail} if detail else {})}
        )
        self.save()

    def set_state(self, state: str, message: str | None = None) -> None:
        self.data["state"] = state
        if message is not None:
            self.data["message"] = message
        elif state in ("running", "succeeded", "aborted"):
            self.data.pop("message", None)  # an earlier interruption is history (the events keep it)
        self.data["updated"] = now()
        self.save()

    def set_recovery(self, steps: Sequence[Step], reason: str) -> None:
        self.data["recovery"] = [step_to_json(s) for s in steps]
        self.data["recovery_reason"] = reason
        self.save()

    def last_events(self) -> dict[str, dict[str, Any]]:
        """The latest event of each step id."""
        last: dict[str, dict[str, Any]] = {}
        for event in self.data["events"]:
            last[str(event["id"])] = event
        return last

    def status_of(self, step_id: str) -> str:
        event = self.last_events().get(step_id)
        return str(event["event"]) if event else "pending"

    def started_detail(self, step_id: str) -> dict[str, Any]:
        """The detail recorded when the step last started (a resumed step reads what it saw then)."""
        for event in reversed(self.data["events"]):
            if event["id"] == step_id and event["event"] == "started":
                return dict(event.get("detail") or {})
        return {}

    def pending(self, steps: Sequence[Step]) -> Iterator[Step]:
        """The steps not done yet, in order (a `started` step without `done` runs again)."""
        for step in steps:
            if self.status_of(step.id) != "done":
                yield step


def new_run_dir(runs_dir: Path) -> Path:
    """A fresh, empty run directory (its name is the run id: time, then a random suffix)."""
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    path = runs_dir / run_id
    path.mkdir(parents=True)
    return path


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock (one process acts on a run at a time); InputError when another one does."""
    import fcntl

    with open(run_dir / "lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"run {run_dir.name} is being acted on by another cilium-tune process",
                hint="wait for it, or stop it (Ctrl-C stops at a step boundary)",
            ) from None
        yield


def list_runs(runs_dir: Path) -> list[Journal]:
    """Every run under `runs_dir`, oldest first (a directory without a readable journal is skipped)."""
    if not runs_dir.is_dir():
        return []
    runs = []
    for child in sorted(runs_dir.iterdir()):
        if (child / JOURNAL).is_file():
            try:
                runs.append(Journal.load(child))
            except InputError:
                continue
    return runs
