"""Atomic file writes: the one way cilium-tune writes a file a person or another program reads.

A reader (helm, git, an editor, a process polling a pid or ready file) must see either the old file or
the new one, never half of it: write a temp file in the same directory, fsync, then rename over the
target. Generators pass `skip_unchanged=True` so that re-running them leaves an identical file (and its
mtime) untouched, which keeps `make` and `git status` quiet.

Several files that belong together (the overlays of one profile) are written with `write_all_atomic`:
every target is checked and every temp file written first, and only then are they renamed into place,
so a bad target means nothing changed. A temp file is removed on any exception, including
KeyboardInterrupt and the CLI's SIGTERM exception. Text passes the credential scrubber on the way out
(the same boundary as the terminal, see `values.redact`), except with `scrub=False`: state the tool reads
back and must find exactly as it was (a captured baseline, the values a run gives helm, a run's journal),
where a scrubbed credential would be restored as `<redacted>` and a checksum would no longer hold. Such
files are, like every file written here, readable by their owner only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cilium_tune.errors import InputError


def write_atomic(
    path: str | os.PathLike[str], data: str | bytes, *, skip_unchanged: bool = False, scrub: bool = True
) -> bool:
    """Write `data` (text is UTF-8) to `path` atomically; False when skipped because it was already there."""
    return write_all_atomic({path: data}, skip_unchanged=skip_unchanged, scrub=scrub)[Path(path)]


def write_all_atomic(
    files: Mapping[str | os.PathLike[str], str | bytes], *, skip_unchanged: bool = False, scrub: bool = True
) -> dict[Path, bool]:
    """Write several files all or nothing; returns, per path, whether it was written (False: unchanged)."""
    payloads = {Path(path): _payload(data, scrub) for path, data in files.items()}
    for target in payloads:
        _check_target(target)
    created: list[str] = []  # every temp name, recorded before the file exists (a signal may come any time)
    staged: list[tuple[Path, str]] = []
    written: dict[Path, bool] = {}
    try:
        for target, payload in payloads.items():
            if skip_unchanged and target.is_file() and target.read_bytes() == payload:
                written[target] = False
                continue
            staged.append((target, _stage(target, payload, created)))
            written[target] = True
        for target, tmp in staged:
            os.replace(tmp, target)
    except OSError as exc:
        _discard(created)
        where = exc.filename or next(iter(payloads))
        raise InputError(
            f"cannot write {where}: {exc.strerror or exc}", hint="check the path and its permissions"
        ) from None
    except BaseException:
        _discard(created)
        raise
    return written


def _payload(data: str | bytes, scrub: bool) -> bytes:
    if isinstance(data, bytes):
        return data
    from cilium_tune.values.redact import SECRETS

    return (SECRETS.scrub(data) if scrub else data).encode("utf-8")


def _check_target(target: Path) -> None:
    """Refuse what cannot be written before anything is: a directory in the way, a file where a folder goes."""
    if target.is_dir():
        raise InputError(f"cannot write {target}: it is a directory", hint="remove or rename that directory")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"cannot write {target}: {parent} is not a directory", hint="pass a directory path")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(f"cannot write {target}: {parent} is not writable", hint="check its permissions")
            break


def _stage(target: Path, payload: bytes, created: list[str]) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
    created.append(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # as tempfile.mkstemp makes them
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


def _discard(created: list[str]) -> None:
    for tmp in created:
        Path(tmp).unlink(missing_ok=True)
