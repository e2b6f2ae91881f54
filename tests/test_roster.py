"""Class rosters: reading and validating the LMS's CSV, matching submissions, LMS columns."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.outcomes import UsageError
from grader.roster import (
    LAYOUTS,
    Roster,
    RosterError,
    Student,
    match,
    read_roster,
    resolve,
    roster_from_rows,
)

HEADER = "id,name,email,login\n"
ANN = "a1,Ann Lee,ann@uni.edu,ann\n"
BO = "b2,Bo Chen,bo@uni.edu,bchen\n"


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text (as UTF-8) or bytes to ``roster.csv`` in a fresh folder and return its path."""

    def write(content: str | bytes, name: str = "roster.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def roster(write) -> Roster:
    return read_roster(write(HEADER + ANN + BO + "c3,Cy Diaz,cy@uni.edu,\n"))


def message(call: Callable[[], object]) -> str:
    """The RosterError ``call`` raises, checked to be one line."""
    with pytest.raises(RosterError) as raised:
        call()
    assert isinstance(raised.value, UsageError)
    text = str(raised.value)
    assert "\n" not in text and "\r" not in text
    return text


def test_the_roster_loads_no_heavy_library_and_no_other_grader_package():
    code = ("import sys, grader.roster; print(' '.join(sorted(m for m in sys.modules if "
            "m.split('.')[0] in ('torch', 'sqlalchemy', 'pandas', 'numpy', 'click') "
            "or m.startswith('grader.') and not m.startswith(('grader.roster', "
            "'grader.outcomes')))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr


# reading


def test_a_roster_reads_with_any_header_case_spacing_and_extra_columns(write):
    path = write(" ID ,NAME,  E-mail ,Email , SIS  ID,Login,Section,Notes\n"
                 " a1 , Ann Lee ,x, ann@uni.edu ,900, ann ,L01,likes \"quotes\"\n")
    assert read_roster(path) == Roster(
        (Student("a1", "Ann Lee", "ann@uni.edu", "900", "ann", "L01", row=2),), str(path))


def test_a_bom_and_crlf_line_ends_are_harmless(write):
    path = write(b"\xef\xbb\xbfid,name,email\r\na1,Ann Lee,ann@uni.edu\r\n")
    assert read_roster(path).students == (Student("a1", "Ann Lee", "ann@uni.edu", row=2),)


def test_rows_are_the_file_line_numbers_past_blank_lines_and_multiline_values(write):
    path = write("\nid,name,email,notes\n\n" + 'a1,Ann Lee,ann@uni.edu,"two\nlines"\n'
                 + "b2,Bo Chen,bo@uni.edu,\n")
    assert [(s.id, s.row) for s in read_roster(path).students] == [("a1", 4), ("b2", 6)]


def test_optional_columns_default_to_empty_and_short_rows_are_padded(write):
    path = write("id,name,email,section\na1,Ann Lee,ann@uni.edu\n")
    assert read_roster(path).students == (Student("a1", "Ann Lee", "ann@uni.edu", row=2),)


def test_empty_trailing_fields_from_a_spreadsheet_are_allowed(write):
    path = write("id,name,email\na1,Ann Lee,ann@uni.edu,, \n")
    assert read_roster(path).students == (Student("a1", "Ann Lee", "ann@uni.edu", row=2),)


def test_a_joiner_inside_a_name_is_kept(write):
    name = "Mohammad Ra\u200cfi"  # ZWNJ, which Persian spelling needs
    path = write(f"id,name,email\na1,{name},m@uni.edu\n")
    assert read_roster(path).students[0].name == name


def test_a_missing_file(tmp_path):
    path = tmp_path / "roster.csv"
    assert message(lambda: read_roster(path)) == (
        f"{path}: no such file; export the roster from your LMS as CSV and pass its path")


def test_a_folder(tmp_path):
    assert message(lambda: read_roster(tmp_path)) == (
        f"{tmp_path}: a folder, not a CSV file; pass the roster's .csv file")


@pytest.mark.parametrize("content, offset", [
    ("id,name,email\na1,José,j@uni.edu\n".encode("latin-1"), 20),
    (b"\xef\xbb\xbf" + "id,name,email\na1,José,j@uni.edu\n".encode("latin-1"), 23),
])
def test_a_latin1_file_says_where_and_how_to_save_it(write, content, offset):
    path = write(content)
    assert message(lambda: read_roster(path)) == (
        f"{path}: not UTF-8 (byte 0xe9 at offset {offset}); save it as UTF-8 CSV")


@pytest.mark.parametrize("content", ["", "\n \n", b"\xef\xbb\xbf", ",,\n"])
def test_an_empty_file(write, content):
    path = write(content)
    assert message(lambda: read_roster(path)) == (
        f"{path}: empty file; export the roster again, with its header row (id, name, email)")


FILE_ERRORS = {
    "missing columns": (
        "ID,Full Name,Mail\na1,Ann Lee,ann@uni.edu\n",
        ": missing required columns name, email (columns found: 'ID', 'Full Name', 'Mail'); "
        "name them in the header row"),
    "a column twice": (
        "id,name,email,Email\na1,Ann Lee,ann@uni.edu,ann@uni.edu\n",
        ": columns 3 ('email') and 4 ('Email') both mean email; delete one"),
    "no students": (
        "id,name,email\n\n",
        ": no students below the header; export the roster with its students"),
    "empty name": (
        HEADER + ANN + "b2, ,bo@uni.edu,\n",
        ", row 3: empty name; every student needs an id, a name and an email"),
    "empty id and email": (
        HEADER + ",Bo Chen,,bchen\n",
        ", row 2: empty id and email; every student needs an id, a name and an email"),
    "duplicate id": (
        HEADER + ANN + "A1,Bo Chen,bo@uni.edu,bchen\n",
        ", row 3: id 'A1' is also row 2's id 'a1', ignoring case; give each student their own"),
    "shared email": (
        HEADER + ANN + "b2,Bo Chen,ann@uni.edu,bchen\n",
        ", row 3: email 'ann@uni.edu' is also row 2's email; give each student their own"),
    "shared login": (
        HEADER + ANN + "b2,Bo Chen,bo@uni.edu,Ann\n",
        ", row 3: login 'Ann' is also row 2's login 'ann', ignoring case; give each student "
        "their own"),
    "a login that is another's id": (
        HEADER + ANN + "b2,Bo Chen,bo@uni.edu,a1\n",
        ", row 3: login 'a1' is also row 2's id: a submission named 'a1' would match both "
        "students; change one"),
    "an id that is another's email": (
        HEADER + ANN + "ann@uni.edu,Bo Chen,bo@uni.edu,\n",
        ", row 3: id 'ann@uni.edu' is also row 2's email: a submission named 'ann@uni.edu' "
        "would match both students; change one"),
    "more fields than the header": (
        HEADER + ANN + "b2,Chen, Bo,bo@uni.edu,bchen\n",
        ", row 3: 5 fields but the header has 4 columns; quote values that contain commas"),
    "not CSV": (
        HEADER + ANN + "b2," + "x" * 140_000 + ",bo@uni.edu,\n",
        ", row 3: not valid CSV (field larger than field limit (131072)); save it again as CSV"),
    "a control character": (
        HEADER + "a1,\x1b[31mAnn,ann@uni.edu,\n",
        ", row 2: name contains the control character U+001B; delete it"),
    "a NUL": (
        HEADER + "a1,Ann,ann@uni.edu,an\x00n\n",
        ", row 2: login contains the control character U+0000; delete it"),
    "an invisible character in a key": (
        HEADER + "a\u200b1,Ann,ann@uni.edu,\n",
        ", row 2: id contains the invisible character U+200B; delete it"),
}


@pytest.mark.parametrize("content, problem", FILE_ERRORS.values(), ids=FILE_ERRORS)
def test_a_roster_that_cannot_be_used_says_where_and_how_to_fix_it(write, content, problem):
    path = write(content)
    assert message(lambda: read_roster(path)) == f"{path}{problem}"


def test_the_error_carries_the_row(write):
    path = write(HEADER + ANN + "A1,Bo Chen,bo@uni.edu,bchen\n")
    with pytest.raises(RosterError) as raised:
        read_roster(path)
    assert (raised.value.source, raised.value.row) == (str(path), 3)


def test_rows_from_elsewhere_are_validated_the_same_way():
    rows = [{"ID": " a1", "Name": "Ann Lee", "Email": "ann@uni.edu", "Login": None},
            {"ID": 17, "Name": "Bo Chen", "Email": "bo@uni.edu", "Extra": "x"}]
    assert roster_from_rows(rows, "gradebook").students == (
        Student("a1", "Ann Lee", "ann@uni.edu", row=1),
        Student("17", "Bo Chen", "bo@uni.edu", row=2))
    rows.append({"id": "A1", "name": "Cy Diaz", "email": "cy@uni.edu"})
    assert message(lambda: roster_from_rows(rows, "gradebook")) == (
        "gradebook, row 3: id 'A1' is also row 1's id 'a1', ignoring case; give each student "
        "their own")
    assert message(lambda: roster_from_rows([{"id": "a1", "name": "Ann"}], "gradebook")) == (
        "gradebook: missing required columns email (columns found: 'id', 'name'); name them "
        "in the header row")
    assert message(lambda: roster_from_rows([], "gradebook")) == (
        "gradebook: no students below the header; export the roster with its students")


def test_dictreader_rows_with_more_fields_than_the_header():
    rows = csv.DictReader(io.StringIO("id,name,email\na1,Lee, Ann,ann@uni.edu\n"))
    assert message(lambda: roster_from_rows(rows, "export.csv")) == (
        "export.csv, row 1: 4 fields but the header has 3 columns; quote values that contain "
        "commas")


def test_a_roster_built_directly_is_checked_too():
    ann = Student("a1", "Ann Lee", "ann@uni.edu")
    assert message(lambda: Roster((ann, Student("A1", "Bo", "bo@uni.edu")), "")) == (
        "roster: id 'A1' is also Ann Lee's id 'a1', ignoring case; give each student their own")


@pytest.mark.parametrize("key", ["a1", "A1", "ann", "ANN", "ann@uni.edu", "Ann@Uni.EDU"])
def test_find_by_id_login_or_email_ignoring_case(roster, key):
    assert roster.find(key).id == "a1"


@pytest.mark.parametrize("key", ["Ann Lee", "zed", "", "a1 "])
def test_find_nothing_by_anything_else(roster, key):
    assert roster.find(key) is None


def test_find_folds_case_fully(write):
    path = write("id,name,email\nSTRASSE,Jo,jo@uni.edu\n")
    assert read_roster(path).find("straße").id == "STRASSE"


def test_keys_are_the_set_ones_casefolded(roster):
    assert Roster.keys(roster.students[0]) == (("id", "a1"), ("login", "ann"),
                                               ("email", "ann@uni.edu"))
    assert Roster.keys(roster.students[2]) == (("id", "c3"), ("email", "cy@uni.edu"))


# matching


def test_match_by_id_login_and_email_ignoring_case(roster):
    ann, bo, cy = roster.students
    found = match(roster, ["ANN", "bo@UNI.edu", "zed", "c3", "notes"])
    assert found.matched == {"ANN": ann, "bo@UNI.edu": bo, "c3": cy}
    assert found.unmatched == ("notes", "zed")
    assert found.missing == ()


def test_students_without_a_submission_are_missing_in_roster_order(roster):
    ann, bo, cy = roster.students
    found = match(roster, ["bchen"])
    assert found.matched == {"bchen": bo}
    assert (found.unmatched, found.missing) == ((), (ann, cy))


def test_two_submissions_for_one_student_are_an_error(roster):
    assert message(lambda: match(roster, ["ann@uni.edu", "Ann", "bchen"])) == (
        f"{roster.source}, row 2: submissions 'Ann' and 'ann@uni.edu' both belong to Ann Lee "
        "(id 'a1'); remove or rename one")


@pytest.mark.parametrize("wanted, submission", [
    ("Ann", "Ann"),  # the folder's own name
    ("a1", "Ann"),  # the student's id
    ("BO@uni.edu", "bchen"),  # an email, whatever its case
    ("zed", "zed"),  # a folder no one in the roster owns
    ("ZED", "zed"),
    ("Xy", "Xy"),  # the exact name, among its case variants
])
def test_resolve_finds_one_submission(roster, wanted, submission):
    assert resolve(roster, ["Ann", "bchen", "zed", "Xy", "XY"], wanted) == submission


def test_resolve_something_unknown(roster):
    assert message(lambda: resolve(roster, ["Ann"], "dave")) == (
        f"{roster.source}: 'dave' is no submission's name and no student's id, login or email; "
        "check the spelling")


def test_resolve_a_student_without_a_submission(roster):
    assert message(lambda: resolve(roster, ["Ann", "zed"], "cy@uni.edu")) == (
        f"{roster.source}, row 4: Cy Diaz (id 'c3') has no submission among the 2 found")


def test_resolve_a_student_with_two_submissions(roster):
    assert message(lambda: resolve(roster, ["ann", "a1", "bchen"], "ann@uni.edu")) == (
        f"{roster.source}, row 2: Ann Lee (id 'a1') has 2 submissions ('a1', 'ann'); remove "
        "or rename all but one")


def test_resolve_case_variants_of_a_name_without_a_student(roster):
    assert message(lambda: resolve(roster, ["Xy", "XY"], "xy")) == (
        f"{roster.source}: 'xy' matches 2 submissions ignoring case ('XY', 'Xy'); pass the "
        "exact name")


# LMS layouts

FULL = Student("a1", "Ann Lee", "ann@uni.edu", sis_id="900", login="ann", section="L01")
BARE = Student("a1", "Ann Lee", "ann@uni.edu")


@pytest.mark.parametrize("lms, columns, full, bare", [
    ("canvas", ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"),
     ("Ann Lee", "a1", "900", "ann", "L01"), ("Ann Lee", "a1", "", "", "")),
    ("gradescope", ("Name", "SID", "Email"),
     ("Ann Lee", "900", "ann@uni.edu"), ("Ann Lee", "", "ann@uni.edu")),
    ("moodle", ("Full name", "ID number", "Username", "Email address"),
     ("Ann Lee", "900", "ann", "ann@uni.edu"), ("Ann Lee", "", "", "ann@uni.edu")),
])
def test_each_lms_layout_gives_a_students_cells(lms, columns, full, bare):
    layout = LAYOUTS[lms]
    assert (layout.name, layout.columns) == (lms, columns)
    assert layout.cells(FULL) == full
    assert layout.cells(BARE) == bare


def test_the_layouts_are_the_three_lms():
    assert sorted(LAYOUTS) == ["canvas", "gradescope", "moodle"]
