"""Linear regression from scratch (d2l 3.2), with the normal equation and Huber loss exercises."""

from grader.authoring import Assignment, banned

assignment = Assignment(
    name="linreg",
    title="Linear regression from scratch (d2l 3.2)",
    student_file="linear_regression.py",
    functions=(
        "synthetic_data",
        "data_iter",
        "linreg",
        "squared_loss",
        "sgd",
        "train_linreg",
        "normal_equation",
        "huber_loss",
    ),
    probes=(".probes",),
    standins=".standins",
    banned={
        "sgd": banned.OPTIM,
        "huber_loss": banned.HUBER,
    },
)

from . import checks  # noqa: E402,F401  (registers the checks)
