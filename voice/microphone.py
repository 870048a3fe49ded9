"""Microphone capture: 16 kHz mono 16-bit chunks from PyAudio, read with a bound on waiting.

PortAudio delivers the chunks to a callback, and read() takes them from a queue with a
timeout.  A blocking stream (speech_recognition's Microphone) cannot do this safely, as
measured with PulseAudio here:
- a source that delivers nothing (an idle pipe source, a stalled device) blocks a
  blocking read forever, and closing the stream from another thread meanwhile crashes
  the process (SIGSEGV);
- a killed server makes a blocking read raise OSError -9999 "Unanticipated host error"
  at once; a callback stream just stops (is_active() turns False);
- an unloaded (unplugged) source makes PulseAudio move the stream to the new default
  source, often the speaker's monitor: the stream goes on without an error, hearing
  the assistant's own voice (sometimes after a stall of about 2 s).  Nothing in
  PortAudio tells, so a watcher asks PulseAudio (``pactl subscribe``) and a move counts
  as loss, as does any gap in the audio.  For the same reason a stream that starts on
  a monitor (the default source once no microphone is left) is refused.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO, Any, Self, cast

from .errors import EngineError
from .playback import check_device, load_pyaudio, open_pyaudio

_LOGGER = logging.getLogger(__name__)

STALL_SECONDS = 1.5
"""Audio missing for this long means the microphone is lost.  Below the ~2 s PortAudio
stalls when a PulseAudio source is unloaded, well above the 30 ms between chunks."""
FIRST_AUDIO_SECONDS = 3.0
"""The first chunk may take longer: a PulseAudio source may finish a long block first."""
BACKLOG_SECONDS = 10.0
"""Audio kept for a reader that falls behind; older chunks are dropped (and counted)."""
_POLL_SECONDS = 0.05
"""How often a waiting read() looks whether the stream has died."""


class MicrophoneLost(EngineError):
    """The microphone stopped delivering audio: unplugged, sound server gone, or stalled."""


class Microphone:
    """An input device as 16-bit mono chunks; open it with ``with``.

    read() never waits longer than STALL_SECONDS for audio; once the microphone is lost
    every read() raises MicrophoneLost.  ``overflows`` counts audio lost to a reader
    that fell behind or to the device's own overruns.
    """

    def __init__(self, device: int | None = None, rate: int = 16000, chunk: int = 480) -> None:
        if rate <= 0 or chunk <= 0:
            raise ValueError(f"rate and chunk must be positive, not {rate} and {chunk}")
        self.device = device
        self.rate = rate
        self.chunk = chunk
        self.overflows = 0
        self._chunks: collections.deque[tuple[bytes, float]] = collections.deque()
        self._arrived = threading.Condition()
        self._backlog = max(1, round(BACKLOG_SECONDS * rate / chunk))
        self._last_arrival = 0.0
        self._first = True
        self._lost: MicrophoneLost | None = None
        self._moved: str | None = None
        self._closed = False
        self._watch = _PulseWatch(self._on_moved)
        self._audio: Any = None
        self._stream: Any = None
        self._stream_lock = threading.Lock()  # not the callback's: closing waits for the callback
        self._pyaudio: Any = None

    def __enter__(self) -> Self:
        if self._stream is not None:
            raise RuntimeError("the microphone is already open")
        self._pyaudio = load_pyaudio()
        self._chunks.clear()
        self._first = True
        self._lost = self._moved = None
        self._closed = False
        self._audio = open_pyaudio()
        try:
            check_device(self.device, output=False, audio=self._audio)
            self._last_arrival = time.monotonic()
            self._stream = self._audio.open(
                format=self._pyaudio.paInt16,
                channels=1,
                rate=self.rate,
                input=True,
                input_device_index=self.device,
                frames_per_buffer=self.chunk,
                stream_callback=self._capture,
            )
        except (OSError, ValueError) as error:
            self._audio.terminate()
            name = "default" if self.device is None else self.device
            raise EngineError(f"cannot open microphone {name} at {self.rate} Hz: {error}") from error
        except Exception:
            self._audio.terminate()
            raise
        try:
            self._watch.start()
        except EngineError:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the device (a callback stream closes cleanly even when stalled); a
        read() waiting in another thread raises MicrophoneLost."""
        with self._stream_lock:
            stream = self._stream
            if stream is None:
                return
            self._closed = True  # before _stream turns None: read() looks at them in this order
            self._stream = None
        self._watch.stop()
        try:
            stream.close()
        except OSError as error:
            _LOGGER.debug("closing the microphone: %s", error)
        self._audio.terminate()
        if self.overflows:
            _LOGGER.info("microphone: %d chunks lost to overflow", self.overflows)

    def _capture(self, in_data: bytes | None, frame_count: int, time_info: object, status: int) -> tuple[None, int]:
        """PortAudio's callback, on its thread: queue the chunk with the gap before it."""
        now = time.monotonic()
        with self._arrived:
            gap = now - self._last_arrival
            self._last_arrival = now
            if status & self._pyaudio.paInputOverflow:
                self.overflows += 1
            if len(self._chunks) == self._backlog:
                self._chunks.popleft()
                self.overflows += 1
            self._chunks.append((in_data or b"", gap))
            self._arrived.notify()
        return None, self._pyaudio.paContinue

    def _on_moved(self, message: str) -> None:
        with self._arrived:
            self._moved = message
            self._arrived.notify()

    def read(self) -> bytes:
        """The next chunk: ``chunk`` samples of 16-bit mono audio at ``rate``.

        Raises MicrophoneLost when the device or the sound server is gone, or no audio
        came for STALL_SECONDS."""
        if self._closed:
            raise MicrophoneLost("the microphone was closed")
        if self._stream is None:
            raise RuntimeError("open the microphone with a with-block first")
        if self._lost is not None:
            raise self._lost
        while True:
            with self._arrived:
                if self._moved is not None:
                    self._lose(self._moved)
                if self._chunks:
                    data, gap = self._chunks.popleft()
                    break
                self._arrived.wait(_POLL_SECONDS)
                silent = time.monotonic() - self._last_arrival
            self._check(silent)
        limit = FIRST_AUDIO_SECONDS if self._first else STALL_SECONDS
        self._first = False
        if gap > limit:
            self._lose(f"the microphone gave no audio for {gap:.1f} s (unplugged?)")
        return data

    def _check(self, silent: float) -> None:
        with self._stream_lock:
            if self._stream is None:
                raise MicrophoneLost("the microphone was closed")
            active = self._stream.is_active()
        if not active:
            self._lose("the microphone stopped: the device or the sound server went away")
        if silent > (FIRST_AUDIO_SECONDS if self._first else STALL_SECONDS):
            self._lose(f"the microphone gave no audio for {silent:.1f} s (unplugged or stalled?)")

    def _lose(self, message: str) -> None:
        self._lost = MicrophoneLost(message)
        _LOGGER.debug("%s", message)
        raise self._lost


_PACTL_ERRORS = (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError)
"""pactl missing, failing, or answering something else than expected."""


class _PulseWatch:
    """Tells when PulseAudio moves this process's recording stream to another source, or
    removes it: what it does, unasked, when the source is unloaded or unplugged.

    Does nothing when pactl is missing or the stream is not PulseAudio's (a raw ALSA
    device): then only gaps in the audio reveal a lost microphone."""

    _EVENT = re.compile(r"Event '(\w+)' on (source-output|source) #(\d+)")

    def __init__(self, on_lost: Callable[[str], None]) -> None:
        self._on_lost = on_lost
        self._pactl = shutil.which("pactl")
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._output: int | None = None
        self._source: int | None = None

    def start(self) -> None:
        """Find the recording stream just opened and follow it.  EngineError when it
        records a monitor: the speaker's own sound, what PulseAudio falls back to when
        there is no microphone, would have the assistant obey its own voice."""
        if self._pactl is None:
            _LOGGER.debug("pactl not found: an unplugged microphone shows only as a gap in the audio")
            return
        try:
            # Subscribe first, so that no move between the two calls goes unseen.
            self._process = subprocess.Popen(
                [self._pactl, "subscribe"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            ours = self._our_outputs()
            source = self._source_named(ours[max(ours)]) if ours else {}
        except _PACTL_ERRORS as error:
            _LOGGER.debug("cannot ask PulseAudio about the microphone: %s", error)
            ours = {}
        if not ours:
            self.stop()
            return
        self._output = max(ours)  # the newest stream of this process: the one just opened
        self._source = ours[self._output]
        if source.get("monitor_source") or source.get("properties", {}).get("device.class") == "monitor":
            self.stop()
            raise EngineError(
                f"no microphone: PulseAudio's default source is {source.get('name')}, the sound of a speaker"
            )
        self._thread = threading.Thread(target=self._follow, name="microphone watch", daemon=True)
        self._thread.start()

    def _pactl_json(self, *what: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [cast(str, self._pactl), "--format=json", "list", *what],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return cast(list[dict[str, Any]], json.loads(done.stdout))

    def _our_outputs(self) -> dict[int, int]:
        """This process's recording streams: source-output index -> source index."""
        pid = str(os.getpid())
        return {
            int(output["index"]): int(output["source"])
            for output in self._pactl_json("source-outputs")
            if output.get("properties", {}).get("application.process.id") == pid
        }

    def _source_named(self, index: int) -> dict[str, Any]:
        return next((source for source in self._pactl_json("sources") if source.get("index") == index), {})

    def _follow(self) -> None:
        lines = cast(IO[str], cast(subprocess.Popen[str], self._process).stdout)
        for line in lines:
            match = self._EVENT.match(line)
            if match is None:
                continue
            event, facility, index = match.group(1), match.group(2), int(match.group(3))
            if facility == "source" and event == "remove" and index == self._source:
                self._on_lost("the microphone was unplugged (its PulseAudio source went away)")
                return
            if facility == "source-output" and index == self._output:
                try:
                    now = self._our_outputs().get(index)
                except _PACTL_ERRORS as error:
                    _LOGGER.debug("cannot ask PulseAudio about the microphone: %s", error)
                    return  # the server is going away: the stream's own failure tells
                if now != self._source:
                    self._on_lost("the microphone was unplugged: PulseAudio moved the recording to another source")
                    return

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(2)
        if self._thread is not None:
            self._thread.join(2)  # it ends at the end of pactl's output
            self._thread = None
        cast(IO[str], self._process.stdout).close()
        self._process = None
