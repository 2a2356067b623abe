"""What the rest of the tool relies on in a `Profile`: immutable, equal by content, normalised addresses."""

from __future__ import annotations

import copy
import pickle

import msgspec
import pytest

from cilium_tune.profile import builtin_profile_text, load_profile, parse_profile


def test_a_profile_cannot_be_changed_in_place() -> None:
    profile = load_profile("lab")
    with pytest.raises(AttributeError):
        profile.description = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        profile.tuning.ipam.ipv4.mask_size = 16  # type: ignore[misc]


def test_equal_and_same_hash_by_content_wherever_loaded_from() -> None:
    builtin = load_profile("skyforge-dev")
    again = parse_profile(builtin_profile_text("skyforge-dev"), "copy.yaml")
    assert (builtin.source, again.source) == ("builtin:skyforge-dev", "copy.yaml")
    assert builtin == again and hash(builtin) == hash(again)
    assert {builtin, again} == {builtin}
    other = msgspec.structs.replace(builtin, description="another cluster")
    assert other != builtin and hash(other) != hash(builtin)


def test_addresses_are_stored_in_their_canonical_form() -> None:
    text = builtin_profile_text("skyforge-dev").replace("ipv6: fd00:128:16::58", "ipv6: FD00:128:16:0:0::58", 1)
    profile = parse_profile(text, "p.yaml")
    assert profile.nodes[0].ipv6 == "fd00:128:16::58"
    assert profile == load_profile("skyforge-dev")


def test_a_copy_or_a_pickle_keeps_where_the_profile_came_from() -> None:
    profile = load_profile("lab")
    for same in (copy.copy(profile), copy.deepcopy(profile), pickle.loads(pickle.dumps(profile))):
        assert same == profile and same.source == "builtin:lab"
    # A changed profile is another profile: it came from memory, not from the file.
    assert msgspec.structs.replace(profile, description="changed").source == "<memory>"
