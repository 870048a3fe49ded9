"""Always-on listening: microphone -> recognizer -> runner, on a thread of its own.

A microphone that is missing or lost is reported once; the listener keeps
trying to open it again and reports when it is back, so a restarted audio
server or a replugged headset brings voice control back by itself.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from .audio import write_wav
from .commands import CommandId, Source
from .errors import EngineError

if TYPE_CHECKING:  # the engines are imported where they are built
    from .microphone import Microphone
    from .ownvoice import OwnVoice
    from .recognizer import Recognition, Recognizer

_LOGGER = logging.getLogger(__name__)

# How often to try the microphone again while it is gone: each try costs
# about 0.1 s of CPU, and voice should be back within two seconds.
RETRY_SECONDS = 1.0

# How long stop() waits for the thread: one chunk read and recognized takes well
# under a second, a stalled microphone gives up within its own stall limit.
STOP_SECONDS = 5.0


class VoiceSink(Protocol):
    def command(self, command: CommandId, source: Source, words: str = "") -> None: ...
    def question(self, text: str, source: Source) -> None: ...
    def not_understood(self, source: Source) -> None: ...
    def voice_input(self, available: bool, reason: str = "") -> None: ...
    def own_voice(self, command: CommandId | None) -> None: ...


class Listener:
    def __init__(
        self,
        open_microphone: Callable[[], Microphone],
        make_recognizer: Callable[[], Recognizer],
        sink: VoiceSink,
        answers: Callable[[], frozenset[str]],
        own_voice: OwnVoice,
        record_dir: Path | None = None,
    ) -> None:
        """record_dir: keep every utterance heard there as a WAV (only when asked: it
        writes what she says to disk)."""
        self._open_microphone = open_microphone
        self._make_recognizer = make_recognizer
        self._sink = sink
        self._answers = answers
        self._own_voice = own_voice
        self._record_dir = record_dir
        self._recorded = itertools.count(1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> None:
        """Listen from now on; the recognizer loads on the listener's thread, while the
        welcome is said."""
        self._thread.start()

    def stop(self) -> None:
        """End listening and wait until the microphone is closed: a capture stream left
        open calls into Python from PortAudio's thread while the interpreter shuts down,
        which crashes the process."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(STOP_SECONDS)
            if self._thread.is_alive():
                _LOGGER.warning("the listener did not stop within %.0f s", STOP_SECONDS)

    def _run(self) -> None:
        """Listen until stop(); never raises."""
        try:
            recognizer = self._make_recognizer()
        except EngineError as exc:
            _LOGGER.warning("no speech recognition: %s", exc)
            self._sink.voice_input(False, str(exc))
            return
        available: bool | None = None  # not known until the first open
        while not self._stopped.is_set():
            try:
                with self._open_microphone() as microphone:
                    if available is not True:
                        self._sink.voice_input(True)
                    available = True
                    recognizer.reset()
                    self._listen(microphone, recognizer)
            except EngineError as exc:
                if available is not False:
                    _LOGGER.warning("microphone unavailable: %s", exc)
                    self._sink.voice_input(False, str(exc))
                available = False
                self._stopped.wait(RETRY_SECONDS)
            except Exception:
                _LOGGER.exception("listening failed")
                self._sink.voice_input(False, "listening failed")
                return

    def _listen(self, microphone: Microphone, recognizer: Recognizer) -> None:
        while not self._stopped.is_set():
            chunk = microphone.read()
            now = time.monotonic()
            for heard in recognizer.feed(chunk, self._answers()):
                _LOGGER.debug("heard %r: %s (%.2f)", heard.text, heard.command, heard.confidence)
                if not heard.heard_speech:
                    continue
                # The recognizer's clock is audio fed; the chunk just read ends about now.
                start, end = (now - (recognizer.seconds_fed - t) for t in (heard.start, heard.end))
                if self._own_voice.explains(heard.command, heard.audio, start, end):
                    self._sink.own_voice(heard.command)
                    self._record(heard, "own-voice")
                    continue
                if heard.command is not None:
                    self._sink.command(heard.command, Source.VOICE, heard.said)
                    self._record(heard, heard.command.value)
                elif heard.question:
                    self._sink.question(heard.text, Source.VOICE)
                    self._record(heard, "question")
                else:
                    self._sink.not_understood(Source.VOICE)
                    self._record(heard, "not-understood")

    def _record(self, heard: Recognition, label: str) -> None:
        """Keep the utterance for diagnosis, named by time, order and what it was taken for."""
        if self._record_dir is None:
            return
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._recorded):04d}-{label}.wav"
        try:
            write_wav(self._record_dir / name, heard.audio)
        except OSError as exc:
            # Diagnosis is not worth losing voice control over.
            _LOGGER.warning("cannot keep %s in %s: %s", name, self._record_dir, exc)
