"""One exception hierarchy, one exit code per branch.

    CiliumTuneError                 exit 3  (base: something outside the user's input failed)
    ├── InputError                  exit 2  bad file, key, flag, profile, CIDR...: nothing was touched
    │   └── ToolMissingError        exit 2  a required binary (helm) is absent or too old
    ├── ClusterError                exit 3  the cluster or a tool talking to it failed
    └── FindingsError               exit 1  preflight rules or checks failed (the input was fine)

The CLI catches CiliumTuneError at the top, prints `error: <message>` (plus `hint: <fix>` when given)
and exits with `exit_code`; any other exception is a bug and keeps its traceback. Signals end with one
line too: SIGINT `error: interrupted`, exit 130; SIGTERM (raised as `Terminated`) `error: terminated`, 143.
"""

from __future__ import annotations


class CiliumTuneError(Exception):
    """Base class; carries the exit code and an optional one-line fix."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(CiliumTuneError):
    """The user's input is wrong: name the file/key/line and the fix."""

    exit_code = 2


class ToolMissingError(InputError):
    """A binary the command needs is missing or unsupported."""


class ClusterError(CiliumTuneError):
    """The cluster, or a tool acting on it, failed."""

    exit_code = 3


class FindingsError(CiliumTuneError):
    """Rules or checks found problems; the report has already been printed."""

    exit_code = 1


INTERRUPTED_EXIT = 130
TERMINATED_EXIT = 143


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt so that `finally` blocks clean up."""


def raise_terminated(signum: int, frame: object) -> None:
    """The SIGTERM handler of the CLI (installed from the first moment, before the CLI is imported)."""
    raise Terminated
