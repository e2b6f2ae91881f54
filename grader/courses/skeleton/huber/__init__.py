"""Huber loss from scratch (d2l 3.1, exercises): quadratic near zero, linear in the tails."""

from grader.authoring import Assignment, banned

assignment = Assignment(
    name="huber",  # the folder's name: grader check --assignment huber
    title="Huber loss from scratch",
    student_file="huber.py",  # what the student hands in
    functions=("huber_loss",),  # each needs at least one check
    # reference=".reference" is the default: this folder's reference.py
    # every name by which torch reaches a Huber loss, in Python and in ATen
    banned={"huber_loss": banned.HUBER},
)

from . import checks  # noqa: E402,F401  (registers the checks)
