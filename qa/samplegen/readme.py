"""The README beside the sample calls, written from the same scripts as the audio."""

from __future__ import annotations

from pathlib import Path

from .scenario import RULE_IDS, CallSpec

_SHORT = {
    "answer.rings": "rings", "answer.late_apology": "apology", "greeting.opening": "greet",
    "closing.farewell": "close", "phrase.forbidden": "taboo", "silent_line.procedure": "silent",
    "hold.procedure": "hold", "talk.interruption": "interrupt", "talk.speech_rate": "rate",
}

_HEADER = """# Sample calls

Synthetic Mandarin customer-service calls (Kokoro-82M speech over a simulated
telephone line: 8 kHz, 300-3400 Hz, G.711 mu-law, line noise, crosstalk),
rebuilt byte for byte by

    python -m qa.samplegen --out recordings_sample --set samples

Each `<call_id>.json` beside its audio holds the labels: the script with the
measured start and end of every spoken line, ring count, holds, taboo phrases
and the expected outcome of every rule (`pass`, `fail`, `na`). A line's start
and end are where its synthesized speech begins and ends in the file (the
synthesizer's own leading and trailing silence is cut before placing it); a
taboo phrase carries the times of the line that contains it. Stereo files
carry the agent on the left and the customer on the right channel; mono files
mix both. Phrases are quoted from the service standards (seed 001).

`metadata.csv` gives agent, team, start time and direction per call. Two rows
are special on purpose: `call09_mono_cdr_ring_seconds` has `ring_seconds=24`
(the switch's ring time, which wins over ringback detection), and
`call11_mono_quiet_no_closing` has an unparseable `started_at`
(`2024-02-30 25:61`) that a loader must report without losing the call.
`call12_situations_handled` and `call13_situations_mishandled` are built
around the scenario rules' situations (001 第三篇) and are labelled for those
rules too (`expected` in their JSON; the notes say which situations);
call12's row says who hung up first (`hangup_by`).

Expected outcomes (F = fail, . = pass, - = na):

"""


def write_readme(path: Path, specs: list[CallSpec], labels: list[dict]) -> None:
    head = "| call | audio | " + " | ".join(_SHORT[r] for r in RULE_IDS) + " |"
    rule = "|" + "---|" * (len(RULE_IDS) + 2)
    mark = {"pass": ".", "fail": "F", "na": "-"}
    rows = []
    for lab in labels:
        kind = f"{lab['audio'].rsplit('.', 1)[1]} {lab['sample_rate'] // 1000} kHz " + (
            "stereo" if lab["channels"] == 2 else "mono")
        cells = " | ".join(mark[lab["expected"][r]] for r in RULE_IDS)
        rows.append(f"| {lab['call_id']} | {kind}, {lab['duration_s']:.0f} s | {cells} |")
    notes = [f"- **{lab['call_id']}**: {lab['notes']}" for lab in labels]
    text = _HEADER + "\n".join([head, rule, *rows]) + "\n\nThe calls:\n\n" + "\n".join(notes) + "\n"
    path.write_text(text, encoding="utf-8")
