"""Linear regression from scratch in d2l-en 1.0's conventions (README.md).

The built-in linreg's probes and checks, reused by path and run against this folder's
reference and stand-ins; checks.py replaces the checks whose expectation is a convention.
"""

from grader.authoring import Assignment, banned

BUILTIN = "../../../../assignments/linreg"

assignment = Assignment(
    name="linreg",
    title="Linear regression from scratch (d2l-en 1.0, 3.1-3.4)",
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
    probes=(f"{BUILTIN}/probes.py",),
    standins=".standins",
    banned={
        "sgd": banned.OPTIM,
        "huber_loss": banned.HUBER,
    },
)

# The built-in checks module: checks.py takes its inputs (_sgd_case, WIDE_W) from it.
builtin = assignment.reuse_checks(f"{BUILTIN}/checks.py", skip=(
    # replaced in checks.py: the loss is the batch mean, the step is lr * grad
    "squared_loss_matches_the_reference",
    "squared_loss_gradients_are_right",
    "sgd_steps_by_lr_times_grad_over_batch_size",
    # replaced for their hints, which spell out the first edition's step
    "sgd_updates_in_place",
    "train_linreg_recovers_the_true_parameters",
    # dropped: no step divides by a batch size here, so there is no divisor to get right
    "train_linreg_steps_by_each_minibatch_size",
))

from . import checks  # noqa: E402,F401  (registers the replacements)
