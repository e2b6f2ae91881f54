"""What an upload must be before the service queues it, and the zip the job stores.

An upload is one of:

- one .py or one .ipynb: taken as the assignment's file whatever it is called, as
  ``grader check FILE`` takes it (``my_try.ipynb`` is stored as ``softmax_regression.ipynb``);
- one .zip of the submission folder: every member checked before one is read, as a batch checks
  a class's zips (``grader.batch.submissions.member_path``), its entries counted, its size
  counted by the declared and then the actual bytes, and a single top folder unwrapped;
- several plain files: a folder's files, each under its own name.

The folder must hold the assignment's file or its notebook, not both. What the job stores is a
zip of that folder's files at its top, with fixed times and modes: the same files make the same
bytes. Nothing here touches the disk. Every refusal is an ``UploadRefused`` whose reason is one
sentence quoting the student's file names escaped (``repr``).
"""

from __future__ import annotations

import io
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import PurePosixPath

from grader import options
from grader.batch.submissions import MAX_BYTES, member_path
from grader.outcomes import UsageError

MIB = 2**20
NOTEBOOK = ".ipynb"
_STORED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no clock in the bytes
_STORED_MODE = (stat.S_IFREG | 0o644) << 16
_UNIX = 3  # a member's create_system: modes are Unix modes on every machine
# Reading a damaged zip raises any of these; bz2 reports bad data as OSError.
_BROKEN = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, OSError,
           NotImplementedError, RuntimeError)

# An upload unpacked may not outgrow what the sandbox has room to grade (a batch's limit too):
# accepting more would queue a submission that can only fail.
ZIP_BYTES = min(options.UPLOAD_ZIP_BYTES, MAX_BYTES)


class UploadRefused(UsageError):
    """An upload the service does not store: ``status`` is the HTTP answer, ``reason`` one
    sentence for the student, ``retry_after`` the seconds to wait (429 only)."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after = int(status), reason, retry_after


@dataclass(frozen=True)
class Upload:
    """An accepted upload, as the job stores it."""

    zip: bytes  # the submission folder's files at its top; the same files, the same bytes
    names: tuple[str, ...]  # its members, sorted: relative POSIX paths
    size: int  # len(zip): what the job stores and what counts against the quota


def accept_upload(
    files: Sequence[tuple[str, bytes]], student_file: str, *, max_bytes: int,
    max_entries: int = options.UPLOAD_ZIP_ENTRIES, max_unpacked: int = ZIP_BYTES,
) -> Upload:
    """The upload ``files`` (name, bytes) as the zip a job stores, or why it is refused.

    A part with neither a name nor bytes is left out: a browser sends one for an empty file
    input.

    Args:
        files: the uploaded files, names as the student's browser or client sent them.
        student_file: the assignment's file, e.g. ``softmax_regression.py``.
        max_bytes: the most the upload may hold as sent (the course's ``upload_limit_mb``).
        max_entries: the most members a zip may hold, folders included; also the most files.
        max_unpacked: the most a zip may unpack to, by its declared and its actual sizes.

    Raises:
        UploadRefused: 413 over ``max_bytes`` (checked before anything else), 400 for anything
            wrong with the files.
    """
    parts = [(name, data) for name, data in files if name or data]
    sent = sum(len(data) for _, data in parts)
    if sent > max_bytes:
        what = repr(parts[0][0]) if len(parts) == 1 and parts[0][0] else "the upload"
        raise UploadRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"{what} is {sent:,} bytes; the limit is {max_bytes:,} bytes "
                            f"({human_size(max_bytes)})")
    folder, label = _folder(parts, student_file, max_entries, max_unpacked)
    _holds_the_file(folder, student_file, label)
    stored = zipped(folder)
    return Upload(stored, tuple(sorted(folder)), len(stored))


def zipped(files: dict[str, bytes]) -> bytes:
    """``files`` (relative POSIX path: bytes) as a zip whose bytes depend on nothing else: the
    members sorted, deflated at one level, with one time and one mode."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=_STORED_TIME)
            info.compress_type, info.create_system = zipfile.ZIP_DEFLATED, _UNIX
            info.external_attr = _STORED_MODE
            archive.writestr(info, files[path], compresslevel=6)
    return buffer.getvalue()


def human_size(n: int) -> str:
    """``n`` bytes for a person: "812 bytes", "5 MiB", "99.2 MiB"."""
    if n < MIB:
        return f"{n:,} bytes"
    return f"{n / MIB:.1f}".removesuffix(".0") + " MiB"


def _folder(parts: list[tuple[str, bytes]], student_file: str, max_entries: int,
            max_unpacked: int) -> tuple[dict[str, bytes], str]:
    """The submission folder's files, and how to name the upload in a reason."""
    if not parts:
        raise _bad(f"the upload holds no file; send {student_file}, its notebook or a zip of "
                   "your folder")
    for name, _ in parts:
        _plain_name(name)
    if len(parts) == 1:
        return _one_file(*parts[0], student_file, max_entries, max_unpacked)
    if len(parts) > max_entries:
        raise _bad(f"the upload holds {len(parts)} files; the limit is {max_entries}")
    names = [name for name, _ in parts]
    for name in names:
        if name.lower().endswith(".zip"):
            raise _bad(f"{name!r} is a zip among {len(parts)} files; send the zip alone, "
                       "or the files without it")
    if twice := _repeated(names):
        raise _bad(f"the upload holds two files named {twice!r}; send each file once")
    files = dict(parts)
    if not any(files.values()):
        raise _bad("the upload holds only empty files; send the files with your code")
    return files, "the upload"


def _one_file(name: str, data: bytes, student_file: str, max_entries: int,
              max_unpacked: int) -> tuple[dict[str, bytes], str]:
    label, suffix = repr(name), PurePosixPath(name).suffix.lower()
    if suffix == ".zip":
        files = _unzipped(data, label, max_entries, max_unpacked)
        if not any(files.values()):
            raise _bad(f"{label} holds {'only empty files' if files else 'no file'}; zip the "
                       "folder with your code")
        return files, label
    if suffix not in (".py", NOTEBOOK):
        raise _bad(f"{label} is not a .py, .ipynb or .zip file; send {student_file}, its "
                   "notebook or a zip of your folder")
    if not data:
        raise _bad(f"{label} is empty (0 bytes); send the file with your code")
    stored = student_file if suffix == ".py" else PurePosixPath(student_file).stem + NOTEBOOK
    return {stored: data}, label


def _unzipped(data: bytes, label: str, max_entries: int, max_unpacked: int) -> dict[str, bytes]:
    """The zip's regular files by path, every member checked before one is read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > max_entries:
                raise _bad(f"{label} holds {len(infos)} entries; the limit is {max_entries}")
            declared = sum(info.file_size for info in infos)
            if declared > max_unpacked:
                raise _bad(f"{label} unpacks to {human_size(declared)}; the limit is "
                           f"{human_size(max_unpacked)}")
            members = [(info, _checked_path(info, label)) for info in infos]
            return _read(archive, members, label, max_unpacked)
    except _BROKEN as err:
        raise _bad(f"{label} is not a valid zip file: {err}") from None


def _checked_path(info: zipfile.ZipInfo, label: str) -> tuple[str, ...]:
    try:
        parts = member_path(info, label)
    except ValueError as err:
        raise _bad(str(err)) from None
    if _unprintable("/".join(parts)):
        raise _bad(f"{label}: member {info.filename!r} has control characters in its "
                   "name; rename it")
    return parts


def _read(archive: zipfile.ZipFile, members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
          label: str, max_unpacked: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    folders: set[str] = set()
    room = max_unpacked
    for info, parts in members:
        if not parts or parts[0] == "__MACOSX":  # Finder's resource forks, as a batch skips
            continue
        path = "/".join(parts)
        if info.is_dir() or stat.S_ISDIR(info.external_attr >> 16):
            folders.add(path)
            continue
        if path in files:
            raise _bad(f"{label} holds {path!r} twice; zip each file once")
        # The declared sizes were checked, but headers can lie: count what comes out.
        with archive.open(info) as member:
            files[path] = content = member.read(room + 1)
        room -= len(content)
        if room < 0:
            raise _bad(f"{label}: member {path!r} takes it past the {human_size(max_unpacked)} "
                       "limit")
    if clash := _file_as_folder(files, folders):
        raise _bad(f"{label} holds {clash!r} both as a file and as a folder; zip one")
    return _unwrapped(files, folders)


def _unwrapped(files: dict[str, bytes], folders: set[str]) -> dict[str, bytes]:
    """The files of the one folder everything sits in, if there is one (students zip the
    folder), as a batch unwraps it: names starting with "." beside it do not count."""
    tops = {path.split("/")[0] for path in (*files, *folders)}
    shown = [top for top in tops if not top.startswith(".")]
    if len(shown) != 1 or shown[0] in files:
        return files
    inside = shown[0] + "/"
    return {path.removeprefix(inside): data for path, data in files.items()
            if path.startswith(inside)}


def _holds_the_file(folder: dict[str, bytes], student_file: str, label: str) -> None:
    notebook = PurePosixPath(student_file).stem + NOTEBOOK
    if student_file in folder and notebook in folder:
        raise _bad(f"{label} holds both {student_file} and {notebook}; keep one, the grader "
                   "cannot tell which you meant")
    if student_file not in folder and notebook not in folder:
        raise _bad(f"{label} holds neither {student_file} nor {notebook} at its top; send "
                   "your folder with one of them in it")


def _plain_name(name: str) -> None:
    """A file's own name: no folder, no drive, no control character."""
    if not name:
        raise _bad("a file in the upload has no name; send it with its name")
    if _unprintable(name):
        raise _bad(f"the file name {name!r} has control characters; rename the file")
    if "/" in name or "\\" in name or name in (".", "..") or name[1:2] == ":":
        raise _bad(f"the file name {name!r} is a path; send the file under its own name")


def _file_as_folder(files: dict[str, bytes], folders: set[str]) -> str | None:
    """A path that is a file and also holds members (``a`` and ``a/b``), which no folder can."""
    above = {str(parent) for path in files for parent in PurePosixPath(path).parents}
    return min(set(files) & (above | folders), default=None)


def _repeated(names: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _unprintable(name: str) -> bool:
    # Control, format (bidi overrides, zero widths), surrogate and unassigned characters: names
    # a page or a terminal would show as something else, or a database would refuse.
    return any(unicodedata.category(char).startswith("C") for char in name)


def _bad(reason: str) -> UploadRefused:
    return UploadRefused(HTTPStatus.BAD_REQUEST, reason)
