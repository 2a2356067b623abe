"""Packaged charts built to hurt whoever opens them: bombs, forged headers, escaping names, links.

Each builder writes a small .tgz (a few KB at most, built in milliseconds) into the test's folder.
"""

from __future__ import annotations

import gzip
import io
import secrets
import tarfile
from collections.abc import Callable
from pathlib import Path

CHART_YAML = b"apiVersion: v2\nname: cilium\nversion: 1.19.0-rc.1\n"
VALUES_YAML = b"debug:\n  enabled: false\n"

Member = tarfile.TarInfo | tuple[str, bytes]


def _file(name: str, data: bytes) -> tuple[str, bytes]:
    return (name, data)


def tgz(members: list[Member], *, compress: bool = True) -> bytes:
    """A tar (gzip-compressed unless told) of `members`: (name, content) pairs or bare headers."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return gzip.compress(buffer.getvalue(), mtime=0) if compress else buffer.getvalue()


def _good(*extra: Member) -> list[Member]:
    return [_file("cilium/Chart.yaml", CHART_YAML), _file("cilium/values.yaml", VALUES_YAML), *extra]


def _header(name: str, *, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


def _forged_member_size() -> bytes:
    """A header announcing a 6 MiB file (over helm's 5 MiB per file), with no data behind it."""
    return tgz(_good(_header("cilium/files/huge.json", size=6 * 1024 * 1024)))


def _forged_pax_header() -> bytes:
    """A pax extended header announcing 1 GiB (tarfile would read it into memory in one go)."""
    raw = bytearray(tgz(_good(), compress=False))
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 1024**3
    return gzip.compress(header.tobuf(format=tarfile.USTAR_FORMAT) + bytes(raw), mtime=0)


def _many_members() -> bytes:
    """10,001 empty files with random names (random, so the count trips before the ratio)."""
    return tgz(_good(*(_file(f"cilium/files/{secrets.token_hex(24)}", b"") for _ in range(10_001))))


HOSTILE_CHARTS: dict[str, tuple[Callable[[], bytes], str]] = {
    # name: (builder, a phrase the error must contain)
    "bomb-ratio": (lambda: tgz(_good(_file("cilium/files/zeros", bytes(4 * 1024 * 1024)))), "bomb"),
    "member-size-forged": (_forged_member_size, "limit per file"),
    "pax-header-forged": (_forged_pax_header, "chart archive"),
    "many-members": (_many_members, "more than 10,000 files"),
    "traversal-dotdot": (lambda: tgz(_good(_file("cilium/../../etc/cron.d/evil", b"x"))), "outside the chart"),
    "traversal-absolute": (lambda: tgz(_good(_file("/etc/cron.d/evil", b"x"))), "outside the chart"),
    "symlink-values": (
        lambda: tgz([_file("cilium/Chart.yaml", CHART_YAML),
                     _header("cilium/values.yaml", kind=tarfile.SYMTYPE, link="/etc/shadow")]),
        "a link",
    ),
    "device-member": (lambda: tgz(_good(_header("cilium/files/zero", kind=tarfile.CHRTYPE))), "special file"),
    "not-gzip": (lambda: tgz(_good(), compress=False), "not a gzip"),
    "truncated": (lambda: tgz(_good(_file("cilium/files/a", secrets.token_bytes(20_000))))[:5000], "cannot read"),
    "no-chart-yaml": (lambda: tgz([_file("cilium/values.yaml", VALUES_YAML)]), "Chart.yaml"),
}


def hostile_chart(kind: str, name: str = "c.tgz") -> Callable[[Path], None]:
    """A files-table entry writing the `kind` archive as `name`."""

    def make(folder: Path) -> None:
        (folder / name).write_bytes(HOSTILE_CHARTS[kind][0]())

    return make
