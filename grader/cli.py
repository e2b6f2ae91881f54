"""The command line: parse, call one function of the library, print.

Errors are mapped to exit codes in one place, ``_Commands.invoke``: a ``UsageError`` is its one
line and exit 2; anything else is the grader's own failure, written to a crash report.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings

import click

from grader import options
from grader.outcomes import ExitCode, Interrupted, UsageError
from grader.outcomes.text import printable
from grader.reports.live import Live
from grader.runner.worker import Worker


class _Commands(click.Group):
    """The commands, with the one place that turns an exception into an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except UsageError as err:
            click.echo(f"error: {printable(str(err))}", err=True)
            ctx.exit(ExitCode.USAGE)
        except (Interrupted, KeyboardInterrupt) as err:
            said = str(err) if isinstance(err, Interrupted) else "interrupted"
            click.echo(printable(said), err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except Exception as err:  # noqa: BLE001 - the grader's own failure, reported whole
            click.echo(f"error: the grader failed ({type(err).__name__}: {printable(str(err))}); "
                       f"this is not the submission's fault. Details: {_crash_report()}", err=True)
            ctx.exit(ExitCode.CRASH)


_leave_at_once = False  # set by a command whose process has nothing left to tear down but torch


def run() -> None:
    """The ``grader`` script: ``main``, then, after ``grader check``, out at once.

    Unloading torch (its C++ destructors) takes about a second after the last line is printed,
    which the person at the prompt waits for. The exit handlers still run and the streams are
    flushed; only the interpreter's own teardown is skipped, and only where the command said
    nothing else is left (no threads, no child processes, no temporary files)."""
    try:
        main()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if not _leave_at_once:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _crash_report() -> str:
    """Write the current exception's traceback and this machine's versions to a file."""
    from importlib.metadata import version

    fd, path = tempfile.mkstemp(prefix=f"grader-crash-{time.strftime('%Y%m%d-%H%M%S')}-",
                                suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as report:
        report.write(f"grader {version('grader')} on Python {platform.python_version()}, "
                     f"{platform.platform()}\ncommand: {' '.join(sys.argv)}\n\n")
        report.write(traceback.format_exc())
    return path


@click.group(cls=_Commands)
@click.version_option(package_name="grader")
def main() -> None:
    """Grade Dive into Deep Learning chapter 3 exercises: correctness, gradients, stability."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s: %(message)s",
    )
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"WARNING: {printable(str(message))}", err=True)  # may quote a student's name


ASSIGNMENT = click.option("--assignment", "-a", required=True,
                          help="The assignment to grade against.")
DEVICE = click.option("--device", type=click.Choice(options.DEVICES), default=options.DEVICE,
                      show_default=True, help="Where the student's code runs.")
DATA_ROOT = click.option("--data-root", default=None,
                         help=f"Folder holding FashionMNIST/raw [{options.DATA_ENV}].")
SEED = click.option("--seed", default=options.SEED, show_default=True,
                    help="Seed for every check's inputs.")
ISOLATION = click.option(
    "--isolation", type=click.Choice(options.ISOLATION_LEVELS), default=options.ISOLATION,
    show_default=True, help="How student code is confined; auto is strict where possible.",
)
DB = click.option("--db", default=None, help=f"Gradebook, any SQLAlchemy URL "
                                              f"[{options.DB_ENV}, else {options.DB_URL}].")
ONLY_ASSIGNMENT = click.option("--assignment", "-a", default=None, help="Only this assignment.")
ROSTER = click.option("--roster", default=None, type=click.Path(path_type=str),
                      help="The class list, a CSV with id, name, email (optional sis_id, login, "
                           "section) [default: the one `grader roster import` stored, if any].")
COURSE = click.option("--course", default=None,
                      help=f"A course folder or an installed course's name "
                           f"[{options.COURSE_ENV}, else the built-in course].")


@main.command()
@click.argument("submission", type=click.Path(path_type=str))
@ASSIGNMENT
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@DEVICE
@DATA_ROOT
@SEED
@click.option("--function", "functions", multiple=True, help="Grade only these functions.")
@ISOLATION
@COURSE
@click.option("--show-intake", is_flag=True,
              help="First print which cells and statements of a notebook are graded, and why.")
def check(submission, assignment, as_json, device, data_root, seed, functions, isolation,
          course, show_intake) -> None:
    """Grade one SUBMISSION (a folder, or one .py or .ipynb file) and explain every failed
    check."""
    from grader.grading.folders import submission_path

    submission_path(submission)  # before anything slow starts
    # A person at a terminal sees what is happening from the first moment; a pipe, the result.
    live = (Live(sys.stderr, f"checking {submission} ({assignment})")
            if sys.stderr.isatty() and not as_json else None)
    if live:
        live.phase("starting the grader")
    # The worker imports torch on one core while this process imports it on the other.
    worker = Worker()
    worker.launch()
    try:
        from grader import api
        from grader.reports import terminal

        if show_intake:
            chosen = api.load(assignment, course=course, data_root=data_root)
            if live:
                live.clear()
            for line in api.describe_intake(submission, chosen):
                click.echo(printable(line), err=as_json)

        result = api.check_submission(
            submission, assignment, device=device, data_root=data_root, seed=seed,
            functions=functions or None, worker=worker, isolation=isolation, course=course,
            progress=live,
        )
    finally:
        worker.close()
        if live:
            live.clear()
    click.echo(json.dumps(result.to_dict()) if as_json else terminal.submission(result))
    global _leave_at_once
    _leave_at_once = True  # the worker is closed, the submission's copy removed


@main.command()
@click.argument("root", type=click.Path(path_type=str))
@ASSIGNMENT
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once  [default: one per core]")
@DB
@click.option("--student", "students", multiple=True,
              help="Grade only this student's folder or zip, or roster id, login or email "
                   "(repeat for several).")
@click.option("--force", "--regrade", "regrade", is_flag=True,
              help="Grade again what this version already graded, unchanged or not.")
@DEVICE
@DATA_ROOT
@SEED
@ISOLATION
@click.option("--executor", type=click.Choice(options.EXECUTORS), default=options.EXECUTOR,
              show_default=True,
              help="local: slot processes here; ray: one Ray task per submission (grader[ray]).")
@click.option("--ray-address", default=None,
              help="The Ray cluster to grade on  [default: RAY_ADDRESS, else a local one]")
@ROSTER
@COURSE
@click.option("--late-from-mtime", is_flag=True,
              help="Count days late from each submission's newest file time against course.toml's "
                   "deadline (only where nothing copied or unpacked the files since).")
def batch(root, assignment, jobs, db, students, regrade, device, data_root, seed, isolation,
          executor, ray_address, roster, course, late_from_mtime) -> None:
    """Grade every submission under ROOT (a folder or a .zip per student) into the gradebook.

    Already graded submissions are skipped, so an interrupted batch resumes where it stopped.
    Exits 1 if the grader itself failed on a submission twice: it needs a regrade, which
    the next batch does.
    """
    from grader import api
    from grader.batch.progress import BatchProgress
    from grader.outcomes import RunStatus

    settings = api.BatchOptions(assignment, course=course, jobs=jobs, regrade=regrade,
                                students=students, device=device, data_root=data_root,
                                seed=seed, isolation=isolation, roster=roster,
                                late_from_mtime=late_from_mtime)
    with BatchProgress() as progress:
        summary = api.grade_class(root, settings, db=db, executor=executor,
                                  ray_address=ray_address, on_plan=progress.plan,
                                  on_graded=progress.graded)
    regrade = summary.needing_regrade
    click.echo(
        f"{summary.assignment} (version {summary.version}): {summary.found} submissions, "
        f"{summary.count(RunStatus.GRADED)} graded, {summary.skipped} skipped, "
        f"{summary.count(RunStatus.NOT_RUN)} not run, {summary.count(RunStatus.TIMED_OUT)} "
        f"timed out, {summary.count(RunStatus.CRASHED)} crashed, {len(regrade)} need a "
        f"regrade; {summary.below_full_marks} below full marks"
    )
    for graded in regrade:
        _needs_regrade(graded.student, summary.assignment, graded.error)
    _class_list(summary.roster, summary.unmatched, summary.missing)
    sys.exit(ExitCode.FAILED if regrade else ExitCode.OK)


LEASE = click.option(
    "--lease", type=click.FloatRange(min=0, min_open=True), default=options.JOB_LEASE,
    show_default=True, help="Seconds a claimed job is held, renewed every third of it while it "
                            "is graded: a worker killed mid-job keeps it from the others this "
                            "long at most.")


@main.command()
@DB
@COURSE
@DATA_ROOT
@DEVICE
@LEASE
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch's threads for grading [one per core; grader serve gives each of its "
                   "workers its share of the cores].")
def worker(db, course, data_root, device, lease, threads) -> None:
    """Grade the submissions `grader serve` queued, one at a time, until interrupted.

    Start as many as you like wherever the gradebook is reachable (PostgreSQL for other
    machines). Prints one line per job. Ctrl-C or SIGTERM finishes the job in hand, then stops;
    a second one stops at once (another worker grades that job when its lease runs out).
    """
    from grader import api

    summary = api.serve_jobs(db, course=course, data_root=data_root, device=device, lease=lease,
                             threads=threads,
                             on_handled=lambda handled: click.echo(_job_line(handled)))
    click.echo(f"worker {printable(summary.worker)} stopped after {len(summary.handled)} jobs")


@main.command()
@DB
@COURSE
@DATA_ROOT
@DEVICE
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 for every interface (put https in front).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on; 0 for any free one (printed).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Grading processes to start here [cores - 1, at least 1]; 0 for none "
                   "(workers run elsewhere with `grader worker`).")
@LEASE
def serve(db, course, data_root, device, host, port, workers, lease) -> None:
    """Serve a course: students hand in work and read its feedback, staff watch the queue.

    The gradebook is also the queue: with PostgreSQL (--db postgresql://...) more workers can
    join from other machines with `grader worker`. Ctrl-C stops the server and lets each worker
    finish its job; nothing queued is lost.
    """
    from grader import api

    def listening(where) -> None:
        click.echo(f"grader serve: {where.url} ({where.workers} grading workers); "
                   "Ctrl-C to stop", err=True)

    api.serve(db, course, host=host, port=port, workers=workers, data_root=data_root,
              device=device, lease=lease, on_listening=listening)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--assignment", "-a", required=True, help="The assignment to hand in.")
@click.option("--url", envvar="GRADER_URL", required=True,
              help="The course's grader service [GRADER_URL].")
@click.option("--token", envvar="GRADER_TOKEN", default="",
              help="Your token [GRADER_TOKEN; better there than on a command line].")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait for the result and print it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def submit(files, assignment, url, token, wait, as_json) -> None:
    """Hand in FILES (your .py, your .ipynb, or a .zip of your folder) to the grader service.

    Exit status: 0 when graded (whatever the score), 1 when it could not be graded, 2 when it
    was refused (the reason is printed).
    """
    from grader import api
    from grader.reports import terminal

    def said(now) -> None:
        place = f", {now.position} ahead in the queue" if now.position is not None else ""
        click.echo(f"submission {now.id}: {now.status}{place}", err=True)

    done = api.submit(url, token, assignment, files, wait=wait, on_status=said)
    if done.result is not None:
        click.echo(json.dumps(done.result.to_dict()) if as_json else
                   terminal.submission(done.result))
    elif done.status == "failed":
        click.echo(f"submission {done.id} could not be graded: {printable(done.error)}",
                   err=True)
    click.echo(f"see {done.url}", err=True)
    sys.exit(ExitCode.FAILED if done.status == "failed" else ExitCode.OK)


def _job_line(handled) -> str:
    """One job as a worker left it, e.g. ``job 12 (a1, linreg): graded, 9/10``."""
    from grader.outcomes import SCORED
    from grader.service.worker import Ending

    head = f"job {handled.job_id} ({handled.student_id}, {handled.assignment})"
    if handled.ending is Ending.DONE and handled.status in SCORED:
        line = f"{head}: {handled.status.value}, {handled.score:g}/{handled.max_score:g}"
    elif handled.ending is Ending.DONE:
        line = f"{head}: {handled.status.value}: {handled.error}"
    elif handled.ending is Ending.REQUEUED:
        line = f"{head}: the grader failed on attempt {handled.attempt}, queued again: " \
               f"{handled.error}"
    elif handled.ending is Ending.FAILED:
        line = f"{head}: failed: {handled.error}"
    else:
        line = f"{head}: taken by another worker when its lease ran out; nothing stored"
    return printable(line)


@main.command()
@DB
@ONLY_ASSIGNMENT
@click.option("--format", "fmt", type=click.Choice(options.REPORT_FORMATS), default=None,
              help="The file's format  [default: from OUTPUT's suffix]")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The file to write.")
@ROSTER
@COURSE
def report(db, assignment, fmt, output, roster, course) -> None:
    """Write the gradebook: a long table (csv, parquet, json), a workbook with the gradebook,
    the long table and an item analysis (xlsx), or a page with charts (html)."""
    from grader import api

    _written(api.report(output, fmt, db=db, assignment=assignment, course=course,
                        roster=roster))


def _written(written) -> None:
    """What a report, feedback or export wrote, and what in it needs the TA."""
    paths = written.paths
    click.echo(f"wrote {paths[0]}" if len(paths) == 1 else f"wrote {len(paths)} files")
    for regrade in written.needs_regrade:
        _needs_regrade(regrade.student, regrade.assignment, regrade.reason)
    _class_list(written.roster, written.unmatched, written.missing)
    for warning in written.warnings:
        click.echo(f"warning: {warning}", err=True)


def _needs_regrade(student: str, assignment: str, reason: str) -> None:
    click.echo(f"needs regrade (no score; the next grader batch grades it again): "
               f"{printable(student)} ({printable(assignment)}): {printable(reason)}")


def _class_list(roster: str, unmatched, missing) -> None:
    """Who the class list does not account for: submissions of no one on it, and its students
    who handed in nothing."""
    if not roster:
        return
    if unmatched:
        click.echo(f"unmatched (on no one in {printable(roster)}; never exported): "
                   + ", ".join(printable(name) for name in unmatched))
    if missing:
        click.echo(f"no submission ({len(missing)}, scored 0): "
                   + ", ".join(printable(who) for who in missing))


@main.command()
@DB
@ONLY_ASSIGNMENT
@click.option("--student", default=None, help="Only this student.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The folder to write into.")
@ROSTER
@COURSE
def feedback(db, assignment, student, output, roster, course) -> None:
    """Write each student's feedback, in markdown and html: what passed, what failed, the
    numbers and the likely mistakes. Hidden checks' inputs are never shown."""
    from grader import api

    _written(api.feedback(output, db=db, assignment=assignment, student=student, course=course,
                          roster=roster))


@main.command()
@click.option("--assignment", "-a", required=True, help="The assignment to compare.")
@DB
@COURSE
@click.option("--output", "-o", default=None, type=click.Path(path_type=str),
              help="Write the pairs to this file: html (the code side by side), csv or json.")
@click.option("--format", "fmt", type=click.Choice(options.SIMILARITY_FORMATS), default=None,
              help="The file's format  [default: from OUTPUT's suffix]")
@click.option("--threshold", type=click.FloatRange(0, 1), default=options.SIMILARITY_THRESHOLD,
              show_default=True, help="List pairs scoring at least this, from 0 to 1.")
def similarity(assignment, db, course, output, fmt, threshold) -> None:
    """Rank pairs of the assignment's current submissions by the code they share beyond the
    book and the rare wrong answers they share: evidence for a person to read, never a grade."""
    from grader import api

    found = api.similarity(assignment, output, fmt, db=db, course=course, threshold=threshold)
    click.echo(f"{found.students} students compared; {len(found.pairs)} "
               f"pair{'' if len(found.pairs) == 1 else 's'} at or above {threshold:g}")
    for rank, pair in enumerate(found.pairs, 1):
        functions = ", ".join(name for name, _ in pair.functions[:3])
        answers = f", {len(pair.answers)} shared wrong answers" if pair.answers else ""
        click.echo(f"{rank:>3}. {printable(pair.first)} ~ {printable(pair.second)}: "
                   f"{pair.score:.2f} (code {pair.code:.2f}, behaviour {pair.behaviour:.2f}"
                   f"{answers}){': ' + printable(functions) if functions else ''}")
    for left in found.not_compared:
        click.echo(f"not compared: {printable(left.student)}: {printable(left.reason)}")
    if output is not None:
        click.echo(f"wrote {output}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(options.EXPORT_FORMATS), required=True,
              help="canvas, moodle, gradescope-scores: the LMS's grade import CSV; "
                   "gradescope: autograder results.json files.")
@DB
@ONLY_ASSIGNMENT
@click.option("--student", default=None,
              help="Only this student (gradescope: OUTPUT is then the results.json itself).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The file (canvas) or folder (gradescope) to write.")
@ROSTER
@COURSE
def export(fmt, db, assignment, student, output, roster, course) -> None:
    """Export the gradebook for Canvas, Moodle or Gradescope, students named as the class
    list names them."""
    from grader import api

    _written(api.export(fmt, output, db=db, assignment=assignment, student=student,
                        course=course, roster=roster))


@main.group()
def roster() -> None:
    """The class list: who is in the course, as the LMS knows them."""


@roster.command("import")
@click.argument("file", type=click.Path(path_type=str))
@DB
@COURSE
def roster_import(file, db, course) -> None:
    """Store FILE (a CSV with id, name, email; optional sis_id, login, section) as the
    course's class list, replacing the one before; batch, report, feedback and export use it
    unless given --roster."""
    from grader import api

    imported = api.import_roster(file, db=db, course=course)
    click.echo(f"imported {imported.students} students from {printable(file)} into "
               f"{imported.gradebook} for {imported.course}")


@main.group()
def tokens() -> None:
    """Access tokens for `grader serve`: one per student or staff member, shown once."""


@tokens.command("issue")
@DB
@COURSE
@click.option("--student", "students", multiple=True,
              help="A student's roster id, login or email (repeatable).")
@click.option("--all-students", is_flag=True, help="Everyone on the imported class list.")
@click.option("--staff", default=None, help="A staff member's name, for a staff token.")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="The CSV to write, readable by you alone; never overwritten.")
def tokens_issue(db, course, students, all_students, staff, output) -> None:
    """Issue new tokens and write them to OUTPUT, the only copy (the gradebook keeps their
    hashes): students as id,name,email,token, staff as staff,token. Tokens issued before
    stay valid until revoked."""
    from grader import api

    issued = api.issue_tokens(db, course, students=students, all_students=all_students,
                              staff=staff, output=output)
    noun = "token" if issued.tokens == 1 else "tokens"
    click.echo(f"issued {issued.tokens} {noun} to {printable(str(issued.output))} "
               "(shown once; the gradebook keeps only their hashes)")


@tokens.command("revoke")
@DB
@COURSE
@click.option("--token", default=None, help="This token, as issued.")
@click.option("--student", default=None,
              help="Every live token of this student (roster id, login or email).")
@click.option("--staff", default=None, help="Every live token of this staff member.")
def tokens_revoke(db, course, token, student, staff) -> None:
    """Revoke a token, or all of one student's or staff member's: the service refuses them
    from the next request on."""
    from grader import api

    revoked = api.revoke_tokens(db, course, token=token, student=student, staff=staff)
    noun = "token" if revoked.tokens == 1 else "tokens"
    click.echo(f"revoked {revoked.tokens} {noun} in {printable(revoked.course)}")


@main.command()
@click.argument("student")
@click.option("--assignment", "-a", required=True, help="The assignment graded.")
@click.option("--points", type=float, required=True, help="The score that replaces the grader's.")
@click.option("--check", "check_id", default=None,
              help="One check's id  [default: the whole assignment's score]")
@click.option("--by", required=True, help="Who decided (kept with the override).")
@click.option("--reason", required=True, help="Why (kept with the override).")
@DB
@COURSE
def override(student, assignment, points, check_id, by, reason, db, course) -> None:
    """Set a manual score for STUDENT that wins over the grader's, even after a regrade."""
    from grader import api

    number = api.override(student, assignment, points, by=by, reason=reason, check_id=check_id,
                          db=db, course=course)
    click.echo(f"override {number} recorded")


@main.command()
@DATA_ROOT
def doctor(data_root) -> None:
    """Say what this machine supports: isolation, GPU, data. Exit 1 if strict is impossible."""
    from grader import api
    from grader.runner.doctor import STRICT_BY_DEFAULT

    findings = api.diagnose(data_root)
    width = max(len(f.part) for f in findings)
    for f in findings:
        click.echo(f"{'ok  ' if f.ok else 'NO  '} {f.part:<{width}}  {f.detail}")
    strict = next(f for f in findings if f.part == STRICT_BY_DEFAULT).ok
    sys.exit(ExitCode.OK if strict else ExitCode.FAILED)


@main.command()
@COURSE
def assignments(course) -> None:
    """List the course's assignments, their functions, checks and points.

    Exits 1 when an assignment cannot be loaded (it is listed, with the reason)."""
    from grader import api
    from grader.reports import terminal

    opened = api.open_course(course)
    here = api.resolve_device("auto").type  # the maximum a grading on this machine uses
    for a in opened.assignments.values():
        click.echo(terminal.assignment(a, here))
        click.echo()
    for name, reason in sorted(opened.broken.items()):
        click.echo(f"{name}: BROKEN, not graded: {printable(str(reason))}")
    sys.exit(ExitCode.FAILED if opened.broken else ExitCode.OK)


@main.command()
@click.argument("folder", type=click.Path(path_type=str))
@ONLY_ASSIGNMENT
@COURSE
@click.option("--notebook", is_flag=True,
              help="Write each starter as a Jupyter notebook (.ipynb) instead of a .py.")
def init(folder, assignment, course, notebook) -> None:
    """Create a new student FOLDER from the course's starter files."""
    from grader import api

    for path in api.init_submission(folder, assignment=assignment, course=course,
                                    notebook=notebook):
        click.echo(f"created {path}")


@main.group()
def course() -> None:
    """A course of your own: start one, and check it before students see it."""


@course.command()
@click.argument("folder", type=click.Path(path_type=str))
def new(folder) -> None:
    """Write a small working course into FOLDER: one assignment, its reference, its starter
    file and one known mistake, which `grader course validate` accepts."""
    from grader import api

    for path in api.new_course(folder):
        click.echo(f"created {path}")


@course.command()
@click.argument("folder", type=click.Path(path_type=str))
@DATA_ROOT
def validate(folder, data_root) -> None:
    """Check the course in FOLDER: each assignment imports, the reference earns full marks,
    the starter file zero, each known mistake fails exactly what it expects.

    Exits 0 when all is well, else 1 with one line per problem."""
    from grader import api

    problems = api.validate_course(folder, data_root=data_root,
                                   on_assignment=lambda name: click.echo(f"validating {name}"))
    for problem in problems:
        click.echo(printable(str(problem)))
    if problems:
        sys.exit(ExitCode.FAILED)
    click.echo(f"course {folder}: all is well")


@main.group()
def data() -> None:
    """Fashion-MNIST on disk."""


@data.command(name="fetch")
@click.option("--data-root", default=None,
              help=f"Where FashionMNIST/raw goes [{options.DATA_ENV}, else ./data where it is "
                   "there, else your user data folder].")
def download(data_root) -> None:
    """Fetch the four Fashion-MNIST files and verify their md5 sums."""
    from grader import api

    fetched = api.download_data(data_root)
    where = options.data_root(data_root)
    click.echo((f"{len(fetched)} files fetched" if fetched else "all files already present")
               + f" in {where}")


data.add_command(download, name="download")  # its first name, kept for scripts that use it
