"""Landlock through raw system calls: read-only everywhere, writable in one folder, no TCP.

Landlock (Linux 5.13+) lets an unprivileged process restrict itself and its future children;
nothing undoes it. Rights the running kernel does not know are left out, and ``abi()`` says which
version it speaks: 4 adds TCP, 6 adds signal and abstract-socket scoping.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable

from grader.outcomes import GraderError

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on x86_64 and arm64
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3 and 5
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_FS_LATEST = (1 << 16) - 1
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a file rule may hold

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class LandlockError(GraderError, OSError):
    """Landlock is missing or refused a rule; an OSError with the errno, where there is one."""


def abi() -> int:
    """The Landlock ABI version of the running kernel; 0 where it has none or it is disabled."""
    version = _libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def restrict(*, read: Iterable[str], write: Iterable[str], files: dict[str, int]) -> int:
    """Confine this process: read (and run) beneath ``read``, anything beneath ``write``.

    ``files`` grants file rights (e.g. READ_FILE | WRITE_FILE on /dev/null) to single files.
    Everything else on the file system is denied, as are TCP binds and connects (ABI 4+),
    signals to processes outside the sandbox and abstract unix sockets (ABI 6+). Returns the ABI.
    """
    version = abi()
    if version < 1:
        raise LandlockError("Landlock is not available in this kernel")
    handled = _FS_BY_ABI.get(version, _FS_LATEST)
    if version >= 6:
        attr = struct.pack("=QQQ", handled, _NET_BIND_TCP | _NET_CONNECT_TCP,
                           _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL)
    elif version >= 4:
        attr = struct.pack("=QQ", handled, _NET_BIND_TCP | _NET_CONNECT_TCP)
    else:
        attr = struct.pack("=Q", handled)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(_libc.syscall(_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), 0),
                     "create a ruleset")
    try:
        for path in read:
            _allow(ruleset, path, READ & handled)
        for path in write:
            _allow(ruleset, path, handled)
        for path, rights in files.items():
            _allow(ruleset, path, rights & FILE_RIGHTS & handled)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs")
        _check(_libc.syscall(_RESTRICT_SELF, ruleset, 0), "restrict itself")
    finally:
        os.close(ruleset)
    return version


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # nothing there to grant
    try:
        rule = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr is packed
        buffer = ctypes.create_string_buffer(rule, len(rule))
        _check(_libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, buffer, 0), f"allow {path}")
    finally:
        os.close(fd)


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"Landlock could not {what}: {os.strerror(errno)}")
    return int(result)
