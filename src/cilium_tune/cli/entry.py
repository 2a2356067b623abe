"""The console entry point: Ctrl-C while the CLI is still being imported exits 130 with one line too.

`cli.main` handles interrupts once it runs, but importing it (click, yaml, pydantic...) takes a noticeable
moment, and a KeyboardInterrupt then would print a traceback. This module imports nothing heavy itself.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Import the CLI and run it."""
    try:
        from cilium_tune.cli.main import main

        main()
    except KeyboardInterrupt:  # only outside main's own handling: while importing, entering or leaving it
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
