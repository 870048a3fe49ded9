"""Sound output: one low-latency PyAudio stream kept open for the session, fed from a queue.

Also the device helpers the microphone shares: PyAudio loaded lazily and quietly, the
list of devices for ``run.py devices``, and the check of a device index.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, Self

import numpy as np

from .errors import EngineError, NoSuchDevice

_LOGGER = logging.getLogger(__name__)

FRAMES_PER_BUFFER = 256
"""11.6 ms at 22050 Hz: small, so a sound starts and stops within a few buffers."""
STALL_SECONDS = 5.0
"""An output stream whose callback has not run for this long is broken.  Generous: a
PulseAudio null sink holds a new stream up to 2 s before it first asks for audio."""
_WATCH_SECONDS = 0.05
"""How often the watchdog looks at the stream."""
_CLOCK_WINDOW = 2.0
"""Seconds of callbacks whose earliest reading of the stream's clock is taken: long
enough to hold some that ran on time (the rest were woken late), short enough to
forget the burst that fills the device at the start or after an underrun, and to
follow a sound card's clock drifting from time.monotonic()."""
NO_DEVICES = "no sound card, or PulseAudio or PipeWire not running"
"""Why PortAudio finds no audio device, as far as it can tell: a statement, so that it
reads well inside a sentence (the notices put it before a full stop)."""


@dataclass(frozen=True)
class Sound:
    """Audio to play: mono, signed 16-bit little-endian samples."""

    pcm: bytes
    """The samples, two bytes each, little-endian."""
    rate: int
    """Samples a second."""

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"sample rate must be positive, not {self.rate}")
        if len(self.pcm) % 2:
            raise ValueError("16-bit audio needs an even number of bytes")

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / 2 / self.rate


class Player(Protocol):
    """What the session's runner plays sounds through."""

    def play(self, sound: Sound, tag: object, at: float | None = None) -> None:
        """Queue a sound after whatever is playing; returns at once.  With ``at`` (a
        time.monotonic()), it is heard from then on, cutting off what sounds then."""

    def stop(self) -> None:
        """Cut off what is playing and drop the queue, at once (barge-in)."""

    def close(self) -> None: ...


class Device(NamedTuple):
    """An audio device as PortAudio numbers it."""

    index: int  # type: ignore[assignment]  # shadows tuple.index(), which nobody needs here
    """What ``--speaker`` or ``--microphone`` takes."""
    name: str
    max_in: int
    """Input channels: 0 for a device that cannot record."""
    max_out: int
    """Output channels: 0 for a device that cannot play."""


# --- PyAudio, devices ------------------------------------------------------------------

_STDERR_LOCK = threading.Lock()


def load_pyaudio() -> Any:
    """The pyaudio module, or EngineError saying how to install it."""
    try:
        import pyaudio
    except ImportError as error:
        raise EngineError(
            f"PyAudio is missing ({error}): pip install PyAudio (Debian: apt-get install libportaudio2)"
        ) from error
    return pyaudio


_ALSA_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)


@_ALSA_HANDLER
def _alsa_said(file: bytes, line: int, function: bytes, err: int, fmt: bytes) -> None:
    # The format's arguments are C varargs, out of reach here: the format and place suffice.
    text = [(part or b"").decode(errors="replace") for part in (file, function, fmt)]
    _LOGGER.debug("ALSA lib %s:%d:(%s) %s", text[0], line, text[1], text[2])


@functools.cache
def _hush_alsa() -> None:
    """Route ALSA's error messages to the debug log, once per process.  Its default handler
    prints each line in three writes, which another thread's output can land between,
    so they are stopped at the source rather than filtered out of stderr afterwards."""
    name = ctypes.util.find_library("asound")
    if name is None:  # not Linux, or no ALSA: nothing to hush
        return
    try:
        ctypes.CDLL(name).snd_lib_error_set_handler(_alsa_said)
    except (OSError, AttributeError) as error:
        _LOGGER.debug("ALSA's messages stay on stderr: %s", error)


_NOISE = ("ALSA lib ", "Expression '", "jack server ", "Cannot connect to server ", "JackShmReadWritePtr")
"""How the lines PortAudio's start-up prints begin: ALSA (where it could not be hushed)
and JACK probing devices that do not exist (about 75 lines on a machine without a sound
card).  Each of these is one write, so a line is never mixed with another thread's."""


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send PortAudio's start-up noise on stderr to the debug log.  The whole process's
    stderr is caught meanwhile (about 0.1 s): what other threads write is passed on."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode(errors="replace").splitlines()
            noise = [line for line in lines if line.startswith(_NOISE)]
            others = [line for line in lines if not line.startswith(_NOISE)]
            if noise:
                _LOGGER.debug("audio library start-up said:\n%s", "\n".join(noise))
            if others:
                os.write(2, ("\n".join(others) + "\n").encode())


def open_pyaudio() -> Any:
    """A new PyAudio instance (terminate() it when done), its start-up noise silenced."""
    pyaudio = load_pyaudio()
    _hush_alsa()
    with _quiet_stderr():
        return pyaudio.PyAudio()


def _devices(audio: Any) -> list[Device]:
    devices = []
    for index in range(audio.get_device_count()):
        info = audio.get_device_info_by_index(index)
        devices.append(Device(index, str(info["name"]), int(info["maxInputChannels"]), int(info["maxOutputChannels"])))
    return devices


def list_devices() -> list[Device]:
    """Every audio device, for ``run.py devices``."""
    audio = open_pyaudio()
    try:
        return _devices(audio)
    finally:
        audio.terminate()


def check_device(index: int | None, *, output: bool, audio: Any = None) -> None:
    """NoSuchDevice unless ``index`` is a device that can play (``output``) or record;
    None stands for the default device.  EngineError when there is no device of that
    kind, or no default.  ``audio``: a PyAudio instance to ask (default: a new one)."""
    if audio is None:
        audio = open_pyaudio()
        try:
            check_device(index, output=output, audio=audio)
        finally:
            audio.terminate()
        return
    kind = "output" if output else "input"
    usable = [d for d in _devices(audio) if (d.max_out if output else d.max_in) > 0]
    if not usable:
        raise EngineError(f"no audio {kind} device: {NO_DEVICES}")
    if index is None:
        try:
            audio.get_default_output_device_info() if output else audio.get_default_input_device_info()
        except OSError as error:
            raise EngineError(
                f"no default audio {kind} device ({error}); choose one by number (run.py devices lists them)"
            ) from error
    elif index not in [d.index for d in usable]:
        valid = ", ".join(f"{d.index} ({d.name})" for d in usable)
        raise NoSuchDevice(
            f"device {index} is not an audio {kind} device; {kind} devices: {valid} (run.py devices lists them)"
        )


def resample(pcm: bytes, rate: int, new_rate: int) -> bytes:
    """16-bit mono audio at another rate, by linear interpolation: enough for speech and
    tones (it does not filter, so downsampling aliases a little)."""
    samples = np.frombuffer(pcm, "<i2")
    if rate == new_rate or len(samples) == 0:
        return pcm
    count = max(1, round(len(samples) * new_rate / rate))
    positions = np.arange(count) * (rate / new_rate)
    return np.round(np.interp(positions, np.arange(len(samples)), samples)).astype("<i2").tobytes()


# --- the player ------------------------------------------------------------------------


class AudioPlayer:
    """Plays sounds one after another, gaplessly, on one output stream that stays open
    (silent when idle) from construction to close(), so a sound starts within a buffer
    or two instead of waiting for a stream to open.

    A sound played ``at`` a time is heard from that time to the sample (a cue on its
    beat), however late the caller woke within the device's latency ahead: samples are
    counted on the stream's own clock, which is tied to time.monotonic() by the least
    delayed callbacks, plus the latency PortAudio gives for each buffer.

    Every play() is answered by exactly one on_finished(tag, completed), after its
    on_started(tag, t) if it started: completed is False when stop() or a sound played
    ``at`` cut it off or dropped it from the queue, or the device failed.  t is the
    time.monotonic() at which the sound's first sample is to be heard, and on_finished
    comes when its last was handed to the device.  These two come from the audio thread
    and must be cheap (put them on a queue).

    A device error (the stream cannot open, the device or the sound server goes away,
    the stream stalls) is reported once to on_error, from the watchdog thread or from
    the constructor; from then on play() answers on_finished(tag, False) at once.
    """

    def __init__(
        self,
        on_started: Callable[[object, float], None],
        on_finished: Callable[[object, bool], None],
        on_error: Callable[[Exception], None],
        device: int | None = None,
        rate: int = 22050,
    ) -> None:
        self.rate = rate
        self._on_started = on_started
        self._on_finished = on_finished
        self._on_error = on_error
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[object, bytes, float | None]] = collections.deque()
        self._current: tuple[object, bytes] | None = None
        self._position = 0
        self._frames = 0  # handed to the device so far
        # (callback time, time.monotonic() of the stream's frame 0 less its latency, as
        # that callback saw it): a sliding minimum over _CLOCK_WINDOW, smallest first.
        self._clock: collections.deque[tuple[float, float]] = collections.deque()
        self._cut: list[object] = []  # stopped by stop(); their on_finished is still due
        self._failed = False
        self._callback_error: Exception | None = None
        self._last_callback = time.monotonic()
        self._closing = threading.Event()
        self._stream: Any = None
        self._watchdog: threading.Thread | None = None
        self._pyaudio = load_pyaudio()
        self._audio = open_pyaudio()
        try:
            check_device(device, output=True, audio=self._audio)
        except Exception:
            self._audio.terminate()
            raise
        try:
            self._stream = self._audio.open(
                format=self._pyaudio.paInt16,
                channels=1,
                rate=rate,
                output=True,
                output_device_index=device,
                frames_per_buffer=FRAMES_PER_BUFFER,
                stream_callback=self._fill,
            )
        except (OSError, ValueError) as error:
            self._fail(
                EngineError(f"cannot open audio output device {device if device is not None else 'default'}: {error}")
            )
            return
        self._watchdog = threading.Thread(target=self._watch, name="audio output watchdog", daemon=True)
        self._watchdog.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def play(self, sound: Sound, tag: object, at: float | None = None) -> None:
        """Queue ``sound`` after whatever is playing or queued; returns at once.  With
        ``at``, a time.monotonic(), it waits until then and is heard from then on, cutting
        off what is sounding; if that is already past, it starts at once."""
        pcm = resample(sound.pcm, sound.rate, self.rate)
        with self._lock:
            failed = self._failed or self._closing.is_set()
            if not failed:
                self._queue.append((tag, pcm, at))
        if failed:
            _LOGGER.debug("audio output is down; not playing %r", tag)
            self._call(self._on_finished, tag, False)

    def stop(self) -> None:
        """Cut off the sound playing and drop the queue; returns at once.  What the device
        already holds still sounds (a few buffers); sounds played after this are kept."""
        with self._lock:
            if self._current is not None:
                self._cut.append(self._current[0])
                self._current = None
            self._cut.extend(tag for tag, _, _ in self._queue)
            self._queue.clear()

    def close(self) -> None:
        """Stop at once and release the device; queued sounds get no callback."""
        if self._closing.is_set():
            return
        self._closing.set()
        if self._watchdog is not None:
            self._watchdog.join(1.0)
        with self._lock:
            self._queue.clear()
            self._current = None
            self._cut.clear()
        if self._stream is not None:
            try:
                self._stream.close()  # Pa_CloseStream drops what is buffered, like an abort
            except OSError as error:
                _LOGGER.debug("closing the audio output: %s", error)
        self._audio.terminate()

    # -- the audio thread ---------------------------------------------------------------

    def _fill(
        self, in_data: bytes | None, frame_count: int, time_info: dict[str, float], status: int
    ) -> tuple[bytes, int]:
        """PortAudio's callback: the next ``frame_count`` samples, silence when idle."""
        try:
            self._last_callback = now = time.monotonic()
            latency = max(0.0, time_info["output_buffer_dac_time"] - time_info["current_time"])
            data, events = self._take(frame_count, now, latency)
            for callback, *args in events:
                self._call(callback, *args)
            return data, self._pyaudio.paContinue
        except Exception as error:  # noqa: BLE001 - raised here, PyAudio would print it and stop the stream unseen
            self._callback_error = error
            return bytes(2 * frame_count), self._pyaudio.paAbort

    def _take(self, frame_count: int, now: float, latency: float) -> tuple[bytes, list[tuple[Any, ...]]]:
        needed = 2 * frame_count
        pieces: list[bytes] = []
        filled = 0
        # A callback runs when the device has room, or later if woken late: the
        # earliest reading of the stream's clock of late is the truest.
        reading = now - self._frames / self.rate
        while self._clock and self._clock[-1][1] >= reading:
            self._clock.pop()
        self._clock.append((now, reading))
        while self._clock[0][0] < now - _CLOCK_WINDOW:
            self._clock.popleft()
        heard = self._clock[0][1] + self._frames / self.rate + latency  # when this buffer starts to sound
        self._frames += frame_count
        with self._lock:
            events: list[tuple[Any, ...]] = [(self._on_finished, tag, False) for tag in self._cut]
            self._cut.clear()
            while filled < needed and not self._failed:
                start = self._head_start(heard, filled)
                timed = bool(self._queue) and self._queue[0][2] is not None
                if self._current is not None:
                    tag, pcm = self._current
                    end = min(needed, start) if timed and start is not None else needed
                    piece = pcm[self._position : self._position + end - filled]
                    pieces.append(piece)
                    filled += len(piece)
                    self._position += len(piece)
                    if self._position >= len(pcm):
                        events.append((self._on_finished, tag, True))
                        self._current = None
                    elif filled == start:  # cut off by the sound due now
                        events.append((self._on_finished, tag, False))
                        self._current = None
                    continue
                if start is None or start >= needed:
                    break
                pieces.append(bytes(start - filled))
                filled = start
                tag, pcm, _ = self._queue.popleft()
                self._current = (tag, pcm)
                self._position = 0
                events.append((self._on_started, tag, heard + filled / 2 / self.rate))
        pieces.append(bytes(needed - filled))
        return b"".join(pieces), events

    def _head_start(self, heard: float, filled: int) -> int | None:
        """Where in the buffer being filled the queue's next sound may start (bytes),
        ``filled`` if at once, or None with nothing queued.  The buffer's first sample
        is heard at ``heard``."""
        if not self._queue:
            return None
        at = self._queue[0][2]
        if at is None:
            return filled
        return max(filled, 2 * round((at - heard) * self.rate))

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        try:
            callback(*args)
        except Exception:
            _LOGGER.exception("audio callback %r failed", callback)

    # -- the watchdog -------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._closing.wait(_WATCH_SECONDS):
            error = self._trouble()
            if error is not None:
                self._fail(error)
                return

    def _trouble(self) -> EngineError | None:
        if self._callback_error is not None:
            return EngineError(f"audio output failed: {self._callback_error!r}")
        if not self._stream.is_active():
            return EngineError("audio output stopped: the device or the sound server went away")
        silent = time.monotonic() - self._last_callback
        if silent > STALL_SECONDS:
            return EngineError(f"audio output stalled: the device took no audio for {silent:.1f} s")
        return None

    def _fail(self, error: EngineError) -> None:
        with self._lock:
            self._failed = True
            pending = [tag for tag, _, _ in self._queue]
            if self._current is not None:
                pending.insert(0, self._current[0])
            pending = self._cut + pending
            self._queue.clear()
            self._cut.clear()
            self._current = None
        _LOGGER.debug("audio output failed: %s", error)
        self._call(self._on_error, error)
        for tag in pending:
            self._call(self._on_finished, tag, False)
