"""The interface catalogs: complete, current, and the only place interface texts live."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from qa.i18n import LANGUAGES, catalog_path, translations

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Streamlit calls whose first argument (or label=) is text a user reads
SHOWN = {"title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success", "button",
         "metric", "text_input", "selectbox", "multiselect", "toggle", "slider", "checkbox", "expander",
         "download_button", "page_link", "radio", "number_input", "date_input", "text_area", "form_submit_button",
         "toast", "progress", "write", "Page", "TextColumn", "NumberColumn", "ProgressColumn", "DatetimeColumn",
         "CheckboxColumn"}
BILINGUAL = {"语言 / Language"}  # the language picker reads in both languages on purpose
WORDS = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]")


def _catalog(language: str):
    with catalog_path(language).open("rb") as f:
        return read_po(f, locale=language)


def _template():
    with (ROOT / "qa" / "locale" / "callqa.pot").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if catalog_path(lang).is_file()])
def test_every_text_is_translated_with_the_same_placeholders(language):
    catalog = _catalog(language)
    problems = []
    for message in _template():
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None or not found.string or found.fuzzy:
            problems.append(f"untranslated: {message.context or ''} {message.id!r}")
        elif sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(found.string)):
            problems.append(f"placeholders differ: {message.id!r} -> {found.string!r}")
    assert not problems, "\n".join(problems)


def test_the_template_holds_every_text_the_dashboard_marks(tmp_path):
    out = tmp_path / "now.pot"
    # the keywords scripts/catalog.sh extracts with, read from it (one source)
    keywords = re.findall(r"-k (\S+)", (ROOT / "scripts" / "catalog.sh").read_text("utf-8"))
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    *[arg for k in keywords for arg in ("-k", k)],
                    "--no-location", "--omit-header", "-o", str(out), "."], cwd=ROOT, check=True, capture_output=True)
    with out.open("rb") as f:
        now = {(m.context, m.id) for m in read_po(f) if m.id}
    kept = {(m.context, m.id) for m in _template() if m.id}
    assert now - kept == set(), f"run scripts/catalog.sh: new texts {sorted(now - kept)}"
    assert kept - now == set(), f"run scripts/catalog.sh: texts no longer used {sorted(kept - now)}"


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def test_pages_show_no_text_outside_the_catalog():
    problems = []
    for path in sorted(DASHBOARD.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN):
                continue
            # page_link and Page take a script path first; their label/title is the text
            first = node.args[:1] if node.func.attr not in ("page_link", "Page") else []
            shown = first + [k.value for k in node.keywords if k.arg in ("label", "help", "placeholder", "title")]
            for arg in shown:
                text = _literal_text(arg)
                if text is not None and text not in BILINGUAL and WORDS.search(text):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}")
    assert not problems, "texts not from the catalog:\n" + "\n".join(problems)


def test_chinese_is_the_default_and_english_reads_the_msgids():
    assert translations("zh_CN").gettext("Calls") == "通话"
    assert translations("zh_CN").pgettext("verdict", "false_positive") == "误报"
    assert translations("en").gettext("Calls") == "Calls"
    with pytest.raises(ValueError, match="language 'fr'"):
        translations("fr")


def test_library_errors_read_in_the_interface_language():
    from qa.access.roles import AccessDenied

    error = AccessDenied("no call {call} that you may open", call="a/b")
    assert str(error) == "no call a/b that you may open"
    assert error.in_language(translations("zh_CN")) == "没有您可查看的通话 a/b"
