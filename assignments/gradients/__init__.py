"""Derivatives by hand, checked against autograd and central differences (D2L 3.4, 4.1, 12.6-7).

Built with the public API alone (grader.authoring): docs/writing-assignments.md walks through it.
"""

from grader.authoring import Assignment, banned

assignment = Assignment(
    name="gradients",
    title="Derivatives by hand, checked numerically (d2l 3.4, 4.1, 12.6-12.7)",
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
    probes=(".probes",),
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

from . import checks  # noqa: E402,F401  (registers the checks)
