"""Derivatives by hand, checked against autograd and central differences (D2L 3.4, 4.1, 12.6-7).

Built with the public API alone (grader.authoring): docs/writing-assignments.md walks through it.
"""

from grader.authoring import Assignment

# Deriving is the exercise: no autograd in any form for the derivative functions.
AUTOGRAD = ("torch.autograd", "torch.func", "functorch", "torch.Tensor.backward")

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
        "sigmoid": (
            "torch.sigmoid",
            "torch.special.expit",
            "torch.nn.functional.sigmoid",
            "torch.Tensor.sigmoid",
            "torch.nn.Sigmoid",
        ),
        "sigmoid_grad": AUTOGRAD,
        "tanh_grad": AUTOGRAD,
        "relu_grad": AUTOGRAD,
        "softmax_jacobian": AUTOGRAD,
        "softmax_cross_entropy_grad": AUTOGRAD,
        "squared_loss_grad": AUTOGRAD,
        "real_softmax": (
            "torch.logaddexp",
            "torch.logsumexp",
            "torch.special.logsumexp",
            "torch.nn.functional.softplus",
            "torch.Tensor.logaddexp",
            "torch.Tensor.logsumexp",
        ),
        "adagrad_update": ("torch.optim",),
        "momentum_update": ("torch.optim",),
    },
)

from . import checks  # noqa: E402,F401  (registers the checks)
