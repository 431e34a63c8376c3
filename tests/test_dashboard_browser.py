"""End to end: `callqa dashboard` served on localhost, driven in headless Chromium.

Everyone signs in (the store has accounts). A supervisor works the queue by
keyboard and the verdicts land in DuckDB; a finding plays from its moment
(read back from the player's seek) and stops at its end; the call page speaks
Chinese without a rule id; a trainer's second search exports only its own
hits; each role opens what the matrix gives it and no more, and a trainer's
pages never hold a fixture's personal number. Screenshots at 1440, 1280 and
1024 px land in test-artifacts/ for a human to look at.
Set CALLQA_BROWSER_DB to a store written by `callqa score` to drive real
batch output instead of the generated one.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
sys.path.insert(0, str(ROOT))

from browsing import NO_CHROMIUM, chromium, dashboard, idle, text_present, wait  # noqa: E402

from qa.access.roles import Viewer  # noqa: E402
from qa.i18n import translations  # noqa: E402

SUPERVISOR = Viewer("zhao", "supervisor")

pytestmark = [pytest.mark.browser, NO_CHROMIUM]


PASSWORD = "browser test password"
TEAM = "北区一组"
ACCOUNTS = {"zhao": ("supervisor", None), "li": ("inspector", None), "inspector-plan": ("inspector", None),
            "lead-wang": ("team_lead", TEAM), "sun": ("trainer", None), "root": ("admin", None)}


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
    from built_calls import pii_call, voice_wav
    from qa.access.accounts import add_account
    from qa.scoring.db import writing
    from qa.scoring.store import save_call

    voice_wav(folder / "pii.wav", 24.0)
    save_call(path, pii_call("客户来电/手机号", folder / "pii.wav", team=TEAM))  # a call with a personal number
    with writing(path) as con:
        for name, (role, team) in ACCOUNTS.items():
            add_account(con, name, role, PASSWORD, team)
    return path


@pytest.fixture(scope="module")
def server(store):
    with dashboard(store) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def _act(driver, find, action) -> None:
    """Find an element and act on it once the page lets it be used: on a slow machine an expander may
    still be opening, or a redraw replace the element, when it is first found."""
    from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException

    def done(d) -> bool:  # `wait` already looks again after a missing or redrawn element
        try:
            action(find(d))
        except (StopIteration, ElementNotInteractableException, ElementClickInterceptedException):
            return False
        return True
    wait(driver, done)


def _shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = "batch_" if os.environ.get("CALLQA_BROWSER_DB") else ""
    path = ARTIFACTS / f"{prefix}{name}.png"
    driver.save_screenshot(str(path))
    return path


zh = translations("zh_CN").gettext
SEEKS = "window.__seeks = []; document.addEventListener('seeked', e => window.__seeks.push(e.target.currentTime), true);"


def _sign_in(driver, name: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form the page shows."""
    from selenium.webdriver.common.by import By

    def form(d):  # both fields and the button of one drawn form (the page may still be loading)
        fields = [d.find_elements(By.CSS_SELECTOR, f'input[aria-label="{zh(label)}"]')
                  for label in ("Account name", "Password")]
        buttons = [b for b in d.find_elements(By.CSS_SELECTOR, '[data-testid="stForm"] button') if b.text == zh("Sign in")]
        return (fields[0][0], fields[1][0], buttons[0]) if all(fields) and buttons else None

    box, secret, button = wait(driver, form)
    box.send_keys(name)
    secret.send_keys(password)
    button.click()
    idle(driver)


def _open(driver, url: str, account: str = "zhao") -> None:
    """Load a page (a fresh session: the sign-in form), sign `account` in, and note every seek of the player."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.get(url)
    _sign_in(driver, account)
    wait(driver, text_present(zh("Signed in as {name} ({role})").split("{")[0] + account))
    driver.execute_script(SEEKS)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()  # out of any field: from here on, keys are shortcuts
    idle(driver)


def _judging(driver) -> str:
    """The finding the page shows first (cards are keyed by finding id)."""
    # read in one script: the page redraws while a verdict is saved, and an element fetched first may be gone
    classes = wait(driver, lambda d: d.execute_script(
        "const e = document.querySelector('[class*=\"st-key-finding_\"]'); return e ? e.className : null"))
    return next(c for c in classes.split() if c.startswith("st-key-finding_"))[15:]


def _seeked_to(driver, seconds: float, timeout: float = 20) -> float:
    """Wait for the player to seek to `seconds`; returns where it landed."""
    try:
        wait(driver, lambda d: any(abs(t - seconds) <= 0.1 for t in d.execute_script("return window.__seeks")), timeout)
    except Exception:
        state = driver.execute_script("const a = document.querySelector('.st-key-callqa_player audio'); return [window.__seeks, a.currentTime, a.duration, a.readyState, a.paused, a.src, a.error && a.error.message]")
        raise AssertionError(f"no seek to {seconds}: {state}") from None
    return min(driver.execute_script("return window.__seeks"), key=lambda t: abs(t - seconds))


def _press(driver, key: str, finding_id: str) -> None:
    """Press a shortcut on the page showing `finding_id`, once the page has bound the key to a usable
    button: a key pressed before the player's script bound it (a page just opened) would be lost."""
    from selenium.webdriver.common.action_chains import ActionChains

    wait(driver, lambda d: d.execute_script(
        "const target = window.callqa && (window.callqaKeys || {})[arguments[0]];"
        "const b = target && document.querySelector('.st-key-' + target + ' button');"
        "return Boolean(document.querySelector('.st-key-finding_' + arguments[1]) && b && !b.disabled)",
        key, finding_id))
    ActionChains(driver).send_keys(key).perform()


def _shots(driver, url: str, name: str, ready: str, account: str | None = "zhao") -> None:
    """Screenshots at the three widths an inspector's screen has, signed in as `account` (None: the sign-in
    page itself); nothing may spill sideways."""
    from selenium.webdriver.common.by import By

    for width, height in ((1440, 900), (1280, 800), (1024, 768)):
        driver.set_window_size(width, height)
        driver.get(url)
        if account:
            _sign_in(driver, account)
        wait(driver, text_present(ready))
        idle(driver)
        _shot(driver, f"{name}_{width}x{height}")
        assert "Page not found" not in driver.find_element(By.TAG_NAME, "body").text
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width}: {overflow} px off to the side"
    driver.set_window_size(1500, 1100)


def _finding(store: Path, finding_id: str) -> tuple[str, float, float]:
    from qa.scoring.db import reading

    with reading(store) as con:
        return con.execute("SELECT rule_id, start_s, end_s FROM findings WHERE finding_id = ?", [finding_id]).fetchone()


def test_inspector_works_the_queue_by_keyboard(server, browser, store):
    from selenium.webdriver.common.by import By

    from qa.scoring.db import reading

    _open(browser, f"{server}/queue")
    wait(browser, text_present(zh("Confirm violation")))
    judged = []
    keys = [("1", "confirmed"), ("2", "false_positive"), ("c", "confirmed"), ("f", "false_positive")] * 5
    for key, verdict in keys:  # 20 findings, none by mouse
        finding_id = _judging(browser)
        _, start_s, _ = _finding(store, finding_id)
        landed = _seeked_to(browser, start_s)  # the finding plays as it opens
        assert abs(landed - start_s) <= 0.1
        if not judged:
            _shot(browser, "queue_1440")
        _press(browser, key, finding_id)
        wait(browser, lambda d: _judging(d) != finding_id)
        judged.append((finding_id, verdict))
    skipped = _judging(browser)
    _press(browser, "n", skipped)
    wait(browser, lambda d: _judging(d) != skipped)
    with reading(store) as con:
        rows = con.execute("SELECT finding_id, verdict, reviewer FROM reviews ORDER BY review_id").fetchall()
    assert rows == [(f, v, "zhao") for f, v in judged]  # the skipped one has none

    rule_id = _finding(store, judged[0][0])[0]
    with reading(store) as con:
        confirmed, false_positive = con.execute(
            "SELECT count(*) FILTER (WHERE verdict = 'confirmed'), count(*) FILTER (WHERE verdict = 'false_positive') "
            "FROM reviews JOIN findings USING (finding_id) WHERE findings.rule_id = ?", [rule_id]).fetchone()
    _open(browser, server)  # the overview is the default page
    wait(browser, text_present(zh("Rule precision from inspectors' verdicts")))
    idle(browser)
    # the grid draws on a canvas; its accessible copy holds the cells of the rows in view
    heading = next(h for h in browser.find_elements(By.TAG_NAME, "h3")
                   if zh("Rule precision from inspectors' verdicts") in h.text)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", heading)
    wait(browser, lambda d: f"n={confirmed + false_positive})" in d.page_source)


def test_a_finding_plays_from_its_moment_and_stops_at_its_end(server, browser, store):
    from selenium.webdriver.common.by import By

    from qa.scoring.db import reading

    with reading(store) as con:
        call_id, finding_id, start_s, end_s = con.execute(
            "SELECT call_id, finding_id, start_s, end_s FROM findings WHERE start_s > 5 AND end_s - start_s BETWEEN 0.5 "
            "AND 4 ORDER BY call_id LIMIT 1").fetchone()
    _open(browser, f"{server}/call?call_id={quote(call_id)}")
    card = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f".st-key-finding_{finding_id} a.callqa-seek"))[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
    card.click()
    landed = _seeked_to(browser, start_s)
    assert abs(landed - start_s) <= 0.1
    player_top = browser.execute_script("return document.querySelector('.st-key-callqa_player').getBoundingClientRect().top")
    assert 0 <= player_top < 120  # scrolled to the finding, the player is still in view
    audio = "document.querySelector('.st-key-callqa_player audio')"
    wait(browser, lambda d: d.execute_script(f"return {audio}.paused"), timeout=end_s - start_s + 10)
    stopped = browser.execute_script(f"return {audio}.currentTime")
    assert end_s - 0.05 <= stopped <= end_s + 0.15  # stops at the finding's end
    _shot(browser, "call_detail_playing")


def test_the_call_page_speaks_chinese_and_shows_no_rule_id(server, browser, store):
    from selenium.webdriver.common.by import By

    from qa.phrases import load_rulebook
    from qa.scoring.db import reading

    with reading(store) as con:
        call_id = con.execute("SELECT call_id FROM findings GROUP BY call_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    _open(browser, f"{server}/call?call_id={quote(call_id)}")
    wait(browser, text_present(zh("Findings ({n})").split("(")[0]))
    idle(browser)
    body = browser.find_element(By.TAG_NAME, "body").text
    book = load_rulebook()
    assert not [r for r in book.rules if r in body]
    assert zh("Confirm violation") in body and zh("Transcript") in body
    assert "Deploy" not in body and not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMainMenu"]')
    _shots(browser, f"{server}/call?call_id={quote(call_id)}", "call_detail", zh("Transcript"))


def test_a_trainers_second_search_exports_only_its_own_hits(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def search(phrase: str) -> int:
        box = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'input[aria-label="{zh("Phrase")}"]'))[0]
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(phrase, Keys.ENTER)
        wait(browser, text_present("条命中"))
        idle(browser)
        caption = next(e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]')
                       if "条命中" in e.text)
        return int(caption.split("共")[1].split("条")[0])

    def downloads() -> list[str]:
        return [b.text for b in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDownloadButton"] button')]

    def select_all_and_prepare() -> None:
        toggle = next(t for t in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stCheckbox"]')
                      if zh("Select all") in t.text)
        toggle.click()
        idle(browser)
        prepare = wait(browser, lambda d: d.execute_script(  # in one script: the page redraws meanwhile
            "return [...document.querySelectorAll('button')].find(b => b.innerText.includes('生成'))"))
        prepare.click()
        wait(browser, lambda d: zh("Download clips.zip") in downloads())
        idle(browser)

    _open(browser, f"{server}/phrases", "sun")
    first = search("您好")
    select_all_and_prepare()
    assert zh("Prepare {n} clips").format(n=first) in browser.find_element(By.TAG_NAME, "body").text
    second = search("不知道")
    assert zh("Download clips.zip") not in downloads()  # the first search's archive is gone
    select_all_and_prepare()
    assert zh("Prepare {n} clips").format(n=second) in browser.find_element(By.TAG_NAME, "body").text
    _shot(browser, "phrase_library_export")


def test_every_page_fits_the_screens_inspectors_use(server, browser):
    for path, name, ready in (("", "overview", zh("Most failed rules")), ("calls", "calls", "通符合"),
                              ("queue", "queue", zh("Review queue")), ("phrases", "phrases", zh("Phrase")),
                              ("sampling", "sampling", zh("Sampling plans")),
                              ("scorecard", "scorecard", zh("Examples to listen to")),
                              ("rulebook", "rulebook", zh("Rulebook"))):
        _shots(browser, f"{server}/{path}", name, ready)
    _shots(browser, f"{server}/audit", "audit", zh("Audit log"), "root")
    _shots(browser, f"{server}/accounts", "accounts", zh("Add an account"), "root")
    _shots(browser, server, "sign_in", zh("Sign in to callqa"), None)


def _sign_in_as(driver, name: str) -> None:
    """Sign out and sign `name` in, in the same session (the page and its address stay)."""
    _click_key(driver, "sign_out")
    _sign_in(driver, name)
    wait(driver, text_present(zh("Signed in as {name} ({role})").split("{")[0] + name))


def _click_key(driver, key: str) -> None:
    """Click the Streamlit button with this key."""
    from selenium.webdriver.common.by import By

    button = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f".st-key-{key} button"))[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    idle(driver)


def test_an_appeal_is_overturned_and_the_score_restored(server, browser, store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from qa.scoring.db import reading

    with reading(store) as con:
        call_id, finding_id = con.execute(
            "SELECT f.call_id, any_value(f.finding_id) FROM findings f JOIN rule_results r USING (call_id, rule_id) "
            "JOIN calls c USING (call_id) "  # a call of the team lead's team
            "WHERE r.outcome = 'fail' AND r.points > 0 AND c.team = ? AND f.finding_id NOT IN (SELECT finding_id "
            "FROM reviews WHERE finding_id IS NOT NULL) GROUP BY f.call_id, f.rule_id HAVING count(*) = 1 "
            "ORDER BY 1 LIMIT 1", [TEAM]
        ).fetchone()

    def reviewed_score() -> str:
        tile = next(m for m in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')
                    if zh("Reviewed score") in m.text)
        return tile.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text

    _open(browser, f"{server}/call?call_id={quote(call_id)}", "zhao")
    _click_key(browser, f"confirm_{finding_id}")
    before = float(reviewed_score())
    _sign_in_as(browser, "lead-wang")
    # The lead's page draws its finding cards a moment after the sign-in: act once the appeal form is there.
    _act(browser, lambda d: next(e for e in d.find_elements(By.CSS_SELECTOR, f".st-key-finding_{finding_id} summary")
                                 if zh("Appeal (申诉)") in e.text), lambda e: e.click())
    reason = wait(browser, lambda d: [e for e in d.find_elements(
        By.CSS_SELECTOR, f".st-key-appeal_reason_{finding_id} input") if e.is_displayed() and e.is_enabled()])[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", reason)
    reason.send_keys("客户先说的, 坐席在复述", Keys.ENTER)
    idle(browser)
    _click_key(browser, f"appeal_{finding_id}")
    wait(browser, text_present("客户先说的, 坐席在复述"))
    _sign_in_as(browser, "zhao")
    _click_key(browser, f"overturn_{finding_id}")
    wait(browser, lambda d: float(reviewed_score()) > before)
    _shot(browser, "appeal_overturned")
    with reading(store) as con:
        trail = con.execute("SELECT verdict, reviewer FROM reviews WHERE finding_id = ? ORDER BY review_id",
                            [finding_id]).fetchall()
    assert trail == [("confirmed", "zhao"), ("appeal", "lead-wang"), ("overturned", "zhao")]


def test_a_sampling_plan_is_drawn_and_worked_from_the_queue(server, browser, store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from qa.scoring.db import reading
    from qa.scoring.sampling import plan_progress

    _open(browser, f"{server}/sampling", "zhao")
    _act(browser, lambda d: next(e for e in d.find_elements(By.CSS_SELECTOR, "summary") if zh("New plan") in e.text),
         lambda e: e.click())
    _act(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'input[aria-label="{zh("Name")}"]'),
         lambda e: e.send_keys("第48周抽检"))

    def picker(d):
        box = next(m for m in d.find_elements(By.CSS_SELECTOR, '[data-testid="stMultiSelect"]')
                   if zh("Inspectors, in dealing order") in m.text)
        return box.find_element(By.TAG_NAME, "input")
    # the accounts that may judge are offered
    _act(browser, picker, lambda e: (e.click(), e.send_keys("inspector-plan", Keys.ENTER, Keys.ESCAPE)))
    _act(browser, lambda d: next(b for b in d.find_elements(By.TAG_NAME, "button") if zh("Draw the plan") in b.text),
         lambda e: e.click())
    wait(browser, text_present(zh("Progress")))
    idle(browser)
    _shot(browser, "sampling_plan")
    with reading(store) as con:
        plan_id = con.execute("SELECT max(plan_id) FROM sampling_plans").fetchone()[0]
        waiting = int(plan_progress(con, SUPERVISOR, plan_id).set_index("inspector").loc["inspector-plan",
                                                                                          "findings_waiting"])
    assert waiting > 0
    _sign_in_as(browser, "inspector-plan")  # the plan's inspector sees it, with the link to their calls
    wait(browser, lambda d: [a for a in d.find_elements(By.CSS_SELECTOR, '[data-testid="stPageLink"] a')
                              if zh("Review my calls of this plan") in a.text])[0].click()
    wait(browser, text_present(zh("Sampling plan {plan}: only the calls it gave you ({who}), judged by you.").format(
        plan=plan_id, who="inspector-plan")))
    for _ in range(min(3, waiting)):
        finding_id = _judging(browser)
        _press(browser, "1", finding_id)
        wait(browser, lambda d: zh("Nothing left to judge under these filters.") in d.page_source
              or _judging(d) != finding_id)
    with reading(store) as con:
        after = int(plan_progress(con, SUPERVISOR, plan_id).set_index("inspector").loc["inspector-plan",
                                                                                        "findings_waiting"])
    assert after == waiting - min(3, waiting)


def _nav(driver) -> set[str]:
    from selenium.webdriver.common.by import By

    # a link reads "<icon name>\n<title>"
    return {a.text.strip().split("\n")[-1]
            for a in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')}


def _body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def test_each_role_opens_what_the_matrix_gives_it_and_no_more(server, browser, store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from built_calls import MOBILE
    from qa.scoring.db import reading

    with reading(store) as con:
        mine = con.execute("SELECT min(call_id) FROM calls WHERE team = ?", [TEAM]).fetchone()[0]
        theirs = con.execute("SELECT min(call_id) FROM calls WHERE team <> ?", [TEAM]).fetchone()[0]
        team_calls = con.execute("SELECT count(*) FROM calls WHERE team = ?", [TEAM]).fetchone()[0]

    browser.get(f"{server}/calls")  # not signed in: the form, and nothing of the store
    wait(browser, text_present(zh("Sign in to callqa")))
    assert theirs not in browser.page_source and not _nav(browser)
    _sign_in(browser, "zhao", "not the password")
    wait(browser, text_present(zh("Wrong name or password.")))
    _sign_in(browser, "nobody", PASSWORD)  # the same words for an unknown name
    wait(browser, text_present(zh("Wrong name or password.")))

    refused = zh("No call {call!r} that you may open.")
    # the team lead: the team's calls only, no verdict buttons
    _open(browser, f"{server}/calls", "lead-wang")
    assert zh("Review queue") not in _nav(browser) and zh("Calls") in _nav(browser)
    wait(browser, text_present(f"共{team_calls}通符合"))
    assert theirs not in browser.page_source
    # a page reached by its address is checked by the queries, not by the navigation
    browser.get(f"{server}/call?call_id={quote(theirs)}")
    _sign_in(browser, "lead-wang")
    wait(browser, text_present(refused.format(call=theirs)))
    assert zh("Confirm violation") not in _body(browser)

    # the inspector: no call is dealt to them yet
    _open(browser, f"{server}/calls", "li")
    wait(browser, text_present("共0通符合"))
    browser.get(f"{server}/call?call_id={quote(mine)}")
    _sign_in(browser, "li")
    wait(browser, text_present(refused.format(call=mine)))

    # the trainer: the phrase library with masks, no calls, no personal number anywhere
    _open(browser, f"{server}/phrases", "sun")
    nav = _nav(browser)
    assert zh("Phrase library") in nav and not nav & {zh("Calls"), zh("Call detail"), zh("Review queue"),
                                                      zh("Overview"), zh("Audit log")}
    box = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'input[aria-label="{zh("Phrase")}"]'))[0]
    box.send_keys("不清楚您打", Keys.ENTER)  # only the agent line of the call with the number
    wait(browser, text_present("条命中"))
    idle(browser)
    wait(browser, text_present("【手机号】"))
    assert MOBILE not in browser.page_source and "幺三八" not in browser.page_source
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, zh("Open the call here"))
    _shot(browser, "trainer_phrase_library")
    browser.get(f"{server}/call?call_id={quote('客户来电/手机号')}")
    _sign_in(browser, "sun")
    idle(browser)
    assert MOBILE not in browser.page_source and zh("Call {call}").format(call="客户来电/手机号") not in _body(browser)

    # the supervisor reads what was said; the admin sees it all in the audit log
    _open(browser, f"{server}/call?call_id={quote('客户来电/手机号')}", "zhao")
    wait(browser, text_present(MOBILE))
    _open(browser, f"{server}/audit", "root")
    wait(browser, text_present(zh("The newest {n} events; the log is only ever appended to.").split("{")[0]))
    with reading(store) as con:
        events = con.execute("SELECT actor, action, call_id FROM audit_log").fetchall()
    assert ("sun", "play_clip", "客户来电/手机号") in events and ("zhao", "open_call", "客户来电/手机号") in events
    assert ("zhao", "sign_in_failed", None) in events and ("nobody", "sign_in_failed", None) in events
    assert not [e for e in events if e[0] == "li" and e[1] == "open_call"]  # refused calls were never opened
