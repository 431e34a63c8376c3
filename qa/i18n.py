"""The interface's message catalogs: gettext, compiled from qa/locale with Babel.

Interface texts are written in English in the code (`_("Calls")`) and
translated in `qa/locale/<lang>/LC_MESSAGES/callqa.po`. Simplified Chinese is
the default language; English needs no catalog (the msgids are English).
Terms with a fixed meaning (a verdict, a role, an outcome) are looked up with
a context, `term("verdict", "false_positive")`, so one English word can be
translated differently in two places.

The .po files are the single source; they are compiled in memory when first
used, so there is no compiled .mo file to go stale. Extract new texts with
`pybabel extract -F babel.cfg -o qa/locale/callqa.pot . && pybabel update
-i qa/locale/callqa.pot -d qa/locale -D callqa`.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["DEFAULT_LANGUAGE", "DOMAIN", "Explained", "LANGUAGES", "LOCALE_DIR", "catalog_path", "translations"]

DOMAIN = "callqa"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# language code -> its own name, as the language picker shows it
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language`; English (or any language without a catalog) is the msgids."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
    path = catalog_path(language)
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy guess is not a translation
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Explained(ValueError):
    """An error whose message is a catalog text: `template` filled with `values`.

    `str()` is the English; an interface shows `in_language(translations)`. The
    templates are extracted like interface texts (the error class is a keyword
    in babel.cfg), so each has its translation.
    """

    def __init__(self, template: str, **values: object):
        self.template, self.values = template, values
        super().__init__(template.format(**values))

    def in_language(self, catalog: gettext.NullTranslations) -> str:
        return catalog.gettext(self.template).format(**self.values)
