"""Choosing the isolation level, `grader doctor`, and the slot uids: on this machine, for real.

A machine that lacks a part of strict isolation is made for real too: a process whose seccomp
filter refuses ``unshare`` cannot make namespaces, as in a locked-down container.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from helpers import LINREG_FILE, REFERENCE_FILE, cpu_points

from grader.cli import main
from grader.runner import sandbox

STRICT = sandbox.support().strict
needs_strict = pytest.mark.skipif(not STRICT, reason="this machine cannot isolate strictly")

WITHOUT_NAMESPACES = """
import errno, sys
import pyseccomp
rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
rules.add_rule(pyseccomp.ERRNO(errno.EPERM), "unshare")
rules.load()
from grader.cli import main
sys.argv = ["grader", *sys.argv[1:]]
main()
"""


def run_without_namespaces(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WITHOUT_NAMESPACES), *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def reference_folder(make_submission):
    return make_submission({LINREG_FILE: REFERENCE_FILE.read_text()})


def test_doctor_names_every_part_and_exits_0_where_strict_works(data_root):
    result = CliRunner().invoke(main, ["doctor", "--data-root", str(data_root)])
    lines = result.output.splitlines()
    for part in sandbox.support().parts:
        assert any(part in line for line in lines), part
    assert result.exit_code == (0 if STRICT else 1)
    assert any(line.startswith("ok") and "Fashion-MNIST" in line for line in lines)


def test_the_probe_never_forks_the_calling_process():
    """The caller may run threads (a Ray driver, a web server): a fork of it can deadlock in the
    copy. Python's fork hooks run for os.fork, not for a subprocess that execs at once."""
    forks = []
    os.register_at_fork(before=lambda: forks.append(os.getpid()))  # only counts, stays harmless
    found = sandbox.support.__wrapped__()  # not the answer this process cached
    assert forks == []
    assert found == sandbox.support() and "seccomp" in found.parts


def test_a_probe_that_cannot_run_is_a_missing_part_with_its_reason(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")
    found = sandbox.support.__wrapped__()
    assert not found.strict
    assert found.missing == ["a probe process (it failed: exit status 1)"]


@needs_strict
def test_doctor_says_no_and_exits_1_without_namespaces():
    result = run_without_namespaces("doctor")
    assert result.returncode == 1
    assert any(line.startswith("NO") and "namespaces" in line
               for line in result.stdout.splitlines())


@needs_strict
def test_asking_for_strict_where_it_is_impossible_is_a_one_line_error(reference_folder, data_root):
    result = run_without_namespaces(
        "check", str(reference_folder), "-a", "linreg", "--device", "cpu",
        "--data-root", str(data_root), "--isolation", "strict",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: strict isolation is not possible here")
    assert "namespaces" in result.stderr


@needs_strict
def test_auto_falls_back_to_basic_with_a_warning_naming_what_is_missing(
    reference_folder, data_root
):
    result = run_without_namespaces(
        "check", str(reference_folder), "-a", "linreg", "--device", "cpu",
        "--data-root", str(data_root), "--json",
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING: student code runs with BASIC isolation" in result.stderr
    assert "namespaces" in result.stderr
    assert f'"score": {cpu_points("linreg")}' in result.stdout


def test_an_unknown_isolation_level_is_a_usage_error(reference_folder):
    result = CliRunner().invoke(main, ["check", str(reference_folder), "-a", "linreg",
                                       "--isolation", "paranoid"])
    assert result.exit_code == 2
    assert "paranoid" in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="slot uids are for a root grader")
def test_each_worker_slot_claims_its_own_uid_until_it_lets_go():
    first, first_lock = sandbox.claim_uid()
    second, second_lock = sandbox.claim_uid()
    try:
        assert first != second
        assert sandbox.UID_BASE <= min(first, second)
        assert max(first, second) < sandbox.UID_BASE + sandbox.UID_COUNT
    finally:
        os.close(first_lock)
    again, again_lock = sandbox.claim_uid()
    os.close(again_lock)
    os.close(second_lock)
    assert again == first


def test_isolation_settings_survive_the_trip_to_the_zygote():
    isolation = sandbox.Isolation("strict", uid=200_001, hide=("/a", "/b"), scratch_bytes=2**20)
    assert sandbox.Isolation.from_dict(isolation.to_dict()) == isolation
