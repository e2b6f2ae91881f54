"""Debian's chromium, headless under selenium, for the tests that look at pages in a browser
(`make browser` installs chromium and chromium-driver)."""

from __future__ import annotations

from pathlib import Path

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
