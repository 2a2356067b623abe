"""Waiting for the lab agents: one poll loop for the agent tests (the API answers 404/409 while objects settle)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from lightkube.core.exceptions import ApiError


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(ApiError):
            last = check()
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
