"""Where the session's words and cues go: the speaker, or text lines.

Both outputs report back through two callbacks, from whatever thread they
run on: started(item, t) when an utterance or cue starts to sound (or is
printed), finished(item, completed) when it ends or is cut off.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import IO, TYPE_CHECKING, Callable, Protocol

from .errors import EngineError
from .rhythm import Cue
from .session import Say

if TYPE_CHECKING:  # text mode must run without any audio module
    from .ownvoice import OwnVoice
    from .playback import Player, Sound
    from .speech import Synthesizer

_LOGGER = logging.getLogger(__name__)

# How often to try to reopen a failed audio output.
RETRY_SECONDS = 1.0

Started = Callable[[Say | Cue | None, float], None]
Finished = Callable[[Say | Cue | None, bool], None]


class Output(Protocol):
    lead: float
    """How long before its planned time a cue is to be handed over."""

    def say(self, say: Say) -> None:
        """Queue an utterance after whatever is being said."""

    def cue(self, cue: Cue) -> None:
        """Sound a cue at its planned time (or now, if that is past)."""

    def acknowledge(self) -> None:
        """A short sound: a spoken command was understood."""

    def stop(self) -> None:
        """Cut off whatever is sounding and drop the queue, at once."""

    def close(self) -> None: ...


class TextOutput:
    """--text: every utterance on its own line; cue words too, tones are silent.

    When the stream cannot be written any more (its reader gone, a full disk),
    closed() is called once and nothing more is printed."""

    lead = 0.0  # a cue is printed when it is due

    def __init__(self, stream: IO[str], started: Started, finished: Finished, closed: Callable[[], None]) -> None:
        self._stream = stream
        self._started = started
        self._finished = finished
        self._closed = closed
        self._gone = False
        self._lock = threading.Lock()

    def say(self, say: Say) -> None:
        self._print(say, say.text)

    def cue(self, cue: Cue) -> None:
        self._print(cue, cue.word)

    def _print(self, item: Say | Cue, text: str | None) -> None:
        self._started(item, time.monotonic())
        if text:
            with self._lock:
                self._write(text)
        self._finished(item, True)

    def _write(self, text: str) -> None:
        if self._gone:
            return
        try:
            self._stream.write(text + "\n")
            self._stream.flush()
        except OSError as exc:
            # A reader gone (a broken pipe) is an ending, not a fault; a full disk is.
            if not isinstance(exc, BrokenPipeError):
                _LOGGER.warning("cannot print any more, so the session ends: %s", exc.strerror or exc)
            self._gone = True
            self._closed()

    def acknowledge(self) -> None:
        """Typed commands need no sound."""

    def stop(self) -> None:
        """Printed lines cannot be cut off."""

    def close(self) -> None:
        """The stream belongs to the caller."""


class SpokenOutput:
    """Synthesized speech and cue sounds through a player.

    When speech cannot be made or played, each utterance goes to the fallback
    (printed), including one the failing device dropped, and the failure is
    reported once (the notice of it is only ever printed); a failed player is
    reopened, at most every RETRY_SECONDS, so speech returns with the sound server.
    """

    lead = 0.2
    """Cues come this long ahead, to be played on their beat: room for a late wake-up,
    reading the word from the cache (or making it) and the device's latency (23 ms)."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        open_player: Callable[[Started, Finished, Callable[[Exception], None]], Player],
        started: Started,
        finished: Finished,
        fallback: Output,
        failed: Callable[[str], None],
        own_voice: OwnVoice,
    ) -> None:
        self._synthesizer = synthesizer
        self._open_player = open_player
        self._started = started
        self._finished = finished
        self._own_voice = own_voice
        self._fallback = fallback
        self._failed = failed
        self._tones: dict[str, Sound] = {}
        self._player: Player | None = None
        self._healthy = threading.Event()
        self._tried_at = -math.inf
        self._reported = False
        self._reopen()

    def say(self, say: Say) -> None:
        if say.printed:
            self._fallback.say(say)
            return
        self._play(say, lambda: self._synthesizer.synthesize(say.text, slow=say.slow, rate=say.rate))

    def cue(self, cue: Cue) -> None:
        # Played at its planned time, a cue cuts off the tail of the one before on its beat.
        if cue.word:
            word = cue.word
            self._play(cue, lambda: from_first_sound(self._synthesizer.synthesize(word)), cue.planned_t)
        else:
            self._play(cue, lambda: self._tone(cue.name), cue.planned_t)

    def acknowledge(self) -> None:
        player = self._usable_player()
        if player is not None:
            sound = self._tone("understood")
            self._own_voice.learn("tone:understood", sound)
            player.play(sound, None)

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def close(self) -> None:
        if self._player is not None:
            self._player.close()

    def _play(self, item: Say | Cue, make: Callable[[], Sound], at: float | None = None) -> None:
        player = self._usable_player()
        if player is not None:
            try:
                sound = make()
                self._own_voice.learn(_sound_key(item), sound)
                player.play(sound, item, at)
                return
            except EngineError as exc:
                self._report(str(exc))
        if isinstance(item, Say):
            self._fallback.say(item)
        else:
            self._fallback.cue(item)

    def _usable_player(self) -> Player | None:
        if not self._healthy.is_set() and time.monotonic() - self._tried_at >= RETRY_SECONDS:
            self._reopen()
        return self._player if self._healthy.is_set() else None

    def _reopen(self) -> None:
        self._tried_at = time.monotonic()
        if self._player is not None:
            self._player.close()
            self._player = None
        self._healthy.set()
        try:
            self._player = self._open_player(self._player_started, self._player_finished, self._player_failed)
        except EngineError as exc:
            self._player_failed(exc)
        if self._healthy.is_set():
            self._reported = False

    def _player_started(self, item: Say | Cue | None, t: float) -> None:
        if item is not None:
            self._own_voice.playing(item, _sound_key(item), item.text if isinstance(item, Say) else item.word or "", t)
        self._started(item, t)

    def _player_finished(self, item: Say | Cue | None, completed: bool) -> None:
        self._own_voice.stopped(item, time.monotonic())
        if not completed and isinstance(item, Say) and not self._healthy.is_set():
            self._fallback.say(item)  # dropped by the failing device: print it instead
        else:
            self._finished(item, completed)

    def _player_failed(self, exc: Exception) -> None:
        """From the player's own thread, or from its constructor."""
        self._healthy.clear()
        self._report(str(exc))

    def _report(self, reason: str) -> None:
        if not self._reported:
            self._reported = True
            _LOGGER.info("speech output failed: %s", reason)
            self._failed(reason)

    def _tone(self, name: str) -> Sound:
        from .speech import tone

        if name not in self._tones:
            self._tones[name] = tone(name)
        return self._tones[name]


# Below this (-50 dBFS) a word's first samples are silence: espeak-ng begins "press"
# with the 45 ms closure of its p.
_SILENT_SAMPLE = 100


def from_first_sound(sound: Sound) -> Sound:
    """The sound less its leading silence, so that a word's first sound is on its beat."""
    import numpy as np

    from .playback import Sound

    loud = np.flatnonzero(np.abs(np.frombuffer(sound.pcm, "<i2").astype(np.int32)) > _SILENT_SAMPLE)
    first = int(loud[0]) if len(loud) else 0
    return Sound(sound.pcm[2 * first :], sound.rate)


def _sound_key(item: Say | Cue) -> str:
    """What the sound of an utterance or cue is known by to its own voice."""
    if isinstance(item, Say):
        # Spoken slowly, the same text is another sound to know.
        return f"slow:{item.text}" if item.slow else item.text
    return item.word or f"tone:{item.name}"
