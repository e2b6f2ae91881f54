"""Derivatives by hand in d2l-en 1.0's conventions (README.md).

The built-in gradients' probes and checks, reused by path and run against this folder's
reference and stand-ins; checks.py replaces the checks of the two loss gradients, which here
are the gradients of the batch-mean losses.
"""

from grader.authoring import Assignment, banned

BUILTIN = "../../../../assignments/gradients"

assignment = Assignment(
    name="gradients",
    title="Derivatives by hand, checked numerically (d2l-en 1.0)",
    student_file="gradients.py",
    functions=(
        "sigmoid",
        "sigmoid_grad",
        "tanh_grad",
        "relu_grad",
        "softmax_jacobian",
        "softmax_cross_entropy_grad",
        "squared_loss_grad",
        "real_softmax",
        "adagrad_update",
        "momentum_update",
    ),
    probes=(f"{BUILTIN}/probes.py",),
    standins=".standins",
    banned={
        "sigmoid": banned.SIGMOID,
        # deriving is the exercise: no autograd in any form for the derivative functions
        "sigmoid_grad": banned.AUTOGRAD,
        "tanh_grad": banned.AUTOGRAD,
        "relu_grad": banned.AUTOGRAD,
        "softmax_jacobian": banned.AUTOGRAD,
        "softmax_cross_entropy_grad": banned.AUTOGRAD,
        "squared_loss_grad": banned.AUTOGRAD,
        "real_softmax": banned.LOGSUMEXP,
        "adagrad_update": banned.OPTIM,
        "momentum_update": banned.OPTIM,
    },
)

# The built-in checks module: checks.py takes its inputs (_inputs, DTYPES...) from it.
builtin = assignment.reuse_checks(f"{BUILTIN}/checks.py", skip=(
    # replaced in checks.py: the gradients of the batch-mean losses, each example's over n
    "softmax_cross_entropy_grad_matches_autograd_and_differences",
    "softmax_cross_entropy_hessian_is_the_softmax_covariance",
    "softmax_cross_entropy_grad_survives_large_logits",
    "squared_loss_grad_matches_autograd_and_differences",
))

from . import checks  # noqa: E402,F401  (registers the replacements)
