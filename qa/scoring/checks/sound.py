"""Lines settled by sound: the readings a check asks the audio about when the text is in doubt.

A mandated line missing by text, a forbidden phrase just below its floor, a
forbidden hit at low similarity: the recognizer may have misheard. The check
then asks about *readings*: a rulebook wording over an utterance (or adjacent
ones) of the party; the verifier scores it put into the decoder's own reading
of that span, where it sounds closest. The audio's answers
(`Heard`, scored by qa.transcribe.verify) are stored with the call; a check
only looks them up, so it stays a pure function of stored data. A reading
nobody has scored yet is noted in `CallView.asked`, and the scoring step
scores those and runs the rules again.

Adjacent utterances of one party are also read as one text (a greeting
split by a pause into 您好…为 / 您服 / 务请问…), before any sound is asked.
A party's speech on the signal that the recognizer left without words (it
drops a stretch now and then) is asked about too, as a wordless utterance.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from qa.phrases.rulebook import SLOT_RE
from qa.phrases.textnorm import keyed
from qa.records import Heard, Reading, Utterance

JOIN_GAP_S = 1.5  # a pause this short inside one line: the recognizer cut it, the agent did not stop
MAX_JOINED = 3  # utterances read as one text
MAX_JOINED_S = 12.0  # a joined run longer than this is several lines, not one cut up
# The audio is asked about a joined run only when one of its pieces is this short: whole
# utterances are asked about already, and each span asked costs a decoding.
FRAGMENT_S = 2.0
MIN_FRAGMENT_CHARS = 3  # a slot-free piece of a template shorter than this says too little to the ear
OPEN_SLOTS = ("company", "agent_no")
_UNKNOWN = "unknown"
UNWORDED_MIN_S = 1.0  # signal speech shorter than this without words is a cough or a breath, not a line


def joined_runs(utterances: Sequence[Utterance], fragment_s: float | None = None) -> list[Utterance]:
    """Runs of 2..MAX_JOINED adjacent utterances of one channel and party, each as one utterance.

    On mono, speech left `unknown` joins either neighbour: it is as often the agent's own.
    `fragment_s`: only runs with a piece this short (a line the recognizer cut up).
    """
    by_channel: dict[int, list[Utterance]] = {}
    for u in sorted(utterances, key=lambda u: u.start_s):
        by_channel.setdefault(u.channel, []).append(u)
    runs = []
    for seq in by_channel.values():
        for i in range(len(seq)):
            for n in range(2, MAX_JOINED + 1):
                part = seq[i:i + n]
                if len(part) < n or not _one_party(part) or part[-1].end_s - part[0].start_s > MAX_JOINED_S:
                    break
                if fragment_s is None or min(u.end_s - u.start_s for u in part) < fragment_s:
                    runs.append(_join(part))
    return runs


def _one_party(part: Sequence[Utterance]) -> bool:
    if any(b.start_s - a.end_s > JOIN_GAP_S for a, b in zip(part, part[1:])):
        return False
    roles = {u.role for u in part} - {_UNKNOWN}
    return len(roles) <= 1


def _join(part: Sequence[Utterance]) -> Utterance:
    roles = [u.role for u in part if u.role != _UNKNOWN]
    return Utterance(role=roles[0] if roles else _UNKNOWN, channel=part[0].channel, start_s=part[0].start_s,
                     end_s=part[-1].end_s, text="".join(u.text for u in part),
                     words=tuple(w for u in part for w in u.words))


def unworded_speech(speech: Mapping[str, Sequence[Any]], utterances: Sequence[Utterance]) -> list[Utterance]:
    """A party's speech intervals (of UNWORDED_MIN_S up) that no utterance on its channel overlaps,
    adjacent ones joined as `joined_runs` joins utterances: wordless utterances of that party."""
    out = []
    for role, intervals in speech.items():
        channel = next((u.channel for u in utterances if u.role == role), None)
        if channel is None or role == _UNKNOWN:
            continue  # no words of this party at all: nothing says which channel it is, or whose
        worded = [u for u in utterances if u.channel == channel]
        bare = [iv for iv in intervals if iv.duration_s >= UNWORDED_MIN_S
                and not any(u.start_s < iv.end_s and iv.start_s < u.end_s for u in worded)]
        run: list = []
        for iv in bare + [None]:
            if run and (iv is None or iv.start_s - run[-1].end_s > JOIN_GAP_S
                        or iv.end_s - run[0].start_s > MAX_JOINED_S):
                out.append(Utterance(role=role, channel=channel, start_s=run[0].start_s, end_s=run[-1].end_s, text=""))
                run = []
            if iv is not None:
                run.append(iv)
    return out


def spoken_forms(text: str, slots: Mapping[str, Sequence[str]]) -> list[str]:
    """What a phrase sounds like, with no slot left: closed slots take each value; a
    template with an open slot (a company, a 工号) is heard by its longest fixed piece."""
    names = SLOT_RE.findall(text)
    closed = [n for n in names if n not in OPEN_SLOTS]
    forms = [text]
    for name in closed:
        values = slots.get(name) or ()
        forms = [f.replace("{" + name + "}", v) for f in forms for v in values]
    out = []
    for form in forms:
        if SLOT_RE.search(form):
            pieces = [p for p in SLOT_RE.split(form) if p not in OPEN_SLOTS]
            form = max(pieces, key=lambda p: len(keyed(p).key), default="").strip(",,。")
        if len(keyed(form).key) >= MIN_FRAGMENT_CHARS or (form and not names):
            out.append(form)
    return list(dict.fromkeys(out))


def line_readings(utterances: Iterable[Utterance], wordings: Sequence[str]) -> list[Reading]:
    """Each wording over each utterance (or joined run) that could carry it."""
    return [Reading(u.channel, u.start_s, u.end_s, w) for u in utterances for w in wordings]


def in_window(utterances: Iterable[Utterance], roles: Sequence[str], start_s: float, end_s: float) -> list[Utterance]:
    return [u for u in utterances if u.role in roles and u.end_s > start_s and u.start_s < end_s]


def best(heard: Iterable[Heard]) -> Heard | None:
    return max(heard, key=lambda h: h.score, default=None)


def accepted(rule: Any, heard: Heard | None) -> Heard | None:
    """`heard` when its score reaches the rule's `sound_accept`."""
    return heard if heard is not None and heard.score >= float(rule.params["sound_accept"]) else None
