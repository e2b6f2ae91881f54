"""Debian's chromium, headless under selenium, for the tests that look at pages in a browser
(`make browser` installs chromium and chromium-driver)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")  # Debian's chromium-driver


def missing() -> str:
    """Why no browser test can run here: "" when chromium and its driver are installed."""
    if CHROMIUM.is_file() and CHROMEDRIVER.is_file():
        return ""
    return (f"no {CHROMIUM} or {CHROMEDRIVER}: `make browser` installs Debian's chromium and "
            "chromium-driver")


def chromium(width: int, height: int) -> webdriver.Chrome:
    """Headless chromium with a ``width`` x ``height`` window; the caller quits it."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    # a driver given by path: selenium never looks for one on the network
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


# Elements whose right edge is past the window and that no box scrolling sideways holds.
_STICKING_OUT = """
const width = document.documentElement.clientWidth;
const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const held = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (p === document.body) return false;
    if (scrolls(p)) return p.getBoundingClientRect().right <= width; } return false; };
return [...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5 && !held(el))
    .slice(0, 5).map(el => `<${el.tagName.toLowerCase()}> ${Math.round(
        el.getBoundingClientRect().right)} px: ${el.textContent.slice(0, 60)}`);
"""


def assert_fits(driver, width: int) -> None:
    """Nothing on the page is wider than the ``width``-pixel window, or sticks out of it, but
    what a box that scrolls sideways holds."""
    __tracebackhide__ = True
    inner = driver.execute_script("return window.innerWidth")
    assert inner == width, f"the window is {inner} px wide, not {width}"
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    out = driver.execute_script(_STICKING_OUT)
    assert wide <= inner, f"the page is {wide} px wide, wider than the window ({inner} px): {out}"
    assert not out, f"elements past the window's right edge, in no scrolling box: {out}"


def assert_links_resolve(driver) -> int:
    """Every <a href> leads somewhere: an element with its id, or a file on disk."""
    __tracebackhide__ = True
    links = driver.execute_script(
        "return [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), "
        "a.href, a.hash ? !!document.getElementById(decodeURIComponent(a.hash.slice(1))) "
        ": null])")
    for written, resolved, found in links:
        if written.startswith("#"):
            assert found, f"no element with the id of the link {written!r}"
            continue
        url = urlsplit(resolved)
        assert url.scheme == "file", f"a link off this computer: {written!r}"
        assert Path(unquote(url.path)).is_file(), f"{written!r} points to no file ({resolved})"
    return len(links)
