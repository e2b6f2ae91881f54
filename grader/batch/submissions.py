"""Find the submissions under a batch root: one folder or one .zip per student.

The grader runs as root, so nothing here follows a symbolic link or reads outside ROOT: folders are
walked one directory descriptor at a time with O_NOFOLLOW, and a zip's members are all checked
before a byte is written, then streamed under a cap.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from grader.outcomes import GraderError, UsageError
from grader.runner.sandbox import Isolation

MAX_BYTES = Isolation.submission_bytes  # 32 MiB, the sandbox's room for its copy of a submission
MAX_FILES = Isolation.submission_files  # and the files it has room for
CHUNK = 2**16
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO won't hang
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_OUTSIDE = re.compile(r"^/|^[A-Za-z]:|\\|(^|/)\.\.(/|$)")  # absolute, drive, backslash, ..
# Reading a damaged zip raises any of these; bz2 reports bad data as OSError.
_BROKEN = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, OSError,
           NotImplementedError, RuntimeError)


class SubmissionsError(UsageError):
    """ROOT itself cannot be read as a folder of submissions."""


@dataclass(frozen=True)
class Submission:
    """One student's submission as found under ROOT."""

    student: str  # the folder's name, or the zip's without .zip
    source: Path  # the folder or the .zip under ROOT
    folder: Path | None  # where the files are (a zip's unpacked copy); None when there is a problem
    content_hash: str  # sha256 hex of the files, the same for a folder and a zip of it
    submitted_at: datetime | None  # the newest modification time among the files, in UTC
    problem: str = ""  # why it cannot be graded, one line; "" when it can


class _File(NamedTuple):
    path: str  # relative, POSIX
    size: int
    mtime: float
    digest: bytes  # sha256 of the bytes; b"" when only listed


class _Refused(GraderError):
    """A zip that will not be unpacked; the message is the submission's problem."""


def discover(
    root: Path, unpack_to: Path, *, max_bytes: int = MAX_BYTES, max_files: int = MAX_FILES
) -> list[Submission]:
    """Every submission under root, sorted by student.

    Args:
        root: a folder holding one subfolder or one .zip per student.
        unpack_to: where zips are unpacked, one fresh subfolder each; the caller deletes it.
        max_bytes: the most a submission's regular files may hold in all.
        max_files: the most regular files in a folder, or members in a zip.

    Returns:
        One Submission per student; those that cannot be graded carry a ``problem``.
    """
    if not root.exists():
        raise SubmissionsError(f"{root}: not found; pass the folder that holds the submissions")
    if not root.is_dir():
        raise SubmissionsError(f"{root} is a file, not a folder of submissions; pass its folder")
    groups: dict[str, list[os.DirEntry]] = {}
    with os.scandir(root) as entries:
        for e in entries:
            folder = e.is_dir(follow_symlinks=False)
            zipped = e.name.lower().endswith(".zip") and not folder
            if e.name.startswith(".") or e.name == "__MACOSX" or not (
                    folder or e.is_symlink() or zipped and e.is_file(follow_symlinks=False)):
                continue
            groups.setdefault(e.name[:-4] if zipped else e.name, []).append(e)
    finder = _Finder(unpack_to, max_bytes, max_files)
    found = [finder.find(student, group) for student, group in groups.items()]
    return sorted(found, key=lambda s: (s.student.casefold(), s.student))


def found_at(source: Path, unpack_to: Path) -> Submission:
    """The one submission at ``source`` (a folder or a .zip), as ``discover`` finds it in its
    parent: the same checks, limits and content hash. FileNotFoundError where there is none."""
    source = Path(source)
    with os.scandir(source.parent) as entries:
        group = [e for e in entries if e.name == source.name]
    if not group:
        raise FileNotFoundError(f"{source} is not there")
    zipped = source.name.lower().endswith(".zip") and not group[0].is_dir(follow_symlinks=False)
    student = source.name[:-4] if zipped else source.name
    return _Finder(unpack_to, MAX_BYTES, MAX_FILES).find(student, group)


def content_hash(folder: Path) -> str:
    """sha256 over the folder's regular files: each relative path, its size and its bytes."""
    return _tree_hash(_walk(folder, read=True))


@dataclass(frozen=True)
class _Finder:
    unpack_to: Path
    max_bytes: int
    max_files: int

    def find(self, student: str, group: list[os.DirEntry]) -> Submission:
        group = sorted(group, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name))
        source = Path(group[0].path)
        try:
            if readable(student) != student:  # bytes that are not UTF-8: no database takes them
                problem = (f"{_show(readable(group[0].name))} is not a valid UTF-8 name; rename "
                           "it and grade it again")
                return Submission(readable(student), source, None, _raw_hash(source), None,
                                  problem)
            return self._classify(student, source, group)
        except OSError as err:  # a file replaced while we look, a path too long: not the batch
            problem = f"{_show(source.name)} could not be read: {err.strerror or err}"
            digest = _sha256(os.urandom(16))  # matches no stored run, so the next batch retries
            return Submission(student, source, None, digest, None, problem)

    def _classify(self, student: str, source: Path, group: list[os.DirEntry]) -> Submission:
        if len(group) > 1:
            labels = [_show(e.name) + ("/" if e.is_dir(follow_symlinks=False) else "")
                      for e in group]
            both = f"both {labels[0]} and {labels[1]}" if len(labels) == 2 else ", ".join(labels)
            digest = _sha256(b"".join(_raw_hash(Path(e.path)).encode() for e in group))
            return Submission(student, source, None, digest, None, f"{both} exist; keep one")
        if source.is_symlink():
            problem = f"{_show(source.name)} is a symbolic link; submit a real folder"
            return Submission(student, source, None, _raw_hash(source), None, problem)
        if source.is_dir():
            return self._folder(student, source)
        return self._zip(student, source)

    def _folder(self, student: str, source: Path) -> Submission:
        files, label = _walk(source), _show(source.name) + "/"
        total, problem = sum(f.size for f in files), ""
        if len(files) > self.max_files:
            problem = f"{label} holds {len(files)} files; the limit is {self.max_files}"
        elif total > self.max_bytes:
            problem = f"{label} holds {_size(total)}; the limit is {_size(self.max_bytes, 'g')}"
        # Over a limit, the listing identifies the folder without reading what may be gigabytes.
        if problem:
            return Submission(student, source, None, _tree_hash(files, read=False),
                              _newest(files), problem)
        files = _walk(source, read=True)
        return Submission(student, source, source, _tree_hash(files), _newest(files))

    def _zip(self, student: str, source: Path) -> Submission:
        # The digest keeps apart students whose names differ only in the characters replaced.
        tag = hashlib.sha256(os.fsencode(student)).hexdigest()[:12]
        dest = self.unpack_to / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', student)[:40]}-{tag}"
        self.unpack_to.mkdir(parents=True, exist_ok=True)
        if dest.exists():  # left by an earlier discovery into the same folder
            shutil.rmtree(dest)
        _make_dirs(self.unpack_to, (dest.name,))
        try:
            folder = self._unpack(source, dest)
        except _Refused as refused:
            shutil.rmtree(dest)
            return Submission(student, source, None, _raw_hash(source), None, str(refused))
        files = _walk(folder, read=True)
        return Submission(student, source, folder, _tree_hash(files), _newest(files))

    def _unpack(self, source: Path, dest: Path) -> Path:
        name = _show(source.name)
        try:
            with os.fdopen(os.open(source, _FILE), "rb") as raw, zipfile.ZipFile(raw) as zf:
                infos = zf.infolist()
                if len(infos) > self.max_files:
                    raise _Refused(f"{name} holds {len(infos)} members; the limit is "
                                   f"{self.max_files}")
                declared = sum(info.file_size for info in infos)
                if declared > self.max_bytes:
                    raise _Refused(f"{name} unpacks to {_size(declared)}; the limit is "
                                   f"{_size(self.max_bytes, 'g')}")
                members = [(info, _parts(info, name)) for info in infos]
                written = 0
                for info, parts in members:
                    if parts and parts[0] != "__MACOSX":  # Finder's resource forks
                        written = self._extract(zf, info, dest, parts, written, name)
        except _BROKEN as err:
            raise _Refused(f"{name} is not a valid zip file: {err}") from None
        return _unwrapped(dest)

    def _extract(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path,
                 parts: tuple[str, ...], written: int, name: str) -> int:
        """Write one member under dest; returns the bytes written so far in all."""
        member = _show(info.filename)
        is_dir = info.is_dir() or stat.S_ISDIR(info.external_attr >> 16)
        try:
            _make_dirs(dest, parts if is_dir else parts[:-1])
            if is_dir:
                return written
            with (
                os.fdopen(os.open(dest.joinpath(*parts), _NEW, 0o644), "wb") as out,
                zf.open(info) as src,
            ):
                os.fchmod(out.fileno(), 0o644)  # whatever the umask: never setuid, never 0600
                # The declared sizes were checked, but headers can lie: count what comes out.
                while chunk := src.read(CHUNK):
                    written += len(chunk)
                    if written > self.max_bytes:
                        raise _Refused(f"{name}: member {member} takes it past the "
                                       f"{_size(self.max_bytes, 'g')} limit")
                    out.write(chunk)
                out.flush()
                os.utime(out.fileno(), (_zip_time(info),) * 2)
        except OSError as err:
            why = err.strerror or err
            raise _Refused(f"{name}: cannot unpack member {member}: {why}") from None
        return written


def member_path(info: zipfile.ZipInfo, zip_name: str) -> tuple[str, ...]:
    """A zip member's path as components, checked as a batch checks it before unpacking (the
    service checks uploads with it); "" and "." components are dropped.

    Raises:
        ValueError: a link, a device or other special member, an encrypted one, or a path that
            is absolute or leaves the folder; one line naming ``zip_name`` and the member.
    """
    try:
        return _parts(info, zip_name)
    except _Refused as refused:
        raise ValueError(str(refused)) from None


def _parts(info: zipfile.ZipInfo, name: str) -> tuple[str, ...]:
    """The member's path as components, refusing anything that could leave the folder."""
    member, mode = _show(info.filename), info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _Refused(f"{name}: member {member} is a symbolic link; zip real files only")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _Refused(f"{name}: member {member} is not a regular file or folder; remove it")
    if info.flag_bits & 0x1:
        raise _Refused(f"{name}: member {member} is encrypted; zip it without a password")
    if _OUTSIDE.search(info.filename):
        raise _Refused(f"{name}: member {member} points outside the folder; zip relative paths")
    return tuple(p for p in info.filename.split("/") if p not in ("", "."))


def _make_dirs(dest: Path, parts: tuple[str, ...]) -> None:
    for i in range(1, len(parts) + 1):
        path = dest.joinpath(*parts[:i])
        try:
            path.mkdir(mode=0o755)
        except FileExistsError:
            continue  # a file in the way makes the member's own open fail
        path.chmod(0o755)  # whatever the umask


def _unwrapped(dest: Path) -> Path:
    """The one folder the zip's members all sit in, if there is one (students zip the folder)."""
    with os.scandir(dest) as entries:
        tops = [e for e in entries if not e.name.startswith(".")]
    if len(tops) == 1 and tops[0].is_dir(follow_symlinks=False):
        return Path(tops[0].path)
    return dest


def _zip_time(info: zipfile.ZipInfo) -> float:
    year, *rest = info.date_time
    try:
        return datetime(year, *rest[:4], min(rest[4], 59), tzinfo=timezone.utc).timestamp()
    except ValueError:  # DOS fields out of range (month 0): the start of that year
        return datetime(year, 1, 1, tzinfo=timezone.utc).timestamp()


def read_files(folder: Path, max_bytes: int = MAX_BYTES) -> dict[str, bytes]:
    """The regular files under folder, by relative POSIX path; no link is followed.

    Raises ValueError once they hold more than ``max_bytes``, OSError if folder cannot be read.
    """
    files: dict[str, bytes] = {}
    total = 0
    for path, fd, entry in _regular_files(folder):
        with os.fdopen(os.open(entry.name, _FILE, dir_fd=fd), "rb") as f:
            files[path] = data = f.read(max_bytes - total + 1)
        total += len(data)
        if total > max_bytes:
            raise ValueError(f"holds more than {max_bytes // 2**20} MiB")
    return files


def _walk(folder: Path, read: bool = False) -> list[_File]:
    """The regular files under folder, sorted by path, hashed if read; no link is followed."""
    files: list[_File] = []
    for path, fd, entry in _regular_files(folder):
        st = entry.stat(follow_symlinks=False)
        size, digest = st.st_size, b""
        if read:
            size, digest = _read_digest(os.open(entry.name, _FILE, dir_fd=fd))
        files.append(_File(path, size, st.st_mtime, digest))
    return sorted(files)


def _regular_files(folder: Path) -> Iterator[tuple[str, int, os.DirEntry]]:
    """(relative POSIX path, its directory's descriptor, its entry) for each regular file under
    folder, walked one directory descriptor at a time so that no link is followed. The
    descriptor is open until the next item is asked for."""
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        fd = _open_dir(folder, parts)
        try:
            with os.scandir(fd) as entries:
                for e in entries:
                    if e.is_dir(follow_symlinks=False):
                        pending.append((*parts, e.name))
                    elif e.is_file(follow_symlinks=False):
                        yield "/".join((*parts, e.name)), fd, e
        finally:
            os.close(fd)


def _open_dir(folder: Path, parts: tuple[str, ...]) -> int:
    """A descriptor for folder/parts, opened one component at a time so no link is followed."""
    fd = os.open(folder, _DIR)
    try:
        for part in parts:
            inner = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = inner
    except OSError:
        os.close(fd)
        raise
    return fd


def _tree_hash(files: list[_File], read: bool = True) -> str:
    """Each file's path, size and (if read) sha256, length-prefixed so no two trees collide."""
    digest = hashlib.sha256(b"grader submission content v1\0" if read else b"listing v1\0")
    for f in files:
        path = os.fsencode(f.path)
        digest.update(len(path).to_bytes(8, "big") + path + f.size.to_bytes(8, "big") + f.digest)
    return digest.hexdigest()


def _raw_hash(path: Path) -> str:
    """Identify an entry that will not be graded, without following a link or unpacking."""
    if path.is_symlink():
        return _sha256(b"link\0" + os.fsencode(os.readlink(path)))
    if path.is_dir():
        return _tree_hash(_walk(path), read=False)
    return _sha256(b"file\0" + _read_digest(os.open(path, _FILE))[1])


def _read_digest(fd: int) -> tuple[int, bytes]:
    """The size and sha256 of the regular file open as fd; closes fd."""
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"descriptor {fd} is not a regular file")
        digest, size = hashlib.sha256(), 0
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.digest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _newest(files: list[_File]) -> datetime | None:
    newest = max((f.mtime for f in files), default=None)
    return None if newest is None else datetime.fromtimestamp(newest, tz=timezone.utc)


def readable(name: str) -> str:
    """``name`` as text every database, file and terminal takes: bytes that are not UTF-8
    (which the file system hands over as surrogates) become ``\\xff``, a form that says
    which bytes they were."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _show(name: str) -> str:
    # Names come from students: a newline in one must not break a one-line message.
    return name if name.isprintable() else repr(name)


def _size(n: int, digits: str = ".1f") -> str:
    return f"{n} bytes" if n < 2**20 else f"{n / 2**20:{digits}} MiB"
