"""Kubernetes names and chart versions, validated where they enter the tool.

Names and versions from a profile, a facts snapshot, a baseline header or a flag end up in commands the
plan prints for a person to paste (`kubectl drain NODE`, `helm upgrade RELEASE ... --version V`) and in
argv lists an executor runs. The commands are shell-quoted, but a name holding a newline still breaks a
printed script into lines that look like commands. So every name is checked against the rule Kubernetes
itself enforces (RFC 1123), and every chart version against SemVer, when the input is loaded: a bad one
never reaches a renderer.

These are plain functions (no validation library): the profile (msgspec) and the facts model (pydantic)
each wrap them in their own field types, and `plan` offline imports only the first.
"""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"{_LABEL}\Z")
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*\Z")
# SemVer 2.0.0, with the leading `v` Helm tolerates.
_SEMVER = re.compile(
    r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\Z"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def dns1123_label(value: str, what: str = "name") -> str:
    """A namespace name (RFC 1123 label: lowercase letters, digits and '-', at most 63 characters)."""
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid {what}: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (RFC 1123)"
        )
    return value


def dns1123_subdomain(value: str, what: str = "name") -> str:
    """A node (or other object) name: RFC 1123 subdomain, at most 253 characters."""
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid {what}: use at most 253 lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (RFC 1123)"
        )
    return value


def release_name(value: str) -> str:
    """A Helm release name: an RFC 1123 subdomain of at most 53 characters (helm's own rule)."""
    if len(value) > 53:
        raise ValueError(f"{value!r} is not a valid Helm release name: at most 53 characters")
    return dns1123_subdomain(value, "Helm release name")


def chart_version(value: str) -> str:
    """A chart version as helm --version takes it when pinned: SemVer (`1.19.0`, `1.19.0-rc.1`)."""
    if len(value) > 128 or not _SEMVER.match(value):
        raise ValueError(f"{value!r} is not a chart version: use SemVer such as 1.19.0 or 1.19.0-rc.1")
    return value


def single_line(value: str) -> str:
    """Free text that is printed into a script or a command (a path, a context): no control characters."""
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(f"{value!r} contains a control character ({found.group()!r}); it must be one line")
    return value


def printable(text: str) -> str:
    """`text` with control characters shown as escapes: for comments in printed scripts, whatever got in."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def node_name(value: str) -> str:
    """A Kubernetes node name."""
    return dns1123_subdomain(value, "node name")


def namespace(value: str) -> str:
    """A Kubernetes namespace name."""
    return dns1123_label(value, "namespace")
