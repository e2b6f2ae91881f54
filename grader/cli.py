"""The command line: parse, call the library, render, map errors to exit codes."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import click

from grader.runner.worker import Worker, WorkerError

EXIT_USAGE = 2


def _usage_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.group()
@click.version_option(package_name="grader")
def main() -> None:
    """Grade Dive into Deep Learning chapter 3 exercises: correctness, gradients, stability."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s: %(message)s",
    )
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"WARNING: {message}", err=True)


@main.command()
@click.argument("submission", type=click.Path(path_type=str))
@click.option("--assignment", "-a", required=True, help="The assignment to grade against.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
    help="Where the student's code runs.",
)
@click.option("--data-root", default=None, help="Folder holding FashionMNIST/raw [GRADER_DATA].")
@click.option("--seed", default=0, show_default=True, help="Seed for every check's inputs.")
@click.option("--function", "functions", multiple=True, help="Grade only these functions.")
@click.option(
    "--isolation", type=click.Choice(["auto", "strict", "basic"]), default="auto",
    show_default=True, help="How student code is confined; auto is strict where possible.",
)
def check(submission, assignment, as_json, device, data_root, seed, functions, isolation) -> None:
    """Grade one SUBMISSION folder and explain every failed check."""
    if not Path(submission).is_dir():  # before anything slow starts
        what = "is a file, not a submission folder" if Path(submission).exists() else "not found"
        _usage_error(f"{submission}: {what}")
    # The worker imports torch on one core while this process imports it on the other.
    worker = Worker()
    worker.launch()
    from grader import api
    from grader.data import DataError
    from grader.reports import terminal as render

    try:
        result = api.check_submission(
            submission, assignment, device=device, data_root=data_root, seed=seed,
            functions=functions or None, worker=worker, isolation=isolation,
        )
    except (api.GraderError, DataError) as err:
        worker.close()
        _usage_error(str(err))
    except WorkerError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo(render.submission(result))


DB_HELP = "Gradebook, any SQLAlchemy URL [GRADER_DB, else sqlite:///grades.db]."


@main.command()
@click.argument("root", type=click.Path(path_type=str))
@click.option("--assignment", "-a", required=True, help="The assignment to grade against.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once  [default: one per core]")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--regrade", is_flag=True, help="Grade again what this version already graded.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
    help="Where the students' code runs.",
)
@click.option("--data-root", default=None, help="Folder holding FashionMNIST/raw [GRADER_DATA].")
@click.option("--seed", default=0, show_default=True, help="Seed for every check's inputs.")
@click.option(
    "--isolation", type=click.Choice(["auto", "strict", "basic"]), default="auto",
    show_default=True, help="How student code is confined; auto is strict where possible.",
)
@click.option("--executor", "engine", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="local: slot processes here; ray: one Ray task per submission (grader[ray]).")
@click.option("--ray-address", default=None,
              help="The Ray cluster to grade on  [default: RAY_ADDRESS, else a local one]")
def batch(root, assignment, jobs, db, regrade, device, data_root, seed, isolation, engine,
          ray_address) -> None:
    """Grade every submission under ROOT (a folder or a .zip per student) into the gradebook.

    Already graded submissions are skipped, so an interrupted batch resumes where it stopped.
    Exits 1 if the grader itself failed on a submission (a crashed run, retried next time).
    """
    from functools import partial

    from grader.batch.executor import ExecutorError, LocalExecutor
    from grader.batch.progress import BatchProgress
    from grader.batch.ray_executor import RayExecutor
    from grader.batch.run import BatchError, Options, run_batch
    from grader.gradebook import Gradebook, GradebookError, RunStatus
    from grader.outcomes.errors import GraderError

    if ray_address and engine != "ray":
        _usage_error("--ray-address is for --executor ray")
    executor = partial(RayExecutor, address=ray_address) if engine == "ray" else LocalExecutor
    options = Options(assignment, jobs=jobs, regrade=regrade, device=device,
                      data_root=data_root, seed=seed, isolation=isolation)
    try:
        with Gradebook(db) as gradebook, BatchProgress() as progress:
            summary = run_batch(root, gradebook, options, executor=executor,
                                on_plan=progress.plan, on_graded=progress.graded)
    except (BatchError, GradebookError, ExecutorError, GraderError) as err:
        _usage_error(str(err))
    crashed = summary.count(RunStatus.CRASHED)
    click.echo(
        f"{summary.assignment} (version {summary.version}): {summary.found} submissions, "
        f"{summary.count(RunStatus.GRADED)} graded, {summary.skipped} skipped, "
        f"{summary.count(RunStatus.ERROR)} could not be graded, {crashed} crashed; "
        f"{summary.below_full_marks} below full marks"
    )
    sys.exit(1 if crashed else 0)


def _gradebook_command(call, *args, **kwargs):
    """Run a reporting call; a problem with the gradebook or the request is a one-line error."""
    from grader.gradebook import GradebookError
    from grader.outcomes.errors import GraderError

    try:
        return call(*args, **kwargs)
    except (GraderError, GradebookError) as err:
        _usage_error(str(err))


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--assignment", "-a", default=None, help="Only this assignment.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "parquet", "json", "html"]),
              default=None, help="The file's format  [default: from OUTPUT's suffix]")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The file to write.")
def report(db, assignment, fmt, output) -> None:
    """Write the gradebook: a long table (csv, parquet, json), a workbook with the gradebook,
    the long table and an item analysis (xlsx), or a page with charts (html)."""
    from grader.reports import outputs as reporting

    path = _gradebook_command(reporting.report, output, fmt, db=db, assignment=assignment)
    click.echo(f"wrote {path}")


@main.command()
@click.option("--db", default=None, help=DB_HELP)
@click.option("--assignment", "-a", default=None, help="Only this assignment.")
@click.option("--student", default=None, help="Only this student.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The folder to write into.")
def feedback(db, assignment, student, output) -> None:
    """Write each student's feedback, in markdown and html: what passed, what failed, the
    numbers and the likely mistakes. Hidden checks' inputs are never shown."""
    from grader.reports import outputs as reporting

    paths = _gradebook_command(reporting.feedback, output, db=db, assignment=assignment,
                               student=student)
    click.echo(f"wrote {len(paths)} files under {output}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["canvas", "gradescope"]), required=True,
              help="canvas: a gradebook CSV to import; gradescope: results.json files.")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--assignment", "-a", default=None, help="Only this assignment.")
@click.option("--student", default=None,
              help="Only this student (gradescope: OUTPUT is then the results.json itself).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The file (canvas) or folder (gradescope) to write.")
def export(fmt, db, assignment, student, output) -> None:
    """Export the gradebook for Canvas or Gradescope."""
    from grader.reports import outputs as reporting

    paths = _gradebook_command(reporting.export, fmt, output, db=db, assignment=assignment,
                               student=student)
    click.echo(f"wrote {paths[0]}" if len(paths) == 1 else f"wrote {len(paths)} files")


@main.command()
@click.argument("student")
@click.option("--assignment", "-a", required=True, help="The assignment graded.")
@click.option("--points", type=float, required=True, help="The score that replaces the grader's.")
@click.option("--check", "check_id", default=None,
              help="One check's id  [default: the whole assignment's score]")
@click.option("--by", required=True, help="Who decided (kept with the override).")
@click.option("--reason", required=True, help="Why (kept with the override).")
@click.option("--db", default=None, help=DB_HELP)
def override(student, assignment, points, check_id, by, reason, db) -> None:
    """Set a manual score for STUDENT that wins over the grader's, even after a regrade."""
    from grader.reports import outputs as reporting

    number = _gradebook_command(reporting.override, student, assignment, points, by=by,
                                reason=reason, check_id=check_id, db=db)
    click.echo(f"override {number} recorded")


@main.command()
@click.option("--data-root", default=None, help="Folder holding FashionMNIST/raw [GRADER_DATA].")
def doctor(data_root) -> None:
    """Say what this machine supports: isolation, GPU, data. Exit 1 if strict is impossible."""
    from grader import api

    findings = api.diagnose(data_root)
    width = max(len(f.part) for f in findings)
    for f in findings:
        click.echo(f"{'ok  ' if f.ok else 'NO  '} {f.part:<{width}}  {f.detail}")
    strict = next(f for f in findings if f.part == "isolation by default").ok
    sys.exit(0 if strict else 1)


@main.command()
def assignments() -> None:
    """List the assignments, their functions, checks and points."""
    from grader import api
    from grader.reports import terminal as render

    for a in api.list_assignments():
        click.echo(render.assignment(a))
        click.echo()


@main.command()
@click.argument("folder", type=click.Path(path_type=str))
def init(folder) -> None:
    """Create a new student FOLDER from the starter template."""
    from grader import api

    try:
        created = api.init_submission(folder)
    except api.GraderError as err:
        _usage_error(str(err))
    for path in created:
        click.echo(f"created {path}")


@main.group()
def data() -> None:
    """Fashion-MNIST on disk."""


@data.command()
@click.option("--data-root", default=None, help="Where FashionMNIST/raw goes [GRADER_DATA].")
def download(data_root) -> None:
    """Fetch the four Fashion-MNIST files and verify their md5 sums."""
    from grader import api
    from grader.data import DataError

    try:
        fetched = api.download_data(data_root)
    except DataError as err:
        _usage_error(str(err))
    click.echo(f"{len(fetched)} files fetched" if fetched else "all files already present")
