"""First load of each dashboard page on the large bench store, against a bare page.

Each page runs as Streamlit runs it (the entry page, then the page), headless
with AppTest, from a cold cache: every query really reads the store. The
baseline is a page that only draws a title, timed the same way in the same
run, so the ratio shows what the page's own reads and drawing cost. Target:
every page under 2 s.

    python -m bench.pages [--db bench/out/dashboard.duckdb] [--runs 3]

Build the store first with `python -m bench.dashboard` (100k calls).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard"
PAGES = ["views/overview.py", "views/calls.py", "views/call.py", "views/queue.py", "views/sampling.py",
         "views/scorecard.py", "views/phrases.py", "views/rulebook.py"]
TARGET_MS = 2000.0


def first_load(page: str | None, params: dict[str, str]) -> float:
    """Milliseconds for one cold run of `page` (None: the bare baseline page)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    if page is None:
        bare = Path(tempfile.mkdtemp()) / "bare.py"
        bare.write_text("import streamlit as st\nst.title('callqa')\n", encoding="utf-8")
        at = AppTest.from_file(str(bare), default_timeout=120)
    else:
        at = AppTest.from_file(str(APP / "app.py"), default_timeout=120).switch_page(page)
        at.session_state["reviewer"] = "bench"
    for key, value in params.items():
        at.query_params[key] = value
    started = time.perf_counter()
    at.run()
    took = (time.perf_counter() - started) * 1000
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].value}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="bench/out/dashboard.duckdb")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db = Path(args.db).resolve()
    if not db.exists():
        raise SystemExit(f"{db}: no store; build it with `python -m bench.dashboard`")
    sys.path[:0] = [str(ROOT), str(APP)]
    os.environ["CALLQA_DB"] = str(db)
    from qa.scoring.db import reading, writing
    from qa.scoring.queries import ensure_indexes

    with writing(db) as con:  # what `callqa dashboard` does at start: schema and indexes
        ensure_indexes(con)
    with reading(db) as con:
        n_calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
        call_id = con.execute("SELECT call_id FROM findings GROUP BY call_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    params = {"views/call.py": {"call_id": call_id}}
    base = statistics.median(first_load(None, {}) for _ in range(args.runs))
    print(f"{n_calls:,} calls; median of {args.runs} cold loads each; bare page {base:.0f} ms")
    worst = 0.0
    for page in PAGES:
        took = statistics.median(first_load(page, params.get(page, {})) for _ in range(args.runs))
        worst = max(worst, took)
        ok = "ok" if took <= TARGET_MS else "OVER"
        print(f"{page:<20} {took:7.0f} ms | x{took / base:5.1f} the bare page | target {TARGET_MS:.0f} ms {ok}")
    print(f"slowest page {worst:.0f} ms")


if __name__ == "__main__":
    main()
