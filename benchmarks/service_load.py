"""A bounded burst against `grader serve` on loopback; prints a markdown table.

N simulated students hand in M submissions (correct and buggy mixed, each distinct) within S
seconds against `grader serve --workers W` on SQLite, from a bounded pool of client threads,
one counted request per submission, once the workers are idle and after two warm-up requests
that store nothing (a server that has been up a while). Measured: the upload latency
(p50/p95/p99) while the queue fills, the time from the first upload to the last result, the
throughput against `grader batch --jobs W` on the same submissions, and that the gradebook
recorded every submission exactly once (each job done after one claim, one run per job). Exits 1
if it did not.

The course is a copy of the built-in one whose course.toml lifts the rate limit (submit_interval
0, submits_per_day at least M); its references stay where they are. Everything lives in a
temporary folder, removed at the end; the server listens on 127.0.0.1 only.

Run: .venv/bin/python benchmarks/service_load.py [--students 100] [--submissions 300]
     [--seconds 10] [--workers 2] [--assignment linreg] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from floor import fresh_torch_import

REPO = Path(__file__).resolve().parent.parent
GOALS = {"p95 ms": 100.0, "ratio": 0.9}
CLIENTS = 24  # concurrent upload threads: a bounded pool, not one thread per student
START_PATIENCE = 120.0  # seconds for the server to listen, on a busy 2-core machine
POLL = 0.5  # seconds between looks at the queue
_LISTENING = re.compile(r"grader serve: (http://127\.0\.0\.1:\d+) \((\d+) grading workers\)")
FILES = {"linreg": "linear_regression.py", "softmax": "softmax_regression.py",
         "gradients": "gradients.py"}
# Known mistakes, each one text replacement in the reference (old text, new text).
MISTAKES = {
    "linreg": [
        ("return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2",
         "return (y_hat - y.reshape(y_hat.shape)) ** 2"),  # the / 2 forgotten
        ("param -= lr * param.grad / batch_size", "param -= lr * param.grad"),  # not averaged
        ("return torch.matmul(X, w) + b  # (n, 1)", "return torch.matmul(X, w)  # (n, 1)"),
    ],
    "softmax": [("return X_exp / partition  # (n, q)", "return X_exp  # (n, q)")],
    "gradients": [("return s * (1 - s)", "return s * (1 + s)")],
}


@dataclass(frozen=True)
class Work:
    """One submission: whose, its text, and whether it holds a mistake."""

    number: int
    student: str
    text: str
    buggy: bool


@dataclass
class Upload:
    """What the service answered one submission's upload."""

    work: Work
    started: float  # time.time() when the request was sent
    latency: float  # seconds
    status: int
    job_id: int | None
    position: int | None
    detail: str = ""


def submissions(assignment: str, students: int, count: int) -> list[Work]:
    """``count`` distinct submissions, round robin over the students, every fourth buggy (the
    mistakes in turn); the number in a comment at the end keeps each one's content its own."""
    reference = (REPO / "reference" / FILES[assignment]).read_text()
    mistakes = MISTAKES[assignment]
    for old, _ in mistakes:
        if reference.count(old) != 1:
            raise SystemExit(f"the mistake {old!r} is not once in reference/{FILES[assignment]}:"
                             " update MISTAKES to the reference")
    work = []
    for i in range(count):
        buggy = i % 4 == 3
        text = reference.replace(*mistakes[(i // 4) % len(mistakes)]) if buggy else reference
        work.append(Work(i, f"student{i % students:03d}", f"{text}\n# submission {i}\n", buggy))
    return work


def lifted_course(target: Path, per_day: int) -> Path:
    """A copy of the built-in course without its rate limit; reference and template paths,
    relative to each assignment's folder, made absolute so they still point at the originals."""
    from grader.courses.locate import course_folder

    source = course_folder(None)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    lines, section = [], None
    for line in (source / "course.toml").read_text().splitlines():
        if header := re.match(r"\[([A-Za-z0-9_-]+)\]", line):
            section = header.group(1)
        if section and re.match(r"\s*(reference|template)\s*=", line):
            line = _absolute(line, source / section)
        lines.append(line)
    lifted = "\n".join(lines)
    (target / "course.toml").write_text(
        f"submit_interval = 0\nsubmits_per_day = {per_day}\n{lifted}\n")
    return target


def _absolute(line: str, folder: Path) -> str:
    """The line's quoted paths, relative to ``folder``, made absolute."""
    return re.sub(r'"([^"]+)"',
                  lambda quoted: json.dumps(str((folder / quoted.group(1)).resolve())), line)


def tokens(db: str, course: Path, students: list[str]) -> tuple[dict[str, str], str]:
    """A token per student and one for staff (to watch the queue), as `grader tokens issue`."""
    from grader.courses.locate import course_name
    from grader.gradebook import Gradebook
    from grader.gradebook import tokens as stored

    with Gradebook(db) as book:
        issued = dict(stored.issue(book, course_name(course), students=students, staff="bench"))
    staff = issued.pop("bench")
    return issued, staff


class Server:
    """`grader serve` as its own process on 127.0.0.1 and a free port, its log in a file."""

    def __init__(self, db: str, course: Path, log: Path, workers: int,
                 data_root: str | None) -> None:
        command = [sys.executable, "-m", "grader", "serve", "--host", "127.0.0.1", "--port", "0",
                   "--workers", str(workers), "--course", str(course)]
        if data_root is not None:
            command += ["--data-root", data_root]
        environment = {**os.environ, "GRADER_DB": db}
        environment.pop("GRADER_COURSE", None)
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=environment)
        self.url = self._listening()

    def _listening(self) -> str:
        deadline = time.monotonic() + START_PATIENCE
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log.read_text(errors="replace"))
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                raise SystemExit(f"grader serve exited with {self.process.returncode}:\n"
                                 f"{self.tail()}")
            time.sleep(0.1)
        self.process.kill()
        raise SystemExit(f"grader serve did not listen within {START_PATIENCE} s:\n{self.tail()}")

    def own_cpu(self) -> float:
        """CPU seconds of the web process itself (not its workers)."""
        return _cpu(self.process.pid)

    def settle(self, workers: int, patience: float = START_PATIENCE) -> None:
        """Wait until the workers are started and idle (done importing torch, polling the empty
        queue): a server that runs for a while before a burst, not one starting up in it."""
        deadline = time.monotonic() + patience
        before = None
        while time.monotonic() < deadline:
            tree = _descendants(self.process.pid)
            used = sum(_cpu(pid) for pid in tree)
            if len(tree) > workers and before is not None and used - before < 0.05:
                return
            before = used
            time.sleep(1.0)
        raise SystemExit(f"the workers were still busy {patience:g} s after the server "
                         f"listened:\n{self.tail()}")

    def stop(self, patience: float = 90.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(patience)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise SystemExit(f"grader serve did not stop within {patience} s of SIGTERM:\n"
                             f"{self.tail()}") from None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _cpu(pid: int) -> float:
    """CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def burst(url: str, assignment: str, work: list[Work], tokens_of: dict[str, str],
          seconds: float) -> list[Upload]:
    """Each submission sent once, at its slot in ``seconds`` (evenly spread), by a pool of
    CLIENTS threads each keeping one connection; a late thread sends at once."""
    local = threading.local()
    start = time.monotonic() + 0.5
    step = seconds / len(work)

    def send(item: Work) -> Upload:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=60.0)
        time.sleep(max(0.0, start + item.number * step - time.monotonic()))
        headers = {"authorization": f"Bearer {tokens_of[item.student]}",
                   "idempotency-key": f"load-{item.number}"}
        sent = time.time()
        began = time.perf_counter()
        try:
            answer = local.client.post(
                "/api/submissions", data={"assignment": assignment}, headers=headers,
                files=[("files", (FILES[assignment], item.text.encode(), "text/x-python"))])
        except httpx.HTTPError as err:
            return Upload(item, sent, time.perf_counter() - began, 0, None, None, repr(err))
        latency = time.perf_counter() - began
        if answer.status_code != 202:
            return Upload(item, sent, latency, answer.status_code, None, None, answer.text[:300])
        body = answer.json()
        return Upload(item, sent, latency, 202, body["id"], body["position"])

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, work))


def warm_up(url: str, assignment: str, token: str) -> None:
    """Two requests before the burst, neither stored: a read, and an upload refused for an
    assignment the course lacks (the server's first multipart form, parsed)."""
    with httpx.Client(base_url=url, timeout=60.0,
                      headers={"authorization": f"Bearer {token}"}) as client:
        client.get("/api/assignments").raise_for_status()
        refused = client.post("/api/submissions", data={"assignment": "no-such-assignment"},
                              files=[("files", (FILES[assignment], b"pass\n", "text/x-python"))])
        if refused.status_code != 404:
            raise SystemExit(f"the warm-up upload was answered {refused.status_code}, not 404: "
                             f"{refused.text[:300]}")


def wait_for_queue(url: str, staff: str, expected: int, patience: float) -> None:
    """Until the queue holds nothing queued or running and ``expected`` jobs are settled."""
    deadline = time.monotonic() + patience
    counts: dict = {}
    with httpx.Client(base_url=url, timeout=60.0,
                      headers={"authorization": f"Bearer {staff}"}) as client:
        while time.monotonic() < deadline:
            counts = client.get("/api/queue").raise_for_status().json()["counts"]
            if counts["queued"] == counts["running"] == 0 and (
                    counts["done"] + counts["failed"] >= expected):
                return
            time.sleep(POLL)
    raise SystemExit(f"the queue was not empty {patience:g} s after the last upload: {counts}")


def answers(url: str, uploads: list[Upload], tokens_of: dict[str, str]) -> int:
    """How many accepted submissions the API answers done, with a result."""
    def done(upload: Upload) -> bool:
        token = tokens_of[upload.work.student]
        found = client.get(f"/api/submissions/{upload.job_id}",
                           headers={"authorization": f"Bearer {token}"})
        body = found.json() if found.status_code == 200 else {}
        return body.get("status") == "done" and body.get("result") is not None

    with httpx.Client(base_url=url, timeout=60.0) as client:
        return sum(done(u) for u in uploads if u.job_id is not None)


@dataclass(frozen=True)
class Recorded:
    """What the service's gradebook holds of the burst."""

    exactly_once: bool
    problems: list[str]
    last_finished: float  # time.time() of the last job's finish
    full_marks_as_expected: bool


def recorded(db: str, uploads: list[Upload]) -> Recorded:
    """Every submission recorded exactly once: one job per upload (its idempotency key), each
    done after one attempt with a run of its own, and one run per job in the runs table."""
    from sqlalchemy import func, select

    from grader.gradebook import Gradebook, JobState
    from grader.gradebook.models import JobRow, RunRow

    problems = []
    with Gradebook(db) as book, book.session() as session:
        jobs = session.scalars(select(JobRow)).all()
        runs = session.scalar(select(func.count()).select_from(RunRow))
        by_key = {job.idempotency_key: job for job in jobs}
        if len(jobs) != len(uploads) or len(by_key) != len(jobs):
            problems.append(f"{len(jobs)} jobs ({len(by_key)} keys) for {len(uploads)} uploads")
        not_done = [job.id for job in jobs if job.status is not JobState.DONE or job.run_id is None]
        if not_done:
            problems.append(f"{len(not_done)} jobs not done with a run: {not_done[:10]}")
        again = [job.id for job in jobs if job.attempts != 1]
        if again:
            problems.append(f"{len(again)} jobs claimed more than once: {again[:10]}")
        run_ids = {job.run_id for job in jobs}
        if len(run_ids) != len(jobs) or runs != len(jobs):
            problems.append(f"{runs} runs, {len(run_ids)} distinct run ids, {len(jobs)} jobs")
        ours = [u for u in uploads if u.job_id is not None]
        if any(by_key.get(f"load-{u.work.number}", None) is None
               or by_key[f"load-{u.work.number}"].id != u.job_id for u in ours):
            problems.append("a job's id differs from the one its upload was answered")
        full = {job.idempotency_key: _full(session.get(RunRow, job.run_id)) for job in jobs
                if job.run_id is not None}
        expected = all(full.get(f"load-{u.work.number}") is (not u.work.buggy) for u in uploads)
        finished = max((job.finished_at for job in jobs if job.finished_at), default=None)
    last = finished.timestamp() if finished else float("nan")
    return Recorded(not problems, problems, last, expected)


def _full(run) -> bool:
    return run.max_score > 0 and run.score == run.max_score


def batch_folders(root: Path, work: list[Work], assignment: str) -> Path:
    """One folder per submission (a batch takes one folder per student), named for it."""
    for item in work:
        folder = root / f"{item.student}-{item.number:04d}"
        folder.mkdir(parents=True)
        (folder / FILES[assignment]).write_text(item.text)
    return root


def timed_batch(root: Path, db: str, course: Path, assignment: str, jobs: int,
                data_root: str | None, log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process it ran) of `grader batch` from start to end."""
    command = [sys.executable, "-m", "grader", "batch", str(root), "--assignment", assignment,
               "--jobs", str(jobs), "--db", db, "--course", str(course)]
    if data_root is not None:
        command += ["--data-root", data_root]
    environment = {k: v for k, v in os.environ.items() if k not in ("GRADER_DB", "GRADER_COURSE")}
    before = _children_cpu()
    start = time.perf_counter()
    with log.open("ab") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=environment).returncode
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"grader batch exited with {code}:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")
    return wall, _children_cpu() - before


@dataclass(frozen=True)
class Graded:
    """One run as the comparison needs it."""

    score: float
    max_score: float
    seconds: float  # the run's start to end: grading alone, without queue or bookkeeping


def runs_of(db: str) -> dict[str, Graded]:
    """The gradebook's runs by their submission's content hash (the same for a job's zip and
    a batch's folder of the same files)."""
    from sqlalchemy import select

    from grader.gradebook import Gradebook
    from grader.gradebook.models import RunRow, SubmissionRow

    with Gradebook(db) as book, book.session() as session:
        rows = session.execute(select(SubmissionRow.content_hash, RunRow)
                               .join(RunRow, RunRow.submission_id == SubmissionRow.id))
        return {content: Graded(run.score, run.max_score,
                                (run.finished_at - run.started_at).total_seconds())
                for content, run in rows}


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile, nearest rank (of 300 uploads, p99 is the 297th fastest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0, help="the burst's length")
    parser.add_argument("--workers", type=int, default=2,
                        help="grading workers of the server, and --jobs of the batch")
    parser.add_argument("--assignment", default="linreg", choices=sorted(FILES))
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--patience", type=float, default=1800.0,
                        help="seconds after the last upload for the queue to empty")
    args = parser.parse_args()
    if not 0 < args.students <= args.submissions:
        parser.error("--students must be from 1 to --submissions")

    data_root = str(Path(args.data_root).resolve()) if args.data_root else None
    floor = statistics.median(fresh_torch_import() for _ in range(3))
    work = submissions(args.assignment, args.students, args.submissions)
    with tempfile.TemporaryDirectory(prefix="service-load-") as tmp:
        figures = run(Path(tmp), args, work, data_root)
    report(args, floor, figures)
    if not figures["recorded"].exactly_once:
        sys.exit(1)


def run(tmp: Path, args, work: list[Work], data_root: str | None) -> dict:
    """The burst against the service, then the batch; the figures the table shows."""
    course = lifted_course(tmp / "course", max(1000, args.submissions))
    (tmp / "service").mkdir()
    (tmp / "batch").mkdir()  # the gradebooks apart from the course: student code cannot read them
    db = f"sqlite:///{tmp / 'service' / 'grades.db'}"
    tokens_of, staff = tokens(db, course, sorted({item.student for item in work}))
    cpu_before = _children_cpu()
    server = Server(db, course, tmp / "serve.log", args.workers, data_root)
    try:
        server.settle(args.workers)
        warm_up(server.url, args.assignment, next(iter(tokens_of.values())))
        load = os.getloadavg()[0]
        web_before = server.own_cpu()
        uploads = burst(server.url, args.assignment, work, tokens_of, args.seconds)
        web_burst = server.own_cpu() - web_before
        accepted = [u for u in uploads if u.status == 202]
        if accepted:
            wait_for_queue(server.url, staff, len(accepted), args.patience)
        answered = answers(server.url, uploads, tokens_of)
        web_cpu = server.own_cpu()
        load = max(load, os.getloadavg()[0])
    except httpx.HTTPError as err:
        raise SystemExit(f"the service stopped answering ({err!r}); its log:\n"
                         f"{server.tail()}") from None
    finally:
        code = server.stop()
    service_cpu = _children_cpu() - cpu_before
    found = recorded(db, uploads)
    batch_wall, batch_cpu = timed_batch(
        batch_folders(tmp / "class", work, args.assignment), f"sqlite:///{tmp}/batch/grades.db",
        course, args.assignment, args.workers, data_root, tmp / "batch.log")
    service_runs, batch_runs = runs_of(db), runs_of(f"sqlite:///{tmp}/batch/grades.db")
    return {"uploads": uploads, "answered": answered, "recorded": found, "stop code": code,
            "batch": batch_wall, "batch cpu": batch_cpu, "service cpu": service_cpu,
            "web cpu": web_cpu, "web burst cpu": web_burst, "load": load,
            "same scores": _scores(service_runs) == _scores(batch_runs),
            "service grading": sum(g.seconds for g in service_runs.values()),
            "batch grading": sum(g.seconds for g in batch_runs.values()),
            "server log": server.tail()}


def _by_second(uploads: list[Upload], first: float) -> list[list[float]]:
    seconds: list[list[float]] = []
    for upload in uploads:
        index = int(upload.started - first)
        seconds.extend([] for _ in range(index + 1 - len(seconds)))
        seconds[index].append(upload.latency * 1000)
    return seconds


def _scores(runs: dict[str, Graded]) -> dict[str, tuple[float, float]]:
    return {content: (g.score, g.max_score) for content, g in runs.items()}


def _per(seconds: float, n: int, floor: float) -> str:
    each = seconds / n
    return f"{seconds:.1f} s ({each:.3f} s a submission, {each / floor:.2f}x the floor)"


def report(args, floor: float, figures: dict) -> None:
    uploads: list[Upload] = figures["uploads"]
    found: Recorded = figures["recorded"]
    ok = [u for u in uploads if u.status == 202]
    refused = [u for u in uploads if u.status != 202]
    ms = [u.latency * 1000 for u in ok] or [float("nan")]
    first = min(u.started for u in uploads)
    sent_for = max(u.started + u.latency for u in uploads) - first
    last_sent = max(u.started for u in uploads) - first
    end_to_end = found.last_finished - first
    ratio = figures["batch"] / end_to_end
    p95 = percentile(ms, 95)
    n = args.submissions
    deepest = max((u.position or 0 for u in ok), default=0)
    yes = {True: "yes", False: "**no**"}
    rows = [
        ("a fresh `python -c 'import torch'` (the floor)", f"{floor:.2f} s", "", ""),
        (f"upload latency p50, {len(ok)} uploads accepted (queue up to {deepest} deep)",
         f"{percentile(ms, 50):.0f} ms", "", ""),
        ("upload latency p95", f"{p95:.0f} ms", f"< {GOALS['p95 ms']:.0f} ms",
         yes[p95 < GOALS["p95 ms"]]),
        ("upload latency p99 (max)", f"{percentile(ms, 99):.0f} ms ({max(ms):.0f} ms)", "", ""),
        ("uploads/s achieved (the last one sent at, answered at)",
         f"{n / sent_for:.1f}/s ({last_sent:.1f} s, {sent_for:.1f} s)",
         # paced to send the last at (n-1)/n of the window: a few ms of scheduling late is
         # no failure to keep the pace, 5% slower is
         f"≥ {0.95 * n / args.seconds:.1f}/s", yes[n / sent_for >= 0.95 * n / args.seconds]),
        ("end to end: first upload to last result", _per(end_to_end, n, floor), "", ""),
        (f"`grader batch --jobs {args.workers}`, same submissions, start to end",
         _per(figures["batch"], n, floor), "", ""),
        ("throughput service / batch", f"{ratio:.2f}x", f"≥ {GOALS['ratio']}x",
         yes[ratio >= GOALS["ratio"]]),
        ("every submission recorded exactly once", yes[found.exactly_once], "yes",
         yes[found.exactly_once]),
        ("API answers done with a result", f"{figures['answered']}/{n}", f"{n}/{n}",
         yes[figures["answered"] == n]),
        ("correct ones full marks, buggy ones not", yes[found.full_marks_as_expected], "yes",
         yes[found.full_marks_as_expected]),
        ("same scores as the batch, submission by submission", yes[figures["same scores"]],
         "yes", yes[figures["same scores"]]),
        ("grading per submission, mean of the runs' start to end: service / batch",
         f"{figures['service grading'] / n:.3f} s / {figures['batch grading'] / n:.3f} s", "", ""),
        ("slot time outside grading per submission (workers × wall − grading) / n: "
         "service / batch",
         f"{(args.workers * end_to_end - figures['service grading']) / n:.3f} s / "
         f"{(args.workers * figures['batch'] - figures['batch grading']) / n:.3f} s", "", ""),
        ("CPU seconds, service (web + workers, start to stop) / batch",
         f"{figures['service cpu']:.0f} s / {figures['batch cpu']:.0f} s", "", ""),
        ("CPU seconds of the web process: during the burst / in all",
         f"{figures['web burst cpu']:.1f} s / {figures['web cpu']:.1f} s", "", ""),
    ]
    print(f"Machine: {os.cpu_count()} cores, load average up to {figures['load']:.1f}, Python "
          f"{sys.version.split()[0]}; {args.students} students, {n} submissions "
          f"({sum(u.work.buggy for u in uploads)} buggy) in {args.seconds:g} s, "
          f"{args.workers} workers, {CLIENTS} client threads; server exit code "
          f"{figures['stop code']}\n")
    print("| what | measured | goal | met |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nupload latency p95 by second of the burst (ms): " + ", ".join(
        f"{percentile(second, 95):.0f}" for second in _by_second(ok, first) if second))
    slowest = sorted(ok, key=lambda u: u.latency, reverse=True)[:5]
    print("\nslowest uploads (number, sent at, latency): " + ", ".join(
        f"#{u.work.number} at {u.started - first:.2f} s {u.latency * 1000:.0f} ms"
        for u in slowest))
    for upload in refused[:5]:
        print(f"\nupload {upload.work.number} refused ({upload.status}): {upload.detail}")
    for problem in found.problems:
        print(f"\nnot exactly once: {problem}")
    if refused or not found.exactly_once or figures["stop code"] != 0:
        print(f"\nserver log, last lines:\n{figures['server log']}")


if __name__ == "__main__":
    main()
