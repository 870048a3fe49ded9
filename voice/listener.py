"""Always-on listening: microphone -> recognizer -> runner, on a thread of its own.

A microphone that is missing or lost is reported once; the listener keeps
trying to open it again and reports when it is back, so a restarted audio
server or a replugged headset brings voice control back by itself.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, Protocol

from .commands import CommandId, Source
from .errors import EngineError

if TYPE_CHECKING:  # the engines are imported where they are built
    from .microphone import Microphone
    from .recognizer import Recognizer

_LOGGER = logging.getLogger(__name__)

# How often to try the microphone again while it is gone: each try costs
# about 0.1 s of CPU, and voice should be back within two seconds.
RETRY_SECONDS = 1.0


class VoiceSink(Protocol):
    def command(self, command: CommandId, source: Source) -> None: ...
    def not_understood(self, source: Source) -> None: ...
    def voice_input(self, available: bool, reason: str = "") -> None: ...


class Listener:
    def __init__(
        self,
        open_microphone: Callable[[], Microphone],
        make_recognizer: Callable[[], Recognizer],
        sink: VoiceSink,
        answers: Callable[[], frozenset[str]],
    ) -> None:
        self._open_microphone = open_microphone
        self._make_recognizer = make_recognizer
        self._sink = sink
        self._answers = answers
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        """Listen until stop(). Meant as a thread's target: never raises."""
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
                    if available is False:
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
            for heard in recognizer.feed(microphone.read(), self._answers()):
                _LOGGER.debug("heard %r: %s (%.2f)", heard.text, heard.command, heard.confidence)
                if heard.command is not None:
                    self._sink.command(heard.command, Source.VOICE)
                elif heard.heard_speech:
                    self._sink.not_understood(Source.VOICE)
