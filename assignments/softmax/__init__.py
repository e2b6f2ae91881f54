"""Softmax regression from scratch (d2l 3.4-3.7), with the LogSumExp fix of exercise 3.6."""

from grader.authoring import Assignment, banned

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
        "softmax": banned.SOFTMAX,
        "log_softmax": banned.LOG_SOFTMAX,
        "cross_entropy": banned.CROSS_ENTROPY,
        "softmax_cross_entropy": banned.CROSS_ENTROPY,
    },
)

from . import checks  # noqa: E402,F401  (registers the checks)
