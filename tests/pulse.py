"""A private PulseAudio server with a virtual speaker and microphone, for end-to-end tests.

The speaker is a null sink; what plays on it is recorded from its ``.monitor``.  The
microphone is a ``module-pipe-source`` fed from a FIFO by a thread that writes 10 ms
chunks at real-time pace: speech when :meth:`PulseHarness.speak` queued some, silence
otherwise.  Both are the server's defaults, so a child process given
:meth:`PulseHarness.env` (PortAudio through ALSA's pulse plugin, pacat, ...) plays to the
speaker and listens to the microphone without naming a device.

How module-pipe-source behaves, which shapes the feeder:

* It has no clock: it forwards whatever is in the FIFO the moment it arrives.  With an
  idle FIFO a recording client gets nothing and blocks, so silence must be written
  continuously for a listener's stream (and its timestamps) to advance.
* It only reads the FIFO while someone records from it.  Otherwise the FIFO fills
  (64 KiB, 2 s) and the next listener gets all of it at once, stale.  The feeder
  therefore tops up silence only while the FIFO is (nearly) empty, and drops speech once
  100 ms of it sit unread, as a real microphone loses what no one records.
* Unloading it unlinks the FIFO and PulseAudio moves its recording streams to the new
  default source, the speaker's monitor: a listener is not told, it hears the speaker.
* A killed server leaves the FIFO behind and a new module-pipe-source refuses to reuse it.

The speaker is a null sink with ``norewinds=1``: otherwise it renders up to 2 s ahead
while nobody records, and a new recorder waits that long for its first sample.

What a PyAudio program sees (PortAudio's ALSA host API through ALSA's pulse plugin):

* Devices "pulse" and "default", both this server, default index = "default".  Debian's
  ALSA configuration routes "default" to PulseAudio only if a server answers when
  PortAudio starts: with the server down there are no devices at all and opening a
  stream raises OSError ("No Default Output Device Available").
* Server killed mid-stream: the next read or write raises OSError -9999
  ("Unanticipated host error").
* Microphone unloaded mid-stream: no error; the stream now hears the speaker's monitor.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import fcntl
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import tempfile
import termios
import threading
import time
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Self, cast

import numpy as np

_LOGGER = logging.getLogger(__name__)

SINK = "spk"
MONITOR = SINK + ".monitor"
MIC = "mic"
SINK_RATE = 22050
"""espeak-ng's rate, so the usual speech output reaches the speaker unresampled."""
MIC_RATE = 16000
"""PocketSphinx's rate."""
CHUNK_MS = 10
"""The feeder's write size and the onset detector's window."""
THRESHOLD_DBFS = -40.0
"""RMS of a 10 ms window above which it counts as sound."""
RECORD_LATENCY_MS = 10
"""parec's fragment size: how late a recorded sample may reach us."""
CLOCK_BUCKET_S = 5.0
"""A recorder's clock is fitted through the least delayed read of each bucket this long."""
RECORDER_NAME = "pulse-harness-recorder"
"""Client name of the harness's own recorders, to tell them from the program's streams."""
WAIT_S = 10.0
"""Bound on every wait for the server, a child or a thread, so a hang fails fast."""

_SILENCE_BACKLOG_CHUNKS = 2
"""Silence is written only while the FIFO holds fewer chunks than this, so at most this
much stale silence is waiting when a listener connects."""
_SPEECH_BACKLOG_MS = 100
"""Speech is dropped while the FIFO holds more than this: no one is reading it.  Generous,
so a listener's server thread delayed by load does not lose speech."""
_RESYNC_S = 0.1
"""A feeder more than this behind its clock (starved of CPU) restarts its clock rather
than catching up in a burst."""


class PulseError(RuntimeError):
    """The harness's server, a module or a client failed."""


def pulseaudio_missing() -> str | None:
    """Why the harness cannot run here, or None when it can."""
    missing = [tool for tool in ("pulseaudio", "pactl", "parec") if shutil.which(tool) is None]
    return f"not installed: {', '.join(missing)} (Debian: pulseaudio, pulseaudio-utils)" if missing else None


# --- audio helpers ---------------------------------------------------------------------


def read_wav(path: str | os.PathLike[str], rate: int) -> np.ndarray:
    """Read a PCM WAV as int16 mono samples at ``rate``, mixing channels and resampling."""
    with wave.open(os.fspath(path), "rb") as wav:
        width, channels, wav_rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if width == 1:
        samples = (np.frombuffer(frames, np.uint8).astype(np.float64) - 128.0) * 256.0
    elif width == 2:
        samples = np.frombuffer(frames, "<i2").astype(np.float64)
    elif width == 4:
        samples = np.frombuffer(frames, "<i4").astype(np.float64) / 65536.0
    else:
        raise ValueError(f"{path}: {8 * width}-bit WAV not supported (use 8, 16 or 32-bit PCM)")
    mono = samples.reshape(-1, channels).mean(axis=1)
    return np.clip(np.round(resample(mono, wav_rate, rate)), -32768, 32767).astype(np.int16)


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Resample by truncating or padding the spectrum: an ideal low-pass, so downsampling
    does not alias, which matters to a recognizer.  Fine for utterances with quiet ends."""
    if rate == new_rate or len(samples) == 0:
        return samples
    count = max(1, round(len(samples) * new_rate / rate))
    spectrum = np.fft.rfft(samples)
    resized = np.zeros(count // 2 + 1, dtype=complex)
    kept = min(len(resized), len(spectrum))
    resized[:kept] = spectrum[:kept]
    return np.fft.irfft(resized, count) * (count / len(samples))


def loud_windows(samples: np.ndarray, window: int, threshold_dbfs: float = THRESHOLD_DBFS) -> np.ndarray:
    """One bool per ``window`` samples (the last one zero-padded): RMS above the threshold."""
    count = -(-len(samples) // window)
    padded = np.zeros(count * window)
    padded[: len(samples)] = samples
    rms = np.sqrt(np.mean(np.square(padded.reshape(count, window)), axis=1))
    return rms > _amplitude(threshold_dbfs)


def _amplitude(dbfs: float) -> float:
    return 32768.0 * 10.0 ** (dbfs / 20.0)


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    """A sine as int16 samples: test audio that needs no file."""
    t = np.arange(round(seconds * rate)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * math.pi * freq * t)).astype(np.int16)


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, rate: int) -> None:
    """Write int16 mono samples as a WAV."""
    with wave.open(os.fspath(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())


# --- recording -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Recording:
    """Mono audio recorded from a source, on the wall clock."""

    samples: np.ndarray
    """int16 samples."""
    rate: int
    """Sample rate in Hz."""
    start_monotonic: float
    """time.monotonic() at which the first sample could be read (CLOCK_MONOTONIC, which
    a child process's time.monotonic() shares)."""
    start_time: float
    """The same instant on time.time()."""
    clock_rate: float | None = None
    """Samples per second of time.monotonic(), when the source's clock runs off its
    nominal rate (the null sink at 22050 Hz runs about 90 ppm fast); None: ``rate``."""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @property
    def end_monotonic(self) -> float:
        return self.time_of(len(self.samples))

    def time_of(self, index: int) -> float:
        """time.monotonic() of sample ``index``."""
        return self.start_monotonic + index / (self.clock_rate or self.rate)

    def index_of(self, monotonic: float) -> int:
        """The sample at time.monotonic() ``monotonic``, clamped to the recording."""
        rate = self.clock_rate or self.rate
        return min(max(0, math.ceil((monotonic - self.start_monotonic) * rate)), len(self.samples))

    def between(self, start: float, end: float) -> np.ndarray:
        """Samples between two time.monotonic() instants."""
        return self.samples[self.index_of(start) : self.index_of(end)]

    def onset(self, after: float | None = None, *, threshold_dbfs: float = THRESHOLD_DBFS) -> float | None:
        """time.monotonic() at which sound starts at or after ``after``, or None: the first
        sample above the threshold in the first 10 ms window whose RMS is above it (the
        window ignores clicks; the sample makes the answer exact)."""
        first = 0 if after is None else self.index_of(after)
        window = self.rate * CHUNK_MS // 1000
        loud = np.flatnonzero(loud_windows(self.samples[first:], window, threshold_dbfs))
        if len(loud) == 0:
            return None
        start = first + int(loud[0]) * window
        above = np.abs(self.samples[start : start + window].astype(np.int32)) > _amplitude(threshold_dbfs)
        return self.time_of(start + int(np.argmax(above)))

    def offset(
        self, after: float | None = None, *, min_silence_ms: int = 200, threshold_dbfs: float = THRESHOLD_DBFS
    ) -> float | None:
        """time.monotonic() at which sound stops, at or after ``after``, for at least
        ``min_silence_ms`` (pauses between words are shorter), or None if it has not:
        just after the last sample above the threshold before that silence."""
        first = 0 if after is None else self.index_of(after)
        window = self.rate * CHUNK_MS // 1000
        whole = (len(self.samples) - first) // window
        quiet = ~loud_windows(self.samples[first : first + whole * window], window, threshold_dbfs)
        needed = max(1, -(-min_silence_ms // CHUNK_MS))
        run = 0
        for index, is_quiet in enumerate(quiet):
            run = run + 1 if is_quiet else 0
            if run == needed:
                silence = first + (index - needed + 1) * window
                last = self.samples[max(first, silence - window) : silence].astype(np.int32)
                above = np.flatnonzero(np.abs(last) > _amplitude(threshold_dbfs))
                return self.time_of(silence - len(last) + (int(above[-1]) + 1 if len(above) else 0))
        return None

    def onsets(self, *, quiet_before_ms: int = 60, threshold_dbfs: float = THRESHOLD_DBFS) -> list[float]:
        """time.monotonic() of every sound that starts after at least ``quiet_before_ms``
        of quiet (the gaps inside a word are shorter), each as exact as :meth:`onset`."""
        window = self.rate * CHUNK_MS // 1000
        needed = -(-quiet_before_ms // CHUNK_MS)
        found = []
        quiet = needed
        for index, is_loud in enumerate(loud_windows(self.samples, window, threshold_dbfs)):
            if is_loud and quiet >= needed:
                onset = self.onset(self.time_of(index * window), threshold_dbfs=threshold_dbfs)
                if onset is not None:
                    found.append(onset)
            quiet = 0 if is_loud else quiet + 1
        return found

    def pitch(self, start: float, seconds: float = 0.05) -> float:
        """The strongest frequency (Hz) from time.monotonic() ``start`` for ``seconds``."""
        samples = self.between(start, start + seconds).astype(np.float64)
        size = 8 * len(samples)  # zero-padded, for a finer grid of frequencies
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), size))
        return float(np.argmax(spectrum)) * self.rate / size

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the recording as a WAV, to look at or listen to after a failure."""
        write_wav(path, self.samples, self.rate)


class Recorder:
    """A parec client recording one source of the harness's server into memory.

    Created by :meth:`PulseHarness.record`; use it as a context manager or call
    :meth:`stop`.  Sample i is given the time ``start + i / rate``: a read at t whose
    first sample is sample n puts start at most t - n / rate, and the smallest such bound
    over all reads is taken, as the read least delayed by scheduling.  Samples come in
    blocks of about RECORD_LATENCY_MS, so a time is good to about that.  The finished
    recording (:meth:`stop`), once longer than a few CLOCK_BUCKET_S, is timed by a line
    through the least delayed read of each bucket instead, which follows a source whose
    clock runs off its rate (the null sink's gains 5 ms a minute).  Live snapshots keep
    the first way: refitted, the same sample would move between one and the next.
    """

    def __init__(self, env: Mapping[str, str], source: str, rate: int, timeout: float = WAIT_S) -> None:
        self.source = source
        self.rate = rate
        self._lock = threading.Lock()
        self._data = bytearray()
        self._start = math.inf
        self._floors: list[tuple[int, float]] = []  # (samples before, start bound) per bucket
        self._opened = time.monotonic()
        self._wall_offset = time.time() - time.monotonic()
        self._first = threading.Event()
        self._recording: Recording | None = None
        argv = [
            "parec",
            f"--device={source}",
            "--raw",
            "--format=s16le",
            f"--rate={rate}",
            "--channels=1",
            f"--latency-msec={RECORD_LATENCY_MS}",
            f"--client-name={RECORDER_NAME}",
        ]
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - parec writes it until stop() closes it
        self._error_text = ""
        self._proc = subprocess.Popen(argv, env=dict(env), stdout=subprocess.PIPE, stderr=self._errors)
        self._stdout = cast(IO[bytes], self._proc.stdout)
        self._thread = threading.Thread(target=self._read, name=f"record {source}", daemon=True)
        self._thread.start()
        # Return only once audio flows, so nothing the test does next is missed.
        if not self._first.wait(timeout) or not self._data:
            self.stop()
            raise PulseError(f"no audio from {source} within {timeout} s: {self._stderr()}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _read(self) -> None:
        fd = self._stdout.fileno()
        while chunk := os.read(fd, 65536):
            now = time.monotonic()
            with self._lock:
                before = len(self._data) // 2
                bound = now - before / self.rate
                self._start = min(self._start, bound)
                bucket = int((now - self._opened) // CLOCK_BUCKET_S)
                if bucket >= len(self._floors):
                    self._floors.append((before, bound))
                elif bound < self._floors[-1][1]:
                    self._floors[-1] = (before, bound)
                self._data += chunk
            self._first.set()
        self._first.set()  # parec ended before any audio: do not make __init__ wait it out

    def _stderr(self) -> str:
        if not self._errors.closed:
            self._errors.seek(0)
            self._error_text = self._errors.read().decode(errors="replace").strip()
        return self._error_text

    @property
    def running(self) -> bool:
        """Whether parec is still recording (it stops when the server dies)."""
        return self._proc.poll() is None

    def snapshot(self, since: float | None = None, *, fitted: bool = False) -> Recording:
        """What has been recorded so far, from time.monotonic() ``since`` on; ``fitted``:
        timed by the line through the buckets' least delayed reads."""
        with self._lock:
            start, rate = self._clock() if fitted else (self._start, float(self.rate))
            first = 0 if since is None else min(max(0, math.ceil((since - start) * rate)), len(self._data) // 2)
            # Slicing copies, so the samples stay valid while recording goes on.
            samples = np.frombuffer(self._data[2 * first : len(self._data) // 2 * 2], "<i2")
        begin = start + first / rate
        return Recording(samples, self.rate, begin, begin + self._wall_offset, rate)

    def _clock(self) -> tuple[float, float]:
        """(time.monotonic() of sample 0, samples a second of time.monotonic())."""
        if len(self._floors) < 3:
            return self._start, float(self.rate)
        counts, bounds = np.array(self._floors).T
        slope, intercept = np.polyfit(counts, bounds, 1)  # bound = start + count * (1/clock - 1/rate)
        return float(intercept), 1.0 / (1.0 / self.rate + float(slope))

    def wait_for_onset(self, after: float, timeout: float = WAIT_S, *, threshold_dbfs: float = THRESHOLD_DBFS) -> float:
        """Block until sound starts at or after time.monotonic() ``after``; its time."""
        return self._wait(lambda rec: rec.onset(after, threshold_dbfs=threshold_dbfs), after, timeout, "sound")

    def wait_for_offset(
        self,
        after: float,
        timeout: float = WAIT_S,
        *,
        min_silence_ms: int = 200,
        threshold_dbfs: float = THRESHOLD_DBFS,
    ) -> float:
        """Block until sound stops (for ``min_silence_ms``) at or after ``after``; its time."""
        return self._wait(
            lambda rec: rec.offset(after, min_silence_ms=min_silence_ms, threshold_dbfs=threshold_dbfs),
            after,
            timeout,
            "silence",
        )

    def _wait(self, find: Callable[[Recording], float | None], after: float, timeout: float, what: str) -> float:
        deadline = time.monotonic() + timeout
        while True:
            running = self.running
            found = find(self.snapshot(since=after))
            if found is not None:
                return found
            if not running:
                raise PulseError(f"recorder of {self.source} stopped before {what}: {self._stderr()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} on {self.source} within {timeout} s")
            time.sleep(CHUNK_MS / 1000)

    def stop(self, timeout: float = WAIT_S) -> Recording:
        """Stop parec and return the whole recording (idempotent)."""
        if self._recording is None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout)
            self._thread.join(timeout)
            self._stdout.close()
            self._stderr()
            self._errors.close()
            self._recording = self.snapshot(fitted=True)
        return self._recording

    @property
    def recording(self) -> Recording:
        """The recording, once stopped."""
        if self._recording is None:
            raise RuntimeError("still recording: call stop() or leave the with-block first")
        return self._recording


# --- speaking --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SpeechTiming:
    """When an utterance went into the microphone."""

    start_monotonic: float
    """time.monotonic() when its first chunk was written to the FIFO."""
    start_time: float
    """The same instant on time.time()."""
    end_monotonic: float
    """time.monotonic() when its last loud 10 ms chunk was written: the earliest moment a
    listener could know the speech had ended.  Measure response latency from here."""
    end_time: float
    """The same instant on time.time()."""
    dropped_ms: int
    """Audio discarded because no one was recording the microphone (lost, as a real
    microphone would lose it)."""


class Speech:
    """An utterance queued on the microphone, made by :meth:`PulseHarness.speak`."""

    def __init__(self, samples: np.ndarray, rate: int, threshold_dbfs: float = THRESHOLD_DBFS) -> None:
        frames = rate * CHUNK_MS // 1000
        loud = np.flatnonzero(loud_windows(samples, frames, threshold_dbfs))
        if len(loud) == 0:
            raise ValueError(f"nothing to speak: no 10 ms window louder than {threshold_dbfs} dBFS")
        padded = np.zeros(-(-len(samples) // frames) * frames, dtype="<i2")
        padded[: len(samples)] = samples
        self._chunks = [chunk.tobytes() for chunk in padded.reshape(-1, frames)]
        self._last_loud = int(loud[-1])
        self._sent = 0
        self._dropped = 0
        self._start = (0.0, 0.0)
        self._end = (0.0, 0.0)
        self._done = threading.Event()
        self._error: Exception | None = None
        self._timing: SpeechTiming | None = None

    @property
    def duration(self) -> float:
        return len(self._chunks) * CHUNK_MS / 1000

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> SpeechTiming:
        """Block until all of it was written (default bound: its duration plus WAIT_S)."""
        limit = self.duration + WAIT_S if timeout is None else timeout
        if not self._done.wait(limit):
            raise TimeoutError(f"speech not written within {limit} s")
        if self._error is not None:
            raise self._error
        return cast(SpeechTiming, self._timing)

    @property
    def timing(self) -> SpeechTiming:
        """Its timing; raises TimeoutError if it is still being spoken (same as wait(0))."""
        return self.wait(0)

    def _next_chunk(self) -> bytes:
        return self._chunks[self._sent]

    def _record(self, monotonic: float, wall: float, dropped: bool) -> None:
        if self._sent == 0:
            self._start = (monotonic, wall)
        if self._sent == self._last_loud:
            self._end = (monotonic, wall)
        self._dropped += dropped
        self._sent += 1
        if self._sent == len(self._chunks):
            self._timing = SpeechTiming(*self._start, *self._end, dropped_ms=self._dropped * CHUNK_MS)
            self._done.set()

    def _fail(self, error: Exception) -> None:
        self._error = error
        self._done.set()


class _MicFeeder:
    """Writes the microphone FIFO in real time: queued speech, else silence."""

    def __init__(self, fifo: Path, rate: int) -> None:
        self._frames = rate * CHUNK_MS // 1000
        self._silence = bytes(2 * self._frames)
        self._speech_backlog = 2 * rate * _SPEECH_BACKLOG_MS // 1000
        # The server holds the FIFO open for reading, so this neither blocks nor fails.
        self._fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        self._queue: collections.deque[Speech] = collections.deque()
        self._lock = threading.Lock()
        self._error: Exception | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mic feeder", daemon=True)
        self._thread.start()

    def say(self, speech: Speech) -> None:
        with self._lock:
            if self._error is not None:
                raise self._error
            self._queue.append(speech)

    def _backlog(self) -> int:
        queued = array.array("i", [0])
        fcntl.ioctl(self._fd, termios.FIONREAD, queued)
        return queued[0]

    def _run(self) -> None:
        tick = time.monotonic()
        try:
            while not self._stopping.wait(max(0.0, tick - time.monotonic())):
                self._write_chunk()
                tick += CHUNK_MS / 1000
                if time.monotonic() - tick > _RESYNC_S:
                    tick = time.monotonic()
        except OSError as error:
            _LOGGER.warning("microphone feeder stopped: %s", error)
            self._fail(PulseError(f"microphone FIFO closed ({error}): server gone or pipe source unloaded"))

    def _write_chunk(self) -> None:
        with self._lock:
            speech = self._queue[0] if self._queue else None
        backlog = self._backlog()
        if speech is None:
            if backlog < _SILENCE_BACKLOG_CHUNKS * len(self._silence):
                os.write(self._fd, self._silence)
            return
        written = False
        if backlog <= self._speech_backlog:
            try:
                os.write(self._fd, speech._next_chunk())
                written = True
            except BlockingIOError:
                _LOGGER.debug("microphone FIFO full, chunk dropped")
        speech._record(time.monotonic(), time.time(), dropped=not written)
        if speech.done:
            with self._lock:
                self._queue.popleft()

    def _fail(self, error: Exception) -> None:
        with self._lock:
            self._error = error
            pending, self._queue = list(self._queue), collections.deque()
        for speech in pending:
            speech._fail(error)

    def stop(self, reason: Exception) -> None:
        """Stop writing; queued speech fails with ``reason``."""
        self._stopping.set()
        self._thread.join(WAIT_S)
        if self._thread.is_alive():
            raise PulseError("microphone feeder did not stop")
        self._fail(reason)
        os.close(self._fd)


# --- the server ------------------------------------------------------------------------


class PulseHarness:
    """A private PulseAudio server: a null-sink speaker and a pipe-source microphone.

    Files live under ``root`` (created); the socket lives in a short private directory
    under the system temp dir, because a unix socket path must fit in 108 bytes.
    """

    def __init__(self, root: str | os.PathLike[str], *, sink_rate: int = SINK_RATE, mic_rate: int = MIC_RATE) -> None:
        self.root = Path(root)
        self.sink_rate = sink_rate
        self.mic_rate = mic_rate
        self.root.mkdir(parents=True, exist_ok=True)
        for sub in ("state", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="pulse-harness-"))
        self.socket_path = self.runtime_dir / "native"
        self.fifo_path = self.root / "mic.fifo"
        self.log_path = self.root / "server.log"
        self._script = self.root / "server.pa"
        self._client_conf = self.root / "client.conf"
        self._alsa_conf = self.root / "asound.conf"
        self._server: subprocess.Popen[bytes] | None = None
        self._feeder: _MicFeeder | None = None
        self._mic_module: str | None = None
        self._recorders: list[Recorder] = []
        self._script.write_text(
            f"load-module module-native-protocol-unix socket={self.socket_path} auth-anonymous=1\n"
            f"load-module module-null-sink sink_name={SINK} rate={sink_rate} channels=1"
            " norewinds=1 sink_properties=device.description=harness-speaker\n"
            f"set-default-sink {SINK}\n"
        )
        # Never autospawn a server of the user's when ours is down (after kill()).
        self._client_conf.write_text("autospawn = no\n")
        self._alsa_conf.write_text(
            "pcm.!default { type pulse }\nctl.!default { type pulse }\npcm.pulse { type pulse }\nctl.pulse { type pulse }\n"
        )

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def server_address(self) -> str:
        return f"unix:{self.socket_path}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._server.pid if self._server is not None and self._server.poll() is None else None

    def env(self, base: Mapping[str, str] | None = None, *, quiet_alsa: bool = False) -> dict[str, str]:
        """Environment for a child process to use this server (``base``: os.environ).

        ``quiet_alsa`` replaces ALSA's configuration with one defining only ``default``
        and ``pulse`` (both this server): PortAudio then stops printing ~75 "ALSA lib"
        lines while probing devices that do not exist.  Leave it off to run the
        program with the system's ALSA configuration, as a user would.
        """
        # Drop the caller's PULSE_* (a PULSE_SINK naming another server's device, say).
        env = {
            key: value for key, value in (os.environ if base is None else base).items() if not key.startswith("PULSE_")
        }
        env.update(
            PULSE_SERVER=self.server_address,
            PULSE_RUNTIME_PATH=str(self.runtime_dir),
            PULSE_CLIENTCONFIG=str(self._client_conf),
        )
        if quiet_alsa:
            env["ALSA_CONFIG_PATH"] = str(self._alsa_conf)
        return env

    def _server_env(self) -> dict[str, str]:
        env = self.env()
        home = self.root / "home"
        # Keep the server's cookie and state out of the real home, shared with other servers.
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_RUNTIME_DIR=str(self.runtime_dir),
            PULSE_STATE_PATH=str(self.root / "state"),
        )
        return env

    def start(self, timeout: float = WAIT_S) -> None:
        """Start the server with the speaker and the microphone as defaults."""
        if self._server is not None:
            raise PulseError("server already started")
        # A killed server leaves its FIFO behind and module-pipe-source will not reuse it.
        self.fifo_path.unlink(missing_ok=True)
        argv = [
            "pulseaudio",
            "--daemonize=no",
            "--system=no",
            "--use-pid-file=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--realtime=no",
            "--high-priority=no",
            "--log-target=stderr",
            "--log-level=notice",
            "-n",
            f"--file={self._script}",
        ]
        with self.log_path.open("ab") as log:
            self._server = subprocess.Popen(
                argv, env=self._server_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            self._wait_until_answering(self._server, timeout)
            self.load_mic()
        except BaseException:
            self._stop_server(timeout)
            raise

    def _wait_until_answering(self, server: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while subprocess.run(
            ["pactl", "info"], check=False, env=self.env(), capture_output=True, timeout=timeout
        ).returncode:
            if server.poll() is not None:
                raise PulseError(f"pulseaudio exited at start; see {self.log_path}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise PulseError(f"pulseaudio not answering after {timeout} s; see {self.log_path}")
            time.sleep(0.02)

    def _stop_server(self, timeout: float) -> None:
        self._stop_feeder(PulseError("server stopped"))
        if self._server is not None:
            self._server.terminate()
            try:
                self._server.wait(timeout)
            except subprocess.TimeoutExpired:
                _LOGGER.warning("pulseaudio ignored SIGTERM for %s s; killing it", timeout)
                self._server.kill()
                self._server.wait(timeout)
            self._server = None
            self._mic_module = None

    def _log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def pactl(self, *args: str, timeout: float = WAIT_S) -> str:
        """Run pactl against this server; its output."""
        done = subprocess.run(
            ["pactl", *args], check=False, env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise PulseError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def streams(self, kind: str) -> list[dict[str, Any]]:
        """Other clients' streams, as pactl's JSON: ``kind`` is "sink-inputs" (playing)
        or "source-outputs" (recording).  The harness's own recorders are left out."""
        found = json.loads(self.pactl("--format=json", "list", kind))
        return [stream for stream in found if stream["properties"].get("application.name") != RECORDER_NAME]

    def wait_for_stream(self, kind: str, timeout: float = WAIT_S) -> dict[str, Any]:
        """Block until another client has an uncorked stream of ``kind``: a program under
        test is playing ("sink-inputs") or listening ("source-outputs").  The stream."""
        deadline = time.monotonic() + timeout
        while not (active := [stream for stream in self.streams(kind) if not stream["corked"]]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no client's {kind} within {timeout} s")
            time.sleep(0.05)
        return active[0]

    def load_mic(self) -> None:
        """Load the pipe-source microphone, make it the default source, start feeding it."""
        if self._mic_module is not None:
            raise PulseError("microphone already loaded")
        self._mic_module = self.pactl(
            "load-module",
            "module-pipe-source",
            f"source_name={MIC}",
            f"file={self.fifo_path}",
            "format=s16le",
            f"rate={self.mic_rate}",
            "channels=1",
            "source_properties=device.description=harness-microphone",
        ).strip()
        self.pactl("set-default-source", MIC)
        self._feeder = _MicFeeder(self.fifo_path, self.mic_rate)

    def unload_mic(self) -> None:
        """Unload the microphone, as if pulled out.  Its recording streams are moved to the
        speaker's monitor (PulseAudio's rule), not closed; a new stream on the default
        source gets the monitor too.  Queued speech fails."""
        if self._mic_module is None:
            raise PulseError("microphone not loaded")
        self._stop_feeder(PulseError("microphone unloaded"))
        self.pactl("unload-module", self._mic_module)
        self._mic_module = None

    def _stop_feeder(self, reason: Exception) -> None:
        if self._feeder is not None:
            self._feeder.stop(reason)
            self._feeder = None

    def speak(
        self,
        audio: str | os.PathLike[str] | bytes | np.ndarray,
        *,
        wait: bool = True,
        timeout: float | None = None,
        threshold_dbfs: float = THRESHOLD_DBFS,
    ) -> Speech:
        """Say ``audio`` into the microphone in real time, after anything already queued.

        ``audio`` is a WAV path (any rate, channels, 8/16/32-bit PCM: converted), or
        int16 samples / s16le bytes already at ``mic_rate`` mono.  With ``wait`` block
        until written (bounded by ``timeout``); the result's ``timing`` tells when the
        speech ended.  Without, poll ``done`` or call ``wait()`` later.
        """
        if self._feeder is None:
            raise PulseError("microphone not loaded")
        if isinstance(audio, (str, os.PathLike)):
            samples = read_wav(audio, self.mic_rate)
        elif isinstance(audio, bytes):
            samples = np.frombuffer(audio, "<i2")
        else:
            samples = np.asarray(audio, dtype=np.int16)
        speech = Speech(samples, self.mic_rate, threshold_dbfs)
        self._feeder.say(speech)
        if wait:
            speech.wait(timeout)
        return speech

    def record(self, source: str = MONITOR, rate: int | None = None, *, timeout: float = WAIT_S) -> Recorder:
        """Start recording ``source`` (default: the speaker's monitor) at ``rate`` (default:
        the source's own).  Returns once audio flows; stop it or use it in a with-block."""
        if rate is None:
            rate = self.mic_rate if source == MIC else self.sink_rate
        recorder = Recorder(self.env(), source, rate, timeout)
        self._recorders.append(recorder)
        return recorder

    def kill(self, timeout: float = WAIT_S) -> None:
        """SIGKILL the server, as a crash.  Clients lose their connection; queued speech fails."""
        if self._server is None:
            raise PulseError("server not running")
        # The feeder first, so it does not report the broken pipe as a surprise.
        self._stop_feeder(PulseError("server killed"))
        self._server.send_signal(signal.SIGKILL)
        self._server.wait(timeout)
        self._server = None
        self._mic_module = None

    def restart(self, timeout: float = WAIT_S) -> None:
        """Start the server again after kill(): same socket, devices and FIFO path."""
        self.start(timeout)

    def close(self, timeout: float = WAIT_S) -> None:
        """Stop recorders, the feeder and the server; remove the socket directory."""
        for recorder in self._recorders:
            recorder.stop(timeout)
        self._recorders.clear()
        self._stop_server(timeout)
        if self.runtime_dir.exists():
            shutil.rmtree(self.runtime_dir)
