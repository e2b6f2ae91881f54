"""grader similarity: copies found through renaming, reformatting and reordering, a shared rare
wrong answer found through the gradebook, and everyone who follows the book left alone.

The class (tests/similarity_class.py) is graded for real by `grader batch` into a SQLite
gradebook, once per module; the fingerprints and the ranking are also tested on their own.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import browser
import nbformat
import pytest
import similarity_class as corpus
import torch
from helpers import REPO
from nbformat.v4 import new_code_cell, new_notebook

from grader import api, options
from grader.batch.submissions import found_at
from grader.gradebook import Gradebook, NewRun, enqueue, upload_path
from grader.grading.catalog import get_assignment
from grader.numeric.compare import CheckFailed, answer_digest, assert_close
from grader.outcomes import Category, CheckResult, Outcome, RunStatus, UsageError
from grader.reports.frames import tables
from grader.similarity.fingerprints import K, W, parts, run_hashes, winnowed
from grader.similarity.ranking import Answer, Student, book_hashes, rank

LINREG = get_assignment("linreg")
BOOK = [REPO / "reference" / "linear_regression.py", REPO / "student_template" /
        "linear_regression.py", REPO / "assignments" / "linreg" / "book.py"]
pytest_plugins = ["postgres"]

HOSTILE_NAME = '<img src="x" onerror="window.pwned = 1">'
HOSTILE_CODE = "# </pre><script>window.pwned = 2</script>\n"
BOOKISH = {f: corpus.WAYS[f][0] for f in corpus.SIGNATURES}
OWN_HUBER = """
        d = y_hat - y.reshape(y_hat.shape)
        inside = (d.abs() <= sigma).to(d.dtype)
        return inside * (d * d) / (2 * sigma) + (1 - inside) * (d.abs() - sigma / 2)
        """


def grade(root: Path, db: Path, *more: str) -> None:
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(root), "-a", "linreg",
                           "--db", f"sqlite:///{db}", *more], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def similarity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "similarity", "-a", "linreg", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """The class of similarity_class.py, graded: the gradebook's path."""
    folder = tmp_path_factory.mktemp("similarity")
    corpus.write_class(folder / "class")
    grade(folder / "class", folder / "grades.db")
    return folder / "grades.db"


@pytest.fixture(scope="module")
def everyone(graded):
    """Every pair of the class, ranked (threshold 0)."""
    return api.similarity("linreg", db=f"sqlite:///{graded}", threshold=0.0)


# fingerprints


def prints_by_function(text: str) -> dict[str, set[int]]:
    return {name: set(part.prints) for name, part in parts(text, LINREG.functions).items()}


def test_renaming_reordering_and_reformatting_leave_every_functions_fingerprints():
    mine = {f: corpus.WAYS[f][1] for f in corpus.SIGNATURES} | corpus.UNUSUAL
    original = corpus.source(mine, corpus.NAMES[0], note="my")
    copy = corpus.copied(mine, corpus.NAMES[3])
    first_def = [next(line for line in text.splitlines() if line.startswith("def "))
                 for text in (copy, original)]
    assert first_def == ["def huber_loss(y_hat,  y,  sigma=1.0):",
                         "def synthetic_data(w, b, num_examples):"]  # reordered, respaced
    assert "\n        dtype=" in copy and '"""Step down the gradient."""' in copy  # reformatted
    theirs, ours = prints_by_function(copy), prints_by_function(original)
    for function in LINREG.functions:
        assert theirs[function] == ours[function] and ours[function], function


def test_comments_and_docstrings_do_not_count_and_a_changed_operator_does():
    plain = "import torch\n\ndef linreg(X, w, b):\n    return torch.matmul(X, w) + b * 2\n"
    noted = ('import torch\n\ndef linreg(X, w, b):\n    """The model."""\n    # it is linear\n'
             "    return torch.matmul(X, w) + b * 2  # broadcast\n")
    changed = plain.replace("+ b", "- b")
    assert prints_by_function(noted)["linreg"] == prints_by_function(plain)["linreg"]
    assert prints_by_function(changed)["linreg"] != prints_by_function(plain)["linreg"]


def test_library_names_stay_while_a_students_names_do_not():
    first = parts("import torch\ndef linreg(X, w, b):\n    return torch.exp(X).sum(dim=1)\n",
                  ["linreg"])["linreg"]
    texts = [t.text for t in first.tokens]
    assert ["torch", ".", "exp"] == texts[texts.index("torch"):texts.index("torch") + 3]
    assert "sum" in texts and "dim" in texts and "X" not in texts
    other = parts("import torch\ndef linreg(X, w, b):\n    return torch.log(X).sum(dim=1)\n",
                  ["linreg"])["linreg"]
    assert set(other.prints) != set(first.prints)  # exp and log are not one name


@pytest.mark.parametrize("seed", range(20))
def test_winnowing_always_keeps_a_fingerprint_of_a_long_enough_shared_run(seed):
    draw = random.Random(seed)
    run = [draw.getrandbits(64) for _ in range(W)]  # W hashes: one run of K + W - 1 tokens
    first = [draw.getrandbits(64) for _ in range(draw.randrange(0, 40))] + run
    second = run + [draw.getrandbits(64) for _ in range(draw.randrange(0, 40))]
    first += [draw.getrandbits(64) for _ in range(draw.randrange(0, 40))]
    assert set(winnowed(first)) & set(winnowed(second)) & set(run)
    assert len(run_hashes(parts("x = 1\n", [])["(rest of the file)"].tokens)) == 0  # < K tokens
    assert K + W - 1 == 8


# the wrong answer's digest


def test_one_wrong_answer_computed_two_ways_has_one_digest_and_another_has_its_own():
    expected = torch.linspace(-2, 2, 50, dtype=torch.float64)
    wrong = expected.clone()
    wrong[::7] *= 3
    rounded = wrong * (1 + 1e-12)  # the same mistake, written another way
    digests = []
    for actual in (wrong, rounded, wrong + 0.5):
        with pytest.raises(CheckFailed) as failed:
            assert_close(actual, expected, what="y")
        digests.append(failed.value.answer)
    assert digests[0] == digests[1] != digests[2]
    mask = ~torch.isclose(wrong, expected)
    assert answer_digest(wrong, mask) == digests[0] and len(digests[0]) == 16
    assert CheckFailed("returned 3 batches, expected 4").answer == \
        CheckFailed("returned 3 batches, expected 4").answer != CheckFailed("5 batches").answer


# the ranking on its own


def students(sources: dict[str, str], answers: dict[str, set[Answer]] | None = None):
    return [Student(name, parts(text, LINREG.functions), frozenset((answers or {}).get(name, ())))
            for name, text in sources.items()]


def test_the_books_code_never_counts_and_without_it_independent_pairs_look_copied(tmp_path):
    root = corpus.write_class(tmp_path / "class")
    sources = {d.name: (d / "linear_regression.py").read_text() for d in root.iterdir()}
    boilerplate = book_hashes(p for f in BOOK for p in parts(f.read_text(), LINREG.functions)
                              .values())
    with_book, without = ({(p.first, p.second): p.score for p in rank(students(sources), book,
                                                                       0.0)}
                          for book in (boilerplate, set()))
    independent = [pair for pair in with_book if pair not in corpus.PLANTED]
    assert max(with_book[pair] for pair in independent) < options.SIMILARITY_THRESHOLD
    assert with_book[corpus.BOOK_FAITHFUL] < 0.1 < 0.4 < without[corpus.BOOK_FAITHFUL]
    assert max(without[pair] for pair in independent) > options.SIMILARITY_THRESHOLD


def test_a_shared_wrong_answer_counts_by_how_few_gave_it_and_less_when_the_grader_names_it():
    text = corpus.book_faithful(corpus.NAMES[0], "")
    sources = {f"s{k}": text for k in range(6)}
    rare, common = Answer("huber", "huber_loss", "aa"), Answer("sgd_step", "sgd", "bb")
    named = Answer("loss", "squared_loss", "cc", named=True)
    answers = {"s0": {rare, common}, "s1": {rare, common, named}, "s2": {common, named},
               "s3": {common}}
    found = {(p.first, p.second): p for p in rank(students(sources, answers), _everything(),
                                                  0.0)}
    assert found[("s0", "s1")].behaviour == pytest.approx(1 - (1 - 0.8) * (1 - 0.8 / 6))
    assert found[("s2", "s3")].behaviour == pytest.approx(0.8 / 6)  # given by four: six pairs
    assert found[("s1", "s2")].behaviour == pytest.approx(1 - (1 - 0.8 / 6) * (1 - 0.8 / 4))
    assert ("s4", "s5") not in found  # the same book code and no shared answer: nothing


def _everything() -> set[int]:
    """Every run of the book-faithful file as boilerplate."""
    return set(run_hashes([t for p in parts(corpus.book_faithful(corpus.NAMES[0], ""),
                                            LINREG.functions).values() for t in p.tokens]))


# the class, graded


def test_planted_pairs_rank_above_every_independent_pair(everyone):
    ranked = [(p.first, p.second) for p in everyone.pairs]
    assert sorted(ranked[:2]) == sorted(corpus.PLANTED), ranked[:5]
    planted = [p for p in everyone.pairs if (p.first, p.second) in corpus.PLANTED]
    independent = [p for p in everyone.pairs if (p.first, p.second) not in corpus.PLANTED]
    assert min(p.score for p in planted) >= options.SIMILARITY_THRESHOLD
    assert max(p.score for p in independent) < options.SIMILARITY_THRESHOLD, independent[:3]
    assert everyone.students == 8 + 6 and everyone.not_compared == ()


def test_the_copy_is_found_by_its_code_and_the_shared_mistake_by_its_answer(everyone):
    pairs = {(p.first, p.second): p for p in everyone.pairs}
    copy, bug = pairs[corpus.PLANTED[0]], pairs[corpus.PLANTED[1]]
    assert copy.code > 0.9 and copy.behaviour == 0
    assert {f for f, _ in copy.functions[:2]} == {"data_iter", "normal_equation"}
    (answer,) = bug.answers
    assert (answer.check_id, answer.given_by, answer.named) == (
        "huber_loss_matches_the_reference", 2, False)
    assert bug.behaviour == pytest.approx(0.8) and bug.score > bug.code
    assert bug.functions[0][0] == "huber_loss"


def test_two_book_faithful_correct_solutions_score_below_the_threshold(graded, everyone):
    with Gradebook(f"sqlite:///{graded}", create=False) as gradebook:
        marks, _ = tables(gradebook, "linreg")
    marks = marks.set_index("student")
    for student in corpus.BOOK_FAITHFUL:  # correct: full marks
        assert marks.loc[student, "score"] == marks.loc[student, "max_score"] > 0
    scores = {(p.first, p.second): p.score for p in everyone.pairs}
    assert scores.get(corpus.BOOK_FAITHFUL, 0.0) < options.SIMILARITY_THRESHOLD


def test_the_command_line_lists_the_pairs_and_writes_csv_json_and_html(graded, tmp_path):
    shown = similarity("--db", f"sqlite:///{graded}", "-o", str(tmp_path / "pairs.csv"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "14 students compared; 2 pairs at or above 0.5"
    assert lines[1].startswith("  1. copy_from ~ copy_to: ")
    assert "1 shared wrong answers" in lines[2] and lines[-1] == f"wrote {tmp_path}/pairs.csv"
    rows = list(csv.DictReader((tmp_path / "pairs.csv").open()))
    assert [(r["first"], r["second"]) for r in rows] == corpus.PLANTED
    assert float(rows[1]["behaviour_share"]) > 0 and "huber_loss" in rows[1]["functions"]
    for fmt in ("json", "html"):
        assert similarity("--db", f"sqlite:///{graded}", "-o",
                          str(tmp_path / f"pairs.{fmt}")).returncode == 0
    kept = json.loads((tmp_path / "pairs.json").read_text())
    assert [(p["first"], p["second"]) for p in kept["pairs"]] == corpus.PLANTED
    assert kept["pairs"][0]["first_regions"] and kept["not_compared"] == []
    page = (tmp_path / "pairs.html").read_text()
    assert page.count("<mark>") > 10 and "bug_from and bug_to" in page


def test_it_never_changes_a_score(graded):
    before = api.report(graded.parent / "before.csv", db=f"sqlite:///{graded}")
    api.similarity("linreg", db=f"sqlite:///{graded}")
    after = api.report(graded.parent / "after.csv", db=f"sqlite:///{graded}")
    assert before.paths[0].read_text() == after.paths[0].read_text()


# bad input, hostile input


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    """A class with a copy pair under hostile names, a file that does not parse, an empty one
    and a folder with a wrong answer that moved after grading: the gradebook's path."""
    folder = tmp_path_factory.mktemp("awkward")
    root = folder / "class"
    mine = {f: corpus.WAYS[f][1] for f in corpus.SIGNATURES} | corpus.UNUSUAL
    files = {
        HOSTILE_NAME: HOSTILE_CODE + corpus.source(mine, corpus.NAMES[0]),
        '=HYPERLINK("x")': corpus.copied(mine, corpus.NAMES[3]),
        "broken": "def linreg(X, w, b:\n    return X\n",
        "empty": "",
        "moved": corpus.source({f: corpus.WAYS[f][0] for f in corpus.SIGNATURES}
                               | {"huber_loss": corpus.PRECEDENCE_BUG}, corpus.NAMES[1]),
        "plain": corpus.source(BOOKISH | {"huber_loss": OWN_HUBER}, corpus.NAMES[2]),
    }
    for student, text in files.items():
        (root / student).mkdir(parents=True)
        (root / student / "linear_regression.py").write_text(text)
    # a notebook, one cell per function, sharing plain's own huber_loss
    cells = corpus.source(BOOKISH | {"huber_loss": OWN_HUBER}, corpus.NAMES[5]).split("\n\n\n")
    (root / "nb").mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell(cell) for cell in cells]),
                   root / "nb" / "linear_regression.ipynb")
    grade(root, folder / "grades.db")
    shutil.move(root / "moved", folder / "elsewhere")
    return folder / "grades.db"


def test_what_cannot_be_compared_is_listed_with_the_reason(awkward):
    found = api.similarity("linreg", db=f"sqlite:///{awkward}", threshold=0.0)
    left = {n.student: n for n in found.not_compared}
    assert sorted(left) == ["broken", "empty", "moved"]
    assert "syntax error (line 1)" in left["broken"].reason and not left["broken"].by_answers
    assert left["empty"].reason == "linear_regression.py is empty"
    assert left["moved"].reason.startswith("its files are no longer at ")
    assert left["moved"].by_answers and found.students == 5  # moved: its answers still count
    top = found.pairs[0]
    assert (top.first, top.second) == (HOSTILE_NAME, '=HYPERLINK("x")')
    notebook = {(p.first, p.second): p for p in found.pairs}[("nb", "plain")]
    assert notebook.score >= options.SIMILARITY_THRESHOLD
    assert notebook.functions[0][0] == "huber_loss"


def test_html_and_csv_keep_student_text_as_text(awkward, tmp_path):
    api.similarity("linreg", tmp_path / "pairs.html", db=f"sqlite:///{awkward}")
    api.similarity("linreg", tmp_path / "pairs.csv", db=f"sqlite:///{awkward}")
    page = (tmp_path / "pairs.html").read_text()
    assert "<script>window" not in page and "<img src" not in page
    assert "&lt;/pre&gt;&lt;script&gt;window.pwned = 2&lt;/script&gt;" in page
    assert "&lt;img src=&quot;x&quot;" in page
    cells = next(csv.DictReader((tmp_path / "pairs.csv").open()))
    assert cells["second"] == "'=HYPERLINK(\"x\")"  # quoted: no formula


def test_one_submission_is_listed_not_compared(tmp_path):
    (tmp_path / "class" / "alone").mkdir(parents=True)
    (tmp_path / "class" / "alone" / "linear_regression.py").write_text(corpus.independent(3))
    grade(tmp_path / "class", tmp_path / "grades.db")
    found = api.similarity("linreg", db=f"sqlite:///{tmp_path / 'grades.db'}")
    assert found.pairs == () and found.students == 0
    assert [(n.student, n.reason) for n in found.not_compared] == [
        ("alone", "the only submission of linreg that can be compared")]


def test_bad_arguments_get_one_line(graded, tmp_path):
    for args, said in (
        (["--db", f"sqlite:///{graded}", "--threshold", "2"], "not in the range 0<=x<=1"),
        (["--db", f"sqlite:///{graded}", "-o", str(tmp_path / "x.pdf")], "cannot tell the format"),
        (["--db", f"sqlite:///{tmp_path / 'none.db'}"], "error:"),
    ):
        shown = similarity(*args)
        assert shown.returncode == 2 and said in shown.stderr, shown.stderr
    with pytest.raises(UsageError, match="no assignment 'softmax'"):
        api.similarity("softmax", db=f"sqlite:///{graded}")


def test_an_upload_to_the_service_is_read_again_from_its_job(url, tmp_path):
    """The service's runs name their job ("job N"); the upload's zip is in the gradebook, and
    a wrong answer's digest goes in and out of either database."""
    mine = {f: corpus.WAYS[f][1] for f in corpus.SIGNATURES} | corpus.UNUSUAL
    uploads = {"s1": corpus.source(mine, corpus.NAMES[0]),
               "s2": corpus.copied(mine, corpus.NAMES[3]), "s3": ""}
    wrong = CheckResult("huber_matches", "huber_loss", Category.CORRECTNESS, Outcome.FAILED,
                        0.0, 1.0, "huber_loss matches", "3 of 40 differ", answer="a7e6ba89e17102b9")
    now = datetime.now(timezone.utc)
    with Gradebook(url) as gradebook:
        for student, text in uploads.items():
            upload = tmp_path / f"{student}.zip"
            with zipfile.ZipFile(upload, "w") as zipped:
                zipped.writestr("linear_regression.py", text)
            job = enqueue(gradebook, course=options.BUILTIN_COURSE, assignment="linreg",
                          student_id=student, files=upload.read_bytes()).id
            found = found_at(upload, tmp_path / "unpacked")
            gradebook.record(NewRun(
                student=student, assignment="linreg", version="v1", content_hash=found
                .content_hash, path=upload_path(job if student != "s3" else 999),
                submitted_at=None, status=RunStatus.GRADED, started_at=now, finished_at=now,
                seed=0, device="cpu", isolation="basic", fingerprint={}, checks=(wrong,)))
    found = api.similarity("linreg", db=url)
    assert [(p.first, p.second) for p in found.pairs] == [("s1", "s2")]
    assert found.pairs[0].code > 0.9
    assert [(a.check_id, a.given_by) for a in found.pairs[0].answers] == [("huber_matches", 3)]
    assert [(n.student, n.reason, n.by_answers) for n in found.not_compared] == [
        ("s3", "the upload of job 999 is no longer in the gradebook; its wrong answers are "
               "compared", True)]


# in a browser


def test_the_page_fits_a_1366_pixel_window_and_runs_nothing(awkward, tmp_path):
    if browser.missing():
        pytest.skip(browser.missing())
    page = tmp_path / "pairs.html"
    api.similarity("linreg", page, db=f"sqlite:///{awkward}")
    driver = browser.chromium(1366, 768)
    try:
        driver.get(page.as_uri())
        browser.assert_fits(driver, 1366)
        assert browser.assert_links_resolve(driver) >= 1
        assert driver.execute_script("return window.pwned === undefined")
        assert driver.execute_script("return document.scripts.length") == 0
        assert driver.execute_script("return document.images.length") == 0
        shown = driver.execute_script("return document.body.innerText")
        assert HOSTILE_NAME in shown and "</pre><script>window.pwned = 2</script>" in shown
        marked = driver.execute_script("return document.querySelectorAll('mark').length")
        assert marked > 5
    finally:
        driver.quit()
