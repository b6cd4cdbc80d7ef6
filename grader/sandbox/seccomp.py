"""The seccomp filter a submission runs under: a classic-BPF program, built here, no library.

The harness installs it with ``prctl(PR_SET_SECCOMP)`` after reading its request and
before loading the submission (``no_new_privs`` is already set by ``setpriv`` and
bwrap).  It is a deny list over what a pure computation never needs:

* new processes: ``fork``, ``vfork``, ``execve``, ``execveat``, and ``clone`` unless it
  creates a thread (``CLONE_THREAD`` set, no namespace flag).  ``clone3`` passes its
  flags in memory a filter cannot read, so it fails with ``ENOSYS`` and glibc falls back
  to ``clone`` for threads (what Docker's and Chromium's filters do).
* networking: ``socket``, ``socketpair``, ``connect``, ``bind``, ``listen``, ``accept``.
* memory the address-space limit does not count (``memfd_create``, pipes) and IPC
  objects that outlive the process (System V shared memory, semaphores, message queues;
  POSIX message queues).
* other processes' memory and descriptors: ``ptrace``, ``process_vm_*``, ``pidfd_getfd``.
* the kernel's attack surface a sandbox has no use for: mounts, namespaces, ``bpf``,
  ``perf_event_open``, ``userfaultfd``, ``io_uring`` (which would bypass this filter for
  its own operations), keyrings, modules, ``kexec``, clocks, handles, ``personality``.

Everything else is allowed: a deny list keeps CPython and glibc working across versions,
and the namespaces, the unprivileged uid and the rlimits bound what is left.  A system
call of another ABI (i386 ``int 0x80`` or x32 on x86-64) kills the process: its numbers
mean other calls.  Numbers are from the kernel's ``asm/unistd_64.h`` (x86-64) and
``asm-generic/unistd.h`` (aarch64).
"""

from __future__ import annotations

import errno
import platform
import struct

# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0_LOW = 16  # both supported architectures are little-endian

CLONE_THREAD = 0x00010000
# Namespace flags a thread never needs (CLONE_NEWTIME is clone3-only: its bit is CSIGNAL in clone).
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

_X32_SYSCALL_BIT = 0x40000000

#: Denied with EPERM.  Grouped by why; a name missing from an architecture's table
#: (aarch64 has no ``fork``) simply does not exist there.
DENIED: dict[str, tuple[str, ...]] = {
    "process creation": ("fork", "vfork", "execve", "execveat"),
    "network": ("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4"),
    # Memory the address-space limit does not count: a memfd's pages and pipe buffers
    # are kernel memory (without cgroups one run held 1.8 GiB against a 1 GiB limit in
    # memfds); no computation needs them.
    "memory outside the address space": ("memfd_create", "memfd_secret", "pipe", "pipe2"),
    # System V and POSIX IPC objects outlive the process in an IPC namespace the weak
    # tier shares with the host.
    "shared memory and message queues": (
        "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd",
        "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
        "mq_getsetattr",
    ),
    "other processes": ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"),
    "mounts and namespaces": (
        "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "move_mount",
        "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    ),
    "kernel interfaces": (
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module",
        "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl",
        "quotactl_fd", "syslog", "lookup_dcookie", "vhangup", "fanotify_init", "uselib",
        "modify_ldt", "iopl", "ioperm",
    ),
    "clocks and host identity": (
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    ),
    "handles and personality": ("name_to_handle_at", "open_by_handle_at", "personality"),
}

_X86_64 = {
    "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59, "execveat": 322,
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50, "accept": 43, "accept4": 288,
    "memfd_create": 319, "memfd_secret": 447, "pipe": 22, "pipe2": 293,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240, "mq_unlink": 241,
    "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "keyctl": 250, "add_key": 248, "request_key": 249, "kexec_load": 246, "kexec_file_load": 320,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167,
    "swapoff": 168, "acct": 163, "quotactl": 179, "quotactl_fd": 443, "syslog": 103,
    "lookup_dcookie": 212, "vhangup": 153, "fanotify_init": 300, "uselib": 134, "modify_ldt": 154,
    "iopl": 172, "ioperm": 173, "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305,
    "adjtimex": 159, "sethostname": 170, "setdomainname": 171, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "personality": 135,
}

_AARCH64 = {
    "clone": 220, "clone3": 435, "execve": 221, "execveat": 281,
    "socket": 198, "socketpair": 199, "connect": 203, "bind": 200, "listen": 201, "accept": 202, "accept4": 242,
    "memfd_create": 279, "memfd_secret": 447, "pipe2": 59,
    "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197, "semget": 190, "semop": 193, "semctl": 191,
    "semtimedop": 192, "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "mq_open": 180,
    "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185,
    "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
    "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "keyctl": 219, "add_key": 217, "request_key": 218, "kexec_load": 104, "kexec_file_load": 294,
    "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224,
    "swapoff": 225, "acct": 89, "quotactl": 60, "quotactl_fd": 443, "syslog": 116,
    "lookup_dcookie": 18, "vhangup": 58, "fanotify_init": 262, "settimeofday": 170,
    "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171, "sethostname": 161,
    "setdomainname": 162, "name_to_handle_at": 264, "open_by_handle_at": 265, "personality": 92,
}

#: machine name -> (AUDIT_ARCH_* value, syscall table, has a foreign ABI sharing the arch value)
ARCHITECTURES: dict[str, tuple[int, dict[str, int], bool]] = {
    "x86_64": (0xC000003E, _X86_64, True),
    "aarch64": (0xC00000B7, _AARCH64, False),
}


class UnsupportedArchitecture(RuntimeError):
    """No syscall table for this machine: the seccomp layer is unavailable."""


def supported(machine: str | None = None) -> bool:
    return (machine or platform.machine()) in ARCHITECTURES


def denied_names(machine: str | None = None) -> tuple[str, ...]:
    """Every denied system call that exists on ``machine``."""
    table = ARCHITECTURES[machine or platform.machine()][1]
    return tuple(name for group in DENIED.values() for name in group if name in table)


def build_filter(machine: str | None = None) -> bytes:
    """The filter program as the bytes of a ``struct sock_filter`` array.

    Raises :class:`UnsupportedArchitecture` for a machine without a table.
    """
    machine = machine or platform.machine()
    if machine not in ARCHITECTURES:
        raise UnsupportedArchitecture(f"no seccomp syscall table for {machine!r} (supported: x86_64, aarch64)")
    arch, table, foreign_abi = ARCHITECTURES[machine]
    prog = _Program()
    prog.load(_OFFSET_ARCH)
    prog.jump(_JEQ_K, arch, None, "kill")
    prog.load(_OFFSET_NR)
    if foreign_abi:
        prog.jump(_JGE_K, _X32_SYSCALL_BIT, "kill", None)
    for name in denied_names(machine):
        prog.jump(_JEQ_K, table[name], "deny", None)
    prog.jump(_JEQ_K, table["clone"], "clone", None)
    prog.jump(_JEQ_K, table["clone3"], "enosys", None)
    prog.ret(RET_ALLOW)
    prog.label("clone")
    prog.load(_OFFSET_ARG0_LOW)
    prog.jump(_JSET_K, _CLONE_NAMESPACES, "deny", None)
    prog.jump(_JSET_K, CLONE_THREAD, "allow", "deny")
    prog.label("allow")
    prog.ret(RET_ALLOW)
    prog.label("deny")
    prog.ret(RET_ERRNO | errno.EPERM)
    prog.label("enosys")
    prog.ret(RET_ERRNO | errno.ENOSYS)
    prog.label("kill")
    prog.ret(RET_KILL_PROCESS)
    return prog.assemble()


class _Program:
    """A tiny assembler: forward jumps to labels, resolved to BPF's 8-bit offsets."""

    def __init__(self) -> None:
        self._code: list[tuple[int, int, str | None, str | None]] = []
        self._labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self._code.append((_LD_W_ABS, offset, None, None))

    def jump(self, op: int, k: int, if_true: str | None, if_false: str | None) -> None:
        self._code.append((op, k, if_true, if_false))

    def ret(self, value: int) -> None:
        self._code.append((_RET_K, value, None, None))

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (op, k, if_true, if_false) in enumerate(self._code):
            jt = self._offset(index, if_true)
            jf = self._offset(index, if_false)
            out += struct.pack("=HBBI", op, jt, jf, k)
        return bytes(out)

    def _offset(self, index: int, label: str | None) -> int:
        if label is None:
            return 0
        distance = self._labels[label] - index - 1
        if not 0 <= distance <= 255:
            raise ValueError(f"BPF jump to {label!r} out of range ({distance})")
        return distance
