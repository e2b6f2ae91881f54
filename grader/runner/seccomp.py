"""A seccomp filter for the child: the system calls student code has no business making.

Everything else stays allowed (torch needs a wide surface), so this is a deny list: debugging
other processes, changing mounts or namespaces, loading kernel code, io_uring (which would
bypass the filter), and sockets other than unix ones. The filter is inherited by every process
the child starts and cannot be lifted.
"""

from __future__ import annotations

import errno
import socket

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "mount_setattr",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "name_to_handle_at", "open_by_handle_at",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
    "sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "iopl", "ioperm",
)
_NAMESPACE_FLAGS = (  # clone() flags that would make a new namespace
    0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
)


def available() -> str:
    """'' where a filter can be installed, else why not."""
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    except (ImportError, OSError, RuntimeError) as err:
        return f"pyseccomp or libseccomp is missing ({err})"
    return ""


def prepare():
    """The filter, built once (in the zygote) and loaded by each child with ``install``."""
    import pyseccomp as sc

    deny = sc.ERRNO(errno.EPERM)
    rules = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            pass  # a call this architecture does not have
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: refuse it, and libc falls back
    # to clone, whose flags the rules above see.
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for call in ("socket", "socketpair"):
        rules.add_rule(deny, call, sc.Arg(0, sc.NE, socket.AF_UNIX))
    return rules


def install(rules=None) -> None:
    """Load the filter into this process (no_new_privs must be set, or the caller be root)."""
    (rules or prepare()).load()
