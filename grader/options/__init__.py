"""Every default of the grader, stated once: the command line, the library API and batch read
them from here, so `grader check --help`, ``api.check_submission`` and a batch always agree.

Imports nothing else of grader and no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

# Where student code runs: auto is the GPU where torch sees one, else the CPU.
DEVICES = ("auto", "cpu", "cuda")
DEVICE = "auto"

# Every check's inputs and the student's random generators derive from the run's seed.
SEED = 0

# How student code is confined: auto is strict where this machine allows it, else basic.
ISOLATION_LEVELS = ("auto", "strict", "basic")
ISOLATION = "auto"

# Seconds.
CHECK_TIMEOUT = 10.0  # one check, every call to the student's code included
IMPORT_TIMEOUT = 20.0  # the student's module-level code
RETRY_TIMEOUT = 2.0  # each later check of a function that already timed out once
GRADER_RETRY_PAUSE = 2.0  # before a batch grades again what the grader itself failed on
# One submission in all, where neither the assignment nor course.toml sets time_budget: this many
# times what grading the reference took, and never less than the floor.
TIME_BUDGET_FACTOR = 5.0
TIME_BUDGET_FLOOR = 30.0

# Fashion-MNIST: --data-root, else $GRADER_DATA, else ./data (FashionMNIST/raw below it) where
# it is there, else the user's data folder (user_data()).
DATA_ENV = "GRADER_DATA"
DATA_DIR = "data"

# The gradebook: --db, else $GRADER_DB, else a SQLite file in the current folder.
DB_ENV = "GRADER_DB"
DB_URL = "sqlite:///grades.db"

# What `grader report` and `grader export` write.
REPORT_FORMATS = ("csv", "xlsx", "parquet", "json", "html")
EXPORT_FORMATS = ("canvas", "moodle", "gradescope-scores", "gradescope")
# grader similarity: what it writes (by the output's suffix), and the pair score it lists from.
SIMILARITY_FORMATS = ("html", "csv", "json")
SIMILARITY_THRESHOLD = 0.5

# The course: --course (a folder, or the name an installed course registers under the entry-point
# group COURSE_ENTRY_POINTS), else $GRADER_COURSE, else the built-in course, whose course.toml
# carries this name; a gradebook from before courses holds its runs under it.
COURSE_ENV = "GRADER_COURSE"
COURSE_ENTRY_POINTS = "grader.courses"
BUILTIN_COURSE = "d2l-ch3"

# Where a batch grades: slot processes here, or one Ray task per submission.
EXECUTORS = ("local", "ray")
EXECUTOR = "local"

# The service's grading workers (grader worker, grader serve), in seconds: how long a claimed job
# is held (renewed every third of it while it is graded; a worker killed mid-job holds it this
# long at most before another worker may claim it), and the pause between looks at an empty queue.
JOB_LEASE = 60.0
JOB_POLL = 0.5

# What `grader serve` accepts from one student (docs/service.md); course.toml may set the first
# four: submit_interval, submits_per_day, upload_limit_mb, upload_quota_mb.
SUBMIT_INTERVAL = 30.0  # seconds between two uploads of one assignment by one student
SUBMITS_PER_DAY = 50  # uploads of one assignment by one student in any 24 hours
UPLOAD_MAX_BYTES = 5 * 2**20  # one upload as sent, all its files together
UPLOAD_QUOTA_BYTES = 100 * 2**20  # one student's stored uploads in a course, all together
UPLOAD_ZIP_ENTRIES = 200  # members of an uploaded zip, folders included
UPLOAD_ZIP_BYTES = 50 * 2**20  # an uploaded zip unpacked, by its declared and its actual sizes


def torch_threads(processes: int) -> int:
    """torch's threads in each of ``processes`` grading processes on this machine: the cores
    shared out, at least one each (more threads than cores only make each grading slower)."""
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def data_root(explicit: str | Path | None = None) -> Path:
    """The data root: ``explicit``, else $GRADER_DATA, else ./data where it holds
    FashionMNIST, else this user's data folder (where ``grader data fetch`` puts it, so that
    ``grader check`` finds it from any folder, from a checkout or an installed wheel)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    here = Path(DATA_DIR)
    return here if (here / "FashionMNIST").is_dir() else user_data()


def user_data() -> Path:
    """This user's data folder: $XDG_DATA_HOME/grader, else ~/.local/share/grader."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "grader"


def user_cache() -> Path:
    """This user's cache folder: $XDG_CACHE_HOME/grader, else ~/.cache/grader."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "grader"


def database_url(explicit: str | None = None) -> str:
    """The gradebook's URL as given: ``explicit``, else $GRADER_DB, else ``DB_URL``."""
    return explicit or os.environ.get(DB_ENV) or DB_URL


def course(explicit: str | Path | None = None) -> str | None:
    """The course asked for: ``explicit``, else $GRADER_COURSE; None means the built-in one."""
    if explicit is not None and str(explicit) != "":
        return str(explicit)
    return os.environ.get(COURSE_ENV) or None
