"""Softmax regression from scratch in d2l-en 1.0's conventions (README.md).

The built-in softmax's checks, reused by path and run against this folder's reference, probes
and stand-ins; checks.py replaces the checks whose expectation is a convention. The probes are
this folder's own: their updater steps by lr * grad, as the course's sgd does.
"""

from grader.authoring import Assignment, banned

BUILTIN = "../../../../assignments/softmax"

assignment = Assignment(
    name="softmax",
    title="Softmax regression from scratch (d2l-en 1.0, 4.1-4.4)",
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

# The built-in checks module: checks.py takes its inputs (_logits, _epoch_case...) from it.
builtin = assignment.reuse_checks(f"{BUILTIN}/checks.py", skip=(
    # replaced in checks.py: both losses are batch means
    "cross_entropy_matches_the_reference",
    "cross_entropy_gradients_are_right",
    "cross_entropy_of_a_zero_probability_is_large",
    "softmax_cross_entropy_matches_pytorch",
    "softmax_cross_entropy_survives_extreme_logits",
    "softmax_cross_entropy_gradient_is_softmax_minus_onehot",
    # replaced: accuracy is a fraction, which evaluate_accuracy and train_epoch_ch3 weight
    "accuracy_counts_correct_predictions",
    "accuracy_accepts_predicted_labels",
    "evaluate_accuracy_counts_examples_not_batches",
    "train_epoch_ch3_trains_and_reports_like_the_reference",
    # replaced for its hint: backward on the mean loss, an updater that does not divide
    "train_ch3_learns_fashion_mnist",
))

from . import checks  # noqa: E402,F401  (registers the replacements)
