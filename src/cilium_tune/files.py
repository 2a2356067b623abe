"""Atomic file writes: the one way cilium-tune writes a file a person or another program reads.

A reader (helm, git, an editor, a process polling a pid or ready file) must see either the old file or
the new one, never half of it: write a temp file in the same directory, fsync, then rename over the
target. Generators pass `skip_unchanged=True` so that re-running them leaves an identical file (and its
mtime) untouched, which keeps `make` and `git status` quiet.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cilium_tune.errors import InputError


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, skip_unchanged: bool = False) -> bool:
    """Write `data` (text is UTF-8) to `path` atomically; False when skipped because it was already there."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if skip_unchanged and target.is_file() and target.read_bytes() == payload:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(
            f"cannot write {target}: {exc.strerror or exc}", hint="check the path and its permissions"
        ) from None
    return True
