"""Synthetic scored-call databases for tests and benchmarks.

`make_db(path, n_calls, findings_per_call, seed)` writes calls, utterances,
rule results, findings and scores shaped like the batch's output: Mandarin
lines from the service standards (including the recognizer's typical
mishearings, 致电 -> 支店), forbidden phrases, agents in teams, calls spread
over several nights. Rows are built with numpy/pandas and bulk-inserted, so
100k calls and 1M findings take about a minute.

    python -m bench.make_db out.duckdb --calls 100000 --findings-per-call 10
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import wave
from pathlib import Path

import numpy as np
import pandas as pd

from qa.records import Word
from qa.scoring.db import writing
from qa.transcribe.normalize import pinyin_key
from qa.words_layout import words_to_json

RULEBOOK_VERSION = "synthetic-1"
START_DAY = np.datetime64("2026-11-01T00:00:00")

# rule id -> (points, clause, severity)
RULES: dict[str, tuple[float, str, str]] = {
    "answer.rings": (10.0, "001 4.1 电话铃声响三声以内必须接听", "major"),
    "answer.late_apology": (5.0, "001 第三篇 15 对不起,刚才因为线路忙,让您久等了", "minor"),
    "greeting.opening": (10.0, "001 客服标准用语 4.1 您好,宇鑫XX号为您服务", "major"),
    "closing.farewell": (5.0, "001 第三篇 33-34 感谢您的来电,再见", "minor"),
    "phrase.forbidden": (20.0, "001 第二篇 (二) 服务忌语", "critical"),
    "silent_line.procedure": (10.0, "001 第三篇 4 无声电话", "major"),
    "hold.procedure": (5.0, "001 第三篇 22 请您稍等片刻,好吗", "minor"),
    "talk.interruption": (5.0, "000 五.4 不允许打断客户", "minor"),
    "talk.speech_rate": (3.0, "002 语速缓慢柔和", "minor"),
}
RULE_IDS = list(RULES)

# (role, text, rule the line breaks or None, the rulebook phrase it matches)
LINES: list[tuple[str, str, str | None, str | None]] = [
    ("agent", "您好,宇鑫客服中心,工号八零二七为您服务,请问有什么可以帮助您?", None, None),
    ("agent", "您好,欢迎致电富茂汽车客服部,请问有什么可以帮到您?", None, None),
    ("agent", "您好,欢迎支店富茂汽车客服部,请问有什么可以帮到您?", None, None),
    ("agent", "您好,宇鑫功耗八零二七位您府,请问有什么可以帮助您?", None, None),
    ("agent", "对不起,刚才因为线路忙,让您久等了!请问有什么可以帮助您?", None, None),
    ("agent", "对不起,请您稍等片刻,好吗?", None, None),
    ("agent", "对不起,让您久等了,感谢您的耐心等待。", None, None),
    ("agent", "请您提供一下手机号码,我帮您查询。", None, None),
    ("agent", "很抱歉,我不太明白您的意思,请您再重复一遍,好吗?", None, None),
    ("agent", "请问您还需要其它帮助吗?", None, None),
    ("agent", "感谢您的来电,请挂机,再见!", None, None),
    ("agent", "如果您还有不清楚的地方,欢迎随时来电咨询。", None, None),
    ("agent", "喂,说话呀!再不说话我就挂了。", "phrase.forbidden", "喂,说话呀"),
    ("agent", "这事不归我管,你自己去看吧。", "phrase.forbidden", "这事不归我管"),
    ("agent", "我不知道,你问我,我问谁。", "phrase.forbidden", "我不知道"),
    ("agent", "刚才不是告诉你了吗,你怎么不早说?", "phrase.forbidden", "刚才不是告诉你了吗"),
    ("agent", "我要下班了,你明天再打来。", "phrase.forbidden", "我要下班了"),
    ("agent", "有本事就投诉我。", "phrase.forbidden", "有本事就投诉我"),
    ("agent", "喂,说吧,什么事?", "greeting.opening", "您好"),
    ("customer", "喂,你好,我想查一下我的快递到哪里了。", None, None),
    ("customer", "我上周寄的包裹到现在还没有收到。", None, None),
    ("customer", "我的手机号码是一三八零零一三八零零零。", None, None),
    ("customer", "好的,谢谢你,那我等你们的消息。", None, None),
    ("customer", "你们的电话怎么这么难打通啊?", None, None),
    ("customer", "我要投诉,你们的服务态度太差了。", None, None),
    ("customer", "没有了,谢谢,再见。", None, None),
]
AGENT_LINES = np.array([i for i, line in enumerate(LINES) if line[0] == "agent"])
CUSTOMER_LINES = np.array([i for i, line in enumerate(LINES) if line[0] == "customer"])
TIMING_EVIDENCE = {
    "answer.rings": "answered after {n} rings",
    "talk.interruption": "agent spoke over the customer for {n}.2 s",
    "talk.speech_rate": "agent spoke {n}.5 characters per second",
    "hold.procedure": "customer held {n}0 s without asking first",
    "closing.farewell": "no 感谢您的来电 before hanging up",
    "silent_line.procedure": "second greeting after 0.{n} s, the standard asks for 2 s",
    "answer.late_apology": "late answer without 让您久等了",
}


def _finding_id(call_id: str, rule_id: str, start_s: float, phrase: str | None) -> str:
    key = f"{call_id}|{rule_id}|{start_s:.3f}|{phrase or ''}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _word_fractions(text: str) -> list[tuple[str, float, float]]:
    """Split a line into two-character 'words' with their share of its duration."""
    chunks = [text[i : i + 2] for i in range(0, len(text), 2)]
    n = len(text)
    out, pos = [], 0
    for chunk in chunks:
        out.append((chunk, pos / n, (pos + len(chunk)) / n))
        pos += len(chunk)
    return out


def _words_json(fractions: list[tuple[str, float, float]], start: float, end: float) -> str:
    """Word timestamps JSON; times to 10 ms keep the synthetic store small."""
    span = end - start
    return words_to_json(
        Word(word, round(start + a * span, 2), round(start + b * span, 2), 0.9) for word, a, b in fractions
    )


def write_tone_wav(path: Path, duration_s: float, seed: int) -> None:
    """A small stereo 8 kHz WAV (tones and noise) so an audio player has something to play."""
    rate = 8000
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate)) / rate
    left = 0.2 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 0.2 * t) > 0)
    right = 0.2 * np.sin(2 * np.pi * 500 * t) * (np.sin(2 * np.pi * 0.2 * t) <= 0)
    pcm = np.stack([left, right], axis=1) + 0.01 * rng.standard_normal((t.size, 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())


def _calls(rng: np.random.Generator, n: int, nights: int, audio_dir: Path | None) -> pd.DataFrame:
    agents = np.array([f"A{i:03d}" for i in range(40)])
    teams = np.array(["北区一组", "北区二组", "南区一组", "南区二组", "投诉专席"])
    agent_idx = rng.integers(0, len(agents), n)
    night = np.sort(rng.integers(0, nights, n))
    seconds = rng.integers(8 * 3600, 20 * 3600, n)
    started = START_DAY + night.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    call_ids = [f"{str(s)[:10]}/{agents[a]}/call_{i:06d}" for i, (s, a) in enumerate(zip(started, agent_idx))]
    base = audio_dir if audio_dir is not None else Path("/recordings")
    ring_count = rng.choice([1, 2, 3, 4, 5], n, p=[0.35, 0.3, 0.2, 0.1, 0.05])
    return pd.DataFrame(
        {
            "call_id": call_ids,
            "path": [str(base / f"{c}.wav") for c in call_ids],
            "sha256": [hashlib.sha256(c.encode()).hexdigest() for c in call_ids],
            "channels": 2,
            "sample_rate": 8000,
            "agent_id": agents[agent_idx],
            "team": teams[agent_idx % len(teams)],
            "started_at": started,
            "direction": "inbound",
            "ring_count": ring_count,
            "ring_source": "detected",
            "answer_onset_s": np.round(ring_count * 5.0 - 3.0 + rng.random(n), 2),
            "status": "scored",
            "rulebook_version": RULEBOOK_VERSION,
        }
    )


def _utterances(rng: np.random.Generator, calls: pd.DataFrame) -> pd.DataFrame:
    n = len(calls)
    per_call = rng.integers(6, 13, n)
    call_pos = np.repeat(np.arange(n), per_call)
    idx = np.concatenate([np.arange(k) for k in per_call])
    agent_turn = idx % 2 == 0
    line = np.where(
        agent_turn,
        AGENT_LINES[rng.integers(0, len(AGENT_LINES), idx.size)],
        CUSTOMER_LINES[rng.integers(0, len(CUSTOMER_LINES), idx.size)],
    )
    # the first agent line is a greeting; the last agent line is usually the farewell
    line = np.where(idx == 0, rng.choice([0, 1, 2, 3, 4, 18], idx.size, p=[0.3, 0.25, 0.15, 0.15, 0.1, 0.05]), line)
    lengths = np.array([len(text) for _, text, _, _ in LINES])[line]
    durations = np.round(lengths * rng.uniform(0.18, 0.3, idx.size), 2)
    gaps = rng.uniform(0.3, 1.5, idx.size)
    onset = calls["answer_onset_s"].to_numpy()[call_pos]
    ends_cum = np.cumsum(durations + gaps)
    first = np.concatenate([[0], np.cumsum(per_call)[:-1]])
    offset_in_call = ends_cum - np.repeat(ends_cum[first] - (durations + gaps)[first], per_call)
    end_s = np.round(onset + offset_in_call - gaps, 2)
    start_s = np.round(end_s - durations, 2)
    fractions = [_word_fractions(text) for _, text, _, _ in LINES]
    pinyins = [pinyin_key(text) for _, text, _, _ in LINES]
    roles = np.array([role for role, _, _, _ in LINES])[line]
    return pd.DataFrame(
        {
            "call_id": calls["call_id"].to_numpy()[call_pos],
            "idx": idx.astype(np.int32),
            "role": roles,
            "channel": np.where(roles == "agent", 0, 1).astype(np.int32),
            "start_s": start_s,
            "end_s": end_s,
            "text": np.array([text for _, text, _, _ in LINES], dtype=object)[line],
            "pinyin": np.array(pinyins, dtype=object)[line],
            "words_json": [
                _words_json(fractions[l], s, e) for l, s, e in zip(line.tolist(), start_s.tolist(), end_s.tolist())
            ],
            "_line": line,
        }
    )


def _findings(rng: np.random.Generator, utt: pd.DataFrame, onsets: np.ndarray, per_call: float) -> pd.DataFrame:
    n_calls = len(onsets)
    utt_counts = utt.groupby("call_id", sort=False).size().to_numpy()
    first = np.concatenate([[0], np.cumsum(utt_counts)[:-1]])
    counts = rng.poisson(per_call, n_calls) if per_call > 0 else np.zeros(n_calls, dtype=int)
    call_pos = np.repeat(np.arange(n_calls), counts)
    pick = first[call_pos] + (rng.random(call_pos.size) * utt_counts[call_pos]).astype(int)
    rows = utt.iloc[pick]
    line = rows["_line"].to_numpy()
    line_rule = np.array([rule or "" for _, _, rule, _ in LINES], dtype=object)[line]
    line_phrase = np.array([phrase or "" for _, _, _, phrase in LINES], dtype=object)[line]
    timing_rules = np.array(list(TIMING_EVIDENCE), dtype=object)
    fallback = timing_rules[rng.integers(0, len(timing_rules), pick.size)]
    rule = np.where(line_rule != "", line_rule, fallback)
    has_phrase = line_phrase != ""
    nums = rng.integers(2, 9, pick.size)
    evidence = [
        text if p else TIMING_EVIDENCE[r].format(n=k)
        for text, p, r, k in zip(rows["text"].to_numpy(), has_phrase, rule, nums)
    ]
    start_s = rows["start_s"].to_numpy()
    end_s = rows["end_s"].to_numpy()
    roles = np.where(has_phrase, rows["role"].to_numpy(), "agent")
    rings = rule == "answer.rings"  # the late answer sits before the first word
    start_s = np.where(rings, 0.0, start_s)
    end_s = np.where(rings, onsets[call_pos], end_s)
    # distinct start times per finding so ids are unique even when one line is picked twice
    start_s = np.round(start_s + np.arange(pick.size) % 97 * 0.001, 3)
    call_ids = rows["call_id"].to_numpy()
    phrases = np.where(has_phrase, line_phrase, None)
    return pd.DataFrame(
        {
            "finding_id": [_finding_id(c, r, s, p) for c, r, s, p in zip(call_ids, rule, start_s, phrases)],
            "call_id": call_ids,
            "rule_id": rule,
            "start_s": start_s,
            "end_s": end_s,
            "role": roles,
            "evidence": evidence,
            "matched_phrase": phrases,
            "similarity": np.where(has_phrase, np.round(rng.uniform(0.82, 1.0, pick.size), 3), np.nan),
            "clause": [RULES[r][1] for r in rule],
            "severity": [RULES[r][2] for r in rule],
        }
    )


def _rule_results(calls: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    failed = set(zip(findings["call_id"], findings["rule_id"]))
    ids = np.repeat(calls["call_id"].to_numpy(), len(RULE_IDS))
    rules = np.tile(np.array(RULE_IDS, dtype=object), len(calls))
    fail = np.array([(c, r) in failed for c, r in zip(ids, rules)])
    points = np.where(fail, [RULES[r][0] for r in rules], 0.0)
    return pd.DataFrame({"call_id": ids, "rule_id": rules, "outcome": np.where(fail, "fail", "pass"), "points": points})


def make_db(
    path: str | Path,
    n_calls: int,
    findings_per_call: float,
    seed: int = 0,
    *,
    nights: int = 14,
    audio_dir: str | Path | None = None,
) -> dict[str, int]:
    """Write a scored-call database at `path`; returns the row counts.

    With `audio_dir`, each call also gets a small WAV there (keep n_calls small).
    """
    if n_calls < 1:
        raise ValueError("make_db needs at least one call; an empty store is writing(path) alone")
    rng = np.random.default_rng(seed)
    audio = Path(audio_dir) if audio_dir is not None else None
    calls = _calls(rng, n_calls, nights, audio)
    utt = _utterances(rng, calls)
    last_end = utt.groupby("call_id", sort=False)["end_s"].max()
    calls["duration_s"] = np.round(calls["call_id"].map(last_end).to_numpy() + 2.0, 2)
    calls["timeline_json"] = [
        json.dumps(
            {
                "duration_s": d,
                "rings": [[i * 5.0, i * 5.0 + 1.0] for i in range(r)],
                "ring_count": int(r),
                "answer_onset_s": a,
                "ring_source": "detected",
            }
        )
        for d, r, a in zip(calls["duration_s"], calls["ring_count"], calls["answer_onset_s"])
    ]
    findings = _findings(rng, utt, calls["answer_onset_s"].to_numpy(), findings_per_call)
    results = _rule_results(calls, findings)
    deducted = results.groupby("call_id", sort=False)["points"].sum()
    critical = set(findings.loc[findings["severity"] == "critical", "call_id"])
    scores = pd.DataFrame({"call_id": calls["call_id"], "rulebook_version": RULEBOOK_VERSION})
    scores["score"] = np.clip(100.0 - calls["call_id"].map(deducted).to_numpy(), 0, 100)
    scores["passed"] = (scores["score"] >= 80) & ~scores["call_id"].isin(critical)
    utt = utt.drop(columns="_line")
    with writing(path) as con:
        for table, frame in (("calls", calls), ("utterances", utt), ("findings", findings),
                             ("rule_results", results), ("scores", scores)):
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")  # table names are constants
            con.unregister("frame")
    if audio is not None:
        for i, (p, d) in enumerate(zip(calls["path"], calls["duration_s"])):
            write_tone_wav(Path(p), float(d), seed + i)
    return {"calls": len(calls), "utterances": len(utt), "findings": len(findings), "rule_results": len(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--findings-per-call", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--audio-dir", default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    counts = make_db(args.path, args.calls, args.findings_per_call, args.seed, audio_dir=args.audio_dir)
    print(f"{counts} in {time.perf_counter() - t0:.1f} s -> {args.path}")


if __name__ == "__main__":
    main()
