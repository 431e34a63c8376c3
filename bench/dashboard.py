"""Latency of the dashboard's queries on a large generated store.

Builds (or reuses) a store of 100k calls and ~1M findings with
`bench.make_db`, then times, in the same run:
- call list page: `queries.list_calls` vs a naive version (load the calls
  into pandas, filter, sort and page there);
- call detail: every query of the detail page, before and after
  `queries.ensure_indexes`;
- phrase search: `queries_phrases.search_phrases` (pinyin prefilter in SQL,
  rapidfuzz on the candidates) vs rapidfuzz over every utterance;
- review queue: `queries_queue.next_finding` and `queue_progress` for a
  filter (a rule, an agent, a team or none) vs pandas over every finding
  and review, sorted the same way;
- agent scorecard: `coaching.scorecard` (weeks, rules failed, examples)
  for one agent vs pandas over every call, rule result and finding;
- the role's scope: the call list, the queue and the phrase search as a
  team lead (one team's calls) against the same queries as a supervisor
  (every call), so the cost of filtering by the viewer shows.
Each timing opens its own read-only session, as a dashboard page does.

    python -m bench.dashboard [--calls 100000] [--findings-per-call 10] [--db bench/out/dashboard.duckdb] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from bench.make_db import make_db
from qa.scoring import queries as q
from qa.scoring.db import reading, writing
from qa.access.roles import Viewer
from qa.scoring.queries_phrases import search_phrases
from qa.scoring.coaching import scorecard
from qa.scoring.queries_queue import QueueFilter, next_finding, queue_progress
from qa.scoring.queries_reviews import call_detail
from qa.transcribe.normalize import pinyin_key

PHRASES = [("欢迎致电", ("agent",)), ("不知道", ("agent",)), ("为您服务", ()), ("让您久等了", ("agent",)), ("快递", ("customer",))]

VIEWER = Viewer("bench", "supervisor")  # every call: the widest scope


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], pct: float) -> float:
    return float(np.percentile(values, pct))


def list_filters(db: Path, n: int, rng: random.Random) -> list[q.CallFilter]:
    with reading(db) as con:
        opts = q.filter_options(con, VIEWER)
    first = opts["first_call"].date()
    filters = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            filters.append(q.CallFilter(page=rng.randrange(0, 200)))
        elif kind == 1:
            filters.append(q.CallFilter(teams=(rng.choice(opts["teams"]),), score_min=50, score_max=90, sort="score"))
        elif kind == 2:
            filters.append(q.CallFilter(failed_rule="phrase.forbidden", agents=tuple(rng.sample(opts["agents"], 3)),
                                        sort="duration_s", descending=False))
        else:
            day = first + pd.Timedelta(days=rng.randrange(0, 14))
            filters.append(q.CallFilter(date_from=day, date_to=day, review_status="unreviewed", page=1))
    return filters


def list_indexed(db: Path, flt: q.CallFilter, viewer: Viewer = VIEWER) -> None:
    with reading(db) as con:
        q.list_calls(con, viewer, flt)


def list_naive(db: Path, flt: q.CallFilter) -> None:
    """Everything into pandas, then filter, sort and page there."""
    with reading(db) as con:
        calls = con.execute("SELECT c.*, s.score, s.passed FROM calls c LEFT JOIN scores s USING (call_id)").df()
        results = con.execute("SELECT call_id, rule_id, outcome FROM rule_results").df()
        reviewed = set(con.execute("SELECT DISTINCT call_id FROM reviews").df()["call_id"])
    keep = pd.Series(True, index=calls.index)
    if flt.teams:
        keep &= calls["team"].isin(flt.teams)
    if flt.agents:
        keep &= calls["agent_id"].isin(flt.agents)
    if flt.score_min is not None:
        keep &= calls["score"] >= flt.score_min
    if flt.score_max is not None:
        keep &= calls["score"] <= flt.score_max
    if flt.date_from is not None:
        keep &= calls["started_at"].dt.date.between(flt.date_from, flt.date_to)
    if flt.failed_rule:
        failed = results[(results["rule_id"] == flt.failed_rule) & (results["outcome"] == "fail")]["call_id"]
        keep &= calls["call_id"].isin(failed)
    if flt.review_status == "unreviewed":
        keep &= ~calls["call_id"].isin(reviewed)
    page = calls[keep].sort_values(flt.sort, ascending=not flt.descending)
    page.iloc[flt.page * flt.page_size:(flt.page + 1) * flt.page_size]


def detail(db: Path, call_id: str) -> None:
    with reading(db) as con:
        call_detail(con, VIEWER, call_id)


def phrase_sql(db: Path, phrase: str, roles: tuple[str, ...], viewer: Viewer = VIEWER) -> int:
    with reading(db) as con:
        return len(search_phrases(con, viewer, phrase, roles=roles, limit=100))


def phrase_naive(db: Path, phrase: str, roles: tuple[str, ...]) -> int:
    """rapidfuzz over every utterance, no SQL prefilter."""
    with reading(db) as con:
        rows = con.execute("SELECT role, text, pinyin FROM utterances").fetchall()
    key = pinyin_key(phrase)
    hits = 0
    for role, text, pinyin in rows:
        if roles and role not in roles:
            continue
        if max(fuzz.partial_ratio(phrase, text), fuzz.partial_ratio(key, pinyin or "")) >= 75:
            hits += 1
    return hits


def queue_filters(db: Path, n: int, rng: random.Random) -> list[QueueFilter]:
    with reading(db) as con:
        opts = q.filter_options(con, VIEWER)
    kinds = [lambda: QueueFilter(), lambda: QueueFilter(rules=(rng.choice(opts["rules"]),)),
             lambda: QueueFilter(agents=(rng.choice(opts["agents"]),)), lambda: QueueFilter(teams=(rng.choice(opts["teams"]),))]
    return [kinds[i % len(kinds)]() for i in range(n)]


def queue_sql(db: Path, flt: QueueFilter, viewer: Viewer = VIEWER) -> None:
    with reading(db) as con:
        next_finding(con, viewer, flt)
        queue_progress(con, viewer, flt)


def queue_naive(db: Path, flt: QueueFilter) -> None:
    """The same answer from pandas: every finding, its call and whether any verdict exists."""
    with reading(db) as con:
        findings = con.execute(
            "SELECT f.finding_id, f.call_id, f.rule_id, f.start_s, f.severity, c.agent_id, c.team, c.started_at, "
            "s.passed FROM findings f JOIN calls c USING (call_id) LEFT JOIN scores s USING (call_id)").df()
        judged = set(con.execute("SELECT finding_id FROM reviews WHERE finding_id IS NOT NULL").df()["finding_id"])
    for column, values in (("rule_id", flt.rules), ("agent_id", flt.agents), ("team", flt.teams)):
        if values:
            findings = findings[findings[column].isin(values)]
    waiting = findings[~findings["finding_id"].isin(judged)]
    rank = waiting["severity"].map({"critical": 0, "major": 1, "minor": 2}).fillna(3)
    waiting.assign(rank=rank, passed=waiting["passed"].fillna(True)).sort_values(
        ["passed", "rank", "started_at", "call_id", "start_s", "rule_id"], na_position="last").head(1)


def card_sql(db: Path, agent: str) -> None:
    with reading(db) as con:
        scorecard(con, VIEWER, "agent", agent)


def card_naive(db: Path, agent: str) -> None:
    """The same figures from pandas over every call, rule result and finding."""
    with reading(db) as con:
        calls = con.execute("SELECT c.call_id, c.agent_id, c.started_at, s.score, s.passed FROM calls c "
                            "JOIN scores s USING (call_id)").df()
        results = con.execute("SELECT call_id, rule_id, outcome FROM rule_results").df()
        findings = con.execute("SELECT call_id, rule_id, start_s, severity FROM findings").df()
    mine = calls[calls["agent_id"] == agent]
    mine.assign(week=mine["started_at"].dt.to_period("W")).groupby("week", dropna=False).agg(
        calls=("call_id", "size"), mean_score=("score", "mean"), pass_rate=("passed", "mean"))
    failed = results[(results["outcome"] == "fail") & results["call_id"].isin(mine["call_id"])]
    failed.groupby("rule_id").size().sort_values(ascending=False)
    findings[findings["call_id"].isin(mine["call_id"])].sort_values(["severity", "start_s"]).head(10)


def add_reviews(db: Path, n: int, seed: int) -> None:
    with writing(db) as con:
        ids = con.execute("SELECT finding_id, call_id, rule_id FROM findings ORDER BY hash(finding_id || ?) LIMIT ?",
                          [str(seed), n]).fetchall()
        frame = pd.DataFrame(ids, columns=["finding_id", "call_id", "rule_id"])
        frame["verdict"] = np.where(np.arange(len(frame)) % 4 == 0, "false_positive", "confirmed")
        frame["reviewer"] = "bench"
        con.register("frame", frame)
        con.execute("INSERT INTO reviews (finding_id, call_id, rule_id, verdict, reviewer) "
                    "SELECT finding_id, call_id, rule_id, verdict, reviewer FROM frame")


def row(name: str, base: list[float], new: list[float], target_ms: float) -> str:
    ratio = p(base, 95) / p(new, 95)
    ok = "ok" if p(new, 95) <= target_ms else "OVER"
    return (f"{name:<14} baseline p50 {p(base, 50):8.1f} p95 {p(base, 95):8.1f} ms | "
            f"callqa p50 {p(new, 50):7.1f} p95 {p(new, 95):7.1f} ms | x{ratio:6.1f} | target {target_ms:.0f} ms {ok}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="bench/out/dashboard.duckdb")
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--findings-per-call", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=40, help="timed runs per query kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="time an existing --db instead of generating it")
    args = parser.parse_args()
    db = Path(args.db)
    rng = random.Random(args.seed)

    if args.reuse and db.exists():
        with writing(db) as con:  # the baseline runs without the dashboard's indexes
            for name in q.INDEXES:
                con.execute(f"DROP INDEX IF EXISTS {name}")  # constant names
            n = con.execute("SELECT count(*) FROM calls").fetchone()[0]
        print(f"reusing {db} ({n:,} calls, indexes dropped)")
    else:
        if db.exists():
            db.unlink()
        db.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        counts = make_db(db, args.calls, args.findings_per_call, args.seed)
        add_reviews(db, 5000, args.seed)
        print(f"generated {counts} + 5000 reviews in {time.perf_counter() - t0:.1f} s ({db.stat().st_size / 1e6:.0f} MB)")

    with reading(db) as con:
        n_calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
        call_ids = [r[0] for r in con.execute("SELECT call_id FROM calls ORDER BY hash(call_id || ?) LIMIT ?",
                                              [str(args.seed), args.runs]).fetchall()]
    filters = list_filters(db, args.runs, rng)
    queues = queue_filters(db, args.runs, rng)
    with reading(db) as con:
        agents = [r[0] for r in con.execute("SELECT DISTINCT agent_id FROM calls WHERE agent_id IS NOT NULL").fetchall()]
    card_agents = [rng.choice(agents) for _ in range(args.runs)]
    start_load = os.getloadavg()[0]

    detail_plain = timed(lambda it=iter(call_ids): detail(db, next(it)), len(call_ids))
    naive_runs = max(4, args.runs // 8)
    list_base = timed(lambda it=iter(filters): list_naive(db, next(it)), naive_runs)
    phrase_base = timed(lambda it=iter(PHRASES * 2): phrase_naive(db, *next(it)), min(4, naive_runs))
    queue_base = timed(lambda it=iter(queues): queue_naive(db, next(it)), naive_runs)
    card_base = timed(lambda it=iter(card_agents): card_naive(db, next(it)), naive_runs)

    t0 = time.perf_counter()
    with writing(db) as con:
        created = q.ensure_indexes(con)
    print(f"created indexes {', '.join(created)} in {time.perf_counter() - t0:.1f} s")

    list_new = timed(lambda it=iter(filters): list_indexed(db, next(it)), len(filters))
    detail_new = timed(lambda it=iter(call_ids): detail(db, next(it)), len(call_ids))
    cycle = PHRASES * (args.runs // len(PHRASES) + 1)
    phrase_new = timed(lambda it=iter(cycle): phrase_sql(db, *next(it)), args.runs)
    queue_new = timed(lambda it=iter(queues): queue_sql(db, next(it)), len(queues))
    card_new = timed(lambda it=iter(card_agents): card_sql(db, next(it)), len(card_agents))
    with reading(db) as con:
        team = con.execute("SELECT team FROM calls GROUP BY team ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    lead = Viewer("bench-lead", "team_lead", team)
    list_lead = timed(lambda it=iter(filters): list_indexed(db, next(it), lead), len(filters))
    queue_lead = timed(lambda it=iter(queues): queue_sql(db, next(it), lead), len(queues))
    phrase_lead = timed(lambda it=iter(cycle): phrase_sql(db, *next(it), lead), args.runs)

    print(f"\nload average during the timings: {start_load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{n_calls:,} calls; {args.runs} timed runs each (naive baselines: {naive_runs}, phrase: {min(4, naive_runs)})")
    print(row("list page", list_base, list_new, 300))
    print(row("call detail", detail_plain, detail_new, 300))
    print(row("phrase search", phrase_base, phrase_new, 1000))
    print(row("review queue", queue_base, queue_new, 300))
    print(row("scorecard", card_base, card_new, 300))
    print(row("list, lead", list_new, list_lead, 300))
    print(row("queue, lead", queue_new, queue_lead, 300))
    print(row("phrase, lead", phrase_new, phrase_lead, 1000))
    print("baselines: list = pandas filter/sort/page of all calls; detail = same queries without the indexes; "
          "phrase = rapidfuzz over every utterance; queue = pandas over every finding and review; "
          "scorecard = pandas over every call, rule result and finding; <query>, lead = the same query as a "
          "supervisor (every call) against it as a team lead (one team)")
    print("per-phrase median ms: " + ", ".join(
        f"{ph} {statistics.median(phrase_new[i::len(PHRASES)]):.0f}" for i, (ph, _) in enumerate(PHRASES)))


if __name__ == "__main__":
    main()
