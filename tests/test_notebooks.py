"""Notebook submissions: reading .ipynb files, converting cells to the graded module, starters."""

from __future__ import annotations

import ast
import inspect
import json
import sys
import traceback
import types
from pathlib import Path

import nbformat
import pytest
from helpers import TEMPLATE_DIR
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader.notebooks import (
    DROP_CALLS,
    FAILED,
    Location,
    NotebookError,
    convert,
    explain_missing,
    explain_name_error,
    read_notebook,
    render_intake,
    starter_notebook,
    unguard,
)
from grader.outcomes import StudentError

FILENAME = "<notebook>"


def notebook(*cells: str | tuple[str, int] | nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook of code cells (a source, or (source, execution_count)) and ready-made cells."""
    made = []
    for cell in cells:
        if isinstance(cell, str):
            cell = new_code_cell(cell)
        elif isinstance(cell, tuple):
            cell = new_code_cell(cell[0], execution_count=cell[1])
        made.append(cell)
    return new_notebook(cells=made)


def run(source: str) -> dict:
    """The namespace the graded module leaves behind, imported as a fresh module would be."""
    namespace: dict = {"__name__": "submission"}
    exec(compile(source, FILENAME, "exec"), namespace)
    return namespace


def _must_not_run(*args, **kwargs):
    raise AssertionError("a statement that should have been dropped ran")


@pytest.fixture
def fake_d2l(monkeypatch) -> types.ModuleType:
    """``from d2l import torch as d2l`` imports this: its trainers and loaders fail if called."""
    package, module = types.ModuleType("d2l"), types.ModuleType("d2l.torch")

    class Trainer:
        pass

    def add_to_class(cls):
        def register(function):
            setattr(cls, function.__name__, function)
            return function
        return register

    module.Trainer, module.add_to_class = Trainer, add_to_class
    for name in ("load_data_fashion_mnist", "train_ch3", "predict_ch3", "sgd", "Animator"):
        setattr(module, name, _must_not_run)
    package.torch = module
    monkeypatch.setitem(sys.modules, "d2l", package)
    monkeypatch.setitem(sys.modules, "d2l.torch", module)
    return module


# A notebook in the style of the book's chapter 3, with what learners add to it. Cell numbers
# count the markdown cells too, as Jupyter shows them.
CHAPTER_3 = [
    new_markdown_cell("# 3.6 Softmax regression from scratch"),  # cell 1
    ("%matplotlib inline\n!pip install d2l==1.0.3\nimport torch\nfrom d2l import torch as d2l", 1),
    ("batch_size = 256\ntrain_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)", 2),
    new_markdown_cell("## 初始化模型参数"),  # cell 4
    ("# 定义模型参数\nnum_inputs = 784\nnum_outputs = 10\n\n"  # cell 5
     "W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)\n"
     "b = torch.zeros(num_outputs, requires_grad=True)", 3),
    ("X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])\n"  # cell 6
     "X.sum(0, keepdim=True), X.sum(1, keepdim=True)", 4),
    ("def net(X):\n    # 定义模型: softmax is defined in the next cell\n"  # cell 7
     "    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)", 5),
    ("def softmax(X):\n    X_exp = torch.exp(X)\n"  # cell 8
     "    partition = X_exp.sum(1, keepdim=True)\n    return X_exp / partition  # 广播机制", 6),
    ("y = torch.tensor([0, 2])\ny_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])\n"
     "y_hat[[0, 1], y]", 7),  # cell 9
    ("def cross_entropy(y_hat, y):\n    return - torch.log(y_hat[range(len(y_hat)), y])\n\n"
     "cross_entropy(y_hat, y)", 8),  # cell 10
    ("lr = 0.1\n\ndef updater(batch_size):\n    return d2l.sgd([W, b], lr, batch_size)", 9),
    ("%%time\nnum_epochs = 10\n"  # cell 12
     "d2l.train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)", 10),
    ("b = 1  # 演示\nprint(b)", 11),  # cell 13
    ("d2l.predict_ch3(net, test_iter)", 12),  # cell 14
    "@d2l.add_to_class(d2l.Trainer)\ndef fit_epoch(self):\n    return '训练'",  # cell 15
    "def accuracy(y_hat, y)\n    return (y_hat.argmax(1) == y).sum()",  # cell 16
    ("def evaluate_accuracy(net, data_iter):\n    right, total = 0.0, 0\n"  # cell 17
     "    for X, y in data_iter:\n        right += float((net(X).argmax(1) == y).sum())\n"
     "        total += y.numel()\n    return right / total"),
    ("for epoch in range(num_epochs):\n"  # cell 18
     "    for X, y in data_iter(batch_size, features, labels):\n"
     "        l = squared_loss(linreg(X, w, b), y)\n        l.sum().backward()\n"
     "        sgd([w, b], lr, batch_size)"),
    "def report(epoch, l):\n    print('epoch %d, loss %f'\n          % (epoch + 1, l))",  # 19
    "first_batch = next(iter(train_iter))",  # cell 20
]


@pytest.fixture
def chapter3() -> nbformat.NotebookNode:
    nb = notebook(*CHAPTER_3)
    nbformat.validate(nb)
    return nb


def test_the_chapter3_notebook_keeps_its_definitions_and_nothing_that_trains(chapter3, fake_d2l):
    converted = convert(chapter3)
    namespace = run(converted.source)
    defined = {"torch", "d2l", "batch_size", "num_inputs", "num_outputs", "W", "b", "X", "net",
               "softmax", "y", "y_hat", "cross_entropy", "lr", "updater", "num_epochs",
               "fit_epoch", "evaluate_accuracy", "report"}
    assert defined <= namespace.keys()
    assert not {"train_iter", "test_iter", "accuracy", "epoch", "l", "first_batch"} \
        & namespace.keys()
    import torch

    assert torch.equal(namespace["b"], torch.zeros(10))  # cell 13's `b = 1` is not graded
    probabilities = namespace["net"](torch.ones(2, 784))  # net calls softmax, defined after it
    assert probabilities.shape == (2, 10)
    assert torch.allclose(probabilities.sum(1), torch.ones(2))
    assert fake_d2l.Trainer.fit_epoch(None) == "训练"


def test_a_statement_that_raises_is_recorded_and_the_module_still_imports(chapter3, fake_d2l):
    converted = convert(chapter3)
    failed = run(converted.source)[FAILED]
    assert failed == {"first_batch": (20, 1, "NameError", "name 'train_iter' is not defined")}
    said = explain_name_error(converted, failed, "name 'first_batch' is not defined")
    assert said == ("first_batch is defined in cell 20, line 1, which raised NameError: "
                    "name 'train_iter' is not defined")


@pytest.mark.parametrize("name, sentence", [
    ("train_iter", "train_iter is bound in cell 3 [In 2], line 2, which is not graded: it loads "
                   "data (load_data_fashion_mnist); create it inside your function"),
    ("accuracy", "accuracy is defined in cell 16, which does not parse (line 1: expected ':')"),
    ("train_linreg", "train_linreg is not defined; your training loop runs at top level in "
                     "cell 18: wrap it in `def train_linreg(...)` as the starter shows"),
    ("epoch", "epoch is bound in cell 18, line 1, which is not graded: it is a top-level "
              "training loop; create it inside your function"),
    ("softmax_regression", None),  # the notebook never mentions it
])
def test_a_name_error_is_explained_from_the_notebook(chapter3, name, sentence):
    converted = convert(chapter3)
    assert explain_name_error(converted, {}, f"name '{name}' is not defined") == sentence
    assert explain_missing(converted, name) == sentence


def test_a_name_used_before_its_cell_is_explained(fake_d2l):
    converted = convert(notebook("import torch", "y_hat = softmax(torch.ones(2, 3))",
                                 "def softmax(X):\n    return X.exp() / X.exp().sum(1, True)"))
    failed = run(converted.source)[FAILED]
    assert explain_name_error(converted, failed, "name 'y_hat' is not defined") == (
        "y_hat is defined in cell 2, line 1, which raised NameError: name 'softmax' is not "
        "defined; softmax is defined later, in cell 3")


@pytest.mark.parametrize("failed", [
    {"W": "cell 3"}, {"W": (3, "1", "NameError", "x")}, {"W": (3, 1, "NameError")}, {"W": None},
])
def test_failures_of_another_shape_are_ignored(failed):
    converted = convert(notebook("W = torch.zeros(3)"))
    assert explain_name_error(converted, failed, "name 'W' is not defined") is None


def test_only_name_errors_are_explained(chapter3):
    converted = convert(chapter3)
    assert explain_name_error(converted, {}, "'NoneType' object is not callable") is None


def test_a_line_inside_a_kept_function_maps_back_to_its_cell(chapter3, fake_d2l):
    converted = convert(chapter3)
    softmax = run(converted.source)["softmax"]
    with pytest.raises(TypeError) as raised:
        softmax("not a tensor")  # torch.exp fails on cell 8's line 2
    line = [f.lineno for f in traceback.extract_tb(raised.tb) if f.filename == FILENAME][-1]
    assert converted.locate(line) == Location(8, 2, 6)
    assert str(converted.locate(line)) == "cell 8 [In 6], line 2"
    assert converted.source.splitlines()[line - 1].strip() == "X_exp = torch.exp(X)"


def test_every_line_of_a_guard_maps_to_the_statement_it_guards(chapter3):
    converted = convert(chapter3)
    lines = converted.source.splitlines()
    guard = [i for i, text in enumerate(lines, start=1) if text.startswith("try:")]
    assert guard
    for start in guard:
        statement = converted.locate(start + 1)  # the statement's first line
        assert statement is not None
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("except "))
        for line in (start, end + 1, end + 2):  # try, except, and the line that records
            assert converted.locate(line) == statement, lines[line - 1]
        for line in range(start + 1, end + 1):  # the statement's own lines, in order
            assert converted.locate(line).cell == statement.cell
            assert converted.locate(line).line == statement.line + line - start - 1
    header = [i for i, text in enumerate(lines, start=1) if text.startswith("#")]
    assert all(converted.locate(line) is None for line in header)
    assert str(Location(20, 1)) == "cell 20, line 1"
    assert converted.locate(0) is None and converted.locate(len(lines) + 1) is None


def test_a_percent_that_continues_a_format_string_is_code(chapter3, fake_d2l, capsys):
    converted = convert(chapter3)
    (report,) = [s for s in converted.statements if s.text.startswith("def report")]
    assert report.kept and (report.first_line, report.last_line) == (1, 3)
    run(converted.source)["report"](0, 0.5)
    assert capsys.readouterr().out == "epoch 1, loss 0.500000\n"


def test_a_cell_that_does_not_parse_is_recorded_and_the_others_are_kept(chapter3):
    converted = convert(chapter3)
    (broken,) = converted.broken
    assert (broken.cell, broken.line, broken.names) == (16, 1, ("accuracy",))
    assert broken.message == "expected ':'"
    assert any(s.text.startswith("def evaluate_accuracy") and s.kept
               for s in converted.statements)


def test_a_top_level_training_loop_is_recorded(chapter3):
    assert convert(chapter3).training_loops == (Location(18, 1),)
    assert convert(notebook("for i in range(3):\n    print(i)")).training_loops == ()


def test_statements_carry_cell_numbers_lines_and_execution_counts(chapter3):
    converted = convert(chapter3)
    (w,) = [s for s in converted.statements if s.binds == ("W",)]
    assert (w.cell, w.execution_count, w.first_line, w.last_line, w.kept) == (5, 3, 5, 5, True)
    assert w.text.startswith("W = torch.normal(0, 0.01")
    (rebind,) = [s for s in converted.statements if s.cell == 13 and s.binds == ("b",)]
    assert not rebind.kept and rebind.reason == "would rebind b, which net (cell 7) reads"


def test_the_intake_says_what_was_kept_and_dropped_per_cell(chapter3):
    lines = render_intake(convert(chapter3))
    assert lines[0] == "cell 2 [In 1]"
    assert "  line 1: dropped, it is an IPython magic (%matplotlib): %matplotlib inline" in lines
    assert "  line 3: kept: import torch" in lines
    assert "  line 1: dropped, it would rebind b, which net (cell 7) reads: b = 1  # 演示" in lines
    assert ("  line 1: does not parse, so none of this cell is graded (expected ':'); it "
            "defines accuracy") in lines
    assert lines[-1].startswith("kept ") and lines[-1].endswith("1 cell(s) do not parse")


KEPT = [
    "import torch",
    "from torch import nn",
    "def linreg(X, w, b):\n    return torch.matmul(X, w) + b",
    "async def fetch():\n    return 1",
    "@d2l.add_to_class(d2l.Trainer)\ndef fit_epoch(self):\n    pass",
    "class Accumulator:\n    def __init__(self, n):\n        self.data = [0.0] * n",
    "W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)",
    "lr: float = 0.03",
    "lr *= 0.5",
]


@pytest.mark.parametrize("source", KEPT)
def test_definitions_are_kept(source):
    converted = convert(notebook(source))
    (statement,) = converted.statements
    assert statement.kept and statement.reason == ""
    assert source in converted.source or all(line.strip() in converted.source
                                             for line in source.splitlines())
    compile(converted.source, FILENAME, "exec")


DROPPED = [
    ("%matplotlib inline", "is an IPython magic (%matplotlib)"),
    ("%time x", "is an IPython magic (%time)"),
    ("x = %time f()", "is an IPython magic (%time)"),
    ("!pip install d2l==1.0.3", "runs a shell command (!pip)"),
    ("files = !ls", "runs a shell command (!ls)"),
    ("%%bash\necho hi", "is a cell magic (%%bash)"),
    ("%%writefile helper.py\nx = 1", "is a cell magic (%%writefile)"),
    ("X.sum(0, keepdim=True)", "is a top-level call (sum)"),
    ("print(X)", "is a top-level call (print)"),
    ("net(X)", "is a top-level call (net)"),
    ("y_hat[[0, 1], y]", "is a bare expression (its value is only shown in the notebook)"),
    ("d2l.train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)",
     "trains a model (train_ch3)"),
    ("d2l.show_images(X.reshape(18, 28, 28), 2, 9)", "plots (show_images)"),
    ("for X, y in train_iter:\n    break", "is a top-level for loop"),
    ("while False:\n    pass", "is a top-level while loop"),
    ("with torch.no_grad():\n    w = 0", "is a top-level with block"),
    ("if __name__ == '__main__':\n    x = 1", "is a top-level if block"),
    ("try:\n    import d2l\nexcept ImportError:\n    pass", "is a top-level try block"),
    ("assert X.shape == (2, 3)", "is a top-level assert"),
    ("del X", "is a top-level del"),
    ("raise ValueError('not yet')", "is a top-level raise"),
    ("pass", "is a top-level pass statement"),
    ("train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)",
     "loads data (load_data_fashion_mnist)"),
    ("mnist_train = torchvision.datasets.FashionMNIST(root='../data', train=True)",
     "loads data (FashionMNIST)"),
    ("animator = d2l.Animator(xlabel='epoch', xlim=[1, 10])", "plots (Animator)"),
    ("metrics = d2l.train_ch3(net, train_iter, test_iter, loss, 10, trainer)",
     "trains a model (train_ch3)"),
    ("lr: float", "is an annotation without a value"),
    ("x = await fetch()", "does not compile: 'await' outside function"),
    ("from __future__ import braces", "does not compile: not a chance"),
]


@pytest.mark.parametrize("source, reason", DROPPED)
def test_what_only_runs_in_the_notebook_is_dropped(source, reason):
    converted = convert(notebook(source))
    (statement,) = converted.statements
    assert not statement.kept and statement.reason == reason
    assert run(converted.source).keys() == {"__name__", "__builtins__", FAILED}


def test_a_course_can_drop_more_calls():
    source = "test_loss = evaluate_loss(net, test_iter, loss)"
    assert convert(notebook(source)).statements[0].kept
    (statement,) = convert(notebook(source),
                           drop_calls=DROP_CALLS | {"evaluate_loss"}).statements
    assert not statement.kept and statement.reason == "calls evaluate_loss"


@pytest.mark.parametrize("magic", ["%%time", "%%capture out"])
def test_a_time_or_capture_cell_keeps_its_body_with_its_line_numbers(magic):
    source = f"\n{magic}\nw = [0.0] * 3\n\nd2l.train_ch3(net, train_iter, test_iter, loss, 3, u)"
    converted = convert(notebook(source))
    kept, trained = converted.statements
    assert (kept.kept, kept.first_line, kept.text) == (True, 3, "w = [0.0] * 3")
    assert (trained.kept, trained.first_line) == (False, 5)
    assert run(converted.source)["w"] == [0.0] * 3


def test_a_syntax_error_in_a_time_cell_points_at_the_cell_line():
    (broken,) = convert(notebook("%%time\nx = 1\ndef f(:\n    pass")).broken
    assert broken.line == 3 and broken.names == ("f",)


def test_a_later_rebinding_of_what_a_function_reads_is_dropped():
    converted = convert(notebook("def net(X):\n    return X + b", "b = 0", "b = 1",
                                 "b += 1", "scale = 2"))
    first, again, increment, other = converted.statements[1:]
    assert first.kept and other.kept  # a first binding is what the function reads
    assert again.reason == increment.reason == "would rebind b, which net (cell 1) reads"
    assert run(converted.source)["net"](1) == 1


def test_a_name_a_function_binds_itself_is_not_a_global_it_reads():
    converted = convert(notebook("b = 0", "def net(X, b=1):\n    return X + b", "b = 2"))
    assert all(s.kept for s in converted.statements)


def test_a_redefined_function_is_kept_and_the_last_definition_wins():
    converted = convert(notebook("def f():\n    return 1", "def f():\n    return 2"))
    assert all(s.kept for s in converted.statements)
    assert run(converted.source)["f"]() == 2


def test_statements_sharing_a_line_are_kept_one_by_one():
    converted = convert(notebook("a = 1; b = 2; print(a)"))
    assert [s.kept for s in converted.statements] == [True, True, False]
    assert {"a": 1, "b": 2}.items() <= run(converted.source).items()


def test_a_multiline_string_is_kept_exactly_inside_its_guard():
    text = '"""第一行\n    indented line\nlast"""'
    namespace = run(convert(notebook(f"doc = {text}\nfmt = f'''{{1 + 1}}\n  two'''")).source)
    assert namespace["doc"] == "第一行\n    indented line\nlast"
    assert namespace["fmt"] == "2\n  two"


def test_tabs_and_an_indented_cell_survive():
    converted = convert(notebook("class A:\n\tx = 1\n\tdef f(self):\n\t\treturn self.x",
                                 "    y = 1\n    z = y + 1"))
    namespace = run(converted.source)
    assert namespace["A"]().f() == 1 and namespace["z"] == 2


def test_a_form_feed_before_a_guarded_statement_does_not_break_its_indentation():
    converted = convert(notebook("w = [1]\n\x0cx = len(w)\nclass A:\n\x0c    y = 2"))
    namespace = run(converted.source)
    assert namespace["x"] == 1 and namespace["A"].y == 2


def test_converting_shows_no_warnings_about_the_learners_code(recwarn):
    convert(notebook("pattern = '\\d+'", "f = 'a' 'b'()", "x = 1 is 1"))
    assert [str(w.message) for w in recwarn] == []


@pytest.mark.parametrize("before", ["", "y = 2\n"])  # late in its cell, Python refuses it
def test_a_future_import_goes_first(before):
    converted = convert(notebook("x = 1", f"{before}from __future__ import annotations\n"
                                 "def f(a: Undefined) -> Undefined:\n    return a"))
    assert all(s.kept for s in converted.statements)
    first = [line for line in converted.source.splitlines() if not line.startswith("#")][0]
    assert first == "from __future__ import annotations"
    assert run(converted.source)["f"](3) == 3


def test_a_magic_inside_a_function_is_kept_with_a_warning():
    (statement,) = convert(notebook("def f():\n    %time g()")).statements
    assert statement.kept
    assert statement.reason == ("uses an IPython magic (%time) inside, which fails outside "
                                "Jupyter")


def test_chinese_text_and_unreadable_characters_do_not_crash():
    converted = convert(notebook(
        "# 定义模型\nmessage = '损失函数'  # 中文注释",
        "x = '\ud800'",  # a lone surrogate, as a JSON escape can hold
        "y = 1\x00",
        "def good():\n    return '好'",
    ))
    assert run(converted.source)["message"] == "损失函数"
    assert [(b.cell, b.line) for b in converted.broken] == [(2, 1), (3, 1)]
    assert "U+D800" in converted.broken[0].message
    assert run(converted.source)["good"]() == "好"
    assert render_intake(converted)


def test_the_guarded_module_reads_as_the_learners_statements_when_unguarded():
    converted = convert(notebook("import torch\nW = torch.zeros(3)\ndef f():\n    return W"))
    top = unguard(ast.parse(converted.source)).body
    kinds = [type(n).__name__ for n in top if not (isinstance(n, ast.Assign)
                                                  and n.targets[0].id == FAILED)]
    assert kinds == ["Import", "Assign", "FunctionDef"]


def test_empty_and_markdown_only_notebooks_convert():
    converted = convert(notebook("", "   \n", new_markdown_cell("only text")))
    assert converted.statements == () and run(converted.source)[FAILED] == {}


def test_two_thousand_cells_convert(fake_d2l):
    cells = []
    for i in range(500):
        cells += [f"def f{i}(X):\n    return X + {i}", f"w{i} = {i}", f"f{i}(w{i})",
                  "%matplotlib inline"]
    converted = convert(notebook(*cells))
    assert len(converted.statements) == 2000
    namespace = run(converted.source)
    assert namespace["f499"](namespace["w499"]) == 998


# Reading .ipynb files


def write(tmp_path: Path, content: bytes | str | dict, name: str = "work.ipynb") -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_a_notebook_is_read_without_its_outputs(tmp_path, chapter3):
    chapter3.cells[1].outputs = [new_output("stream", name="stdout", text="x" * 100_000)]
    chapter3.cells[0].attachments = {"a.png": {"image/png": "aGk="}}
    path = tmp_path / "work.ipynb"
    nbformat.write(chapter3, path)
    nb = read_notebook(path)
    assert nb.cells[1].outputs == [] and "attachments" not in nb.cells[0]
    assert nb.cells[1].source == chapter3.cells[1].source
    assert convert(nb).source == convert(chapter3).source


def test_sources_saved_as_lists_and_missing_ids_are_read(tmp_path):
    data = json.loads(nbformat.writes(notebook("a = 1\nb = 2", "c = 3")))
    for cell in data["cells"]:
        del cell["id"]
    data["cells"][1]["source"] = ["c = 3\n", "d = 4"]
    nb = read_notebook(write(tmp_path, data))
    assert nb.cells[1].source == "c = 3\nd = 4"


def _old_notebook() -> dict:
    return {"nbformat": 3, "nbformat_minor": 0, "metadata": {},
            "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1", "outputs": [],
                                       "language": "python"}]}]}


def _schema_broken() -> dict:
    data = json.loads(nbformat.writes(notebook("a = 1", "b = 2")))
    del data["cells"][1]["source"]
    return data


def _bad_count() -> dict:
    data = json.loads(nbformat.writes(notebook("a = 1")))
    data["cells"][0]["execution_count"] = "one"
    return data


def _unknown_cell_type() -> dict:
    data = json.loads(nbformat.writes(notebook("a = 1")))
    data["cells"][0]["cell_type"] = "sql"
    return data


@pytest.mark.parametrize("content, said", [
    ("{\"cells\": [,]}", "is not a notebook: not valid JSON (Expecting value at line 1, "
                         "column 12)"),
    (b'{"cells": "\xff"}', "is not UTF-8 text (byte 0xff at offset 11): save it again"),
    (_old_notebook(), "was saved by an old Jupyter (nbformat 3); open and save it in Jupyter 7 "
                      "or convert with `jupyter nbconvert --to notebook`"),
    ({"nbformat": 5, "nbformat_minor": 0}, "is in nbformat 5, newer than this grader reads"),
    ("[1, 2]", "is not a notebook: its JSON is a list, not an object"),
    ({"cells": []}, "is not a notebook: it has no nbformat version"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [3]},
     "is not a valid notebook: cell 1 is a int, not an object"),
    (_schema_broken(), "is not a valid notebook: cell 2: 'source' is a required property"),
    (_bad_count(), "is not a valid notebook: cell 1, field execution_count: 'one' is not of "
                   "type 'integer', 'null'"),
    (_unknown_cell_type(), "is not a valid notebook: cell 1: unknown cell_type 'sql' "
                           "(expected code, markdown, raw)"),
])
def test_a_notebook_that_cannot_be_read_says_why_in_one_line(tmp_path, content, said):
    path = write(tmp_path, content)
    with pytest.raises(NotebookError) as raised:
        read_notebook(path)
    message = str(raised.value)
    assert message.startswith(str(path)) and said in message, message
    assert "\n" not in message and raised.value.message == message


def test_a_missing_notebook_is_a_notebook_error(tmp_path):
    with pytest.raises(NotebookError, match="cannot read .*missing.ipynb: No such file"):
        read_notebook(tmp_path / "missing.ipynb")


def test_a_bad_notebook_is_the_submissions_problem():
    assert issubclass(NotebookError, StudentError)


def test_a_json_escaped_surrogate_reads_and_converts(tmp_path):
    data = json.loads(nbformat.writes(notebook("ok = 1", "bad = 'x'")))
    text = json.dumps(data).replace("'x'", "'\\ud800'")
    converted = convert(read_notebook(write(tmp_path, text)))
    assert [b.cell for b in converted.broken] == [2]
    assert run(converted.source)["ok"] == 1


# Starter notebooks


def _functions(source: str) -> set[str]:
    return {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("template", ["linear_regression.py", "softmax_regression.py"])
def test_a_starter_notebook_converts_back_to_the_templates_functions(template, fake_d2l,
                                                                     tmp_path):
    source = (TEMPLATE_DIR / template).read_text()
    nb = starter_notebook(source, title="Chapter 3")
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Chapter 3")
    assert nb.cells[1].source.endswith("from d2l import torch as d2l")
    assert [c.cell_type for c in nb.cells[2:]] == ["markdown", "code"] * len(_functions(source))
    path = tmp_path / "starter.ipynb"
    nbformat.write(nb, path)
    converted = convert(read_notebook(path))
    assert converted.broken == () and all(s.kept for s in converted.statements)
    namespace = run(converted.source)
    functions = {k for k, v in namespace.items() if inspect.isfunction(v)}
    assert functions == _functions(source)
    assert namespace[FAILED] == {}


def test_a_starter_keeps_constants_where_they_appear_and_contracts_as_text():
    template = ('"""A template."""\n\nimport torch\n\n\ndef first(x):\n    """Double x.\n\n'
                '    Args:\n        x: a tensor.\n    """\n    raise NotImplementedError\n\n\n'
                'SCALE = 2.0\n\n\ndef second(x):\n    return x * SCALE\n')
    nb = starter_notebook(template, title="T")
    assert [c.source.splitlines()[0] for c in nb.cells] == [
        "# T", "import torch", "## The function `first`", "def first(x):", "SCALE = 2.0",
        "## The function `second`", "def second(x):"]
    assert "```text\nDouble x.\n\nArgs:\n    x: a tensor.\n```" in nb.cells[2].source
    assert [c.id for c in nb.cells] == [f"cell-{i}" for i in range(1, 8)]
    assert starter_notebook(template, title="T") == nb  # the same file every time
