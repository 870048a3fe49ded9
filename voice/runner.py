"""Runs a session in real time: commands in, speech and cues out.

The calling thread owns the session. Microphone, keyboard and stdin readers
and the audio callbacks only put events on the runner's inbox, so the
session never needs a lock.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .commands import CommandId, Source
from .events import EventLog
from .output import Output
from .record import SessionRecord
from .rhythm import Cue
from .session import Action, Ended, InputMode, PlayCue, Preferences, Say, Session, StepChanged, Summary

_LOGGER = logging.getLogger(__name__)

# Longest sleep without a deadline: keeps the loop responsive to its inbox.
_MAX_WAIT = 0.5
# After "stop", how long the summary may take to be said before we leave anyway.
_FINAL_SPEECH_LIMIT = 60.0
# The record is saved on every command, and at least this often while counting.
_SAVE_EVERY = 30.0


@dataclass(frozen=True)
class _Command:
    command: CommandId
    source: Source
    words: str = ""


@dataclass(frozen=True)
class _Question:
    text: str
    source: Source


@dataclass(frozen=True)
class _NotUnderstood:
    source: Source


@dataclass(frozen=True)
class _InputEnded:
    source: Source


@dataclass(frozen=True)
class _VoiceInput:
    available: bool
    reason: str


@dataclass(frozen=True)
class _OwnVoice:
    command: CommandId | None


@dataclass(frozen=True)
class _OutputFailed:
    reason: str


@dataclass(frozen=True)
class _Started:
    item: Say | Cue
    t: float


@dataclass(frozen=True)
class _Finished:
    item: Say | Cue
    completed: bool


_Event = _Command | _Question | _NotUnderstood | _InputEnded | _VoiceInput | _OwnVoice | _OutputFailed | _Started | _Finished


class Runner:
    """Feeds a session with the inputs' events and the clock, and carries out its actions."""

    def __init__(
        self,
        session: Session,
        events: EventLog | None = None,
        record: SessionRecord | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        keep: Callable[[Preferences], None] | None = None,
    ) -> None:
        """keep: given the session's preferences after every command, to save them."""
        self._session = session
        self._keep = keep
        self._events = events
        self._record = record
        self._clock = clock
        self._wall = wall
        self._saved_at = -math.inf
        self._had_voice = False
        self._voice_lost = False
        self._inbox: queue.Queue[_Event] = queue.Queue()
        self._summary: Summary | None = None
        self._ended_at = 0.0
        self._thread: int | None = None
        self.answers = session.answers()
        """The questions being asked now; read by the listener thread."""

    # -- called from any thread -----------------------------------------------

    def command(self, command: CommandId, source: Source, words: str = "") -> None:
        """words: what was said, typed or pressed (go_to finds the step named in them)."""
        self._inbox.put(_Command(command, source, words))

    def question(self, text: str, source: Source) -> None:
        """A question in her own words, to answer from the leaflet."""
        self._inbox.put(_Question(text, source))

    def not_understood(self, source: Source) -> None:
        self._inbox.put(_NotUnderstood(source))

    def input_ended(self, source: Source) -> None:
        """The last input closed (end of stdin): end the session as "stop" does."""
        self._inbox.put(_InputEnded(source))

    def own_voice(self, command: CommandId | None) -> None:
        """Its own voice came back through the microphone: nothing to do but note it."""
        self._inbox.put(_OwnVoice(command))

    def voice_input(self, available: bool, reason: str = "") -> None:
        """The microphone (or recognizer) went, or came back."""
        self._inbox.put(_VoiceInput(available, reason))

    def output_failed(self, reason: str) -> None:
        """Speech stopped working; what is said is printed until it is back."""
        self._inbox.put(_OutputFailed(reason))

    def started(self, item: Say | Cue | None, t: float) -> None:
        """An utterance or cue began to sound; None tags (earcons) are not logged."""
        if item is None:
            return
        if threading.get_ident() == self._thread:
            self._log_started(item, t)  # printed text: log it now, in order
        else:
            self._inbox.put(_Started(item, t))

    def finished(self, item: Say | Cue | None, completed: bool) -> None:
        if item is not None:
            self._inbox.put(_Finished(item, completed))

    # -- the loop ---------------------------------------------------------------

    def run(self, output: Output) -> Summary:
        """Run the session until it has ended and its summary has been said."""
        self._output = output
        self._thread = threading.get_ident()
        self._apply(self._session.start(self._clock()))
        while self._summary is None or self._session.speaking:
            now = self._clock()
            if self._summary is not None and now - self._ended_at > _FINAL_SPEECH_LIMIT:
                _LOGGER.warning("the summary was not said in time; ending anyway")
                break
            # Cues are handed over ahead of their time, for the output to play on the beat.
            lead = self._output.lead
            deadline = self._session.next_deadline()
            timeout = _MAX_WAIT if deadline is None else min(_MAX_WAIT, max(0.0, deadline - lead - now))
            try:
                event: _Event | None = self._inbox.get(timeout=timeout)
            except queue.Empty:
                event = None
            now = self._clock()
            if event is not None:
                self._apply(self._on(event, now))
            self._apply(self._session.tick(now + lead))
            if isinstance(event, _Command) or now - self._saved_at > _SAVE_EVERY:
                self._save(now)
            if isinstance(event, _Command) and self._keep is not None:
                self._keep(self._session.preferences())
        self._save(self._clock())
        if self._events:
            self._events.write(self._clock(), "end")
        return self._summary

    def _save(self, now: float) -> None:
        """Keep the record current; a full disk must not end the session. Nothing
        is saved while the offer to carry on is unanswered: the place offered,
        the last session's, must stay for the next start."""
        self._saved_at = now
        if self._record is None or self._session.offering:
            return
        try:
            self._record.update(self._session.record(now), self._wall())
        except OSError as exc:
            _LOGGER.warning("could not save the session record: %s", exc)

    def _on(self, event: _Event, now: float) -> list[Action]:
        match event:
            case _Command(command, source, words):
                if self._events:
                    self._events.write(now, "command", id=command.value, source=source.value)
                self._output.stop()
                if source is Source.VOICE:
                    self._output.acknowledge()
                return self._session.handle(command, source, now, words)
            case _Question(text, source):
                if self._events:
                    self._events.write(now, "question", source=source.value)
                self._output.stop()
                if source is Source.VOICE:
                    self._output.acknowledge()
                return self._session.ask(text, now)
            case _NotUnderstood(source):
                return self._session.not_understood(source, now)
            case _InputEnded(source) if not self._session.ended:
                return self._on(_Command(CommandId.STOP, source), now)
            case _VoiceInput(available, reason):
                return self._voice_input(available, reason, now)
            case _OwnVoice(command):
                if self._events:
                    self._events.write(now, "own_voice", id=command and command.value)
            case _OutputFailed(reason):
                if self._events:
                    self._events.write(now, "output_failed", reason=reason)
                return self._session.notice("no_speech", now, reason=reason)
            case _Started(item, t):
                self._log_started(item, t)
            case _Finished(Say() as say, _):
                # The count starts a lead later, so that its first cue too is on its beat.
                return self._session.speech_finished(say.id, now + self._output.lead)
        return []

    def _voice_input(self, available: bool, reason: str, now: float) -> list[Action]:
        """Say once that voice is gone (and take keys), and again when it is back."""
        if self._events:
            self._events.write(now, "voice_input", available=available, reason=reason)
        if available:
            was_lost, self._voice_lost = self._voice_lost, False
            self._had_voice = True
            self._session.set_mode(InputMode.VOICE)
            return self._session.notice("microphone_back", now) if was_lost else []
        if self._voice_lost:
            return []
        self._voice_lost = True
        self._session.set_mode(InputMode.KEYS)
        if self._had_voice:
            return self._session.notice("microphone_lost", now)
        return self._session.notice("no_voice", now, reason=reason.rstrip("."))

    def _log_started(self, item: Say | Cue, t: float) -> None:
        if not self._events:
            return
        if isinstance(item, Say):
            self._events.write(t, "say", text=item.text)
        else:
            self._events.write(
                t, "cue", name=item.name, word=item.word, cycle=item.cycle, planned_t=self._events.seconds(item.planned_t)
            )

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Say():
                    self._output.say(action)
                case PlayCue(cue):
                    self._output.cue(cue)
                case StepChanged(step_id, index):
                    if self._events:
                        self._events.write(self._clock(), "step", id=step_id, index=index)
                case Ended(summary):
                    self._summary = summary
                    self._ended_at = self._clock()
        self.answers = self._session.answers()
