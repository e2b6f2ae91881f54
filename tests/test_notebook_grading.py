"""Notebooks graded end to end: a learner's .ipynb, shaped like the book's, through a real worker.

The notebooks are built here from the reference solutions, cut into cells the way the book's
chapter-3 notebooks are: the d2l import, magics, a cell per function with a demo call in it,
display cells, globals in their own cells, and training at top level. A notebook must earn what
the same functions earn as a .py, and a mistake must point at its cell.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator

import nbformat
import pytest
from helpers import (
    LINREG_FILE,
    REPO,
    counted,
    cpu_points,
    not_passed,
    replace_function,
    report,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.api import Grader
from grader.outcomes.results import Outcome

LINREG_SOURCE = (REPO / "reference" / LINREG_FILE).read_text()
SOFTMAX_FILE = "softmax_regression.py"
SOFTMAX_SOURCE = (REPO / "reference" / SOFTMAX_FILE).read_text()

HEAD = ["%matplotlib inline\nimport random\nimport torch\nfrom d2l import torch as d2l",
        "!pip install d2l==1.0.3"]
LINREG_TAIL = [
    "true_w = torch.tensor([2, -3.4])\ntrue_b = 4.2\n"
    "features, labels = d2l.synthetic_data(true_w, true_b, 1000)",
    "features[:3], labels[:3]",
    "w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)\n"
    "b = torch.zeros(1, requires_grad=True)",
    "lr, num_epochs, batch_size = 0.03, 3, 10\n"
    "for epoch in range(num_epochs):\n"
    "    for X, y in data_iter(batch_size, features, labels):\n"
    "        l = squared_loss(linreg(X, w, b), y)  # 小批量损失\n"
    "        l.sum().backward()\n"
    "        sgd([w, b], lr, batch_size)\n"
    "    with torch.no_grad():\n"
    "        train_l = squared_loss(linreg(features, w, b), labels)\n"
    "        print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')",
    "d2l.plot(list(range(5)), [[1, 2, 3, 4, 5]], 'x', 'y')",
]
SOFTMAX_TAIL = [
    "batch_size = 256\ntrain_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)",
    "num_inputs, num_outputs = 784, 10\n"
    "W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)\n"
    "b = torch.zeros(num_outputs, requires_grad=True)",
    "def net(X):\n    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)",
    "lr = 0.1\n\ndef updater(batch_size):\n    return d2l.sgd([W, b], lr, batch_size)",
    "%%time\nnum_epochs = 10\n"
    "train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)",
    "train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)\n"
    "d2l.predict_ch3(net, test_iter)",
]


def notebook(source: str, tail: list[str], *, demo: bool = True) -> dict:
    """The functions and classes of ``source``, a cell each (with a demo call after each, as
    learners leave them), between the book's import cells and ``tail``'s top-level cells."""
    lines = source.splitlines()
    cells = [new_markdown_cell("# 从零开始实现 (from scratch)")]
    cells += [new_code_cell(text, execution_count=i + 1) for i, text in enumerate(HEAD)]
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            code = "\n".join(lines[start:node.end_lineno])
            if demo:
                code += f"\n\nprint({node.name!r}, 'defined')"
            cells.append(new_markdown_cell(f"## {node.name}"))
            cells.append(new_code_cell(code))
    cells += [new_code_cell(text) for text in tail]
    return new_notebook(cells=cells)


def cell_of(nb: dict, text: str) -> int:
    """The 1-based number of the first cell holding ``text``, as the grader counts cells."""
    return next(i for i, c in enumerate(nb.cells, 1) if text in c.source)


@pytest.fixture(scope="module")
def linreg_grader(data_root) -> Iterator[Grader]:
    with Grader("linreg", device="cpu", data_root=data_root) as grader:
        yield grader


def grade_notebook(grader, folder, nb, name=LINREG_FILE):
    nbformat.write(nb, folder / name.replace(".py", ".ipynb"))
    return grader.grade(folder)


def test_a_correct_notebook_earns_what_the_py_earns(linreg_grader, tmp_path):
    result = grade_notebook(linreg_grader, tmp_path, notebook(LINREG_SOURCE, LINREG_TAIL))
    assert not_passed(result) == [], report(not_passed(result))
    assert result.score == cpu_points("linreg")


def test_a_mistake_costs_its_function_only_and_names_the_cell(linreg_grader, tmp_path):
    wrong = replace_function(LINREG_SOURCE, "squared_loss", """
        def squared_loss(y_hat, y):
            return (y_hat - y.reshape(y_hat.shape)) ** 2  # forgot the / 2
        """)
    nb = notebook(wrong, LINREG_TAIL)
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    assert {c.function for c in failed} == {"squared_loss"}, report(failed)
    cell = cell_of(nb, "def squared_loss")
    assert all(f"[squared_loss is in cell {cell}, line 1]" in c.message for c in failed)


def test_an_error_in_a_function_is_shown_at_its_cell_and_line(linreg_grader, tmp_path):
    wrong = replace_function(LINREG_SOURCE, "linreg", """
        def linreg(X, w, b):
            out = torch.matmul(X, w)
            return out + b.missing
        """)
    nb = notebook(wrong, LINREG_TAIL)
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    cell = cell_of(nb, "def linreg")
    # train_linreg trains with the learner's own linreg, so it fails too
    assert {c.function for c in failed} == {"linreg", "train_linreg"}, report(failed)
    assert all(f"linear_regression.ipynb, cell {cell}, line 3, in linreg" in c.message
               for c in failed if c.status is Outcome.ERROR), report(failed)


def test_a_global_whose_cell_raised_explains_itself_where_it_is_used(linreg_grader, tmp_path):
    # the learner's linreg reads a global scale set in a cell that raised on import
    wrong = replace_function(LINREG_SOURCE, "linreg", """
        def linreg(X, w, b):
            return torch.matmul(X, w) * scale + b
        """)
    nb = notebook(wrong, ["scale = torch.ones(1) / undefined_helper(3)", *LINREG_TAIL])
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    cell = cell_of(nb, "scale = ")
    assert {c.function for c in failed} == {"linreg", "train_linreg"}, report(failed)
    assert any(f"scale is defined in cell {cell}, line 1, which raised NameError" in c.message
               for c in failed), report(failed)


def test_a_training_loop_at_top_level_is_named_where_the_function_is_missing(linreg_grader,
                                                                              tmp_path):
    tree = ast.parse(LINREG_SOURCE)
    without = "\n".join(ast.unparse(n) for n in tree.body
                        if not (isinstance(n, ast.FunctionDef) and n.name == "train_linreg"))
    nb = notebook(without, LINREG_TAIL)
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    assert {c.function for c in failed} == {"train_linreg"}
    loop = cell_of(nb, "for epoch in range(num_epochs)")
    assert all(c.status is Outcome.MISSING for c in failed)
    assert (f"your training loop runs at top level in cell {loop}: wrap it in "
            "`def train_linreg(...)`") in failed[0].message


def test_a_cell_that_does_not_parse_costs_only_what_it_defines(linreg_grader, tmp_path):
    nb = notebook(LINREG_SOURCE, LINREG_TAIL)
    cell = cell_of(nb, "def huber_loss")
    broken = nb.cells[cell - 1].source.replace("def huber_loss(", "def huber_loss((")
    nb.cells[cell - 1].source = broken
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    assert {c.function for c in failed} == {"huber_loss"}, report(failed)
    assert f"huber_loss is defined in cell {cell}, which does not parse" in failed[0].message


@pytest.mark.parametrize("write, says", [
    (lambda f: f.write_text("{not json"), "linear_regression.ipynb"),
    (lambda f: f.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [],
                                        "metadata": {}})), "nbformat 3"),
    (lambda f: f.write_bytes(b'{"cells": "\xff\xfe"}'), "linear_regression.ipynb"),
])
def test_a_broken_notebook_is_one_clear_error_on_every_check(linreg_grader, tmp_path, write,
                                                             says):
    write(tmp_path / "linear_regression.ipynb")
    checks = counted(linreg_grader.grade(tmp_path))
    assert {c.status for c in checks} == {Outcome.ERROR}
    assert {c.message for c in checks} == {checks[0].message}
    assert says in checks[0].message


def test_a_folder_with_both_forms_is_told_to_keep_one(linreg_grader, tmp_path):
    (tmp_path / LINREG_FILE).write_text(LINREG_SOURCE)
    nbformat.write(notebook(LINREG_SOURCE, []), tmp_path / "linear_regression.ipynb")
    checks = counted(linreg_grader.grade(tmp_path))
    assert {c.status for c in checks} == {Outcome.ERROR}
    assert "holds both linear_regression.py and linear_regression.ipynb: keep one" in \
        checks[0].message


def test_a_softmax_notebook_that_trains_and_loads_at_top_level_earns_full_marks(data_root,
                                                                                tmp_path):
    nb = notebook(SOFTMAX_SOURCE, SOFTMAX_TAIL)
    with Grader("softmax", device="cpu", data_root=data_root) as grader:
        result = grade_notebook(grader, tmp_path, nb, SOFTMAX_FILE)
    assert not_passed(result) == [], report(not_passed(result))
    assert result.score == cpu_points("softmax")


def test_a_rule_broken_in_a_notebook_names_the_cell_and_line(linreg_grader, tmp_path):
    wrong = replace_function(LINREG_SOURCE, "sgd", """
        def sgd(params, lr, batch_size):
            step = torch.optim.SGD(params, lr=lr / batch_size)
            step.step()
            step.zero_grad(set_to_none=False)
        """)
    nb = notebook(wrong, LINREG_TAIL)
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    cell = cell_of(nb, "def sgd")
    assert [(c.function, c.category.value) for c in failed] == [("sgd", "rules")], report(failed)
    assert f"calls torch.optim.SGD (cell {cell}, line 2, in sgd)" in failed[0].message


def test_show_intake_prints_what_is_kept_and_dropped(tmp_path):
    from click.testing import CliRunner

    from grader.cli import main

    nb = notebook(LINREG_SOURCE, LINREG_TAIL)
    nbformat.write(nb, tmp_path / "my attempt.ipynb")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "my attempt.ipynb"), "-a",
                                       "linreg", "--show-intake", "--function", "linreg"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "linear_regression.ipynb, as graded:" in out
    assert "dropped, it is an IPython magic (%matplotlib): %matplotlib inline" in out
    assert "dropped, it runs a shell command (!pip): !pip install d2l==1.0.3" in out
    loop = cell_of(nb, "for epoch in range(num_epochs)")
    assert (f"cell {loop}\n  line 1: kept: lr, num_epochs, batch_size = 0.03, 3, 10\n"
            "  lines 2-9: dropped, it is a top-level training loop: for epoch in") in out
    assert "kept: from d2l import torch as d2l" in out
    assert "linreg  2/2" in out


def test_show_intake_finds_the_data_where_the_check_does(tmp_path, data_root):
    """--data-root serves the intake as it serves the grading (a newcomer's walk-through found
    the intake looking only at $GRADER_DATA)."""
    from click.testing import CliRunner

    from grader.cli import main

    nbformat.write(notebook(SOFTMAX_SOURCE, SOFTMAX_TAIL), tmp_path / "work.ipynb")
    runner = CliRunner(env={"GRADER_DATA": str(tmp_path / "no data here")})
    result = runner.invoke(main, ["check", str(tmp_path / "work.ipynb"), "-a", "softmax",
                                  "--data-root", str(data_root), "--show-intake",
                                  "--function", "softmax"])
    assert result.exit_code == 0, result.output
    assert "softmax_regression.ipynb, as graded:" in result.output
    assert "softmax  " in result.output


@pytest.mark.parametrize("body, says, functions", [
    ("return d2l.sgd(params, lr, batch_size)", "hands its work to d2l's sgd (cell {cell}, line 2,"
     " in sgd), the book's own", None),
    # a name built at run time hides from the source, not from the traced run of the rule
    ('return getattr(d2l, "s" + "gd")(params, lr, batch_size)',
     "`sgd` calls d2l.torch.sgd (seen at run time)", {"rules"}),
])
def test_handing_a_graded_function_to_the_books_own_costs_its_points(linreg_grader, tmp_path,
                                                                      body, says, functions):
    wrong = replace_function(LINREG_SOURCE, "sgd", f"""
        def sgd(params, lr, batch_size):
            {body}
        """)
    nb = notebook(wrong, LINREG_TAIL)
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    sgd_checks = {c.category.value for c in counted(linreg_grader.grade(tmp_path))
                  if c.function == "sgd"}
    assert {c.function for c in failed} == {"sgd"}, report(failed)
    assert {c.category.value for c in failed} == (functions or sgd_checks)
    assert all(says.format(cell=cell_of(nb, "def sgd")) in c.message for c in failed)


def test_init_notebook_writes_starters_that_grade_as_the_py_templates_do(linreg_grader,
                                                                          tmp_path):
    from click.testing import CliRunner

    from grader.cli import main

    folder = tmp_path / "carol"
    result = CliRunner().invoke(main, ["init", str(folder), "--notebook", "-a", "linreg"])
    assert result.exit_code == 0, result.output
    assert result.output == f"created {folder / 'linear_regression.ipynb'}\n"
    nb = nbformat.read(folder / "linear_regression.ipynb", as_version=4)
    nbformat.validate(nb)
    assert "from d2l import torch as d2l" in nb.cells[1].source
    checks = counted(linreg_grader.grade(folder))
    assert {c.status for c in checks} == {Outcome.MISSING}
    assert all("not implemented" in c.message for c in checks), [c.message for c in checks]
    assert {c.function for c in checks} == set(linreg_grader.assignment.functions)


def test_the_example_class_notebooks_grade_as_shipped(linreg_grader, data_root):
    """examples/class/dana hands in notebooks: linreg correct, softmax with the book's first
    softmax, which overflows (the demo shows both)."""
    dana = REPO / "examples" / "class" / "dana"
    linreg = linreg_grader.grade(dana)
    assert not_passed(linreg) == [] and linreg.score == cpu_points("linreg")
    with Grader("softmax", device="cpu", data_root=data_root) as grader:
        failed = not_passed(grader.grade(dana))
    assert [(c.function, c.category.value) for c in failed] == [("softmax", "stability")]
    nb = nbformat.read(dana / "softmax_regression.ipynb", as_version=4)
    assert f"[softmax is in cell {cell_of(nb, 'def softmax')} [In 6], line 1]" in \
        failed[0].message


def test_a_batch_grades_notebooks_in_folders_and_in_zips(tmp_path, data_root):
    import zipfile

    from grader.batch.run import Options, run_batch
    from grader.gradebook import Gradebook
    from grader.reports.frames import tables

    root = tmp_path / "class"
    (root / "erin").mkdir(parents=True)
    nbformat.write(notebook(LINREG_SOURCE, LINREG_TAIL), root / "erin" / "linear_regression.ipynb")
    wrong = replace_function(LINREG_SOURCE, "huber_loss", """
        def huber_loss(y_hat, y, sigma=1.0):
            return (y_hat - y.reshape(y_hat.shape)).abs()
        """)
    with zipfile.ZipFile(root / "frank.zip", "w") as z:
        z.writestr("linear_regression.ipynb", nbformat.writes(notebook(wrong, LINREG_TAIL)))
    (root / "gus").mkdir()
    (root / "gus" / "linear_regression.ipynb").write_text('{"cells": [')  # saved half-way
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as book:
        run_batch(root, book, Options("linreg", jobs=1, device="cpu", data_root=data_root))
        scores, checks = tables(book)
    scores = scores.set_index("student")
    assert scores.loc["erin", "score"] == cpu_points("linreg")
    # a notebook that is not one is an error run: nothing graded, no score recorded
    assert scores.loc["gus", "status"] == "not_run" and scores.loc["gus", "score"] == 0
    assert scores.loc["gus", "reason"].startswith(
        "linear_regression.ipynb is not a notebook: not valid JSON")
    assert checks[checks["student"] == "gus"].empty
    lost = checks[(checks["student"] == "frank") & (checks["status"] != "passed")
                  & (checks["status"] != "skipped")]
    assert set(lost["function"]) == {"huber_loss"}
    assert all("[huber_loss is in cell" in m for m in lost["message"])


def test_a_d2l_1_0_notebook_is_told_where_its_training_ran(linreg_grader, tmp_path):
    """d2l-en 1.0 trains through Trainer.fit with a fit_epoch added to d2l.Trainer: the
    functions it defines under the starter's names are graded, train_linreg is missing and
    the message says where the training ran instead."""
    tree = ast.parse(LINREG_SOURCE)
    without = "\n".join(ast.unparse(n) for n in tree.body
                        if not (isinstance(n, ast.FunctionDef) and n.name == "train_linreg"))
    nb = notebook(without, [
        "class LinearRegressionScratch(d2l.Module):\n"
        "    def __init__(self, num_inputs, lr, sigma=0.01):\n"
        "        super().__init__()\n"
        "        self.save_hyperparameters()\n"
        "        self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)\n"
        "        self.b = torch.zeros(1, requires_grad=True)",
        "@d2l.add_to_class(LinearRegressionScratch)\n"
        "def forward(self, X):\n    return linreg(X, self.w, self.b)",
        "@d2l.add_to_class(LinearRegressionScratch)\n"
        "def loss(self, y_hat, y):\n    return squared_loss(y_hat, y).mean()",
        "@d2l.add_to_class(LinearRegressionScratch)\n"
        "def configure_optimizers(self):\n    return d2l.SGD([self.w, self.b], self.lr)",
        "model = LinearRegressionScratch(2, lr=0.03)\n"
        "data = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)\n"
        "trainer = d2l.Trainer(max_epochs=3)\n"
        "trainer.fit(model, data)",
    ])
    failed = not_passed(grade_notebook(linreg_grader, tmp_path, nb))
    assert {c.function for c in failed} == {"train_linreg"}, report(failed)
    fit = cell_of(nb, "trainer.fit(model, data)")
    assert f"runs at top level in cell {fit}: wrap it in `def train_linreg(...)`" in \
        failed[0].message


def test_fifty_megabytes_of_outputs_are_never_read_and_cost_nothing(linreg_grader, tmp_path):
    from nbformat.v4 import new_output

    nb = notebook(LINREG_SOURCE, LINREG_TAIL)
    plot = nb.cells[-1]
    plot.outputs = [new_output("display_data", data={"image/png": "A" * 50 * 2**20})]
    nbformat.write(nb, tmp_path / "linear_regression.ipynb")
    assert (tmp_path / "linear_regression.ipynb").stat().st_size > 50 * 2**20  # > 32 MiB box
    result = linreg_grader.grade(tmp_path)
    assert not_passed(result) == [], report(not_passed(result))


def test_check_of_a_notebook_that_is_not_one_is_a_one_line_error(tmp_path):
    from click.testing import CliRunner

    from grader.cli import main

    path = tmp_path / "my try.ipynb"
    path.write_text('{"cells": [')
    result = CliRunner().invoke(main, ["check", str(path), "-a", "linreg"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: my try.ipynb is not a notebook: not valid JSON")
    assert len(result.output.splitlines()) == 1
