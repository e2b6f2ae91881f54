"""`grader serve` as a class uses it, through a real uvicorn server on a loopback port with a
real grading worker: hand in and read the result `grader check --json` gives for the same file,
who may see what, retries, the deadline and the rate limit, and every bad upload answered in one
sentence with nothing stored (issue 17, docs/service.md)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest
from served import (
    COURSE,
    STUDENT_FILE,
    buggy,
    issue,
    reference,
    serving,
    wait_until_done,
)
from sqlalchemy import func, select

from grader import options
from grader.gradebook import Gradebook
from grader.gradebook import tokens as stored_tokens
from grader.gradebook.models import JobRow

PER_DAY = 3  # the course's submits_per_day: the rate-limit test hands in one more


@pytest.fixture(scope="module")
def served(tmp_path_factory, data_root):
    """One server for the module: its course lets a student hand in at once, PER_DAY times a
    day, at most 1 MiB an upload."""
    with serving(tmp_path_factory.mktemp("served"), f"""
            submit_interval = 0
            submits_per_day = {PER_DAY}
            upload_limit_mb = 1
            """, data_root) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(served):
    students = ["ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon"]
    issued = dict(zip(students, issue(served.db, students=students), strict=True))
    issued["staff"] = issue(served.db, staff="ta")[0]
    return issued


def jobs(served) -> int:
    with Gradebook(served.db) as book, book.session() as session:
        return session.scalar(select(func.count()).select_from(JobRow))


def hand_in(served, token, files, assignment="huber", **extra):
    with served.client(token) as client:
        return client.post("/api/submissions", data={"assignment": assignment}, files=files,
                           **extra)


def as_py(text: str, name: str = STUDENT_FILE):
    return [("files", (name, text.encode()))]


def zipped(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    """A zip of ``members``; those named in ``links`` are symbolic links to their data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in links:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def checked(result: dict) -> list[tuple]:
    """A result's checks without their durations, which differ between two gradings."""
    return [(c["id"], c["status"], c["points"], c["max_points"], c["message"], c["hint"])
            for c in result["checks"]]


def test_a_graded_upload_answers_what_grader_check_prints(served, tokens, tmp_path):
    scores = []
    for text in (reference(served.course), buggy(served.course)):
        answer = hand_in(served, tokens["ann"], as_py(text, "my attempt.py"))
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "queued" and answer.json()["position"] >= 0
        with served.client(tokens["ann"]) as client:
            done = wait_until_done(client, answer.json()["id"])
        assert done["status"] == "done" and done["student"] == "ann"
        local = tmp_path / STUDENT_FILE
        local.write_text(text)
        printed = subprocess.run(
            [sys.executable, "-m", "grader", "check", str(local), "-a", "huber", "--course",
             str(served.course), "--json"], capture_output=True, text=True, check=True)
        expected = json.loads(printed.stdout)
        result = done["result"]
        assert checked(result) == checked(expected)
        assert (result["score"], result["max_score"], result["status"]) == (
            expected["score"], expected["max_score"], expected["status"])
        scores.append((result["score"], result["max_score"]))
    (right, most), (wrong, _) = scores
    assert right == most > wrong  # the two files were graded apart


def test_a_student_sees_only_their_own_and_staff_see_everyone(served, tokens):
    first = hand_in(served, tokens["ben"], as_py(reference(served.course))).json()["id"]
    with served.client(tokens["cat"]) as cat, served.client(tokens["ben"]) as ben:
        others = cat.get(f"/api/submissions/{first}")
        missing = cat.get("/api/submissions/999999")
        assert (others.status_code, missing.status_code) == (404, 404)
        # the same answer, word for word but the id: nothing tells the two apart
        assert others.json()["detail"].replace(str(first), "N") == \
            missing.json()["detail"].replace("999999", "N")
        assert ben.get(f"/api/submissions/{first}").status_code == 200
        assert [s["id"] for s in cat.get("/api/submissions").json()["submissions"]] == []
        mine = ben.get("/api/submissions", params={"assignment": "huber"}).json()
        assert first in [s["id"] for s in mine["submissions"]]
    with served.client(tokens["staff"]) as staff:
        assert staff.get(f"/api/submissions/{first}").json()["student"] == "ben"
        everyone = {s["student"] for s in staff.get("/api/submissions").json()["submissions"]}
        assert {"ben"} <= everyone
        assert staff.get("/api/queue").status_code == 200
    with served.client(tokens["ben"]) as ben:
        assert ben.get("/api/queue").status_code == 403


def test_a_revoked_token_or_none_at_all_is_401(served, tokens):
    with Gradebook(served.db) as book:
        [(_, token)] = stored_tokens.issue(book, COURSE, students=["zed"])
    assert hand_in(served, token, as_py(reference(served.course))).status_code == 202
    with Gradebook(served.db) as book:
        stored_tokens.revoke(book, COURSE, token=token)
    before = jobs(served)
    for sent in (token, None, "grd_not-a-token", "x" * 5000):
        answer = hand_in(served, sent, as_py(reference(served.course)))
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "token" in answer.json()["detail"]
    assert jobs(served) == before
    with served.client(token) as client:
        assert client.get("/api/assignments").status_code == 401


def test_a_retried_upload_is_the_first_submission_not_a_second(served, tokens):
    before = jobs(served)
    key = {"idempotency-key": "upload-of-monday-1"}
    first = hand_in(served, tokens["dan"], as_py(reference(served.course)), headers=key)
    again = hand_in(served, tokens["dan"], as_py(reference(served.course)), headers=key)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert jobs(served) == before + 1


def test_the_rate_limit_answers_429_with_when_to_come_back(served, tokens):
    for _ in range(PER_DAY):
        assert hand_in(served, tokens["eve"], as_py(buggy(served.course))).status_code == 202
    before = jobs(served)
    refused = hand_in(served, tokens["eve"], as_py(buggy(served.course)))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert f"{PER_DAY} times in the last 24 hours" in refused.json()["detail"]
    assert jobs(served) == before


def test_late_work_is_taken_with_its_lateness_and_closed_work_refused(served, tokens):
    late = hand_in(served, tokens["fay"], as_py(reference(served.course)),
                   assignment="late_huber")
    assert late.status_code == 202, late.text
    with served.client(tokens["fay"]) as client:
        body = client.get(f"/api/submissions/{late.json()['id']}").json()
        assert 2.0 < body["late_days"] < 2.1
        listed = {a["name"]: a for a in client.get("/api/assignments").json()["assignments"]}
    assert listed["late_huber"]["late_penalty"] == 0.1 and listed["late_huber"]["deadline"]
    before = jobs(served)
    closed = hand_in(served, tokens["fay"], as_py(reference(served.course)),
                     assignment="closed_huber")
    assert closed.status_code == 403
    assert "closed at" in closed.json()["detail"] and "deadline was" in closed.json()["detail"]
    assert jobs(served) == before


def traversal() -> bytes:
    return zipped({"../../evil.py": b"x", STUDENT_FILE: b"x"})


def with_link() -> bytes:
    return zipped({STUDENT_FILE: b"/etc/passwd"}, links=(STUDENT_FILE,))


def many_entries() -> bytes:
    extra = {f"f{i}.txt": b"" for i in range(options.UPLOAD_ZIP_ENTRIES)}
    return zipped({STUDENT_FILE: b"x", **extra})


def unpacks_large() -> bytes:
    return zipped({STUDENT_FILE: b"x", "big.bin": bytes(options.UPLOAD_ZIP_BYTES + 1)})


@pytest.mark.parametrize("files, status, words", [
    (lambda: [("files", ("big.py", bytes(2 * 2**20)))], 413, "larger than"),
    (lambda: [("files", ("ok.zip", traversal()))], 400, "evil.py"),
    (lambda: [("files", ("ok.zip", with_link()))], 400, "link"),
    (lambda: [("files", ("ok.zip", many_entries()))], 400, "entries"),
    (lambda: [("files", ("ok.zip", unpacks_large()))], 400, "unpacks to"),
    (lambda: [("files", ("notes.txt", b"hello"))], 400, "not a .py, .ipynb or .zip"),
    (lambda: [("files", ("<b>x.py", b""))], 400, "empty"),
], ids=["too large", "path traversal", "a link", "too many entries", "unpacks too large",
        "not code", "empty"])
def test_a_bad_upload_is_refused_in_one_sentence_and_nothing_is_stored(
        served, tokens, files, status, words):
    before = jobs(served)
    answer = hand_in(served, tokens["gus"], files())
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert words in detail and "\n" not in detail
    assert jobs(served) == before


def test_a_body_that_streams_past_the_limit_is_cut_off_with_413(served, tokens):
    def chunks():
        yield (b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.py"'
               b"\r\n\r\n")
        for _ in range(40):  # 2.5 MiB in all, sent without a Content-Length
            yield bytes(64 * 1024)

    before = jobs(served)
    with served.client(tokens["gus"]) as client:
        answer = client.post("/api/submissions", content=chunks(),
                             headers={"content-type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 413
    assert "larger than" in answer.json()["detail"]
    assert jobs(served) == before


def test_unknown_assignment_404_and_a_body_that_is_not_multipart_422(served, tokens):
    before = jobs(served)
    unknown = hand_in(served, tokens["gus"], as_py("x = 1\n"), assignment="no_such")
    assert unknown.status_code == 404 and "no assignment 'no_such'" in unknown.json()["detail"]
    with served.client(tokens["gus"]) as client:
        as_json = client.post("/api/submissions", json={"assignment": "huber"})
    assert as_json.status_code == 422
    assert "multipart/form-data" in as_json.json()["detail"]
    assert jobs(served) == before


def test_the_api_is_described_on_a_page_that_loads_nothing_from_elsewhere(served):
    with served.client() as client:
        schema = client.get("/api/openapi.json").json()
        page = client.get("/api")
        swagger = client.get("/docs")
    assert {"/api/submissions", "/api/submissions/{job_id}", "/api/assignments"} <= set(
        schema["paths"])
    refusals = schema["paths"]["/api/submissions"]["post"]["responses"]
    assert {"202", "400", "401", "403", "404", "413", "422", "429"} <= set(refusals)
    assert page.status_code == 200
    assert "POST /api/submissions" in page.text and "Retry-After" in page.text
    assert "https://" not in page.text  # Swagger UI's CDN scripts are not used
    assert swagger.status_code == 404


def submit(served, token, *arguments):
    """`grader submit` as a student runs it, its token in the environment."""
    environment = {**os.environ, "GRADER_URL": served.url, "GRADER_TOKEN": token}
    return subprocess.run([sys.executable, "-m", "grader", "submit", *arguments],
                          capture_output=True, text=True, env=environment, timeout=600)


def test_grader_submit_waits_and_prints_what_grader_check_prints(served, tokens, tmp_path):
    mine = tmp_path / STUDENT_FILE
    mine.write_text(buggy(served.course))
    done = submit(served, tokens["hal"], str(mine), "-a", "huber", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    checked_here = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(mine), "-a", "huber", "--course",
         str(served.course), "--json"], capture_output=True, text=True, check=True)
    assert checked(result) == checked(json.loads(checked_here.stdout))
    assert "queued" in done.stderr and f"{served.url}/submissions/" in done.stderr
    printed = submit(served, tokens["hal"], str(mine), "-a", "huber")
    assert printed.returncode == 0 and "huber_loss" in printed.stdout


def test_grader_submit_says_why_it_was_refused_in_one_line(served, tokens, tmp_path):
    mine = tmp_path / STUDENT_FILE
    mine.write_text(reference(served.course))
    closed = submit(served, tokens["ivy"], str(mine), "-a", "closed_huber")
    wrong = submit(served, "grd_nonsense", str(mine), "-a", "huber")
    missing = submit(served, tokens["ivy"], str(tmp_path / "nowhere.py"), "-a", "huber")
    assert (closed.returncode, wrong.returncode, missing.returncode) == (2, 2, 2)
    assert "answered 403" in closed.stderr and "closed at" in closed.stderr
    assert "answered 401" in wrong.stderr
    assert "cannot read" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


def test_no_page_and_no_log_line_shows_a_token(served, tokens):
    token = tokens["jon"]
    job = hand_in(served, token, as_py(reference(served.course))).json()["id"]
    with served.client() as client:
        form = client.get("/login")
        value = re.search(r'name="login_value" value="([^"]+)"', form.text).group(1)
        home = client.post("/login", data={"token": token, "login_value": value},
                           follow_redirects=True)
        assert home.status_code == 200 and "Your assignments" in home.text
        pages = [home.text, client.get(f"/submissions/{job}").text]
        wrong = client.post("/login", data={"token": token[:-1], "login_value": value})
    assert wrong.status_code in (401, 403)
    assert all(token not in page and token[:-1] not in page for page in pages)
    assert token not in served.log.read_text() and token[:-1] not in served.log.read_text()
