"""Strict isolation of one child: namespaces, a private view of the files, a uid, Landlock, seccomp.

The parent decides what to hide (``Isolation``); the zygote's forked child applies it in two steps
before any student code runs. ``enter`` (still root, in the process the worker knows) makes new
mount, pid, network, IPC and UTS namespaces and builds the file system view: empty tmpfs over
every hidden folder, read-only binds to put back what Python needs, and a box at the scratch path
holding a root-owned copy of the submission and ``work``, the only writable folder. ``confine``
runs in its forked child, the first process of the new pid namespace, so that killing it ends
every process student code starts: it mounts a fresh /proc, closes inherited descriptors,
becomes the slot's unprivileged uid, then locks itself in with Landlock and seccomp, which
nothing can lift.

This module does not import torch; ``support()`` tells what this machine allows.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.outcomes import GraderError
from grader.runner import landlock, seccomp

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
_NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1

UID_BASE, UID_COUNT = 200_000, 1_000  # one unprivileged uid per concurrent worker slot
PROCESSES = 64  # RLIMIT_NPROC per slot uid: threads count too

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]


class SandboxError(GraderError, OSError):
    """Strict isolation could not be set up."""


@dataclass(frozen=True)
class Isolation:
    """What the zygote's children are confined to, as the parent decided it.

    Args:
        level: ``strict`` or ``basic`` (a separate process with rlimits only).
        uid: the slot's unprivileged uid (and gid), strict only.
        hide: folders replaced by an empty tmpfs in the child's view (secrets).
        scratch_bytes: what student code may write in ``work``.
        scratch_inodes: how many files and folders it may make there: each costs the host
            kernel memory that no rlimit counts.
        submission_bytes: room for the copy of the submission.
        submission_files: the most files and folders a submission may hold.
    """

    level: str = "basic"
    uid: int | None = None
    hide: tuple[str, ...] = ()
    scratch_bytes: int = 64 * 2**20
    scratch_inodes: int = 10_000
    submission_bytes: int = 32 * 2**20  # the parent refuses larger submission folders
    submission_files: int = 2_000  # likewise

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Isolation:
        return cls(**{**data, "hide": tuple(data.get("hide", ()))})


@dataclass
class Support:
    """What this machine allows; strict isolation needs every part."""

    parts: dict[str, str] = field(default_factory=dict)  # part -> '' if it works, else why not

    @property
    def missing(self) -> list[str]:
        return [f"{part} ({why})" for part, why in self.parts.items() if why]

    @property
    def strict(self) -> bool:
        return not self.missing


@functools.cache
def support() -> Support:
    """Try each mechanism in a fresh interpreter (about 0.1 s, once per process).

    Never in a fork of this process: it may run threads (a Ray driver, a web server, a
    notebook's kernel), and a forked copy of a threaded process can deadlock on a lock one of
    them held, or run their libraries' fork handlers.
    """
    here = str(Path(__file__).resolve().parents[2])  # where this grader is imported from
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                              timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": path})
    except (OSError, subprocess.TimeoutExpired) as err:
        return Support({"a probe process": f"it could not run ({err})"})
    try:
        return Support(json.loads(done.stdout))
    except ValueError:
        said = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return Support({"a probe process": f"it failed: {said[0]}"})


_PROBE = ("import json, sys; from grader.runner.sandbox import _try_each; "
          "sys.stdout.write(json.dumps(_try_each()))")
_PROBE_TIMEOUT_S = 60  # finding libseccomp runs ldconfig: seconds on a busy machine, not more


def _try_each() -> dict[str, str]:
    parts: dict[str, str] = {}
    parts["seccomp"] = seccomp.available()  # first: finding libseccomp runs ldconfig
    parts["root (for a uid per slot)"] = "" if os.geteuid() == 0 else "not running as root"
    try:
        _unshare(_NAMESPACES)
        parts["namespaces (mount, pid, net, ipc, uts)"] = ""
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _mount("tmpfs", tempfile.gettempdir(), "tmpfs", MS_NOSUID | MS_NODEV,
               f"size=64k,nr_inodes={_PROBE_INODES}")
        parts["private mounts"] = ""
        parts[INODE_CAP] = _inode_cap_holds(Path(tempfile.gettempdir()))
    except OSError as err:
        parts.setdefault("namespaces (mount, pid, net, ipc, uts)", str(err))
        parts.setdefault("private mounts", "needs the namespaces")
        parts.setdefault(INODE_CAP, "needs private mounts")
    version = landlock.abi()
    parts["Landlock (ABI 4+, for TCP)"] = "" if version >= 4 else (
        f"ABI {version}" if version else "not in this kernel")
    return parts


INODE_CAP = "inode cap on scratch (tmpfs nr_inodes)"
_PROBE_INODES = 8


def _inode_cap_holds(folder: Path) -> str:
    """'' when a tmpfs mounted with nr_inodes refuses the file past its cap, else why not."""
    for made in range(_PROBE_INODES + 1):
        try:
            (folder / f"f{made}").touch()
        except OSError as err:
            return "" if err.errno == errno.ENOSPC else f"{err.strerror} after {made} files"
    return f"{_PROBE_INODES + 1} files made on a tmpfs capped at {_PROBE_INODES} inodes"


def claim_uid() -> tuple[int, int]:
    """A slot uid no other worker on this machine holds, and the locked file that holds it."""
    folder = Path(tempfile.gettempdir()) / "grader-slots"
    folder.mkdir(mode=0o700, exist_ok=True)
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise SandboxError(f"all {UID_COUNT} slot uids are taken")


def secret_folders() -> list[str]:
    """Folders hidden from every child: homes, the temporary folder, a source checkout."""
    hide = {str(Path.home()), "/root", tempfile.gettempdir()}
    package = Path(__file__).resolve().parents[1]  # grader/
    if (package.parent / "pyproject.toml").exists():  # a checkout: tests, .git, the database...
        hide.add(str(package.parent))
    return sorted(hide)


def _python_folders() -> set[str]:
    """What the child must still read to run Python and torch: put back inside hidden folders."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parents[1])}
    folders.update(p for p in sys.path if os.path.isabs(p) and os.path.isdir(p))
    return {os.path.realpath(f) for f in folders}


def enter(isolation: Isolation, submission: Path, scratch: Path) -> tuple[Path, Path]:
    """New namespaces and the child's view of the files. Returns (submission, work) in it."""
    hidden = {os.path.realpath(p) for p in (*isolation.hide, submission.parent) if p != "/"}
    hidden = {p for p in hidden if os.path.isdir(p)}
    exposed = {p for p in _python_folders() - hidden if any(_inside(p, h) for h in hidden)}
    _unshare(_NAMESPACES)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    # Opened in the new namespace (a bind's source must be) and before anything is hidden.
    sources = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in exposed}
    original = os.open(submission, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    for path in sorted(hidden | exposed, key=lambda p: (p.count("/"), p)):
        if path in hidden:
            if os.path.isdir(path):  # else an outer folder already hid it
                _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        else:
            _bind(sources[path], path)
    box = scratch
    os.makedirs(box, exist_ok=True)
    size = isolation.scratch_bytes + isolation.submission_bytes
    inodes = isolation.scratch_inodes + isolation.submission_files + 8  # the box's own folders
    _mount("tmpfs", str(box), "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={size},nr_inodes={inodes},mode=0755")
    # A copy, not a bind: readable by the slot's uid whatever the originals' modes, owned by
    # root so it cannot be changed, and the very files the parent read.
    _copy_tree(original, box / "submission")
    work = box / "work"
    work.mkdir(mode=0o700)
    os.chown(work, isolation.uid, isolation.uid)
    for fd in (*sources.values(), original):
        os.close(fd)
    return box / "submission", work


def _copy_tree(source: int, target: Path) -> None:
    """Copy the folder open as ``source``: folders and regular files, never a symlink."""
    target.mkdir(mode=0o755)
    for entry in os.scandir(source):
        if entry.is_dir(follow_symlinks=False):
            inner = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                            dir_fd=source)
            try:
                _copy_tree(inner, target / entry.name)
            finally:
                os.close(inner)
        elif entry.is_file(follow_symlinks=False):
            fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=source)
            with os.fdopen(fd, "rb") as src, open(target / entry.name, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(target / entry.name, 0o644)


def confine(isolation: Isolation, work: Path, keep: tuple[int, ...], rules=None) -> None:
    """In the first process of the new pid namespace: drop to the slot uid and lock in.

    ``rules`` is a seccomp filter from ``seccomp.prepare()``, built once in the zygote.
    """
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _close_all_but(keep)
    os.chdir(work)
    uid = isolation.uid
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)  # a uid change cleared it
    devices = {"/dev/null": landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE}
    devices.update({str(p): landlock.FILE_RIGHTS for p in Path("/dev").glob("nvidia*")})
    landlock.restrict(read=["/"], write=[str(work)], files=devices)
    seccomp.install(rules)


def _bind(fd: int, target: str) -> None:
    os.makedirs(target, exist_ok=True)
    source = f"/proc/self/fd/{fd}"
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _close_all_but(keep: tuple[int, ...]) -> None:
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise SandboxError(errno, f"unshare: {os.strerror(errno)}")


def _mount(source, target, fstype, flags: int, data: str | None = None) -> None:
    encode = lambda s: None if s is None else str(s).encode()  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        errno = ctypes.get_errno()
        raise SandboxError(errno, f"mount {target}: {os.strerror(errno)}")
