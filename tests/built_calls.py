"""Calls built in code for the rule tests: timelines, utterances, small rules.

`substring_find` is a stand-in for the fuzzy matcher where a unit test must
stay small and exact: a phrase hits when its text (punctuation removed)
appears in an utterance of an allowed role, unless an exclusion does.
"""

from __future__ import annotations

import re

from qa.phrases.rulebook import PhraseSpec, Rulebook, RuleSpec, Scorecard
from qa.records import Interval, Match, Overlap, Timeline, Utterance, Word

_PUNCT = re.compile(r"[\s,.!?;:，。！？；：、]")


def plain(text: str) -> str:
    return _PUNCT.sub("", text)


def substring_find(phrases, utterances, *, roles=None, min_similarity=None, slots=None):
    hits = []
    for idx, u in enumerate(utterances):
        if roles and u.role not in roles:
            continue
        text = plain(u.text)
        for p in phrases:
            needle = plain(p.text)
            at = text.find(needle)
            if at < 0 or any(plain(x) in text for x in p.exclusions):
                continue
            hits.append(Match(p.text, needle, idx, (at, at + len(needle)), 1.0, u.start_s, u.end_s, u.role))
    return hits


def kind_defaults(kind: str) -> dict:
    """The params of `kind` as the default rulebook resolves them (its only source)."""
    from qa.phrases import load_rulebook

    global _DEFAULT_BOOK
    _DEFAULT_BOOK = _DEFAULT_BOOK or load_rulebook()
    return dict(next(r.params for r in _DEFAULT_BOOK.rules.values() if r.kind == kind))


_DEFAULT_BOOK = None


def rule(kind: str, rule_id: str | None = None, *, points: float = 10, critical: bool = False,
         severity: str = "major", phrases: dict | None = None, **params) -> RuleSpec:
    """A rule of `kind` with the default rulebook's params for that kind, `params` overriding them."""
    groups = {g: tuple(p if isinstance(p, PhraseSpec) else PhraseSpec(p) for p in items)
              for g, items in (phrases or {}).items()}
    return RuleSpec(rule_id or f"test.{kind}", kind, kind, f"clause of {kind}", float(points), critical,
                    severity, ("agent",), groups, {**kind_defaults(kind), **params})


CARD = Scorecard(full_marks=100.0, pass_mark=80.0, points="at_most", critical_fails_call=True)


def rulebook(*rules: RuleSpec, version: str = "v-test", scorecard: Scorecard = CARD) -> Rulebook:
    return Rulebook("test", version, {r.rule_id: r for r in rules}, (), {}, scorecard)


def utt(role: str, start: float, end: float, text: str) -> Utterance:
    return Utterance(role, 0 if role == "agent" else 1, start, end, text)


def timeline(duration: float = 60.0, *, agent=(), customer=(), rings: int = 0, ring_source: str = "none",
             answer: float | None = None, overlaps=(), stereo: bool = True) -> Timeline:
    ring_ivs = tuple(Interval(0.5 + 5 * i, 1.5 + 5 * i) for i in range(rings))
    speech = {"agent": tuple(Interval(s, e) for s, e in agent),
              "customer": tuple(Interval(s, e) for s, e in customer)}
    if not stereo:
        speech = {"unknown": speech["agent"] + speech["customer"]}
    return Timeline(duration, speech, (), tuple(Overlap(*o) for o in overlaps), ring_ivs, rings,
                    answer, ring_source, stereo)


def speech_of(utterances, role: str) -> tuple[tuple[float, float], ...]:
    return tuple((u.start_s, u.end_s) for u in utterances if u.role == role)


def conversation(utterances, duration: float | None = None, **kwargs) -> Timeline:
    """A timeline whose speech is exactly the utterances' spans."""
    end = duration if duration is not None else max((u.end_s for u in utterances), default=0.0) + 1.0
    return timeline(end, agent=speech_of(utterances, "agent"), customer=speech_of(utterances, "customer"),
                    **kwargs)


def sample_call(call_id: str, variant: int = 0, version: str = "v-test"):
    """A scored CallResult under a small rulebook, different per `variant`."""
    from qa.records import CallResult, Transcript, Word
    from qa.scoring.checks import run_rules
    from qa.scoring.scorecard import score_card

    book = small_rulebook(version)
    words = (Word("您好", 1.0, 1.6, 0.9), Word("客服中心", 1.6, 2.5, 0.8))
    utts = [Utterance("agent", 0, 1.0, 2.5, "您好,客服中心", words),
            utt("customer", 3.0, 6.0, "我的快递丢了"),
            utt("agent", 7.0, 9.0, "这个我不清楚" if variant % 2 == 0 else "我帮您查一下"),
            utt("agent", 9.5, 11.0, "喂,你听清楚没")]
    tl = conversation(utts, rings=3 + variant % 3, ring_source="detected", answer=12.0)
    results = run_rules(book, tl, tuple(utts), find=substring_find)
    card = score_card(results, book)
    transcript = Transcript(f"/calls/{call_id}.wav", tl.duration_s, 8000, 2, tuple(utts), timeline=tl)
    return CallResult(call_id, f"/calls/{call_id}.wav", f"sha-{call_id}-{variant}", transcript, results,
                      card.score, card.passed, book.version, {"agent_id": f"A{variant}", "team": "north",
                                                              "started_at": "2024-05-01 09:30:00"})


def small_rulebook(version: str = "v-test") -> Rulebook:
    return rulebook(
        rule("rings", "answer.rings", max_rings=3),
        rule("greeting", "greeting.opening", phrases={"greeting": ["您好,客服中心"]}, window_s=30),
        rule("forbidden", "phrase.forbidden", points=20, phrases={"forbidden": [
            PhraseSpec("不清楚"), PhraseSpec("喂", severity="minor"), PhraseSpec("你听清楚没")]}),
        version=version,
    )


def fake_score(path, call_id, metadata, rulebook, options, *, signal_options=None, model_dir=None, legs=None,
               verify=True):
    """A stand-in for ASR scoring in batch tests: a file starting with BAD is a bad recording.

    Everything after the transcript (store, batch bookkeeping, the provenance
    the real pipeline records) is the real thing.
    """
    import hashlib
    import os
    import time
    from dataclasses import replace
    from pathlib import Path

    from qa.records import CallResult

    delay = float(os.environ.get("FAKE_SCORE_DELAY_S", "0"))
    if delay:
        time.sleep(delay)
    from qa.scoring.score import legs_sha256

    data = Path(path).read_bytes()
    sha = legs_sha256(legs.agent, legs.customer) if legs else hashlib.sha256(data).hexdigest()
    if data.startswith(b"BAD"):
        return CallResult(call_id, str(path), sha, None, status="error", error=f"{path}: not an audio file",
                          rulebook_version=rulebook.version, metadata=dict(metadata))
    from qa.records import TranscribeOptions
    from qa.transcribe.activity import SignalOptions
    from qa.transcribe.pipeline import provenance_for

    result = sample_call(call_id, variant=len(data) % 3, version=rulebook.version)
    options = options or TranscribeOptions()
    made = provenance_for(options, signal_options or SignalOptions())
    transcript = replace(result.transcript, options=options, provenance=made)
    return replace(result, path=str(path), sha256=sha, metadata=dict(metadata), transcript=transcript)


# A call whose customer reads a mobile number over two utterances in Chinese numerals; the agent then
# repeats it in digits inside a forbidden phrase, so the finding's evidence quotes it.
MOBILE = "13812345678"
ORDER = "20261201123456"  # an order number: a look-alike that stays
RATE = 8000
VOICE_HZ = 300.0  # the "voice" of the call's audio: a tone a clip's mask is told apart from


def chars(text: str, start: float, step: float = 0.2) -> tuple[Word, ...]:
    return tuple(Word(ch, start + i * step, start + (i + 1) * step) for i, ch in enumerate(text))


def _utterance(role: str, start: float, text: str) -> Utterance:
    words = chars(text, start)
    return Utterance(role, 0 if role == "agent" else 1, start, words[-1].end_s, text, words)


PII_UTTERANCES = (
    _utterance("agent", 1.0, "您好客服中心"),
    _utterance("customer", 3.0, "我的手机号是幺三八一二"),
    _utterance("customer", 6.0, "三四五六七八"),
    _utterance("customer", 9.0, f"订单号{ORDER}"),
    _utterance("agent", 14.0, f"这个我不清楚您打{MOBILE}问问"),
)


def pii_call(call_id: str, audio, team: str = "north"):
    """The call scored under a one-rule rulebook, its audio at `audio` (see `voice_wav`)."""
    from qa.records import CallResult, Transcript
    from qa.scoring.checks import run_rules
    from qa.scoring.scorecard import score_card

    book = rulebook(rule("forbidden", "phrase.forbidden", points=20,
                         phrases={"forbidden": [PhraseSpec("不清楚")]}))
    tl = conversation(PII_UTTERANCES)
    results = run_rules(book, tl, PII_UTTERANCES, find=substring_find)
    card = score_card(results, book)
    transcript = Transcript(str(audio), tl.duration_s, RATE, 2, PII_UTTERANCES, timeline=tl)
    return CallResult(call_id, str(audio), f"sha-{call_id}", transcript, results, card.score, card.passed,
                      book.version, {"agent_id": "A1", "team": team})


def voice_wav(path, seconds: float) -> None:
    """A stereo WAV of the voice tone on both channels."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * RATE)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * VOICE_HZ * t)
    sf.write(str(path), np.stack([tone, tone], axis=1), RATE, subtype="PCM_16")


