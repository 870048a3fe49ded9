"""Knowing its own voice when it comes back through the microphone.

Its prompts name commands ("to change breast, say other side"; the help list),
and its speech comes back through the room, or from a recording, at any time.
Every sound it plays is fingerprinted the way audio identification services
do it: pairs of spectral peaks, hashed with their time apart. Audio heard in
the microphone is its own when many of its hashes match one played sound at
one consistent time offset. A person saying the same words has other peaks.
Other espeak-ng voices are the hard case: espeak-ng plays the same recorded
samples for some consonants in every voice, so their hashes align too, but
only within a burst of a few frames, where its own voice aligns across the
utterance. Measured on the dev set (scripts/make_devset.py), on utterances
the recognizer took for commands: its own prompts 10 hashes or more aligned,
spread over 27 frames or more (one reverberant exception: 3 frames); other
espeak-ng voices up to 83 hashes, but spread over 5 frames (median);
flite, festival and real people 5 hashes at most.

Hence two levels. A strong match (aligned hashes spread over the utterance,
and a fair share of all that was heard: another espeak-ng voice's shared
sounds are a small part of it) is its own voice at any time: its recording
played back, a late echo. While it is talking, a weak match (enough aligned
hashes) is enough, as the room smears its echo. Heard audio that is its own
is not a command, with one exception, so that she can still interrupt: while
it is talking, a command it is not saying is hers (her voice over its echo).
Unless the audio matches another of its sounds strongly, and better than what
it is playing: a recording of its help list going on while it says "Sorry, I
did not catch that" holds "contacts", which is not hers.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .audio import SAMPLE_RATE
from .commands import CommandId, normalize
from .playback import Sound, resample

_LOGGER = logging.getLogger(__name__)

MIN_ALIGNED = 10
"""Hashes at one offset that make audio the assistant's own (see above)."""
MIN_SPREAD = 20
"""Frames (8 ms) over which the aligned hashes of a strong match spread."""
MIN_ANCHORS = 5
"""Distinct frames the aligned hashes of a strong match start from."""
MIN_SHARE = 0.06
"""Of all the hashes of the heard audio, the share aligned in a strong match. Its
own prompts taken for commands on the dev set: 9% (reverberant) to 17%, but 5.5%
for a reverberant "Paused." on one build whose last bits differed; 0.6 s pieces
of them: 35% typically, under 6% in 1 of 2165. Other espeak-ng voices'
commands that were strong matches otherwise: 1 to 16%, 9 of 15 under 6%."""
ECHO_SECONDS = 0.5
"""How long after it stops talking its voice may still come back (room, audio buffers)."""
_KEEP_PLAYED = 50
_FFT = 512  # 32 ms at 16 kHz
_HOP = 128  # 8 ms
_BINS = slice(8, 200)  # 250 Hz to 6.2 kHz, where speech has its peaks
_FLOOR_DB = -60.0  # quieter bins (room noise) are never peaks
_PEAK_AROUND = (4, 6)  # frames and bins a peak must top on each side
_FAN = 10  # pairs per anchor peak
_PAIR_FRAMES = 40  # how far ahead a paired peak may be (0.32 s)
_PAIR_BINS = 64
_GAP = 1000  # frames between learnt sounds, so no offset spans two
_WINDOW = np.hanning(_FFT).astype(np.float32)


def fingerprint(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, frame of each hash) of 16 kHz mono audio."""
    spectrum = _spectrogram(samples)
    local = _max_filter(_max_filter(spectrum, _PEAK_AROUND[0], 0), _PEAK_AROUND[1], 1)
    t, f = np.nonzero((spectrum == local) & (spectrum > _FLOOR_DB))  # sorted by time
    if len(t) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # Pair each peak with the next few that fall within the target zone.
    ahead = np.arange(1, 3 * _FAN + 1)
    i = np.repeat(np.arange(len(t)), len(ahead))
    j = i + np.tile(ahead, len(t))
    i, j = i[j < len(t)], j[j < len(t)]
    dt = t[j] - t[i]
    near = (dt > 0) & (dt <= _PAIR_FRAMES) & (np.abs(f[j] - f[i]) <= _PAIR_BINS)
    i, j, dt = i[near], j[near], dt[near]
    first = np.arange(len(i)) - np.searchsorted(i, i) < _FAN
    i, j, dt = i[first], j[first], dt[first]
    hashes = (f[i].astype(np.int64) << 16) | (f[j].astype(np.int64) << 8) | dt
    return hashes, t[i].astype(np.int64)


def _spectrogram(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, np.float32) / 32768.0
    if len(x) < _FFT:
        x = np.pad(x, (0, _FFT - len(x)))
    frames = sliding_window_view(x, _FFT)[::_HOP] * _WINDOW
    magnitude = np.abs(np.fft.rfft(frames, axis=1))[:, _BINS]
    return 20 * np.log10(magnitude + 1e-9) - 20 * np.log10(_FFT / 4)


def _max_filter(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    pad = [(0, 0)] * a.ndim
    pad[axis] = (size, size)
    return sliding_window_view(np.pad(a, pad, constant_values=-np.inf), 2 * size + 1, axis=axis).max(axis=-1)


class OwnVoice:
    """What the assistant plays: the fingerprints of its sounds, and what it is saying when.

    learn() queues a sound and returns at once (fingerprinting a long step takes
    a tenth of a second); a thread of its own does the work. Every method may be
    called from any thread. Times are time.monotonic().
    """

    def __init__(self, phrases: Mapping[CommandId, Iterable[str]]) -> None:
        self._phrases = {command: [normalize(p) for p in items] for command, items in phrases.items()}
        self._played: deque[list] = deque(maxlen=_KEEP_PLAYED)  # [item, key, words, start, end or None]
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._spans: dict[str, tuple[int, int]] = {}  # key: its frames in the table
        self._hashes: list[np.ndarray] = []
        self._frames: list[np.ndarray] = []
        self._next_frame = 0
        self._table: tuple[np.ndarray, np.ndarray] | None = None
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._todo: queue.Queue[tuple[str, Sound]] = queue.Queue()
        threading.Thread(target=self._work, name="own voice", daemon=True).start()

    def learn(self, key: str, sound: Sound) -> None:
        """Remember a sound (once per key: its text, say)."""
        with self._lock:
            if key in self._known:
                return
            self._known.add(key)
            self._pending += 1
        self._todo.put((key, sound))

    def wait_learnt(self, timeout: float) -> bool:
        """Wait until every sound given to learn() is fingerprinted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def playing(self, item: object, key: str, text: str, t: float) -> None:
        """It started to play item at t: the sound learnt as key, saying text (a
        prompt, a count word)."""
        with self._lock:
            self._played.append([item, key, normalize(text), t, None])

    def stopped(self, item: object, t: float) -> None:
        with self._lock:
            for played in self._played:
                if played[0] is item and played[4] is None:
                    played[4] = t

    def explains(self, command: CommandId | None, pcm: bytes, start: float, end: float) -> bool:
        """Whether an utterance heard from start to end is the assistant's own voice
        (and so no command), rather than hers."""
        with self._lock:
            now = [
                (key, said)
                for _, key, said, began, ended in self._played
                if began <= end and (ended is None or ended + ECHO_SECONDS >= start)
            ]
        heard = fingerprint(np.frombuffer(pcm, "<i2"))
        if not now:
            return self._match(heard).strong  # not talking: only a recording or a late echo of it
        playing = {key for key, _ in now}
        elsewhere = self._match(heard, playing, inside=False)
        if elsewhere.strong and elsewhere.aligned > self._match(heard, playing).aligned:
            return True  # a recording or a late echo of another thing it said
        if not self._match(heard).weak:
            return False
        if command is None:
            return True
        words = [w for _, said in now for w in said]
        return any(all(any(_alike(w, s) for s in words) for w in phrase) for phrase in self._phrases[command])

    def heard_in(self, pcm: bytes, strong: bool = True) -> bool:
        """Whether 16 kHz mono audio from the microphone is the assistant's own sound:
        a strong match, or with strong=False, also a weak one (see above)."""
        match = self._match(fingerprint(np.frombuffer(pcm, "<i2")))
        return match.strong if strong else match.weak

    def _match(self, heard: tuple[np.ndarray, np.ndarray], keys: set[str] | None = None, inside: bool = True) -> _Match:
        """The best time offset of heard (a fingerprint) against what it learnt, or
        only against the sounds learnt as keys (inside) or all but those."""
        hashes, frames = heard
        with self._lock:
            table = self._sorted()
            spans = [self._spans[key] for key in keys or () if key in self._spans]
        if table is None or not len(hashes):
            return _Match(0, 0, 0, len(hashes))
        known, at = table
        lo = np.searchsorted(known, hashes, "left")
        hi = np.searchsorted(known, hashes, "right")
        found = hi - lo
        if not found.any():
            return _Match(0, 0, 0, len(hashes))
        query = np.repeat(np.arange(len(hashes)), found)
        where = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True) if b > a])
        if keys is not None:
            within = np.zeros(len(where), bool)
            for first, last in spans:
                within |= (at[where] >= first) & (at[where] < last)
            query, where = query[within == inside], where[within == inside]
            if not len(where):
                return _Match(0, 0, 0, len(hashes))
        offsets = at[where] - frames[query]
        # Heard between two of the fingerprint's hops, a sound's hashes split over
        # neighbouring offsets: counted together, its own "pause" cut from a prompt
        # kept 36 hashes or more at any of 8 phases, against 23 at one offset.
        values, counts = np.unique(offsets, return_counts=True)
        total = np.concatenate([[0], np.cumsum(counts)])
        near = total[np.searchsorted(values, values + 1, "right")] - total[np.searchsorted(values, values - 1, "left")]
        anchors = frames[query][np.abs(offsets - values[near.argmax()]) <= 1]
        match = _Match(len(anchors), int(anchors.max() - anchors.min()), len(np.unique(anchors)), len(hashes))
        _LOGGER.debug("own voice: %s", match)
        return match

    def _sorted(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self._table is None and self._hashes:
            hashes, frames = np.concatenate(self._hashes), np.concatenate(self._frames)
            order = np.argsort(hashes, kind="stable")
            self._table = hashes[order], frames[order]
        return self._table

    def _work(self) -> None:
        while True:
            key, sound = self._todo.get()
            try:
                samples = np.frombuffer(resample(sound.pcm, sound.rate, SAMPLE_RATE), "<i2")
                hashes, frames = fingerprint(samples)
                span = len(samples) // _HOP
            except Exception:
                _LOGGER.exception("could not fingerprint %r", key[:40])
                hashes = frames = np.empty(0, np.int64)
                span = 0
            with self._lock:
                self._hashes.append(hashes)
                self._frames.append(frames + self._next_frame)
                self._spans[key] = (self._next_frame, self._next_frame + span)
                self._next_frame += span + _GAP
                self._table = None
                self._pending -= 1
                self._idle.notify_all()


class _Match(NamedTuple):
    """Heard audio against its learnt sounds, at the best time offset."""

    aligned: int
    """Hashes aligned."""
    spread: int
    """Frames they spread over."""
    anchors: int
    """Distinct frames they start from."""
    heard: int
    """Hashes heard."""

    @property
    def weak(self) -> bool:
        return self.aligned >= MIN_ALIGNED

    @property
    def strong(self) -> bool:
        return self.weak and self.spread >= MIN_SPREAD and self.anchors >= MIN_ANCHORS and self.aligned >= MIN_SHARE * self.heard


def _alike(a: str, b: str) -> bool:
    """The same word, or the same stem of 3 or more letters: pause/paused, carry/carrying."""
    short, long = sorted((a, b), key=len)
    return a == b or (len(short) >= 3 and long.startswith(short[:-1]))
