"""Fixtures that build submissions and start graders, shared by the test files."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import LINREG_FILE, REFERENCE_FILE, REPO, replace_function

from grader.api import Grader
from grader.batch.executor import Job
from grader.data import FILES, make_fake, raw_folder


@pytest.fixture(scope="session")
def reference_source() -> str:
    return REFERENCE_FILE.read_text()


@pytest.fixture
def make_submission(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{filename: source}`` into a fresh folder and return the folder."""
    count = 0

    def make(files: dict[str, str], name: str | None = None) -> Path:
        nonlocal count
        count += 1
        folder = tmp_path / (name or f"submission{count}")
        folder.mkdir()
        for filename, source in files.items():
            (folder / filename).write_text(textwrap.dedent(source))
        return folder

    return make


@pytest.fixture
def linreg_submission(make_submission, reference_source) -> Callable[..., Path]:
    """A linreg submission: the reference with the given functions' sources replaced.

    ``linreg_submission(sgd=SOURCE)`` replaces ``sgd``; with no arguments it is the reference.
    """

    def make(**replacements: str) -> Path:
        source = reference_source
        for name, replacement in replacements.items():
            source = replace_function(source, name, replacement)
        return make_submission({LINREG_FILE: source})

    return make


def _real_data_root() -> Path | None:
    candidates = [os.environ.get("GRADER_DATA"), "/work/shared/data", REPO.parent / "shared/data"]
    for candidate in candidates:
        if candidate and all((raw_folder(candidate) / name).is_file() for name in FILES):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """The real Fashion-MNIST where there is one, else a small fake set in the same layout."""
    return _real_data_root() or make_fake(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def linreg_grader(data_root) -> Iterator[Grader]:
    """One CPU grader for linreg for the whole session: starting its worker costs ~2 s."""
    with Grader("linreg", device="cpu", data_root=data_root) as grader:
        yield grader


@pytest.fixture
def jobs(tmp_path) -> list[Job]:
    """Three batch jobs, each a copy of the linreg reference."""
    found = []
    for i in range(3):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        (folder / LINREG_FILE).write_text(REFERENCE_FILE.read_text())
        found.append(Job(i, f"s{i}", str(folder)))
    return found
