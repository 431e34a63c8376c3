"""Phrase matching: golden transcripts, recognition errors, traps, timestamps."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.scoring.checks.wording import GREETING_PARTS, SILENT_LINE_WORDS, greeting_complete
from qa.phrases import PhraseSpec, find, load_rulebook
from qa.phrases import matcher
from qa.records import Utterance, Word

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.txt"))
REAL_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "real_speech"


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


SITUATION_KINDS = ("response", "surname", "hangup")


def parse_golden(path: Path) -> list[tuple[int, Utterance, set[str]]]:
    """Lines `role| text  # rule ids` (`-` for none); `#` lines are comments."""
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        body, _, expected = line.partition("  # ")
        role, _, text = body.partition("|")
        ids = {t for t in expected.split() if t != "-"}
        t0 = float(len(rows)) * 5
        rows.append((lineno, Utterance(role.strip(), 0, t0, t0 + 4, text.strip()), ids))
    return rows


def matched_rules(rulebook, utterances, **kwargs) -> dict[int, set[str]]:
    """Rule ids per utterance: any phrase group alone, or the greeting's parts together.

    The situation rules are left out: their phrases (a customer's 谢谢, an answer such as
    工号…) mean something only next to their trigger, and tests/test_scenarios.py judges them so."""
    found: dict[int, set[str]] = {}
    for rule in rulebook.rules.values():
        if rule.kind in SITUATION_KINDS:
            continue
        parts: dict[int, set[str]] = {}
        for name, group in rule.phrases.items():
            if name in SILENT_LINE_WORDS or name == "closing_offer":
                # words that mark a silent line, or the offer before a customer's silence, for the
                # closing and hold rules: context, not lines they ask for
                continue
            hit = {m.utterance_idx for m in find(group, utterances, roles=rule.roles, slots=rulebook.slots, **kwargs)}
            for i in hit:
                if name in GREETING_PARTS:
                    parts.setdefault(i, set()).add(name)
                else:
                    found.setdefault(i, set()).add(rule.rule_id)
        for i, names in parts.items():
            if greeting_complete(names):
                found.setdefault(i, set()).add(rule.rule_id)
    return found


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden(path, rulebook):
    rows = parse_golden(path)
    found = matched_rules(rulebook, [u for _, u, _ in rows])
    wrong = [f"{path.name}:{lineno}: {u.text!r} expected {sorted(ids) or '-'}, got {sorted(found.get(i, set())) or '-'}"
             for i, (lineno, u, ids) in enumerate(rows) if found.get(i, set()) != ids]
    assert not wrong, "\n".join(wrong)


def test_golden_files_exist_and_mix_hits_and_traps():
    rows = [r for p in GOLDEN for r in parse_golden(p)]
    assert len(GOLDEN) >= 4
    assert sum(1 for *_, ids in rows if ids) >= 40
    assert sum(1 for *_, ids in rows if not ids) >= 20


def test_prefilter_loses_nothing(rulebook, monkeypatch):
    """The bigram index is an optimisation only: without it, the same matches."""
    rows = [u for p in GOLDEN for _, u, _ in parse_golden(p)]
    with_index = matched_rules(rulebook, rows)
    monkeypatch.setattr(matcher, "PREFILTER", False)
    assert matched_rules(rulebook, rows) == with_index


def test_match_fields_and_word_timestamps():
    words = tuple(Word(w, 10.0 + i, 10.9 + i) for i, w in enumerate(["喂,", "您好", "富茂公司", "工号", "一零二三"]))
    u = Utterance("agent", 0, 10.0, 15.0, "喂,您好富茂公司工号一零二三", words)
    [m] = find([PhraseSpec("工号{agent_no}")], [u])
    assert m.text == "工号一零二三"
    assert m.span == (8, 14) and u.text[m.span[0]:m.span[1]] == m.text
    assert (m.start_s, m.end_s) == (13.0, 14.9)
    assert m.role == "agent" and m.utterance_idx == 0 and m.similarity == 1.0


def test_times_proportional_without_words():
    u = Utterance("agent", 0, 0.0, 10.0, "一二三四五六七八九十")
    [m] = find([PhraseSpec("六七八九")], [u])
    assert m.start_s == pytest.approx(5.0) and m.end_s == pytest.approx(9.0)


def test_roles_scope_and_phrase_roles():
    utts = [Utterance("customer", 1, 0, 1, "我不知道"), Utterance("agent", 0, 1, 2, "我不知道")]
    assert [m.utterance_idx for m in find([PhraseSpec("我不知道")], utts, roles=("agent",))] == [1]
    assert len(find([PhraseSpec("我不知道")], utts)) == 2
    only_customer = PhraseSpec("我不知道", roles=("customer",))
    assert [m.role for m in find([only_customer], utts, roles=("agent",))] == ["customer"]


def test_short_phrase_needs_same_syllables():
    texts = ("这个不平", "这个不刑吧", "这个不行", "你可以步行过去")
    hits = find([PhraseSpec("不行")], [Utterance("agent", 0, 0, 1, t) for t in texts])
    # 不刑 sounds the same; 不平 does not; 步行 sounds the same but is a word of its own
    assert [m.utterance_idx for m in hits] == [1, 2]
    assert hits[0].similarity < hits[1].similarity == 1.0


def test_exclusion_cancels_only_inside_context():
    spec = PhraseSpec("不清楚", exclusions=("不清楚的地方",))
    utts = [Utterance("agent", 0, 0, 1, "如果您还有不清楚的地方请来电"),
            Utterance("agent", 0, 1, 2, "不清楚的地方我不清楚")]
    hits = find([spec], utts)
    assert [(m.utterance_idx, m.span) for m in hits] == [(1, (7, 10))]


def test_a_syllable_misheard_by_a_letter_scores_above_one_misheard_outright():
    # 声 (sheng) heard as 身 (shen) shares most letters; 多 (duo) shares none.
    spec = PhraseSpec("喂,你出声啦")
    near, far = (find([spec], [Utterance("agent", 0, 0, 1, t)], min_similarity=0.0)[0].similarity
                 for t in ("喂你出身啦", "喂你出多啦"))
    assert near > far
    assert find([spec], [Utterance("agent", 0, 0, 1, "喂你出身啦")])  # at the shipped threshold


@pytest.mark.parametrize("heard", ["喂你出声了", "喂你出声哦", "喂你出声"])
def test_a_final_particle_heard_as_another_or_lost_does_not_count_against_the_phrase(heard):
    [m] = find([PhraseSpec("喂,你出声啦")], [Utterance("agent", 0, 0, 1, heard)])
    assert m.similarity == 1.0


@pytest.mark.parametrize("phrase, heard", [("懂了吧", "我懂了"), ("您还需要其它帮助吗", "您还需要其它帮助")])
def test_short_phrases_and_questions_keep_their_final_particle(phrase, heard):
    found = find([PhraseSpec(phrase)], [Utterance("agent", 0, 0, 1, heard)])
    assert all(m.similarity < 1.0 for m in found)  # 懂了 is everywhere; 吗 makes the question


def test_misheard_legit_context_still_excuses_a_longer_phrase():
    # The opening question, garbled, must not pass for the closing one (请问还有…).
    spec = PhraseSpec("请问还有什么可以帮助您", exclusions=("请问有什么可以帮助您",))
    assert find([spec], [Utterance("agent", 0, 0, 1, "您好,宇鑫客服中心,请问房什么可以帮助您")]) == []
    assert find([spec], [Utterance("agent", 0, 0, 1, "好的,请问还有什么可以帮您")])


def test_threshold_is_respected():
    u = [Utterance("agent", 0, 0, 1, "很高兴位您府")]
    [m] = find([PhraseSpec("很高兴为您服务")], u)
    assert 0.8 <= m.similarity < 1.0
    assert find([PhraseSpec("很高兴为您服务")], u, min_similarity=m.similarity + 0.01) == []


def test_fragment_of_a_phrase_is_not_the_phrase():
    u = [Utterance("agent", 0, 0, 1, "谢谢")]
    assert find([PhraseSpec("谢谢您的合作,再见")], u) == []


@pytest.mark.skipif(not (REAL_SPEECH / "text").exists(), reason="real speech transcripts absent")
def test_real_casual_speech_by_customer_is_not_forbidden(rulebook):
    """The recorded casual clip says 不清楚: a forbidden word only in the agent's mouth."""
    lines = dict(line.split(maxsplit=1) for line in (REAL_SPEECH / "text").read_text("utf-8").splitlines())
    text = lines["TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000"].replace(" ", "")
    rule = rulebook.rules["phrase.forbidden"]
    as_customer = [Utterance("customer", 1, 0.0, 1.8, text)]
    as_agent = [Utterance("agent", 0, 0.0, 1.8, text)]
    assert find(rule.phrases["forbidden"], as_customer, roles=rule.roles) == []
    assert [m.phrase for m in find(rule.phrases["forbidden"], as_agent, roles=rule.roles)] == ["不清楚"]
