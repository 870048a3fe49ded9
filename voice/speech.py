"""Speech synthesis through pyttsx3 (espeak-ng), cached as WAV files; tones made in code.

pyttsx3 2.99's espeak driver, as measured here, shapes the engine thread below:
- save_to_file() then runAndWait() writes a 22050 Hz mono 16-bit WAV in about 10 ms,
  one text per runAndWait, and prints "Audio saved to PATH" to stdout.
- Its proxy starts busy: commands given before the first runAndWait run inside it, and
  that first runAndWait returns before the file is written.  One empty runAndWait at
  start-up settles this.
- espeak-ng queues a voice or rate change; if it is still pending when runAndWait
  begins, runAndWait's opening stop() cancels it and then the synthesis too (about one
  call in ten here: wrong speed, truncated or mixed audio).  espeak_Synchronize()
  between the two prevents it.
- A failure while writing the file is raised inside espeak's callback and ignored
  there, leaving runAndWait looping forever; callers therefore wait with a bound.
- An unknown voice is silently ignored (the previous voice stays): check it first.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import math
import os
import queue
import sys
import tempfile
import threading
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, cast

import numpy as np

from .errors import EngineError, OptionError
from .playback import Sound

_LOGGER = logging.getLogger(__name__)

RATE_RANGE = (80, 400)
"""Words a minute accepted by --rate."""
DEFAULT_RATE = 175
"""Words a minute when none is chosen: espeak-ng's own default, calmer than pyttsx3's 200."""
SLOW_FACTOR = 0.75
"""How much slower ``slow`` speech is (phone numbers)."""
SYNTH_TIMEOUT = 30.0
"""Bound on one synthesis, queueing included; espeak-ng makes a minute of speech in
well under a second."""
_CACHE_VERSION = "1"
"""Part of every cache key: change it when the way audio is made changes."""


class Synthesizer(Protocol):
    """Text to audio, as the session's output uses it."""

    def synthesize(self, text: str, slow: bool = False, rate: int | None = None) -> Sound:
        """The audio of ``text``; ``slow`` for phone numbers; ``rate`` in words a minute
        instead of the synthesizer's own."""


def check_rate(rate: int) -> None:
    """OptionError unless ``rate`` (words a minute) is in RATE_RANGE."""
    low, high = RATE_RANGE
    if isinstance(rate, bool) or not isinstance(rate, int) or not low <= rate <= high:
        raise OptionError(f"speech rate {rate!r} is out of range: give {low} to {high} words a minute")


def check_voice(voice: str) -> None:
    """OptionError unless ``voice`` is the id of an installed voice."""
    if voice not in {voice_id for voice_id, _ in voices()}:
        raise OptionError(f"unknown voice {voice!r}: run.py voices lists the voice ids")


def voices() -> list[tuple[str, str]]:
    """(id, name) of every installed voice, for ``run.py voices``."""
    return list(_engine().voices)


# --- the engine thread -----------------------------------------------------------------


@dataclass
class _Job:
    work: Callable[[Any], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: Exception | None = None


class _Engine:
    """The one pyttsx3 engine of the process (espeak-ng initialises once), used only by
    its own thread: pyttsx3 is not thread-safe, and a hung runAndWait then blocks only
    that thread while callers give up after SYNTH_TIMEOUT."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._finished = threading.Event()
        self._errors: list[Exception] = []
        self._broken: EngineError | None = None
        self._start_error: EngineError | None = None
        self._started = threading.Event()
        self.default_voice = ""
        self.voices: list[tuple[str, str]] = []
        self._synchronize: Callable[[], object] = lambda: None
        self._thread = threading.Thread(target=self._run, name="speech engine", daemon=True)
        self._thread.start()
        if not self._started.wait(SYNTH_TIMEOUT):
            raise EngineError(f"the speech engine did not start within {SYNTH_TIMEOUT:.0f} s")
        if self._start_error is not None:
            raise self._start_error

    def _run(self) -> None:
        try:
            engine = self._start()
        except EngineError as error:
            self._start_error = error
            return
        finally:
            self._started.set()
        while True:
            job = self._jobs.get()
            try:
                job.result = job.work(engine)
            except Exception as error:  # noqa: BLE001 - handed to the caller, raised there
                job.error = error
            finally:
                job.done.set()

    def _start(self) -> Any:
        try:
            import pyttsx3
        except ImportError as error:
            raise EngineError(f"pyttsx3 is missing ({error}): pip install pyttsx3") from error
        try:
            engine = pyttsx3.init()
            self.default_voice = str(engine.getProperty("voice"))
            self.voices = [(str(v.id), str(v.name)) for v in engine.getProperty("voices")]
            engine.runAndWait()  # leaves the proxy idle: later commands run when given
            if str(engine) == "espeak":
                self._synchronize = _espeak_synchronize()
        except Exception as error:  # the espeak driver raises RuntimeError, OSError, ...
            raise EngineError(
                f"the speech engine failed to start ({error}): is espeak-ng installed? (Debian: apt-get install espeak-ng)"
            ) from error
        engine.connect("finished-utterance", lambda **_: self._finished.set())
        engine.connect("error", lambda exception, **_: self._errors.append(exception))
        return engine

    def call(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(engine)`` on the engine's thread; its result."""
        if self._broken is not None:
            raise self._broken
        job = _Job(work)
        self._jobs.put(job)
        if not job.done.wait(SYNTH_TIMEOUT):
            self._broken = EngineError(f"the speech engine stopped answering for {SYNTH_TIMEOUT:.0f} s (disk full?)")
            raise self._broken
        if job.error is not None:
            raise job.error
        return job.result

    def save(self, engine: Any, text: str, voice: str, wpm: int, path: Path) -> None:
        """Synthesize ``text`` into the WAV ``path`` (on the engine's thread)."""
        self._finished.clear()
        self._errors.clear()
        engine.setProperty("voice", voice)
        engine.setProperty("rate", wpm)
        self._synchronize()  # let espeak-ng apply them before runAndWait's stop() can cancel them
        engine.save_to_file(text, str(path))
        with _dropping_line(f"Audio saved to {path}"):
            try:
                engine.runAndWait()
            except Exception as error:
                _end_loop(engine)
                raise EngineError(f"speech synthesis failed: {error!r}") from error
            # Within the caller's bound, so a slow synthesis fails this job, not the engine.
            if not self._finished.wait(SYNTH_TIMEOUT / 2):
                raise EngineError(f"speech synthesis did not finish within {SYNTH_TIMEOUT / 2:.0f} s")
        if self._errors:
            raise EngineError(f"speech synthesis failed: {self._errors[0]!r}")


def _espeak_synchronize() -> Callable[[], object]:
    """espeak-ng's espeak_Synchronize (its public C API: wait until queued commands are
    done), from the library pyttsx3 loaded: these are the names it tries, in its order,
    so dlopen hands back the same library."""
    for name in ("libespeak-ng.so.1", "/usr/local/lib/libespeak-ng.so.1", "libespeak.so.1"):
        try:
            return cast(Callable[[], object], ctypes.CDLL(name).espeak_Synchronize)
        except OSError as error:
            _LOGGER.debug("no %s: %s", name, error)
    raise EngineError("pyttsx3 uses espeak, but libespeak-ng.so.1 cannot be loaded")


def _end_loop(engine: Any) -> None:
    """pyttsx3 leaves its loop flag set when a driver raises; clear it, or the next
    runAndWait would refuse with "run loop already started"."""
    try:
        engine.endLoop()
    except RuntimeError as error:
        _LOGGER.debug("pyttsx3 loop already ended: %s", error)


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        return _ENGINE


class _LineDropper:
    """sys.stdout, less one exact line (pyttsx3's "Audio saved to ..."), which print()
    writes as the text and then the newline."""

    def __init__(self, stream: IO[str], line: str) -> None:
        self._stream = stream
        self._line = line
        self._dropped_by: set[int] = set()

    def write(self, text: str) -> int:
        thread = threading.get_ident()
        if text == self._line:
            self._dropped_by.add(thread)
            _LOGGER.debug("pyttsx3 said: %s", text)
            return len(text)
        if text == "\n" and thread in self._dropped_by:
            self._dropped_by.discard(thread)
            return 1
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _dropping_line:
    """Filter a line out of sys.stdout while pyttsx3 may print it (from espeak's thread)."""

    def __init__(self, line: str) -> None:
        self._line = line
        self._filter: _LineDropper | None = None
        self._original: IO[str] | None = None

    def __enter__(self) -> None:
        self._original = sys.stdout
        if self._original is not None:
            self._filter = _LineDropper(self._original, self._line)
            sys.stdout = self._filter  # type: ignore[assignment]

    def __exit__(self, *exc_info: object) -> None:
        # Someone else may have wrapped stdout meanwhile: then leave theirs (ours passes
        # everything else through).
        if self._filter is not None and sys.stdout is self._filter:
            sys.stdout = self._original  # type: ignore[assignment]


# --- the synthesizer -------------------------------------------------------------------


class Pyttsx3Synthesizer:
    """Speech from espeak-ng through pyttsx3, each text made once per (voice, rate, slow)
    into a WAV in ``cache_dir`` and read from there ever after.

    Safe to call from several threads (a background prepare() and on-demand synthesize()).
    """

    def __init__(self, cache_dir: Path, voice: str | None = None, rate: int | None = None) -> None:
        if rate is not None:
            check_rate(rate)
        if voice is not None:
            check_voice(voice)
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.rate = DEFAULT_RATE if rate is None else rate
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise EngineError(f"cannot create the speech cache {self.cache_dir}: {error}") from error

    def synthesize(self, text: str, slow: bool = False, rate: int | None = None) -> Sound:
        """The audio of ``text``, from the cache when it was made before."""
        wpm = self._wpm(slow, rate)
        path = self._ensure(text, wpm)
        try:
            return _read_wav(path)
        except (OSError, EOFError, wave.Error, ValueError) as error:
            # Files are renamed into place whole, so this is damage from outside: remake it.
            _LOGGER.warning("speech cache file %s unreadable (%s); making it again", path, error)
            path.unlink(missing_ok=True)
            return _read_wav(self._ensure(text, wpm))

    def prepare(self, texts: Iterable[str], ready: Callable[[str, Sound], None] | None = None) -> None:
        """Synthesize ahead of time whatever is not cached yet, handing each sound to
        ``ready`` if given.  Best effort, for a background thread: an engine failure is
        logged and ends it, and synthesize() reports it again when the text is needed."""
        for text in filter(str.strip, texts):
            try:
                sound = self.synthesize(text)
            except EngineError as error:
                _LOGGER.warning("speech not prepared ahead: %s", error)
                return
            if ready is not None:
                ready(text, sound)

    def cache_path(self, text: str, slow: bool = False, rate: int | None = None) -> Path:
        """Where the audio of ``text`` is (or will be) cached."""
        return self._path(text, self._wpm(slow, rate))

    def _path(self, text: str, wpm: int) -> Path:
        key = "\n".join([_CACHE_VERSION, self.voice or "", str(wpm), text])
        return self.cache_dir / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.wav"

    def _wpm(self, slow: bool, rate: int | None = None) -> int:
        wpm = self.rate if rate is None else rate
        return max(RATE_RANGE[0], round(wpm * SLOW_FACTOR)) if slow else wpm

    def _ensure(self, text: str, wpm: int) -> Path:
        if not text.strip():
            raise ValueError("nothing to say: empty text")
        path = self._path(text, wpm)
        if not path.exists():
            engine = _engine()
            engine.call(lambda pyttsx3_engine: self._make(engine, pyttsx3_engine, text, wpm, path))
        return path

    def _make(self, engine: _Engine, pyttsx3_engine: Any, text: str, wpm: int, path: Path) -> None:
        """On the engine's thread: synthesize into a temporary file, then rename it into
        place, so the cache never holds half a file."""
        if path.exists():  # made meanwhile for another thread
            return
        try:
            fd, name = tempfile.mkstemp(dir=self.cache_dir, prefix=".", suffix=".wav.tmp")
        except OSError as error:
            raise EngineError(f"cannot write to the speech cache {self.cache_dir}: {error}") from error
        os.close(fd)
        temporary = Path(name)
        try:
            engine.save(pyttsx3_engine, text, self.voice or engine.default_voice, wpm, temporary)
            _read_wav(temporary)  # a broken file fails here, not when played
            os.replace(temporary, path)
        except (OSError, EOFError, wave.Error, ValueError) as error:
            raise EngineError(f"speech synthesis wrote no usable audio for {text[:40]!r}: {error}") from error
        finally:
            temporary.unlink(missing_ok=True)
        _LOGGER.debug("synthesized %r into %s", text[:40], path.name)


def _read_wav(path: Path) -> Sound:
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: not mono 16-bit")
        frames = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    if not frames:
        raise ValueError(f"{path}: no audio")
    return Sound(frames, rate)


# --- tones -----------------------------------------------------------------------------

TONE_LEVEL = 0.2
"""Peak amplitude of tones (-14 dBFS): well below speech, bearable for ten minutes."""
TONES: dict[str, list[tuple[float, float]]] = {
    # Short clicks, as CPR metronomes give: the beat falls on a sharp start, and
    # they are over long before the next cue.
    "press": [(523.25, 0.08)],  # C5, higher: squeeze
    "release": [(392.00, 0.08)],  # G4, lower: let go
    "understood": [(783.99, 0.07), (1046.50, 0.09)],  # G5 then C6: a short rising "got it"
}
"""Each tone as notes in turn: (Hz, seconds)."""
TONE_KINDS = tuple(TONES)


def tone(kind: str, rate: int = 22050) -> Sound:
    """A soft tone: "press" (higher), "release" (lower) or "understood" (a short earcon)."""
    if kind not in TONES:
        raise ValueError(f"unknown tone {kind!r}; tones: {', '.join(TONE_KINDS)}")
    notes = [_note(frequency, seconds, rate) for frequency, seconds in TONES[kind]]
    samples = np.concatenate(notes) * TONE_LEVEL * 32767
    return Sound(np.round(samples).astype("<i2").tobytes(), rate)


def _note(frequency: float, seconds: float, rate: int) -> np.ndarray:
    """A sine with a little second harmonic (rounder than a pure sine), raised-cosine
    attack and a longer fade out, so it neither clicks nor jabs; peak 1."""
    count = round(seconds * rate)
    t = np.arange(count) / rate
    wave_ = np.sin(2 * math.pi * frequency * t) + 0.2 * np.sin(4 * math.pi * frequency * t)
    envelope = np.ones(count)
    attack = min(count // 4, round(0.015 * rate))
    release = min(count // 2, round(0.4 * seconds * rate))
    envelope[:attack] = 0.5 - 0.5 * np.cos(np.linspace(0, math.pi, attack))
    envelope[count - release :] = 0.5 + 0.5 * np.cos(np.linspace(0, math.pi, release))
    shaped = wave_ * envelope
    return shaped / np.max(np.abs(shaped))
