"""Small helpers for reading raw Kubernetes objects (dicts as the API returns them)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (Kubernetes seconds, or Helm's nanoseconds) -> aware datetime; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        # Python parses at most microseconds; Go writes up to nanoseconds.
        head, tail = text.split(".", 1)
        digits = "".join(itertools.takewhile(str.isdigit, tail))
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits) :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def meta(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """metadata of an object, {} when missing."""
    value = raw.get("metadata")
    return value if isinstance(value, Mapping) else {}


def conditions(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """status.conditions as a list, [] when missing."""
    value = status.get("conditions")
    return [c for c in value if isinstance(c, Mapping)] if isinstance(value, list) else []
