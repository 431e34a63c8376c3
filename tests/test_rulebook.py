"""The rulebook as data: default content, overrides, errors that name file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.phrases import PhraseSpec, RulebookError, load_rulebook, rulebook_from_json
from qa.scoring.checks import KINDS

DESIGN_RULE_IDS = ("answer.rings", "answer.late_apology", "greeting.opening", "closing.farewell",
                   "phrase.forbidden", "silent_line.procedure", "hold.procedure",
                   "talk.interruption", "talk.speech_rate")
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
DESIGN = Path(__file__).resolve().parents[2] / "shared" / "design.md"


@pytest.fixture(scope="module")
def default():
    return load_rulebook()


def write(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_has_every_rule_with_source_and_required_parts(default):
    assert set(DESIGN_RULE_IDS) <= set(default.rules)
    for rule_id in DESIGN_RULE_IDS:
        rule = default.rules[rule_id]
        assert rule.kind in KINDS and rule.title and rule.roles == ("agent",)
        assert re.match(r"00[0-4] ", rule.source), rule.source  # names the seed document
        kind = KINDS[rule.kind]
        assert all(rule.phrases[g] for g in kind.groups) and set(rule.params) == set(kind.params)
    assert sum(r.points for r in default.rules.values()) == 100
    assert len(default.version) == 12 and default.sources[0].endswith("default_rulebook.toml")


@pytest.mark.skipif(not DESIGN.exists(), reason="design notes absent")
def test_default_matches_the_rule_ids_of_the_design(default):
    ids = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DESIGN.read_text("utf-8"), re.M))
    assert ids and ids <= set(default.rules)


def test_contract_names_and_values(default):
    assert default.rules["answer.rings"].params["max_rings"] == 3
    assert default.rules["silent_line.procedure"].params["pause_s"] == 2.0
    assert {"宇鑫", "富茂"} <= set(default.slots["company"])
    forbidden = {p.text: p for p in default.rules["phrase.forbidden"].phrases["forbidden"]}
    assert {"不行", "不知道", "不清楚", "有本事就投诉我", "你办啥"} <= set(forbidden)
    assert forbidden["有本事就投诉我"].severity == "critical"
    assert "不清楚的地方" in forbidden["不清楚"].exclusions
    greeting = [p.text for p in default.rules["greeting.opening"].phrases["greeting"]]
    assert any("{company}" in t and "{agent_no}" in t for t in greeting)
    assert any(t.startswith("{holiday}") for t in greeting)


@pytest.mark.skipif(not SEEDS.exists(), reason="seed documents absent")
def test_forbidden_phrases_are_quoted_from_the_seeds(default):
    from qa.transcribe.normalize import normalize_text
    from qa.phrases.textnorm import match_key

    text = normalize_text("".join(p.read_text("utf-8") for p in SEEDS.glob("*.txt")))
    text = re.sub(r"\([^()]*\)", "", text)  # pinyin glosses 点(diǎn) and asides (管事的)
    seeds = match_key(text)
    quoted = [p.text for p in default.rules["phrase.forbidden"].phrases["forbidden"]]
    missing = [t for t in quoted if match_key(t) not in seeds]
    assert not missing, missing


def test_override_extends_and_overrides(tmp_path, default):
    path = write(tmp_path, '''
name = "centre-b"
[slots]
company = ["星辰"]
[rules."silent_line.procedure".params]
pause_s = 5.0
[rules."phrase.forbidden".phrases.forbidden]
extend = true
items = [{ text = "自己上网查", severity = "minor" }]
[rules."closing.farewell".phrases]
farewell = ["祝您生活愉快"]
[rules."talk.speech_rate"]
enabled = false
points = 0
[rules."custom.thanks"]
kind = "closing"
title = "致谢"
source = "centre-b 3.2"
points = 0
critical = false
severity = "minor"
roles = ["agent"]
params = { window_s = 20.0 }
phrases = { offer_help = ["还有别的吗"], farewell = ["谢谢"] }
''')
    book = load_rulebook(path)
    assert book.name == "centre-b" and book.sources == (default.sources[0], str(path))
    assert book.rules["silent_line.procedure"].params == {**default.rules["silent_line.procedure"].params, "pause_s": 5.0}
    forbidden = book.rules["phrase.forbidden"].phrases["forbidden"]
    assert forbidden[:-1] == default.rules["phrase.forbidden"].phrases["forbidden"]
    assert forbidden[-1] == PhraseSpec("自己上网查", severity="minor")
    assert book.rules["closing.farewell"].phrases["farewell"] == (PhraseSpec("祝您生活愉快"),)
    assert book.rules["closing.farewell"].phrases["offer_help"] == default.rules["closing.farewell"].phrases["offer_help"]
    assert not book.rules["talk.speech_rate"].enabled and book.rules["talk.speech_rate"].title == "语速缓慢柔和"
    assert book.rules["custom.thanks"].params == {**default.rules["closing.farewell"].params, "window_s": 20.0}
    assert book.slots["company"] == ("星辰",) and book.slots["holiday"] == default.slots["holiday"]
    assert book.version != default.version


def test_version_is_stable_and_follows_content(tmp_path, default):
    assert load_rulebook().version == default.version
    same = write(tmp_path, '[rules."answer.rings".params]\nmax_rings = 3\n', "same.toml")
    assert load_rulebook(same).version == default.version  # same merged content, same version
    other = write(tmp_path, '[rules."answer.rings".params]\nmax_rings = 4\n', "other.toml")
    assert load_rulebook(other).version != default.version


@pytest.mark.parametrize("text, line, problem", [
    ('[rules."answer.rings"]\npoints = 10\nkind = = "rings"\n', 3, "TOML syntax"),
    ('\n[rules."x.y"]\nkind = "teleport"\ntitle = "t"\n', 3, "unknown kind 'teleport'"),
    ('[rules."answer.rings"]\ntitle = "t"\n\npoints = "ten"\n', 4, "points must be a number"),
    ('[rules."answer.rings"]\ncritical = "yes"\n', 2, "critical must be bool"),
    ('# new rule\n[rules."custom.rate"]\nkind = "speech_rate"\ntitle = "t"\nsource = "s"\npoints = 1\n'
     'critical = false\nseverity = "minor"\nparams = { max_chars_per_minute = 300, min_speech_s = 1 }\n', 2,
     "missing required key 'roles'"),
    ('[rules."hold.procedure".phrases]\nwait_request = []\n', 2, "phrase group 'wait_request' is missing or empty"),
    ('[rules."phrase.forbidden"]\nseverity = "major"\n\n[rules."phrase.forbidden".phrases]\n'
     'forbidden = [{ text = "滚", severity = "fatal" }]\n', 5, "severity of '滚'"),
    ('[rules."greeting.opening".phrases]\ngreeting = ["您好,{shop}为您服务"]\n', 2, "unknown slot {shop}"),
    ('[rules."answer.rings"]\nmax_ring = 3\n', 2, "unknown key 'max_ring'"),
    ('[rules."answer.rings"]\nroles = ["boss"]\n', 2, "unknown role 'boss'"),
    ('[rules."closing.farewell".params]\nwindow_s = 20\nmin_similarity = 0.3\n', 3, "min_similarity must be"),
    # a mistyped param is refused, with the expected type, before any call is scored
    ('[rules."closing.farewell".params]\nwindow_s = "abc"\n', 2, "param window_s must be a number (seconds)"),
    ('[rules."answer.rings".params]\n\nmax_rings = 2.5\n', 3, "param max_rings must be a whole number"),
    ('[kinds.hold.params]\nmin_hold_s = -1\n', 2, "param min_hold_s must be a number (seconds) above 0"),
    ('[settings]\nmax_rings = "three"\n', 2, "param max_rings must be a whole number"),
    ('[rules."closing.farewell".params]\nwindow = 20\n', 2, "unknown param 'window'"),
    ('[kinds.closing.params]\nwindow = 20\n', 2, "unknown param 'window'"),
    ('[rules."hold.procedure".phrases]\nthanks = ["谢谢"]\n', 2, "unknown phrase group 'thanks'"),
    ('[rules."hold.procedure".phrases]\nsilent_line_words = { shared = ["nope"] }\n', 2, "no shared group 'nope'"),
    ('[rules."answer.rings".params]\nmax_rings = { setting = "nope" }\n', 2, "names setting 'nope'"),
    # points that add up to more than the score card's full marks
    ('[rules."phrase.forbidden"]\npoints = 30\n', 2, "points add up to 115"),
    ('[scorecard]\npass_mark = 120\n', 2, "pass_mark must lie from 0 to full_marks"),
    ('[scorecard]\npoints = "sometimes"\n', 2, "points must be one of"),
    ('[scorecard]\ncritical_fails_call = 1\n', 2, "critical_fails_call must be bool"),
])
def test_broken_files_name_file_line_and_problem(tmp_path, text, line, problem):
    path = write(tmp_path, text)
    with pytest.raises(RulebookError) as err:
        load_rulebook(path)
    assert err.value.path == str(path) and err.value.line == line, str(err.value)
    assert problem in str(err.value) and str(err.value).startswith(f"{path}:{line}: ")


def test_missing_file_is_a_rulebook_error(tmp_path):
    with pytest.raises(RulebookError, match="cannot read"):
        load_rulebook(tmp_path / "absent.toml")


def test_exact_points_policy_refuses_a_total_short_of_full_marks(tmp_path):
    path = write(tmp_path, '[scorecard]\npoints = "exact"\n\n[rules."talk.speech_rate"]\nenabled = false\n')
    with pytest.raises(RulebookError, match="add up to 94, but must add up to the score card's full_marks"):
        load_rulebook(path)
    load_rulebook(write(tmp_path, '[scorecard]\npoints = "exact"\n', "exact.toml"))  # the default adds up


def test_a_shared_setting_is_one_number_for_every_rule_that_names_it(tmp_path, default):
    book = load_rulebook(write(tmp_path, "[settings]\nmax_rings = 4\n"))
    assert book.rules["answer.rings"].params["max_rings"] == 4
    assert book.rules["answer.late_apology"].params["max_rings"] == 4
    # a rule's own value still wins for that rule alone
    own = load_rulebook(write(tmp_path, '[rules."answer.late_apology".params]\nmax_rings = 5\n', "own.toml"))
    assert own.rules["answer.late_apology"].params["max_rings"] == 5 and own.rules["answer.rings"].params["max_rings"] == 3


def test_shared_groups_are_named_by_the_rules_that_use_them(tmp_path, default):
    scripts = default.rules["greeting.opening"].phrases["greeting"]
    silent = default.rules["silent_line.procedure"].phrases["greeting"]
    assert silent[: len(scripts)] == scripts and len(silent) > len(scripts)
    book = load_rulebook(write(tmp_path, '[groups.greeting_scripts]\nextend = true\nitems = ["您好,星辰客服"]\n'))
    assert book.rules["greeting.opening"].phrases["greeting"][-1] == PhraseSpec("您好,星辰客服")
    assert PhraseSpec("您好,星辰客服") in book.rules["silent_line.procedure"].phrases["greeting"]


def test_a_kind_default_serves_every_rule_of_the_kind(tmp_path, default):
    book = load_rulebook(write(tmp_path, '[kinds.closing.params]\nwindow_s = 25.0\n'))
    assert book.rules["closing.farewell"].params["window_s"] == 25.0


def test_the_resolved_rulebook_reads_back_with_the_same_version(tmp_path, default):
    back = rulebook_from_json(default.resolved_json())
    assert back.version == default.version and back.rules == default.rules and back.scorecard == default.scorecard
