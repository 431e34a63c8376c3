"""What the browser tests share: a `callqa dashboard` served on a free port, headless Chromium, and waits
for a page that redraws under the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NO_CHROMIUM = pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="/usr/bin/chromium is absent (apt-get install chromium chromium-driver)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dashboard(store: Path, *options: str, port: int | None = None) -> Iterator[str]:
    """`callqa dashboard --db store [options]` until the block ends; yields its address once it answers."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from qa.cli import main; main()", "dashboard", "--db", str(store), "--port", str(port),
         *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"callqa dashboard exited: {proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("callqa dashboard did not answer within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """A headless Chromium driven by Selenium, with its own profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1500,1100",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = Service(str(CHROMEDRIVER)) if CHROMEDRIVER.exists() else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, timeout=40):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # the page redraws under the test: an element found a moment ago may be gone, so look again
    redrawn = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=redrawn).until(condition)


def text_present(text):
    from selenium.webdriver.common.by import By

    def check(driver):
        return text in driver.find_element(By.TAG_NAME, "body").text
    return check


def idle(driver, timeout=40):
    """Streamlit shows a running indicator while a script reruns; wait until it is gone."""
    from selenium.webdriver.common.by import By

    time.sleep(0.5)
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'), timeout)
