"""The console entry point: Ctrl-C or SIGTERM while the CLI is still being imported end with one line too.

`cli.main` handles signals once it runs, but importing it (click, yaml, msgspec...) takes a noticeable
moment: a KeyboardInterrupt then would print a traceback, and a SIGTERM (default action) would end the
process without a word. So the SIGTERM handler is installed first, and both are caught here, outside
main's own handling (while importing, entering or leaving it). This module imports nothing heavy itself.
"""

from __future__ import annotations

import signal
import sys

from cilium_tune.errors import INTERRUPTED_EXIT, TERMINATED_EXIT, Terminated, raise_terminated


def run() -> None:
    """Import the CLI and run it."""
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        from cilium_tune.cli.main import main

        main()
    except KeyboardInterrupt:
        _stop("interrupted", INTERRUPTED_EXIT)
    except Terminated:
        _stop("terminated", TERMINATED_EXIT)


def _stop(word: str, code: int) -> None:
    sys.stderr.write(f"error: {word}\n")
    sys.exit(code)
