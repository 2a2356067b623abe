"""Profiles: one cluster and the tuning wanted on it (model, built-ins, loading)."""

from cilium_tune.profile.load import (
    DEFAULT_PROFILE,
    builtin_profile_names,
    builtin_profile_text,
    load_profile,
    parse_profile,
)
from cilium_tune.profile.model import Profile

__all__ = [
    "DEFAULT_PROFILE",
    "Profile",
    "builtin_profile_names",
    "builtin_profile_text",
    "load_profile",
    "parse_profile",
]
