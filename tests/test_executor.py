"""The local executor's slots: real processes, killed for real."""

from __future__ import annotations

import os
import signal

import pytest

from grader.batch.executor import ExecutorError, LocalExecutor, Settings


def test_a_slot_that_dies_costs_one_graders_fault_and_a_new_slot_grades_the_rest(
    jobs, data_root
):
    settings = Settings("linreg", data_root=str(data_root), device="cpu")
    with LocalExecutor(settings, jobs=1) as executor:
        outcomes = []
        for finished in executor.run(jobs):
            outcomes.append(finished)
            if len(outcomes) == 1:  # the slot already holds the next job: kill it mid-way
                os.kill(executor._slots[0].process.pid, signal.SIGKILL)
    by_key = {f.job.key: f for f in outcomes}
    assert sorted(by_key) == [0, 1, 2]
    assert by_key[0].result is not None and not by_key[0].grader_fault
    assert by_key[1].grader_fault and by_key[1].result is None
    assert "killed by SIGKILL" in by_key[1].error
    assert by_key[2].result is not None and by_key[2].result.score == by_key[0].result.score


def test_a_slot_that_cannot_start_stops_the_batch_with_its_reason(jobs, data_root):
    settings = Settings("no_such_assignment", data_root=str(data_root), device="cpu")
    with LocalExecutor(settings, jobs=2) as executor, pytest.raises(ExecutorError) as raised:
        list(executor.run(jobs))
    assert "could not start" in str(raised.value)
    assert "has no assignment 'no_such_assignment'" in str(raised.value)


def test_results_carry_the_device_and_the_environment_they_were_graded_in(jobs, data_root):
    with LocalExecutor(Settings("linreg", data_root=str(data_root), device="cpu")) as executor:
        (finished,) = list(executor.run(jobs[:1]))
    assert finished.device == "cpu"
    assert finished.fingerprint["torch"] and finished.fingerprint["python"]
    assert finished.started_at <= finished.finished_at


def test_jobs_beyond_the_machine_are_lowered_with_a_warning(monkeypatch):
    from grader.batch import executor

    cores = os.cpu_count() or 1
    with pytest.warns(UserWarning, match=rf"--jobs 1000 lowered to {cores}: .*{cores} cores"):
        assert executor.slots_for(1000) == cores
    monkeypatch.setattr(executor, "_available_bytes", lambda: 3 * executor.SLOT_BYTES)
    expected = min(cores, 3)
    with pytest.warns(UserWarning, match=rf"lowered to {expected}"):
        assert executor.slots_for(1000) == expected
    monkeypatch.setattr(executor, "_available_bytes", lambda: 0)
    with pytest.warns(UserWarning, match="memory for 1 slots"):
        assert executor.slots_for(cores + 1) == 1
    assert executor.slots_for(None) == 1  # the default needs no warning
