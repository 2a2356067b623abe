"""Reading a packaged chart (.tgz) that may come from anyone, with limits checked before anything is built.

A chart archive is two decoders deep (gzip, then tar), and both trust the file: a 50 KB gzip of zeros
unpacks to gigabytes, a tar header may claim a 1 TB member or a 1 GB PAX header (which `tarfile` reads
into memory in one go), names may climb out of the chart (`../../etc/cron.d/x`), and links or devices
may stand in for files. So every .tgz chart the tool reads, or hands to helm, goes through
`read_chart_archive`, which streams the archive once and refuses, naming the file (and the member):

- anything that is not a regular file of at most `inputs.MAX_BYTES` (a FIFO, a device), or not gzip;
- more than `MAX_MEMBERS` members, a member over `MAX_MEMBER_BYTES`, links, devices;
- names that are absolute or contain `..` (helm refuses both too);
- more than `MAX_UNPACKED_BYTES` unpacked, or more than `MAX_RATIO` times the archive's own size
  (a decompression bomb), counted on the decompressed stream itself, so headers count too.

The member and total limits are helm's own defaults (`--max-file-size`, `--max-chart-size`): a chart
this tool accepts, helm accepts. Real Cilium charts are about 165 files, 1.6 MB unpacked from 245 KB
(6.5 times), the largest file 0.3 MB.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cilium_tune.errors import InputError
from cilium_tune.inputs import check_regular_file

MAX_MEMBERS = 10_000
"""The most members (files and folders) an archive may have."""
MAX_MEMBER_BYTES = 5 * 1024 * 1024
"""The largest file inside a chart (helm's default --max-file-size)."""
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
"""The most an archive may unpack to, headers included (helm's default --max-chart-size)."""
MAX_RATIO = 100
"""How many times its own size an archive may unpack to (above 1 MiB); real charts stay under 10."""

_RATIO_FLOOR = 1024 * 1024
_HINT = "pass a chart packaged by `helm package` (e.g. cilium-1.19.0.tgz)"


@dataclass(frozen=True)
class ChartArchive:
    """The regular files of a packaged chart: every name, and the content of those that were asked for."""

    path: str
    top: str
    """The chart's folder inside the archive (`cilium`): the one holding Chart.yaml."""
    names: tuple[str, ...]
    files: Mapping[str, bytes]

    def text(self, name: str) -> str:
        """A member's text (UTF-8, a BOM dropped); an InputError names the member when it is not UTF-8."""
        try:
            return self.files[name].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{self.path}:{name}: not valid UTF-8", hint="save the file as UTF-8") from None


def is_gzip(path: str | Path) -> bool:
    """Whether a regular file starts with the gzip magic (what helm requires of a packaged chart)."""
    check_regular_file(path, "chart archive")
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def read_chart_archive(path: str | Path, wanted: Callable[[str], bool] = lambda _name: False) -> ChartArchive:
    """Stream a packaged chart once, checking every limit; keep the content of the members `wanted` names."""
    source = str(path)
    check_regular_file(path, "chart archive")
    size = Path(path).stat().st_size
    if not is_gzip(path):
        raise InputError(f"{source}: not a gzip-compressed chart archive", hint=_HINT)
    names: list[str] = []
    files: dict[str, bytes] = {}
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped:
            budget = _Budget(unzipped, source, size)
            with tarfile.open(fileobj=budget, mode="r|") as archive:  # type: ignore[call-overload]
                for count, member in enumerate(archive, start=1):
                    if count > MAX_MEMBERS:
                        raise InputError(f"{source}: more than {MAX_MEMBERS:,} files in the chart archive", hint=_HINT)
                    name = _checked_name(source, member)
                    if member.isdir():
                        continue
                    _check_member(source, name, member)
                    names.append(name)
                    if wanted(name):
                        handle = archive.extractfile(member)
                        assert handle is not None  # a regular file
                        files[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{source}: cannot read the chart archive: {exc}", hint=_HINT) from None
    top = next((n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith("/Chart.yaml")), None)
    if top is None:
        raise InputError(f"{source}: no <chart>/Chart.yaml inside", hint=_HINT)
    return ChartArchive(source, top, tuple(names), files)


def check_local_chart(chart: str) -> None:
    """Before helm reads `chart`: a packaged chart on this machine gets the same checks as one cilium-tune reads.

    A chart directory is the user's own folder, and a repository reference or an OCI URL is helm's to fetch;
    both are left to helm.
    """
    path = Path(chart)
    if path.exists() and not path.is_dir():
        read_chart_archive(path)


def _checked_name(source: str, member: tarfile.TarInfo) -> str:
    name = member.name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts or "\0" in name:
        raise InputError(
            f"{source}: the member {member.name!r} points outside the chart (an absolute path or '..')",
            hint="this archive was not made by `helm package`; do not use it",
        )
    return name.removeprefix("./").rstrip("/")


def _check_member(source: str, name: str, member: tarfile.TarInfo) -> None:
    if not member.isfile():
        kind = "a link" if member.issym() or member.islnk() else "a device or special file"
        raise InputError(
            f"{source}:{name}: is {kind}, not a file (helm package writes only files)",
            hint="this archive was not made by `helm package`; do not use it",
        )
    if member.size > MAX_MEMBER_BYTES:
        raise InputError(
            f"{source}:{name}: a {member.size:,}-byte file, over helm's {MAX_MEMBER_BYTES // (1024 * 1024)} MiB "
            "limit per file",
            hint=_HINT,
        )


class _Budget:
    """The decompressed stream, refusing to hand out more than the archive may unpack to.

    It checks before reading, so a forged header asking for a gigabyte is refused without allocating it.
    """

    def __init__(self, stream: gzip.GzipFile, source: str, packed: int) -> None:
        self._stream = stream
        self._source = source
        self._limit = min(MAX_UNPACKED_BYTES, max(_RATIO_FLOOR, packed * MAX_RATIO))
        self.read_so_far = 0

    def read(self, size: int = -1) -> bytes:
        room = self._limit - self.read_so_far
        data = self._stream.read(room + 1 if size < 0 or size > room else size)
        self.read_so_far += len(data)
        if self.read_so_far > self._limit:
            if self._limit < MAX_UNPACKED_BYTES:
                raise InputError(
                    f"{self._source}: unpacks to more than {MAX_RATIO} times its own size (a decompression bomb?)",
                    hint=_HINT,
                )
            raise InputError(
                f"{self._source}: unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB (helm's limit "
                "for a chart)",
                hint=_HINT,
            )
        return data
