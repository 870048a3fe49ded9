"""Where the session's words and cues go: the speaker, or text lines.

Both outputs report back through two callbacks, from whatever thread they
run on: started(item, t) when an utterance or cue starts to sound (or is
printed), finished(item, completed) when it ends or is cut off.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import IO, TYPE_CHECKING, Callable, Protocol

from .rhythm import Cue
from .session import Say

if TYPE_CHECKING:  # text mode must run without any audio module
    from .playback import Player, Sound
    from .speech import Synthesizer

_LOGGER = logging.getLogger(__name__)

Started = Callable[[Say | Cue, float], None]
Finished = Callable[[Say | Cue, bool], None]


class Output(Protocol):
    def say(self, say: Say) -> None:
        """Queue an utterance after whatever is being said."""

    def cue(self, cue: Cue) -> None:
        """Sound a cue now."""

    def acknowledge(self) -> None:
        """A short sound: a spoken command was understood."""

    def stop(self) -> None:
        """Cut off whatever is sounding and drop the queue, at once."""

    def close(self) -> None: ...


class TextOutput:
    """--text: every utterance on its own line; cue words too, tones are silent."""

    def __init__(self, stream: IO[str], started: Started, finished: Finished) -> None:
        self._stream = stream
        self._started = started
        self._finished = finished
        self._lock = threading.Lock()

    def say(self, say: Say) -> None:
        self._print(say, say.text)

    def cue(self, cue: Cue) -> None:
        self._print(cue, cue.word)

    def _print(self, item: Say | Cue, text: str | None) -> None:
        self._started(item, time.monotonic())
        if text:
            with self._lock:
                self._stream.write(text + "\n")
                self._stream.flush()
        self._finished(item, True)

    def acknowledge(self) -> None:
        """Typed commands need no sound."""

    def stop(self) -> None:
        """Printed lines cannot be cut off."""

    def close(self) -> None:
        """The stream belongs to the caller."""


class SpokenOutput:
    """Synthesized speech and cue sounds through a player."""

    def __init__(self, synthesizer: Synthesizer, player: Player) -> None:
        self._synthesizer = synthesizer
        self._player = player
        self._tones: dict[str, Sound] = {}

    def say(self, say: Say) -> None:
        self._player.play(self._synthesizer.synthesize(say.text, slow=say.slow), say)

    def cue(self, cue: Cue) -> None:
        # A cue must start on its beat: cut off the tail of the one before.
        self._player.stop()
        sound = self._synthesizer.synthesize(cue.word) if cue.word else self._tone(cue.name)
        self._player.play(sound, cue)

    def acknowledge(self) -> None:
        self._player.play(self._tone("understood"), None)

    def _tone(self, name: str) -> Sound:
        from .speech import tone

        if name not in self._tones:
            self._tones[name] = tone(name)
        return self._tones[name]

    def stop(self) -> None:
        self._player.stop()

    def close(self) -> None:
        self._player.close()
