"""Softmax regression from scratch (d2l 3.4-3.7), with the LogSumExp fix of exercise 3.6."""

from grader.authoring import Assignment

_CROSS_ENTROPIES = (
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.CrossEntropyLoss",
    "torch.nn.NLLLoss",
)

assignment = Assignment(
    name="softmax",
    title="Softmax regression from scratch (d2l 3.4-3.7)",
    student_file="softmax_regression.py",
    functions=(
        "softmax",
        "cross_entropy",
        "log_softmax",
        "softmax_cross_entropy",
        "accuracy",
        "evaluate_accuracy",
        "train_epoch_ch3",
        "train_ch3",
    ),
    probes=(".probes",),
    standins=".standins",
    datasets=("fashion_mnist_train",),
    banned={
        "softmax": (
            "torch.softmax",
            "torch.nn.functional.softmax",
            "torch.Tensor.softmax",
            "torch.nn.Softmax",
            "torch.special.softmax",
            "torch.special_softmax",
        ),
        "log_softmax": (
            "torch.log_softmax",
            "torch.nn.functional.log_softmax",
            "torch.Tensor.log_softmax",
            "torch.nn.LogSoftmax",
            "torch.special.log_softmax",
            "torch.special_log_softmax",
        ),
        "cross_entropy": _CROSS_ENTROPIES,
        "softmax_cross_entropy": _CROSS_ENTROPIES,
    },
)

from . import checks  # noqa: E402,F401  (registers the checks)
