"""The reference's share of a slow comparison (the training check's test accuracy): computed
beside the student's run, once per process, and kept in the user's cache for later processes under
everything that decides it."""

from __future__ import annotations

import json

import pytest

from grader.data import make_fake
from grader.grading import views
from grader.grading.catalog import get_assignment
from grader.grading.views import Reference


@pytest.fixture
def reference(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(views, "_BESIDE", {})  # as a new process: nothing computed yet
    assignment = get_assignment("softmax")
    [check] = [c for c in assignment.checks if c.category == "training"]
    root = make_fake(tmp_path / "data", n_train=60, n_test=10)

    def make(seed: int = 1) -> Reference:
        return Reference(assignment.reference_module(), check, seed, root, assignment)

    return make


def test_computed_once_then_read_back_by_a_later_process(reference, tmp_path, monkeypatch):
    calls = []
    assert reference().beside("accuracy", lambda: calls.append(1) or 0.81).result() == 0.81
    assert reference().beside("accuracy", lambda: calls.append(1) or 0.5).result() == 0.81
    assert calls == [1]  # the second ask, in the same process, waited for the first
    monkeypatch.setattr(views, "_BESIDE", {})  # a later process
    assert reference().beside("accuracy", lambda: 1 / 0).result() == 0.81  # never computed
    [kept] = (tmp_path / "cache" / "grader" / "reference").glob("*.json")
    assert json.loads(kept.read_text()) == {"value": 0.81}


def test_another_seed_or_data_is_computed_afresh_and_a_damaged_file_is_replaced(
    reference, tmp_path, monkeypatch
):
    reference().beside("accuracy", lambda: 0.81).result()
    assert reference(seed=2).beside("accuracy", lambda: 0.79).result() == 0.79
    monkeypatch.setattr(views, "_BESIDE", {})
    make_fake(tmp_path / "data", n_train=60, n_test=10, seed=7, overwrite=True)  # new files
    assert reference().beside("accuracy", lambda: 0.77).result() == 0.77
    for kept in (tmp_path / "cache" / "grader" / "reference").glob("*.json"):
        kept.write_text("{not json")
    monkeypatch.setattr(views, "_BESIDE", {})
    assert reference().beside("accuracy", lambda: 0.75).result() == 0.75


def test_a_failure_is_raised_to_the_check_and_tried_again_next_time(reference):
    failing = reference().beside("accuracy", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()
    assert reference().beside("accuracy", lambda: 0.8).result() == 0.8


def test_a_cache_that_cannot_be_written_costs_only_the_time(reference, tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert reference().beside("accuracy", lambda: 0.8).result() == 0.8
    monkeypatch.setattr(views, "_BESIDE", {})
    assert reference().beside("accuracy", lambda: 0.7).result() == 0.7  # computed again
