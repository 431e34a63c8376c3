"""Sign-in through the centre's identity provider (OpenID Connect), the way Streamlit's `st.login` does it.

The settings are Streamlit's own `[auth]` table, in a TOML file the admin
keeps owner-only and names with `callqa dashboard --oidc FILE`: the shared
`redirect_uri` (the dashboard's address ending in /oauth2callback) and
`cookie_secret`, then `client_id`, `client_secret` and `server_metadata_url`,
either straight under `[auth]` (one provider) or under `[auth.NAME]` for each
of several. Checked here, before Streamlit starts, so a broken file is
reported with its name and the missing key instead of failing at the first
sign-in. Who signed in is matched to an account by `identities`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT", "OidcSettingsError", "identities", "providers"]

DEFAULT = "default"  # Streamlit's name for the provider set straight under [auth]
SHARED_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
MIN_COOKIE_SECRET = 32


class OidcSettingsError(Exception):
    """The identity-provider settings cannot be used; the message names the file and the key."""


def _url(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise OidcSettingsError(f"{path}: {key} must be an absolute http:// or https:// address")
    return value


def _provider(path: Path, table: Mapping[str, Any], where: str) -> None:
    for key in PROVIDER_KEYS:
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise OidcSettingsError(f"{path}: {where} has no {key}")
    _url(path, f"{where}.server_metadata_url", table["server_metadata_url"])


def _read(path: Path) -> Mapping[str, Any]:
    try:
        with path.open("rb") as f:
            settings = tomllib.load(f)
    except FileNotFoundError:
        raise OidcSettingsError(f"{path}: no such file") from None
    except OSError as exc:
        raise OidcSettingsError(f"{path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise OidcSettingsError(f"{path}: not valid TOML ({exc})") from None
    auth = settings.get("auth")
    if not isinstance(auth, dict):
        raise OidcSettingsError(f"{path}: no [auth] table")
    return auth


def providers(path: Path) -> list[str]:
    """The providers `path` configures (`DEFAULT` for settings straight under [auth]), checked."""
    auth = _read(path)
    for key in SHARED_KEYS:
        if not isinstance(auth.get(key), str) or not auth[key]:
            raise OidcSettingsError(f"{path}: [auth] has no {key}")
    if not _url(path, "redirect_uri", auth["redirect_uri"]).rstrip("/").endswith("/oauth2callback"):
        raise OidcSettingsError(f"{path}: redirect_uri must end with /oauth2callback (the dashboard's own path)")
    if len(auth["cookie_secret"]) < MIN_COOKIE_SECRET:
        raise OidcSettingsError(f"{path}: cookie_secret needs at least {MIN_COOKIE_SECRET} random characters")
    named = sorted(name for name, table in auth.items() if isinstance(table, dict))
    for name in named:
        if "_" in name:  # Streamlit refuses such a name at sign-in
            raise OidcSettingsError(f"{path}: provider [auth.{name}]: a provider name cannot contain _")
        _provider(path, auth[name], f"[auth.{name}]")
    if any(key in auth for key in PROVIDER_KEYS) or not named:
        _provider(path, auth, "[auth]")
        return [DEFAULT, *named]
    return named


def identities(claims: Mapping[str, Any]) -> list[str]:
    """What an account's identity may be for the person the provider signed in: the e-mail (unless the
    provider says it is unverified), then the subject id."""
    found = []
    email = claims.get("email")
    if isinstance(email, str) and email.strip() and claims.get("email_verified", True) is not False:
        found.append(email.strip())
    subject = claims.get("sub")
    if isinstance(subject, str) and subject.strip():
        found.append(subject.strip())
    return found
