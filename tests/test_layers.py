"""The house: layers that point down, one exception root, one top-level name in the wheel."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import REPO

import grader
from grader.outcomes.errors import GraderError

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the package under ``root``, with ``root``'s pyproject.toml contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("module, upward", [
    ("outcomes/results.py", "from grader import api"),  # the bottom reaching the top
    ("runner/wire.py", "from grader.authoring import Assignment"),  # the child side, upwards
    ("gradebook/store.py", "import grader.grading.session"),  # siblings stay apart
])
def test_an_upward_import_breaks_the_layers(tmp_path, module, upward):
    """The test of the test: the same contracts on a copy with one import added fail, naming it."""
    shutil.copytree(REPO / "grader", tmp_path / "grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "grader" / module
    path.write_text(path.read_text() + f"\n{upward}  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    importer = "grader." + module.removesuffix(".py").replace("/", ".")
    assert "BROKEN" in done.stdout and importer in done.stdout, done.stdout


def test_every_module_sits_in_a_package_and_every_package_says_what_it_owns():
    package = Path(grader.__file__).parent
    loose = sorted(p.name for p in package.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "api.py", "cli.py"]
    for init in sorted(package.glob("*/__init__.py")):
        doc = (importlib.import_module(f"grader.{init.parent.name}").__doc__ or "").strip()
        assert 2 <= len(doc.splitlines()) <= 6, f"{init}: say what it owns and may import"


def _grader_modules():
    for info in pkgutil.walk_packages(grader.__path__, "grader."):
        if info.name.startswith("grader.builtin.") or info.name == "grader.__main__":
            continue  # the course's content, and the entry point that runs the command line
        if info.name == "grader.batch.ray_executor":
            pytest.importorskip("ray")
        yield importlib.import_module(info.name)


def test_every_exception_the_grader_raises_has_one_root():
    found = {}
    for module in _grader_modules():
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    assert len(found) > 10  # the walk found the package's exceptions
    outside = [name for name, cls in found.items()
               if not issubclass(cls, (GraderError, Warning))]
    assert outside == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("grader-*.whl")
    return path


def test_the_wheel_installs_grader_alone_with_the_builtin_course(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert top == {"grader"}
    for assignment in sorted(p.parent.name for p in (REPO / "assignments").glob("*/__init__.py")):
        assert f"grader/builtin/assignments/{assignment}/checks.py" in names
    for folder in ("reference", "student_template"):
        for source in sorted((REPO / folder).glob("*.py")):
            assert f"grader/builtin/{folder}/{source.name}" in names
    assert "grader/builtin/assignments/course.toml" in names
    # every package of grader: an editable install next to the unpacked wheel would hide one
    # left out of pyproject's list (grader.options was, and the installed wheel did not start)
    for init in sorted((REPO / "grader").rglob("__init__.py")):
        if "__pycache__" not in init.parts:
            assert init.relative_to(REPO).as_posix() in names
    skeleton = REPO / "grader" / "courses" / "skeleton"
    for source in sorted(f for f in skeleton.rglob("*") if f.is_file()
                         and "__pycache__" not in f.parts):
        assert f"grader/courses/skeleton/{source.relative_to(skeleton).as_posix()}" in names


def test_the_unpacked_wheel_finds_its_course_and_templates(wheel, tmp_path):
    """Installed from the wheel (not this checkout), grader lists its assignments and makes a
    student folder from the templates it carries."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([sys.executable, "-m", "grader", "assignments"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert {line.split(":")[0] for line in listed.stdout.splitlines()
            if line and not line.startswith(" ")} == {"linreg", "softmax", "gradients"}
    made = subprocess.run([sys.executable, "-m", "grader", "init", "new"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == sorted(
        p.name for p in (REPO / "student_template").glob("*.py") if not p.name.startswith("_"))
    where = subprocess.run(
        [sys.executable, "-c", "from grader.courses.course import open_course; "
         "a = open_course().get('linreg'); print(a.origin.folder); "
         "print(a.reference_module().__file__); print(a.templates()[0])"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert len(where.stdout.split()) == 3, where.stderr
    assert all(line.startswith(str(site)) for line in where.stdout.split()), where.stdout
    reference = tmp_path / "reference"
    reference.mkdir()
    shutil.copyfile(REPO / "reference" / "linear_regression.py",
                    reference / "linear_regression.py")
    graded = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(reference), "-a", "linreg", "--json",
         "--device", "cpu"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    result = json.loads(graded.stdout)
    assert result["score"] == result["max_score"] > 0, graded.stderr


def test_a_check_result_is_spelled_once():
    """The JSON, the gradebook's columns and the reports' check table all follow CheckResult."""
    from grader.gradebook.models import CheckResultRow
    from grader.outcomes import CHECK_FIELDS, RESULT_COLUMNS, Category, CheckResult, Outcome
    from grader.reports.schema import CHECK_COLUMNS

    result = CheckResult("c", "f", Category.GRADIENT, Outcome.FAILED, 0.0, 2.0, "t.", "m", "h",
                         0.123456, True)
    assert tuple(result.to_dict()) == CHECK_FIELDS
    assert result.to_dict()["status"] == "failed" and result.to_dict()["duration"] == 0.1235
    stored = [c.name for c in CheckResultRow.__table__.columns if c.name not in ("id", "run_id")]
    assert tuple(stored) == RESULT_COLUMNS
    start = CHECK_COLUMNS.index(RESULT_COLUMNS[0])
    assert CHECK_COLUMNS[start:start + len(RESULT_COLUMNS)] == RESULT_COLUMNS
