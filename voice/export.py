"""run.py export: a whole guided session rendered into one audio file, no microphone.

The timeline comes from the real session and rhythm: a Session is driven on a
simulated clock, with the commands she would give, and each utterance lasts as long
as its synthesized audio. Planning (plan()) is pure given the durations; render()
then lays the sounds on the timeline, as the live output plays them.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .commands import CommandId, Source
from .content import Content
from .errors import OptionError, WriteError
from .exportfile import chapters_path, check_target, clock, format_for, replacing, write_audio
from .output import from_first_sound
from .playback import Sound, resample
from .progress import Progress
from .rhythm import Cue, Style
from .session import Action, Breast, InputMode, PlayCue, Say, Session, StepChanged
from .speech import Synthesizer, tone

PAUSE_SECONDS = 2.0
"""Silence after a step that is not counted, before the next: the live session waits
for her "next"; a recording cannot, and the player's pause button gives more time."""
TAIL_SECONDS = 1.0
"""Silence at the end, so the last number is not cut by a player's fade."""
DEFAULT_SQUEEZES = 10
"""Squeezes counted at each position, unless --squeezes says otherwise."""
_EPSILON = 1e-9
"""Seconds: a cue planned at the end of the last squeeze belongs to the next one."""


@dataclass(frozen=True)
class Options:
    """What shapes the exported session, as the options of a live one."""

    tempo: float
    """Squeezes a minute."""
    style: Style = Style.WORDS
    thin: bool = True
    """Thin the count after the first cycles, as live."""
    squeezes: int = DEFAULT_SQUEEZES
    """Squeezes counted at each position."""
    positions: int | None = None
    """Positions around each breast; None: the content's positions_per_breast."""


@dataclass(frozen=True)
class Event:
    """One sound on the timeline."""

    start: float
    """Seconds from the start of the file."""
    item: Say | Cue
    """An utterance, or one cue of the count."""


@dataclass(frozen=True)
class Chapter:
    start: float
    """Seconds from the start of the file: where its first utterance begins."""
    title: str


@dataclass(frozen=True)
class Timeline:
    events: tuple[Event, ...]
    """In order of start."""
    chapters: tuple[Chapter, ...]
    end: float
    """The file's length in seconds."""


def check_options(content: Content, options: Options) -> None:
    """OptionError naming the limits when an option is out of range."""
    rhythm = content.rhythm
    if not rhythm.tempo_min <= options.tempo <= rhythm.tempo_max:
        raise OptionError(
            f"tempo {options.tempo:g} is out of range: give {rhythm.tempo_min:g} to {rhythm.tempo_max:g} squeezes a minute"
        )
    if options.squeezes < 1:
        raise OptionError(f"squeezes {options.squeezes} is out of range: give 1 or more squeezes a position")
    if options.positions is not None and options.positions < 1:
        raise OptionError(f"positions {options.positions} is out of range: give 1 or more positions a breast")


def plan(content: Content, options: Options, duration: Callable[[Say], float]) -> Timeline:
    """The whole session's timeline; ``duration(say)``: how long the utterance lasts."""
    check_options(content, options)
    if options.positions is not None:
        # As a live session whose content has this many positions: "position 2 of N".
        content = dataclasses.replace(content, positions_per_breast=options.positions)
    # A recording cannot hear her: no reminders, no hints of what to say.
    session = Session(
        content, InputMode.VOICE, 0.0, options.style, thin=options.thin, tempo=options.tempo, reminders=False,
        hints=False,
    )
    run = _Run(session, content, duration, options.squeezes)
    run.said(session.start(0.0))
    run.command(CommandId.NEXT)  # which breast?
    run.per_breast = True
    run.command(CommandId.LEFT)  # and its massage
    for breast in Breast:
        run.command(CommandId.NEXT)  # finding the right spot
        run.command(CommandId.NEXT)  # squeeze and release
        run.count()
        run.command(CommandId.NEXT)  # move around the breast
        # "No milk" moves her around the breast as the session does it: first a slight
        # change of position, then the next positions, then the other breast.
        for _ in range(content.positions_per_breast):
            run.command(CommandId.NO_MILK)
            run.count()
        if breast is Breast.LEFT:
            run.command(CommandId.NO_MILK)  # the other breast, from its massage
    run.per_breast = False
    run.command(CommandId.NEXT)  # collecting the milk
    run.count()
    run.command(CommandId.NEXT)  # how long to express for
    run.command(CommandId.NEXT)  # contact us
    run.command(CommandId.CONTACTS)
    return Timeline(tuple(run.events), tuple(run.chapters), run.t + TAIL_SECONDS)


class _Run:
    """A session on a simulated clock: speech takes its duration, counting its cycles."""

    def __init__(self, session: Session, content: Content, duration: Callable[[Say], float], squeezes: int) -> None:
        self._session = session
        self._content = content
        self._duration = duration
        self._squeezes = squeezes
        self.t = 0.0
        self.events: list[Event] = []
        self.chapters = [Chapter(0.0, content.meta["title"])]
        self._last_say: int | None = None
        self.per_breast = False
        """Chapters name the breast: steps done on each breast in turn."""

    def said(self, actions: list[Action]) -> None:
        """Play a batch of the session's actions from now: each utterance after the last."""
        step: StepChanged | None = None
        for action in actions:
            if isinstance(action, StepChanged):
                step = action
            elif isinstance(action, Say) and not action.printed:
                if step is not None and action.kind == "step":
                    self.chapters.append(Chapter(self.t, self._chapter_title(step)))
                    step = None
                self.events.append(Event(self.t, action))
                self.t += self._duration(action)
                self._last_say = action.id
            elif isinstance(action, PlayCue):
                raise RuntimeError(f"a cue while speaking: {action}")

    def command(self, command: CommandId) -> None:
        """She gives a command a pause after the speech, as if she had pressed its key."""
        if self.events and isinstance(self.events[-1].item, Say):
            self.t += PAUSE_SECONDS
        self.said(self._session.handle(command, Source.KEYBOARD, self.t))

    def count(self) -> None:
        """Speech is over: count the squeezes. The next command comes when the next
        squeeze would start, so the last one's release keeps its full pause."""
        if self._last_say is None:
            raise RuntimeError("nothing was said before counting")
        # By time, not by cues: in some styles a squeeze has no sound of its own.
        end = self.t + self._squeezes * self._session.rhythm.cycle_seconds
        actions = self._session.speech_finished(self._last_say, self.t)
        if not self._session.rhythm.running:
            raise RuntimeError(f"the session does not count at step {self._session.step.id!r}")
        while True:
            for action in actions:
                if not isinstance(action, PlayCue):
                    raise TypeError(f"the session did more than count: {action}")
                self.events.append(Event(action.cue.planned_t, action.cue))
            due = self._session.next_deadline()
            if due is None or due >= end - _EPSILON:
                break
            actions = self._session.tick(due)
        self.t = end

    def _chapter_title(self, step: StepChanged) -> str:
        title = self._content.steps[step.index].title
        breast = self._session.breast
        return f"{title} ({breast} breast)" if self.per_breast and breast is not None else title


# --- rendering -----------------------------------------------------------------------


def render(timeline: Timeline, sound_of: Callable[[Say | Cue], Sound], rate: int) -> np.ndarray:
    """The timeline's audio: 16-bit mono samples at ``rate``. A cue cuts off the tail
    of the sound before it, as the live output does, so it starts on its beat."""
    out = np.zeros(round(timeline.end * rate), dtype="<i2")
    starts = [round(event.start * rate) for event in timeline.events] + [len(out)]
    for event, start, stop in zip(timeline.events, starts, starts[1:], strict=False):
        sound = sound_of(event.item)
        samples = np.frombuffer(resample(sound.pcm, sound.rate, rate), "<i2")[: stop - start]
        out[start : start + len(samples)] = samples
    return out


# --- writing -------------------------------------------------------------------------


class _Sounds:
    """The sound of each utterance and cue, as the live output makes it, made once."""

    def __init__(self, synthesizer: Synthesizer) -> None:
        self._synthesizer = synthesizer
        self._made: dict[tuple[str, str, bool], Sound] = {}
        self.rate: int | None = None
        """The speech's sample rate, once some is made: the file's, and the tones'."""

    def __call__(self, item: Say | Cue) -> Sound:
        key = _key(item)
        if key not in self._made:
            kind, text, slow = key
            if kind == "tone":
                sound = tone(text) if self.rate is None else tone(text, self.rate)
            elif kind == "word":
                sound = from_first_sound(self._synthesizer.synthesize(text))  # on its beat, as live
            else:
                sound = self._synthesizer.synthesize(text, slow=slow)
                self.rate = self.rate or sound.rate
            self._made[key] = sound
        return self._made[key]


def _key(item: Say | Cue) -> tuple[str, str, bool]:
    if isinstance(item, Say):
        return ("speech", item.text, item.slow)
    return ("word", item.word, False) if item.word else ("tone", item.name, False)


def write(
    path: Path, content: Content, options: Options, synthesizer: Synthesizer, force: bool, progress: Progress
) -> Timeline:
    """Render the session into ``path`` (its format by its extension) and its chapter
    list beside it; neither is left half-written. Errors: OptionError for the options,
    the format or an existing file without ``force``; WriteError; EngineError."""
    check_options(content, options)
    check_target(path, force)
    chosen = format_for(path)
    with contextlib.closing(progress), replacing(path) as audio, replacing(chapters_path(path)) as listing:
        sounds = _Sounds(synthesizer)
        # Which texts are said does not depend on how long they take: make them all
        # first (the slow part), with the bar, then plan with their real lengths.
        needed = {_key(event.item): event.item for event in plan(content, options, lambda say: 1.0).events}
        # Speech before tones, so that tones are made at the speech's rate.
        ordered = sorted(needed.values(), key=lambda item: _key(item)[0] == "tone")
        progress.stage("making speech", len(ordered))
        for done, item in enumerate(ordered, 1):
            sounds(item)
            progress.update(done)
        timeline = plan(content, options, lambda say: sounds(say).duration)
        rate = sounds(timeline.events[0].item).rate  # the welcome's: the speech's rate
        samples = render(timeline, sounds, rate)
        chapters = [(chapter.start, chapter.title) for chapter in timeline.chapters]
        write_audio(audio, path, samples, rate, chosen, content.meta["title"], chapters, progress)
        try:
            listing.write_text("".join(f"{clock(start)} {title}\n" for start, title in chapters), encoding="utf-8")
        except OSError as error:
            raise WriteError(f"cannot write {chapters_path(path)}: {error.strerror or error}") from None
    return timeline
