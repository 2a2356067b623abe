"""A Unix socket path of any length: Linux limits the address to 107 bytes, the lab's state directory is not.

A lab under a deep directory (`demo -o /some/deep/folder`, a test's temporary directory) would put its
kubelet's socket past that limit. Binding and connecting through `/proc/self/fd/<folder's fd>/<name>`
reach the same file with a short address: the kernel resolves it as any other path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_ADDRESS = 107
"""The longest path a Unix socket address (sun_path) holds."""


@contextmanager
def address(path: Path) -> Iterator[str]:
    """An address for binding or connecting to the socket at `path`, valid inside the `with` block."""
    if len(os.fsencode(path)) <= MAX_ADDRESS:
        yield str(path)
        return
    try:
        folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    except OSError:  # no such folder: binding or connecting fails with its own error
        yield str(path)
        return
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)
