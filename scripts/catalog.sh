#!/usr/bin/env bash
# Refresh the interface catalogs after texts changed in dashboard/:
# extract every _("...") and _p(context, "...") into qa/locale/callqa.pot, then
# merge it into each language's .po. New texts arrive untranslated, and
# tests/test_i18n.py fails until each has its translation.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k _p:1c,2 -k ReviewError -k PlanError -k AccessDenied -k AccountError --no-location --omit-header --sort-output \
  -o qa/locale/callqa.pot . >/dev/null 2>&1
.venv/bin/pybabel update -i qa/locale/callqa.pot -d qa/locale -D callqa --no-fuzzy-matching --ignore-obsolete \
  --no-wrap >/dev/null 2>&1
