"""Reports on a gradebook: its two tables, files in several formats, charts, feedback, exports.

``frames.tables`` reads the gradebook into two pandas DataFrames, ``scores`` (one row per student
and assignment) and ``checks`` (one row per check of those gradings; see SCORE_COLUMNS and
CHECK_COLUMNS); everything else works on those. Imports gradebook, authoring, outcomes, options.
"""

from grader.reports.export import canvas_csv, gradescope_results, write_gradescope
from grader.reports.feedback import write_feedback
from grader.reports.formats import FORMATS, write_report
from grader.reports.html import html_report
from grader.reports.schema import CHECK_COLUMNS, SCORE_COLUMNS
from grader.reports.slugs import slug
from grader.reports.tables import ITEM_COLUMNS, gradebook, item_analysis
from grader.reports.visibility import HIDDEN_MESSAGE

__all__ = [
    "CHECK_COLUMNS",
    "FORMATS",
    "HIDDEN_MESSAGE",
    "ITEM_COLUMNS",
    "SCORE_COLUMNS",
    "canvas_csv",
    "gradebook",
    "gradescope_results",
    "html_report",
    "item_analysis",
    "slug",
    "write_feedback",
    "write_gradescope",
    "write_report",
]
