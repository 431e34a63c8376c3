"""Sign-in through the centre's identity provider: the settings file, accounts with an identity, and the
whole OpenID Connect round trip in a real browser against a small provider of the test's own."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from browsing import NO_CHROMIUM, chromium, dashboard, idle, text_present, wait  # noqa: E402
from commandline import callqa  # noqa: E402
from oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider  # noqa: E402

from bench.make_db import make_db  # noqa: E402
from qa.access import accounts as acc  # noqa: E402
from qa.access.oidc import OidcSettingsError, identities, providers  # noqa: E402
from qa.access.roles import Viewer  # noqa: E402
from qa.i18n import translations  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402

COOKIE_SECRET = "c" * 40
PASSWORD = "correct horse battery"
zh = translations("zh_CN").gettext


def _settings(path: Path, redirect_uri: str = "http://127.0.0.1:8501/oauth2callback",
              metadata_url: str = "https://login.example.com/.well-known/openid-configuration", **extra: str) -> Path:
    lines = ["[auth]", f'redirect_uri = "{redirect_uri}"', f'cookie_secret = "{COOKIE_SECRET}"',
             f'client_id = "{CLIENT_ID}"', f'client_secret = "{CLIENT_SECRET}"',
             f'server_metadata_url = "{metadata_url}"', *(f'{k} = "{v}"' for k, v in extra.items())]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    path.chmod(0o600)
    return path


def test_provider_settings_are_checked_before_the_server_starts(tmp_path):
    assert providers(_settings(tmp_path / "one.toml")) == ["default"]
    named = tmp_path / "named.toml"
    named.write_text(f'[auth]\nredirect_uri = "https://qa.example.com/oauth2callback"\ncookie_secret = "{COOKIE_SECRET}"\n'
                     f'[auth.corp]\nclient_id = "a"\nclient_secret = "b"\n'
                     f'server_metadata_url = "https://idp.example.com/.well-known/openid-configuration"\n', "utf-8")
    assert providers(named) == ["corp"]
    broken = {
        "no such file": None,
        "not valid TOML": "[auth\n",
        "no [auth] table": "[other]\nx = 1\n",
        "[auth] has no cookie_secret": '[auth]\nredirect_uri = "https://qa.example.com/oauth2callback"\n',
        "must end with /oauth2callback": f'[auth]\nredirect_uri = "https://qa.example.com/"\ncookie_secret = "{COOKIE_SECRET}"\n',
        "at least 32": '[auth]\nredirect_uri = "https://qa.example.com/oauth2callback"\ncookie_secret = "short"\n',
        "[auth.corp] has no client_secret": named.read_text("utf-8").replace('client_secret = "b"\n', ""),
        "cannot contain _": named.read_text("utf-8").replace("[auth.corp]", "[auth.my_corp]"),
        "server_metadata_url must be an absolute": named.read_text("utf-8").replace("https://idp", "idp"),
        "[auth] has no client_id": f'[auth]\nredirect_uri = "https://qa.example.com/oauth2callback"\n'
                                   f'cookie_secret = "{COOKIE_SECRET}"\n',
    }
    for problem, text in broken.items():
        path = tmp_path / "broken.toml"
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text, "utf-8")
        with pytest.raises(OidcSettingsError) as caught:
            providers(path)
        assert problem in str(caught.value) and str(path) in str(caught.value), (problem, caught.value)


def test_who_the_provider_vouches_for_is_read_from_its_claims():
    assert identities({"sub": "u-17", "email": " Zhao@Example.com ", "email_verified": True}) == ["Zhao@Example.com", "u-17"]
    assert identities({"sub": "u-17", "email": "zhao@example.com", "email_verified": False}) == ["u-17"]
    assert identities({"email": "zhao@example.com"}) == ["zhao@example.com"]  # no claim: the provider did not say
    assert identities({"name": "赵"}) == []


def test_an_identity_signs_in_its_enabled_account_and_nothing_else(tmp_path):
    db = tmp_path / "id.duckdb"
    with writing(db) as con:
        acc.add_account(con, "zhao", "supervisor", None, identity="Zhao@Example.com")
        acc.add_account(con, "li", "inspector", PASSWORD, identity="u-li")
        with pytest.raises(acc.AccountError, match="belongs to zhao"):
            acc.add_account(con, "zhao2", "inspector", PASSWORD, identity="zhao@example.com")
        with pytest.raises(acc.AccountError, match="a password or an identity"):
            acc.add_account(con, "nobody", "inspector", None)
        with pytest.raises(acc.AccountError, match="without spaces"):
            acc.add_account(con, "spaced", "inspector", None, identity="zhao at example")
        assert acc.sign_in_identity(con, ["zhao@EXAMPLE.com", "u-x"]) == Viewer("zhao", "supervisor", None)
        assert acc.sign_in_identity(con, ["someone@example.com", "u-li"]) == Viewer("li", "inspector", None)
        assert acc.sign_in_identity(con, ["someone@example.com"]) is None
        assert acc.sign_in(con, "li", PASSWORD) == Viewer("li", "inspector", None)  # both ways
        for guess in ("", "None", PASSWORD):  # an identity-only account has no password anyone knows
            assert acc.sign_in(con, "zhao", guess) is None
        acc.set_disabled(con, "zhao")
        assert acc.sign_in_identity(con, ["zhao@example.com"]) is None
        acc.set_identity(con, "li", None)
        assert acc.sign_in_identity(con, ["u-li"]) is None
        assert list(acc.accounts(con)["identity"].fillna("-")) == ["-", "zhao@example.com"]


def test_the_users_command_links_identities_and_the_dashboard_refuses_broken_settings(tmp_path):
    db = tmp_path / "cli.duckdb"
    make_db(db, n_calls=2, findings_per_call=1, seed=1, nights=1)
    lonely = callqa("users", "add", "zhao", "--role", "supervisor", "--no-password", "--db", str(db))
    assert lonely.returncode != 0 and "--no-password needs --identity" in lonely.stderr
    added = callqa("users", "add", "zhao", "--role", "supervisor", "--no-password", "--identity", "zhao@example.com",
                 "--db", str(db))
    assert added.returncode == 0, added.stderr
    assert callqa("users", "identity", "zhao", "zhao@corp.example.com", "--db", str(db)).returncode == 0
    listed = callqa("users", "list", "--db", str(db))
    assert listed.stdout.split() == ["zhao", "supervisor", "-", "zhao@corp.example.com", "enabled"]
    with reading(db) as con:
        assert [r[0] for r in con.execute("SELECT action FROM audit_log ORDER BY event_id").fetchall()] == [
            "account_added", "identity_changed"]
    missing = callqa("dashboard", "--db", str(db), "--oidc", str(tmp_path / "absent.toml"))
    assert missing.returncode != 0 and f"{tmp_path / 'absent.toml'}: no such file" in missing.stderr
    loose = _settings(tmp_path / "loose.toml", redirect_uri="http://127.0.0.1:8501/")
    loose.chmod(0o644)
    refused = callqa("dashboard", "--db", str(db), "--oidc", str(loose))
    assert refused.returncode != 0 and "must end with /oauth2callback" in refused.stderr


def test_the_settings_file_is_made_owner_only(tmp_path):
    from qa.commands.dashboard import oidc_settings

    path = _settings(tmp_path / "auth.toml")
    path.chmod(0o644)
    assert oidc_settings(path) == ["default"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.browser
@NO_CHROMIUM
def test_the_centres_provider_signs_in_a_linked_account_and_turns_away_anyone_else(tmp_path):
    from selenium.webdriver.common.by import By

    from browsing import free_port

    db = tmp_path / "calls.duckdb"
    make_db(db, n_calls=4, findings_per_call=1, seed=3, nights=1)
    with writing(db) as con:
        acc.add_account(con, "zhao", "supervisor", None, identity="zhao@example.com")
    with FakeProvider() as provider, chromium(tmp_path / "profile") as driver:
        port = free_port()  # after the provider took its own
        settings = _settings(tmp_path / "auth.toml", redirect_uri=f"http://127.0.0.1:{port}/oauth2callback",
                             metadata_url=f"{provider.url}/.well-known/openid-configuration")
        with dashboard(db, "--oidc", str(settings), port=port) as url:
            def button(label: str):
                return wait(driver, lambda d: next((b for b in d.find_elements(By.TAG_NAME, "button")
                                                    if b.text == zh(label)), None))

            def sign_in_with_provider():
                driver.get(url)
                provider_button = button("Sign in with the centre's account")
                wait(driver, lambda d: d.find_elements(  # the password form is still offered
                    By.CSS_SELECTOR, f'input[aria-label="{zh("Password")}"]'))
                provider_button.click()

            provider.person = {"sub": "u-zhou", "email": "zhou@example.com", "email_verified": True}
            sign_in_with_provider()
            wait(driver, text_present("zhou@example.com"))
            assert zh("Signed in as {name} ({role})").split("{")[0] not in driver.find_element(By.TAG_NAME, "body").text
            button("Sign out of the identity provider").click()
            idle(driver)

            provider.person = {"sub": "u-zhao", "email": "Zhao@Example.com", "email_verified": True}
            sign_in_with_provider()
            wait(driver, text_present(zh("Signed in as {name} ({role})").split("{")[0] + "zhao"))
            asked = provider.authorized[-1]
            assert (asked["client_id"], asked["redirect_uri"]) == (CLIENT_ID, f"http://127.0.0.1:{port}/oauth2callback")
            assert asked.get("nonce") and asked.get("state")
            driver.get(url)  # a new session of the same browser: the provider's cookie signs it in again
            wait(driver, text_present(zh("Signed in as {name} ({role})").split("{")[0] + "zhao"))
            button("Sign out").click()
            button("Sign in with the centre's account")
    with reading(db) as con:
        events = con.execute("SELECT actor, action, detail FROM audit_log ORDER BY event_id").fetchall()
    assert events[0] == ("zhou@example.com", "sign_in_failed", "identity provider")
    assert events[1:] == [("zhao", "sign_in", "identity provider")] * 2 + [("zhao", "sign_out", None)]
