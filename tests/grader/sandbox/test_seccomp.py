"""The seccomp program: its shape, and (on this machine) its effect on a real process."""

from __future__ import annotations

import platform
import struct
import subprocess
import sys
import textwrap

import pytest

from grader.sandbox import seccomp
from grader.sandbox.commands import HARNESS_PATH


def _instructions(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHITECTURES))
def test_the_program_checks_the_architecture_first_and_ends_in_returns(machine):
    program = seccomp.build_filter(machine)
    code = _instructions(program)
    assert code[0] == (0x20, 0, 0, 4)  # load seccomp_data.arch
    arch = seccomp.ARCHITECTURES[machine][0]
    assert code[1][0] == 0x15 and code[1][3] == arch
    assert all(op == 0x06 for op, *_ in code[-4:])  # allow, deny, enosys, kill
    for index, (op, jt, jf, _) in enumerate(code):
        if op in (0x15, 0x35, 0x45):
            assert index + 1 + max(jt, jf) < len(code)


def test_every_denied_call_is_in_the_program_and_clone_is_checked():
    table = seccomp.ARCHITECTURES["x86_64"][1]
    compared = {k for op, _, _, k in _instructions(seccomp.build_filter("x86_64")) if op == 0x15}
    for name in seccomp.denied_names("x86_64"):
        assert table[name] in compared, name
    assert table["clone"] in compared and table["clone3"] in compared
    assert {"fork", "execve", "socket", "ptrace", "mount", "bpf", "io_uring_setup"} <= set(
        seccomp.denied_names("x86_64"))


def test_an_unknown_machine_has_no_filter():
    assert not seccomp.supported("s390x")
    with pytest.raises(seccomp.UnsupportedArchitecture):
        seccomp.build_filter("s390x")


@pytest.mark.skipif(not seccomp.supported(), reason=f"no seccomp syscall table for {platform.machine()}")
def test_installed_it_refuses_processes_and_sockets_but_allows_threads(tmp_path):
    # Outside any sandbox: only the filter, installed by the harness's own function.
    script = textwrap.dedent(f"""
        import importlib.util, os, socket, threading, sys
        spec = importlib.util.spec_from_file_location("harness", {str(HARNESS_PATH)!r})
        harness = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(harness)
        harness.install_seccomp(bytes.fromhex({seccomp.build_filter().hex()!r}))
        results = {{}}
        for name, action in (("fork", os.fork), ("socket", socket.socket),
                             ("exec", lambda: os.execv("/bin/true", ["true"]))):
            try:
                action()
                results[name] = "allowed"
            except OSError as exc:
                results[name] = exc.errno
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        results["thread"] = "ok"
        print(results)
    """)
    out = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'fork': 1, 'socket': 1, 'exec': 1, 'thread': 'ok'}"
