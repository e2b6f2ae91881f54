"""Linear regression from scratch (d2l 3.2), with the normal equation and Huber loss exercises."""

from grader.authoring import Assignment

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
        "sgd": ("torch.optim.SGD", "torch.optim.Optimizer", "torch.optim"),
        "huber_loss": (
            "torch.nn.functional.smooth_l1_loss",
            "torch.nn.functional.huber_loss",
            "torch.nn.SmoothL1Loss",
            "torch.nn.HuberLoss",
        ),
    },
)

from . import checks  # noqa: E402,F401  (registers the checks)
