"""The call's player: audio that seeks to the exact moment, a timeline of the call, and keys.

Streamlit's own player starts only at whole seconds, so the page keeps
`st.audio` for serving the file (it streams with range requests) and one small
script takes over the element: any element with `data-seek="12.34"` (a
finding, a timeline mark, a transcript line) plays from that moment, and with
`data-end` stops at the finding's end when "stop at the end" is ticked.
The same script maps single keys to buttons (see `keys`), except while the
reviewer types in a text field, and `r` replays the last span.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import streamlit as st

from qa.scoring.playback import Envelope, for_browser
from qa.transcribe.errors import AudioError
from ui import _, fmt_time, rule_title, term

PLAYER_KEY = "callqa_player"
STOP_KEY = "callqa_stop_at_end"
WIDTH = 1000  # the timeline's drawing units; the SVG scales to the page
HOLD_MARK_S = 6.0  # silences drawn as holds when the call's rulebook has no hold rule
LANE_COLOURS = {"agent": "#1f77b4", "customer": "#d62728", "unknown": "#777", "ring": "#f08c00",
                "hold": "#868e96", "overlap": "#9c36b5", "finding": "#e03131", "cue": "#2b8a3e"}


@dataclass(frozen=True)
class Mark:
    lane: str  # a LANE_COLOURS key
    start_s: float
    end_s: float
    label: str


@st.cache_data(max_entries=32, show_spinner=False)
def _for_browser(path: str, mtime: float) -> tuple[str | bytes, str, Envelope]:
    return for_browser(path)


def seek_link(label: str, start_s: float, end_s: float | None = None, title: str = "") -> str:
    """An HTML link that plays the call from `start_s` (to `end_s` when stopping at the end)."""
    end = f' data-end="{end_s:.3f}"' if end_s is not None else ""
    return (f'<a class="callqa-seek" data-seek="{max(0.0, start_s):.3f}"{end} title="{html.escape(title)}" '
            f'href="#">{html.escape(label)}</a>')


def _lanes(levels: tuple[tuple[float, ...], ...], channel_roles: list[str]) -> list[tuple[str, tuple[float, ...]]]:
    return [(channel_roles[i] if i < len(channel_roles) else "unknown", lv) for i, lv in enumerate(levels)]


def _envelope_path(levels: tuple[float, ...], top: float, height: float) -> str:
    """A filled outline, mirrored around the lane's middle."""
    if not levels:
        return ""
    step = WIDTH / len(levels)
    mid = top + height / 2
    upper = [f"{i * step:.1f},{mid - v * height / 2:.1f}" for i, v in enumerate(levels)]
    lower = [f"{i * step:.1f},{mid + v * height / 2:.1f}" for i, v in reversed(list(enumerate(levels)))]
    return "M" + " L".join(upper + lower) + " Z"


def timeline_svg(duration_s: float, marks: Iterable[Mark], env: Envelope | None,
                 channel_roles: list[str]) -> str:
    """The call drawn as lanes: each channel's level with its speech, then rings, the line's own sounds
    (IVR prompts, queue music, key presses), holds, overlaps and findings."""
    duration_s = max(duration_s, 0.1)
    x = lambda t: max(0.0, min(WIDTH, t / duration_s * WIDTH))  # noqa: E731
    lanes = _lanes(env.levels, channel_roles) if env else [(r, ()) for r in channel_roles]
    lane_h, gap, events_h = 34, 4, 16
    rows = []
    for i, (role, levels) in enumerate(lanes):
        top = i * (lane_h + gap)
        colour = LANE_COLOURS.get(role, "#777")
        rows.append(f'<rect x="0" y="{top}" width="{WIDTH}" height="{lane_h}" fill="#f8f9fa"/>')
        for m in marks:
            if m.lane == role:
                rows.append(_mark_rect(m, x, top, lane_h, colour, 0.18))
        if levels:
            rows.append(f'<path d="{_envelope_path(levels, top, lane_h)}" fill="{colour}" opacity="0.75" '
                        'pointer-events="none"/>')
        rows.append(f'<text x="3" y="{top + 11}" font-size="10" fill="#333" pointer-events="none">'
                    f'{html.escape(term("role", role))}</text>')
    top = len(lanes) * (lane_h + gap)
    for m in marks:
        if m.lane in ("ring", "cue", "hold", "overlap", "finding"):
            row = top + (events_h if m.lane == "finding" else 0)
            rows.append(_mark_rect(m, x, row, events_h - 2, LANE_COLOURS[m.lane], 0.85))
    height = top + 2 * events_h + 12
    ticks = _ticks(duration_s)
    for t in ticks:
        rows.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{height - 12}" y2="{height - 8}" stroke="#999"/>'
                    f'<text x="{x(t):.1f}" y="{height - 1}" font-size="9" fill="#666" text-anchor="middle" '
                    f'pointer-events="none">{fmt_time(t)[:-2]}</text>')
    rows.append(f'<line class="callqa-head" x1="0" x2="0" y1="0" y2="{height - 12}" stroke="#000" stroke-width="1.5" '
                'pointer-events="none"/>')
    return (f'<svg class="callqa-timeline" data-duration="{duration_s:.3f}" viewBox="0 0 {WIDTH} {height}" '
            f'preserveAspectRatio="none" style="width:100%;height:{height}px;cursor:pointer" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def _mark_rect(m: Mark, x, top: float, height: float, colour: str, opacity: float) -> str:
    left, right = x(m.start_s), x(max(m.end_s, m.start_s))
    width = max(right - left, 2.0)
    tip = f"{m.label} {fmt_time(m.start_s)}–{fmt_time(m.end_s)}"
    return (f'<rect x="{left:.1f}" y="{top}" width="{width:.1f}" height="{height}" fill="{colour}" '
            f'opacity="{opacity}" data-seek="{m.start_s:.3f}" data-end="{m.end_s:.3f}">'
            f'<title>{html.escape(tip)}</title></rect>')


def _ticks(duration_s: float) -> list[float]:
    step = next(s for s in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600) if duration_s / s <= 12)
    return [i * step for i in range(int(duration_s // step) + 1)]


_SCRIPT = """
<script>
(function () {
  const cfg = __CONFIG__;
  const w = window, doc = document;
  w.callqaKeys = cfg.keys;
  (function draw(tries) {  // the host may not be in the page yet when this runs
    const host = doc.querySelector('.st-key-__PLAYER__ .callqa-timeline-host');
    if (host) host.innerHTML = cfg.timeline; else if (tries > 0) setTimeout(() => draw(tries - 1), 50);
  })(40);
  if (!w.callqa) {
    const state = {stopAt: null, last: null, token: null, opening: null, target: null};
    const audio = () => doc.querySelector('.st-key-__PLAYER__ audio');
    const stopWanted = () => {
      const box = doc.querySelector('.st-key-__STOP__ input');
      return box ? box.checked : true;
    };
    function seek(t, end, tries = 40) {
      const a = audio();
      if (!a) {  // the page may not have drawn the player yet
        if (tries > 0) setTimeout(() => seek(t, end, tries - 1), 50);
        return;
      }
      state.last = [t, end];
      const go = () => {
        state.target = a;
        state.targetSrc = a.currentSrc || a.src;
        a.currentTime = t;
        state.stopAt = (end !== null && end !== undefined && stopWanted()) ? end : null;
        const p = a.play();
        if (p) p.catch(() => {});
      };
      // Seeking while the first bytes still load can leave Chrome waiting for data forever:
      // a freshly loaded player is sought once it can play and its first download is done.
      const started = Date.now();
      (function ready() {
        if ((a.readyState >= 3 && a.networkState !== 2) || Date.now() - started > 4000) go();
        else setTimeout(ready, 40);
      })();
    }
    setInterval(() => {
      const a = audio();
      if (!a) return;
      const p = state.opening;  // the page redrew the player after the seek: seek its new element
      if (p && Date.now() < p.until && state.target && a !== state.target) {
        state.target = null;  // a new element: sought again once it can play
        seek(p.t, p.end);
      }
      if (state.stopAt !== null && a.currentTime >= state.stopAt) { a.pause(); state.stopAt = null; }
      doc.querySelectorAll('svg.callqa-timeline').forEach(svg => {
        const head = svg.querySelector('.callqa-head');
        const x = a.currentTime / parseFloat(svg.dataset.duration) * __WIDTH__;
        if (head) { head.setAttribute('x1', x); head.setAttribute('x2', x); }
      });
    }, 25);
    doc.addEventListener('click', e => {
      const el = e.target.closest('[data-seek]');
      if (el) {
        e.preventDefault();
        seek(parseFloat(el.dataset.seek), el.dataset.end ? parseFloat(el.dataset.end) : null);
        return;
      }
      const svg = e.target.closest('svg.callqa-timeline');
      if (svg) {
        const box = svg.getBoundingClientRect();
        seek((e.clientX - box.left) / box.width * parseFloat(svg.dataset.duration), null);
      }
    });
    doc.addEventListener('keydown', e => {
      const t = e.target;
      const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
      if (typing && e.key === 'Escape') { t.blur(); return; }  // Esc leaves a text field; keys work again
      if (typing) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const key = e.key.toLowerCase();
      if (key === 'r' && state.last) { e.preventDefault(); seek(state.last[0], state.last[1]); return; }
      const target = (w.callqaKeys || {})[key];
      if (!target) return;
      const button = doc.querySelector('.st-key-' + target + ' button');
      if (button && !button.disabled) { e.preventDefault(); button.click(); }
    });
    // A new call's audio may load after the seek was made on the element it replaces:
    // the span a page opened at is sought again when the new source is ready.
    doc.addEventListener('loadedmetadata', e => {
      const p = state.opening;
      if (p && Date.now() < p.until && e.target === audio() && (e.target.currentSrc || e.target.src) !== state.targetSrc) {
        seek(p.t, p.end);
      }
    }, true);
    // Streamlit's player puts a new source at its start (0 s) after mounting it, which can
    // undo the seek a page opened with: such a jump back to 0 is sought again.
    doc.addEventListener('seeked', e => {
      const p = state.opening;
      if (p && Date.now() < p.until && e.target === audio() && e.target.currentTime < 0.05 && p.t > 0.05) {
        seek(p.t, p.end);
      }
    }, true);
    w.callqa = {seek, state};
  }
  if (cfg.start !== null && cfg.token !== w.callqa.state.token) {
    w.callqa.state.token = cfg.token;
    w.callqa.state.opening = {t: cfg.start, end: cfg.end, until: Date.now() + 15000};
    w.callqa.seek(cfg.start, cfg.end);
  }
})();
</script>
"""


def player(path: str | None, duration_s: float, marks: list[Mark], channel_roles: list[str], *,
           start: tuple[str, float, float | None] | None = None, keys: dict[str, str] | None = None) -> bool:
    """The sticky player with the call's timeline; False (and a notice) when the audio is missing.

    `start` = (token, from, to) plays that span once per token (a new finding in
    the queue, a hit opened from the phrase library); `keys` maps a key to a
    button's Streamlit key.
    """
    audio_file = Path(path) if path else None
    with st.container(key=PLAYER_KEY):
        env = None
        if audio_file is None or not audio_file.is_file():
            st.warning(_("Audio file not found: `{path}`. The transcript and findings are shown without it.")
                       .format(path=path))
        else:
            try:
                data, mime, env = _for_browser(str(audio_file), audio_file.stat().st_mtime)
            except AudioError as exc:
                st.warning(_("The audio cannot be played: {problem}").format(problem=exc))
                audio_file = None
            else:
                st.audio(data, format=mime)
        config = {"keys": keys or {}, "start": None, "end": None, "token": None,
                  "timeline": timeline_svg(duration_s, marks, env, channel_roles)}
        if start is not None:
            config.update(token=start[0], start=start[1], end=start[2])
        script = (_SCRIPT.replace("__CONFIG__", json.dumps(config).replace("<", "\\u003c")).replace("__PLAYER__", PLAYER_KEY)
                  .replace("__STOP__", STOP_KEY).replace("__WIDTH__", str(WIDTH)))
        # st.html's sanitizer drops SVG, so the script draws the timeline into its host
        st.html('<div class="callqa-timeline-host"></div>' + script, unsafe_allow_javascript=True)
        st.checkbox(_("Stop at the end of a finding"), value=True, key=STOP_KEY,
                    help=_("Click a finding, a mark on the timeline or a transcript line to play from it"))
    return audio_file is not None and audio_file.is_file()


def call_marks(timeline: dict | None, utterances, findings, titles: dict[str, str], hold_min_s: float) -> list[Mark]:
    """The marks of one call: speech per party, rings, the line's cues (IVR, music, keys), holds (mutual
    silences of `hold_min_s` or more), overlaps and findings (labelled with their rule titles)."""
    marks = [Mark(u.role, float(u.start_s), float(u.end_s), u.text[:40]) for u in utterances.itertuples(index=False)]
    timeline = timeline or {}
    marks += [Mark("ring", float(a), float(b), _("Ring")) for a, b in timeline.get("rings", [])]
    marks += [Mark("cue", float(a), float(b), cue_label(kind, label))
              for a, b, kind, label, _channel in timeline.get("cues", [])]
    marks += [Mark("hold", float(a), float(b), _("Hold / silence")) for a, b in timeline.get("mutual_silence", [])
              if float(b) - float(a) >= hold_min_s]
    for overlap in timeline.get("overlaps", []):
        a, b = (overlap[0], overlap[1]) if isinstance(overlap, (list, tuple)) else (overlap["start_s"], overlap["end_s"])
        marks.append(Mark("overlap", float(a), float(b), _("Overlap")))
    marks += [Mark("finding", float(f.start_s), float(f.end_s), titles.get(f.rule_id, f.rule_id))
              for f in findings.itertuples(index=False)]
    return marks


def cue_label(kind: str, label: str) -> str:
    """What the line played or the caller pressed, in words."""
    if kind == "dtmf":
        return _("Key pressed: {key}").format(key=label)
    return _("IVR prompt") if kind == "ivr" else _("Music")


def hold_mark_s(book) -> float:
    """How long a mutual silence must be to be drawn as a hold: the hold rule's own threshold."""
    rule = book.rules.get("hold.procedure") if book is not None else None
    return float(rule.params.get("min_hold_s", HOLD_MARK_S)) if rule is not None else HOLD_MARK_S


def call_player(call: dict, utterances, findings, book, *, start: tuple[str, float, float | None] | None = None,
                keys: dict[str, str] | None = None) -> bool:
    """`player` for one stored call (`call_detail`'s header, utterances, findings; `book` the rulebook
    that scored it): its timeline marks, rule titles and channel roles."""
    timeline = json.loads(call["timeline_json"]) if call["timeline_json"] else {}
    titles = {f.rule_id: rule_title(book, f.rule_id) for f in findings.itertuples(index=False)}
    roles = ["agent", "customer"] if (call["channels"] or 1) >= 2 else ["unknown"]
    marks = call_marks(timeline, utterances, findings, titles, hold_mark_s(book))
    return player(call["path"], float(call["duration_s"] or 0.0), marks, roles, start=start, keys=keys)
