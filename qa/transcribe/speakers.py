"""Who speaks on a mono (mixed) recording: two-speaker clustering of speech turns.

Speech intervals (turns: speech between pauses) are cut into chunks of about
`chunk_s`. Turns are clustered bottom-up on the MFCC frames of their louder
half, each group modelled by one full-covariance Gaussian, merging the pair
whose merge costs least in BIC until two groups remain. When BIC still
prefers one model for those two, the call is not clearly two voices: only
the first turn is named (two similar voices look like one to these
features). Otherwise each chunk is scored against both groups and a two-state
HMM smooths the chunk decisions (a speaker change inside continuous speech
costs `switch_inside_nats`, at a pause nothing); its posterior is the chunk's
confidence, and chunks below `min_confidence` stay "unknown": guessing would
put words in the wrong mouth. On an inbound call the first speaker after the
ringing is the agent, which names the groups.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.special import logsumexp

from qa.records import Interval

_N = 256
_HOP = 80
_RATE = 8000
_CORRELATION = 4.0  # overlapping 10 ms frames: about one in four is independent
_RIDGE = 1e-3


def attribute_mono(
    x8: np.ndarray,
    intervals: list[Interval] | tuple[Interval, ...],
    *,
    rate: int = _RATE,
    chunk_s: float = 1.0,
    bic_penalty: float = 1.0,
    min_confidence: float = 0.9,
    switch_inside_nats: float = 8.0,
) -> dict[str, tuple[Interval, ...]]:
    """Speech intervals of a mono call by role ("agent", "customer", "unknown").

    `x8` is the channel at 8 kHz (`rate` says otherwise). `bic_penalty`: the
    BIC model-size weight (higher: more evidence needed for two voices).
    """
    if rate != _RATE:
        from qa.transcribe.audio import resample

        x8 = resample(np.asarray(x8, np.float32), rate, _RATE)
    intervals = sorted(intervals, key=lambda v: v.start_s)
    chunks, turn_of = _chunks(intervals, chunk_s)
    if not chunks:
        return {"agent": (), "customer": (), "unknown": ()}
    labels = _label_chunks(x8, chunks, turn_of, bic_penalty, min_confidence, switch_inside_nats)
    return _join(chunks, labels)


def _label_chunks(x8, chunks, turn_of, bic_penalty, min_confidence, switch_nats):
    n = len(chunks)
    first_turn = turn_of == turn_of[0]
    frames = [_frame_mfcc(x8, c) for c in chunks]
    usable = np.array([len(f) >= 8 for f in frames])
    if usable.sum() < 2:
        return _first_turn_only(first_turn)
    turns = [np.concatenate([frames[i] for i in np.flatnonzero((turn_of == t) & usable)] or [np.zeros((0, 12))])
             for t in range(turn_of.max() + 1)]
    groups, merge_gain = _cluster_turns(turns, bic_penalty)
    if merge_gain >= 0:
        # BIC prefers one voice, but two similar voices look the same to these
        # features: name only the first turn.
        return _first_turn_only(first_turn)
    models = [_gaussian(np.concatenate([turns[t] for t in g])) for g in groups]
    loglik = np.zeros((n, 2))
    for i in np.flatnonzero(usable):
        # Frames overlap and follow each other: about one in _CORRELATION is new evidence.
        loglik[i] = [_loglik(frames[i], *m).sum() / _CORRELATION for m in models]
    posterior = _smooth(loglik, turn_of, switch_nats)
    # The first turn after the ringing is the agent's greeting.
    agent = int(np.argmax(np.log(posterior[first_turn] + 1e-12).sum(axis=0)))
    labels = ["unknown"] * n
    for i in range(n):
        k = int(np.argmax(posterior[i]))
        if usable[i] and posterior[i, k] >= min_confidence:
            labels[i] = "agent" if k == agent else "customer"
    return labels


def _first_turn_only(first_turn) -> list[str]:
    return ["agent" if f else "unknown" for f in first_turn]


def _cluster_turns(turns: list[np.ndarray], penalty: float):
    """Agglomerative clustering of turns by BIC down to two groups; the BIC gain of merging those two."""
    groups = [[t] for t, f in enumerate(turns) if len(f) >= 8]
    data = {t: turns[t] for t in range(len(turns))}

    def frames_of(g):
        return np.concatenate([data[t] for t in g])

    while len(groups) > 2:
        best = None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                gain = _merge_gain(frames_of(groups[i]), frames_of(groups[j]), penalty)
                if best is None or gain > best[0]:
                    best = (gain, i, j)
        _, i, j = best
        groups[i] = groups[i] + groups.pop(j)
    if len(groups) < 2:
        return groups + [[]], 1.0
    return groups, _merge_gain(frames_of(groups[0]), frames_of(groups[1]), penalty)


def _merge_gain(a: np.ndarray, b: np.ndarray, penalty: float) -> float:
    """Delta BIC of modelling a and b with one Gaussian instead of two (> 0: one voice)."""
    both = np.concatenate([a, b])
    n, d = both.shape
    params = d + d * (d + 1) / 2
    # Frames overlap: count the effective number of independent frames.
    na, nb, nn = len(a) / _CORRELATION, len(b) / _CORRELATION, n / _CORRELATION
    return float(0.5 * (na * _logdet(a) + nb * _logdet(b) - nn * _logdet(both)) + penalty * 0.5 * params * np.log(nn))


def _logdet(x: np.ndarray) -> float:
    cov = np.cov(x, rowvar=False) + _RIDGE * np.eye(x.shape[1])
    return float(np.linalg.slogdet(cov)[1])


def _gaussian(x: np.ndarray):
    cov = np.cov(x, rowvar=False) + _RIDGE * np.eye(x.shape[1])
    return x.mean(axis=0), np.linalg.inv(cov), np.linalg.slogdet(cov)[1]


def _loglik(x: np.ndarray, mean, inv, logdet) -> np.ndarray:
    r = x - mean
    return -0.5 * (np.einsum("ij,jk,ik->i", r, inv, r) + logdet)


def _smooth(loglik: np.ndarray, turn_of: np.ndarray, switch_nats: float) -> np.ndarray:
    """Forward-backward over chunks: switching inside a turn costs `switch_nats`, at a pause nothing."""
    n = len(loglik)
    stay = np.log(1.0 / (1.0 + np.exp(-switch_nats)))
    move = -switch_nats + stay
    trans_inside = np.array([[stay, move], [move, stay]])
    trans_pause = np.log(np.full((2, 2), 0.5))
    alpha = np.zeros((n, 2))
    alpha[0] = np.log(0.5) + loglik[0]
    for i in range(1, n):
        t = trans_inside if turn_of[i] == turn_of[i - 1] else trans_pause
        alpha[i] = logsumexp(alpha[i - 1][:, None] + t, axis=0) + loglik[i]
    beta = np.zeros((n, 2))
    for i in range(n - 2, -1, -1):
        t = trans_inside if turn_of[i + 1] == turn_of[i] else trans_pause
        beta[i] = logsumexp(t + (loglik[i + 1] + beta[i + 1])[None, :], axis=1)
    post = alpha + beta
    post -= logsumexp(post, axis=1, keepdims=True)
    return np.exp(post)


def _frame_mfcc(x8: np.ndarray, iv: Interval) -> np.ndarray:
    """MFCC 1-12 of the louder half of a chunk's frames (the voiced part carries the voice)."""
    seg = x8[int(iv.start_s * _RATE):int(iv.end_s * _RATE)]
    if len(seg) < _N * 2:
        return np.zeros((0, 12))
    frames = np.lib.stride_tricks.sliding_window_view(seg, _N)[::_HOP] * np.hanning(_N)
    spec = scipy.fft.rfft(frames, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    energy = power.sum(axis=1)
    loud = energy >= np.percentile(energy, 50)
    return scipy.fft.dct(np.log(power[loud] @ _mel_bank().T + 1e-10), type=2, norm="ortho", axis=1)[:, 1:13]


def _chunks(intervals, chunk_s: float) -> tuple[list[Interval], np.ndarray]:
    """Chunks of about `chunk_s` and the index of the interval (turn) each comes from."""
    out, turn_of = [], []
    for k, iv in enumerate(intervals):
        n = max(1, int(round(iv.duration_s / chunk_s)))
        step = iv.duration_s / n
        out += [Interval(round(iv.start_s + j * step, 3), round(iv.start_s + (j + 1) * step, 3)) for j in range(n)]
        turn_of += [k] * n
    return out, np.array(turn_of)


def _join(chunks: list[Interval], labels: list[str]) -> dict[str, tuple[Interval, ...]]:
    roles: dict[str, list[Interval]] = {"agent": [], "customer": [], "unknown": []}
    for c, lab in zip(chunks, labels):
        lst = roles[lab]
        if lst and abs(lst[-1].end_s - c.start_s) < 1e-6:
            lst[-1] = Interval(lst[-1].start_s, c.end_s)  # a chunk continuing the same turn
        else:
            lst.append(c)
    return {k: tuple(v) for k, v in roles.items()}


def _mel_bank(n_mels: int = 24, lo: float = 250.0, hi: float = 3500.0) -> np.ndarray:
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    inv = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges = inv(np.linspace(mel(lo), mel(hi), n_mels + 2))
    freqs = np.fft.rfftfreq(_N, 1 / _RATE)
    bank = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        left, centre, right = edges[i:i + 3]
        bank[i] = np.clip(np.minimum((freqs - left) / (centre - left), (right - freqs) / (right - centre)), 0, None)
    return bank
