"""`grader serve` in headless Chromium, against a real server with a real grading worker: a
student logs in, hands in through the form and watches the result page turn into the score by
itself; staff see the queue and the scores; a student id that is html stays text. Without a
browser: a pending page refreshes itself with script off, and every page allows no script but
our own /static/poll.js (docs/service.md).

A job is held pending on purpose by handing in, just before it, a file that sleeps on import:
the one worker grades in order of arrival, so the job behind it waits at least that long.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import browser
import pytest
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from served import STUDENT_FILE, buggy, issue, reference, serving, wait_until_done

from grader.gradebook import JobState
from grader.service.auth import SESSION_COOKIE

if browser.missing():
    pytest.skip(browser.missing(), allow_module_level=True)

WIDTH, HEIGHT = 1366, 768
PATIENCE = 300.0  # seconds for one grading on a loaded machine, the worker's start included
SLEEP = 10  # seconds the sleeper holds the worker: the job handed in after it stays pending
HTML_ID = "<img src=x onerror=alert(1)>"
PENDING = ("queued", "running")


@pytest.fixture(scope="module")
def served(tmp_path_factory, data_root):
    """One server for the module, one grading worker; a student may hand in again at once."""
    with serving(tmp_path_factory.mktemp("served-browser"), "submit_interval = 0",
                 data_root) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(served) -> dict[str, str]:
    students = ["sam", "ann", "slow", HTML_ID]
    issued = dict(zip(students, issue(served.db, students=students), strict=True))
    issued["staff"] = issue(served.db, staff="ta")[0]
    return issued


@pytest.fixture(scope="module")
def driver():
    chromium = browser.chromium(WIDTH, HEIGHT)
    yield chromium
    chromium.quit()


@pytest.fixture(scope="module")
def graded(served, tokens) -> dict[str, dict]:
    """ann's reference and the html-named student's buggy file, handed in through the API and
    graded: their results by student."""
    results = {}
    for student, text in (("ann", reference(served.course)), (HTML_ID, buggy(served.course))):
        with served.client(tokens[student]) as client:
            answer = client.post("/api/submissions", data={"assignment": "huber"},
                                 files=[("files", (STUDENT_FILE, text.encode()))])
            assert answer.status_code == 202, answer.text
            results[student] = wait_until_done(client, answer.json()["id"], PATIENCE)
        assert results[student]["status"] == "done", results[student]
    return results


@pytest.fixture
def as_staff(driver, served, tokens, graded):
    """The browser on /staff, logged in as staff, once ann and the html student are graded."""
    log_in(driver, served, tokens["staff"], lands_on="/staff")
    return driver


def path(driver) -> str:
    return urlsplit(driver.current_url).path


def log_in(driver, served, token: str, lands_on: str) -> None:
    """Log in through the login form, as whoever the browser was logged in as before."""
    driver.get(f"{served.url}/login")
    driver.delete_all_cookies()  # the session of an earlier test, and this page's login value
    driver.get(f"{served.url}/login")
    driver.find_element(By.NAME, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: path(d) == lands_on,
                                    f"logging in did not lead to {lands_on}")


def hold_the_worker(served, tokens) -> int:
    """Hand in (as ``slow``) the reference with a sleep at its end: the worker is busy for at
    least SLEEP seconds once it takes it. Returns its job id."""
    text = f"{reference(served.course)}\n\nimport time\n\ntime.sleep({SLEEP})\n"
    with served.client(tokens["slow"]) as client:
        answer = client.post("/api/submissions", data={"assignment": "huber"},
                             files=[("files", (STUDENT_FILE, text.encode()))])
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def body_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def rows(table) -> list[list[str]]:
    """The text of each cell of ``table``'s body, row by row."""
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def test_a_student_hands_in_and_the_result_page_shows_the_score_by_itself(
        driver, served, tokens, tmp_path):
    mine = tmp_path / STUDENT_FILE
    mine.write_text(reference(served.course))
    log_in(driver, served, tokens["sam"], lands_on="/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Your assignments"
    hold_the_worker(served, tokens)
    Select(driver.find_element(By.NAME, "assignment")).select_by_value("huber")
    driver.find_element(By.NAME, "files").send_keys(str(mine.resolve()))
    driver.find_element(By.CSS_SELECTOR, "form[action='/submit'] button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: re.fullmatch(r"/submissions/\d+", path(d)),
                                    "handing in did not lead to the submission's page")

    assert driver.find_element(By.ID, "status").text in PENDING
    assert "This page updates by itself when grading ends." in body_text(driver)
    driver.execute_script("window.seenBefore = true")  # gone once the page has reloaded
    WebDriverWait(driver, PATIENCE, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(
        lambda d: "Score: 4 / 4" in body_text(d),
        f"the result page did not show the score within {PATIENCE} s")
    assert driver.execute_script("return window.seenBefore") is None, "the page was not reloaded"
    assert driver.find_element(By.ID, "status").text == "done"

    driver.find_element(By.LINK_TEXT, "Back to your assignments").click()
    WebDriverWait(driver, 60).until(lambda d: path(d) == "/", "the link did not lead home")
    huber = driver.find_element(By.XPATH, "(//table)[1]/tbody/tr[td[1]/code = 'huber']")
    latest = huber.find_elements(By.TAG_NAME, "td")[4].text
    assert latest == "4 / 4", f"huber's latest score reads {latest!r}: {huber.text!r}"


def test_staff_see_the_queue_and_the_scores(as_staff):
    counts = as_staff.find_element(By.ID, "queue-counts").text
    shown = {state: re.search(rf"\b{state.value}: (\d+)", counts) for state in JobState}
    assert all(shown.values()), f"a state is missing from the queue counts: {counts!r}"
    assert int(shown[JobState.DONE].group(1)) >= 2, counts  # ann's and the html student's
    huber = as_staff.find_element(By.CSS_SELECTOR, "table.scores[data-assignment='huber']")
    by_student = {row[0]: row for row in rows(huber)}
    assert by_student["ann"][2:4] == ["4", "4"], by_student["ann"]  # score, max


def test_a_student_id_that_is_html_stays_text_on_the_staff_page(as_staff, graded):
    with pytest.raises(NoAlertPresentException):
        as_staff.switch_to.alert  # noqa: B018 (reading it is what looks for an alert)
    huber = as_staff.find_element(By.CSS_SELECTOR, "table.scores[data-assignment='huber']")
    by_student = {row[0]: row for row in rows(huber)}
    assert HTML_ID in by_student, f"{HTML_ID!r} is not shown as text: {sorted(by_student)}"
    assert by_student[HTML_ID][2] == f"{graded[HTML_ID]['result']['score']:g}"
    assert huber.find_elements(By.TAG_NAME, "img") == []


def test_a_pending_page_refreshes_itself_without_script_and_a_graded_one_stops(served, tokens):
    job = hold_the_worker(served, tokens)
    cookies = {SESSION_COOKIE: tokens["slow"]}
    with served.client(cookies=cookies) as client:
        pending = client.get(f"/submissions/{job}")
        assert pending.status_code == 200, pending.text
        assert re.search(rf'data-status="({"|".join(PENDING)})"', pending.text), pending.text
        assert '<noscript><meta http-equiv="refresh"' in pending.text
        assert '<script src="/static/poll.js"' in pending.text
        with served.client(tokens["slow"]) as api:
            wait_until_done(api, job, PATIENCE)
        done = client.get(f"/submissions/{job}")
    assert done.status_code == 200 and 'data-status="done"' in done.text, done.text
    assert 'http-equiv="refresh"' not in done.text and "poll.js" not in done.text


def csp(response) -> dict[str, list[str]]:
    """The response's content-security-policy, directive by directive."""
    policy = response.headers.get("content-security-policy", "")
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def test_pages_allow_no_script_but_poll_js_which_is_served_as_javascript(served, tokens):
    with served.client(tokens["sam"]) as api:
        job = api.post("/api/submissions", data={"assignment": "huber"},
                       files=[("files", (STUDENT_FILE, buggy(served.course).encode()))])
        assert job.status_code == 202, job.text
    with served.client(cookies={SESSION_COOKIE: tokens["sam"]}) as client:
        for page in ("/login", "/", f"/submissions/{job.json()['id']}"):
            answer = client.get(page)
            assert answer.status_code == 200, (page, answer.status_code)
            assert csp(answer).get("script-src") == ["'self'"], (page, csp(answer))
        script = client.get("/static/poll.js")
    assert script.status_code == 200
    assert script.headers["content-type"].split(";")[0] in ("text/javascript",
                                                             "application/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "location.reload()" in script.text
