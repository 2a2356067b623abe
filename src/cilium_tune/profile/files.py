"""Atomic writes of files meant for users (rendered overlays, starter profiles, generated docs).

A reader (helm, git, an editor) must see either the old file or the new one, never half of it, and
re-running a generator must leave an identical file untouched (its mtime too), so `make` and
`git status` stay quiet.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cilium_tune.errors import InputError


def write_atomic(path: Path, text: str) -> bool:
    """Write `text` to `path` via a temp file + fsync + rename; False when the bytes were already there."""
    data = text.encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror or exc}", hint="check the path and its permissions"
        ) from None
    return True
