"""End to end: `callqa dashboard` served on localhost, driven in headless Chromium.

Opens a call, plays from a finding, records a verdict through the page and
finds it in DuckDB. Screenshots land in test-artifacts/ for a human to look at.
Set CALLQA_BROWSER_DB to a store written by `callqa score` to drive real
batch output instead of the generated one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
sys.path.insert(0, str(ROOT))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (apt-get install chromium chromium-driver)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    given = os.environ.get("CALLQA_BROWSER_DB")
    folder = tmp_path_factory.mktemp("browser")
    path = folder / "calls.duckdb"
    if given:
        shutil.copy(given, path)  # reviews are written; never touch the original
    else:
        from bench.make_db import make_db

        make_db(path, n_calls=40, findings_per_call=3, seed=21, nights=4, audio_dir=folder / "audio")
    return path


@pytest.fixture(scope="module")
def server(store):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from qa.cli import main; main()", "dashboard", "--db", str(store), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
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
        proc.terminate()
        pytest.fail("callqa dashboard did not answer within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1500,1100",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    service = Service(str(CHROMEDRIVER)) if CHROMEDRIVER.exists() else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=40):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _text_present(text):
    from selenium.webdriver.common.by import By

    def check(driver):
        return text in driver.find_element(By.TAG_NAME, "body").text
    return check


def _idle(driver, timeout=40):
    """Streamlit shows a running indicator while a script reruns; wait until it is gone."""
    from selenium.webdriver.common.by import By

    time.sleep(0.5)
    _wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'), timeout)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(float(seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


def _shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = "batch_" if os.environ.get("CALLQA_BROWSER_DB") else ""
    path = ARTIFACTS / f"{prefix}{name}.png"
    driver.save_screenshot(str(path))
    return path


def test_open_call_play_from_finding_and_record_verdict(server, browser, store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from qa.scoring.db import reading
    from qa.scoring.queries import call_findings

    with reading(store) as con:
        # a finding well into the call, so playing from it differs from playing from the start
        call_id = con.execute(
            "SELECT call_id FROM findings WHERE start_s > 5 ORDER BY matched_phrase IS NULL, call_id LIMIT 1"
        ).fetchone()[0]
        findings = call_findings(con, call_id)
        index = int((findings["start_s"] > 5).to_numpy().argmax())
        first = findings.iloc[index]

    browser.get(server)
    _wait(browser, _text_present("Call quality overview"))
    _wait(browser, _text_present("Most failed rules"))
    _idle(browser)
    _shot(browser, "01_overview")

    browser.get(f"{server}/Calls")
    _wait(browser, _text_present("calls match"))
    _idle(browser)
    _shot(browser, "02_calls")

    browser.get(f"{server}/Call_detail?call_id={quote(call_id)}")
    _wait(browser, _text_present("Transcript"))
    _idle(browser)
    _shot(browser, "03_call_detail")

    button = next(b for b in browser.find_elements(By.TAG_NAME, "button") if f"Play from {_clock(first.start_s)}" in b.text)
    button.click()
    expected = max(0.0, float(first.start_s) - 0.5)
    _wait(browser, _text_present(f"Playing from {_clock(expected)}"))
    _idle(browser)
    audio = _wait(browser, lambda d: d.find_elements(By.TAG_NAME, "audio"))[0]
    _wait(browser, lambda d: d.execute_script("return arguments[0].readyState", audio) >= 1)
    position = browser.execute_script("return arguments[0].currentTime", audio)
    # The player starts at the finding (it may already have played a moment on a busy machine).
    assert expected - 0.5 <= position <= expected + 3.0, position
    _shot(browser, "04_playing_from_finding")

    reviewer = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="Reviewer"]')
    reviewer.send_keys(Keys.CONTROL, "a")
    reviewer.send_keys("inspector-browser", Keys.ENTER)
    _idle(browser)
    form = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stForm"]')[index]
    next(label for label in form.find_elements(By.TAG_NAME, "label") if "false positive" in label.text).click()
    form.find_element(By.CSS_SELECTOR, 'input[aria-label="Comment"]').send_keys("背景噪音,不是坐席")
    next(b for b in form.find_elements(By.TAG_NAME, "button") if "Save verdict" in b.text).click()
    _wait(browser, _text_present("false_positive by inspector-browser"))
    _idle(browser)
    _shot(browser, "05_verdict_saved")

    with reading(store) as con:
        row = con.execute(
            "SELECT call_id, verdict, reviewer, comment FROM reviews WHERE finding_id = ? ORDER BY review_id DESC",
            [first.finding_id],
        ).fetchone()
    assert row == (call_id, "false_positive", "inspector-browser", "背景噪音,不是坐席")


def test_phrase_library_and_rulebook_pages(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{server}/Phrase_library")
    box = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'input[aria-label="Phrase"]'))[0]
    box.send_keys("您好", Keys.ENTER)  # in every greeting, generated or recorded
    _wait(browser, _text_present("hits, best first"))
    _idle(browser)
    _shot(browser, "06_phrase_library")

    browser.get(f"{server}/Rulebook")
    _wait(browser, _text_present("version"))
    _idle(browser)
    _shot(browser, "07_rulebook")
    assert "answer.rings" in browser.find_element(By.TAG_NAME, "body").text
