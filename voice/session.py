"""The guided session: which step, what to say, what each command does.

Pure: no audio, no threads, no clock of its own. Every call takes the time t
(seconds on any monotonic clock) and returns the actions to carry out, in
order. The runner plays them and reports back when speech has finished,
which is when counting (re)starts.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from types import SimpleNamespace

from .answers import Answers
from .commands import CommandId, Source
from .content import RESPONSES, STEP_SLOT, Content, Step
from .errors import EngineError
from .rhythm import Cue, Rhythm, Style

# "Sorry, I did not catch that" at most this often, so noise cannot nag.
NOT_UNDERSTOOD_INTERVAL = 20.0
# A stop that was heard is asked about first, and the question is open this long:
# "stop it" said to a child must not end her session, nor a "yes" much later.
FINISH_ANSWER_SECONDS = 15.0
# A step that does not count says once what she can say after this long
# without a word from her or from it: a reminder, not a nag.
REMINDER_SECONDS = 180.0
# Notices that are only printed: they say that speech failed.
_PRINTED_ONLY = frozenset({"no_speech"})
# While offering to carry on, these are answered without closing the offer.
_KEEP_OFFER_OPEN = frozenset(
    {
        CommandId.HELP,
        CommandId.CONTACTS,
        CommandId.STOP,
        CommandId.TALK_SLOWER,
        CommandId.TALK_FASTER,
        CommandId.BRIEF,
        CommandId.FULL,
        CommandId.LIST_STEPS,
        CommandId.HOW_LONG,
        CommandId.READ_LOG,
    }
)
# ...and these say the offer again: it says where she was.
_REPEAT_OFFER = frozenset({CommandId.REPEAT, CommandId.WHERE})
_KEY_NAMES = {"<enter>": "Enter", "<space>": "Space"}


class Breast(StrEnum):
    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> Breast:
        return Breast.RIGHT if self is Breast.LEFT else Breast.LEFT


class InputMode(StrEnum):
    """How she gives commands, which decides how prompts and help word them."""

    VOICE = "voice"
    KEYS = "keys"
    TEXT = "text"


@dataclass(frozen=True)
class Say:
    """Speak (or print) one utterance."""

    text: str
    kind: str
    """"step", or the name of the response it came from."""
    id: int
    """Increasing number; the runner reports the end of speech with it."""
    slow: bool = False
    """Say it slowly (phone numbers)."""
    printed: bool = False
    """Only print it: it says that speech failed, which spoken would be unheard or untrue."""
    rate: int | None = None
    """Words a minute, or None for the synthesizer's own rate."""


@dataclass(frozen=True)
class PlayCue:
    """Sound one cue of the squeeze-and-release count now."""

    cue: Cue


@dataclass(frozen=True)
class StepChanged:
    id: str
    index: int


@dataclass(frozen=True)
class BreastRecord:
    seconds: float
    positions: int
    """Positions used: the furthest position reached around this breast."""


@dataclass(frozen=True)
class Summary:
    seconds: float
    breasts: dict[Breast, BreastRecord]
    no_milk: int
    """How many times "no milk" moved her on."""
    commands: dict[str, int]
    """How many times each command was used."""


@dataclass(frozen=True)
class Ended:
    summary: Summary


@dataclass(frozen=True)
class Place:
    """Where a session was: what a later session offers to carry on from."""

    step: str
    breast: Breast | None
    position: int


Action = Say | PlayCue | StepChanged | Ended


class Verbosity(StrEnum):
    FULL = "full"
    """Every sentence of a step, every word of the count."""
    BRIEF = "brief"
    """A step's first sentence; the count's press and release only."""


@dataclass(frozen=True)
class Preferences:
    """What she chose that a later session keeps."""

    rate: int
    tempo: float
    verbosity: Verbosity


@dataclass
class _Breasts:
    """Which breast, where around it, and the time spent on each."""

    current: Breast | None = None
    since: float = 0.0
    position: int = 1
    adjusted: bool = False
    """"Change your hand position slightly" was said on this visit."""
    seconds: dict[Breast, float] = field(default_factory=lambda: dict.fromkeys(Breast, 0.0))
    positions: dict[Breast, int] = field(default_factory=lambda: dict.fromkeys(Breast, 0))
    worked: set[Breast] = field(default_factory=set)
    """Breasts worked all the way around in this round."""

    def switch(self, breast: Breast, t: float) -> None:
        self.account(t)
        self.current = breast
        self.position = 1
        self.adjusted = False
        self.positions[breast] = max(self.positions[breast], 1)

    def account(self, t: float) -> None:
        if self.current is not None:
            self.seconds[self.current] += t - self.since
        self.since = t


class Session:
    """One guided session, from the welcome to the summary."""

    def __init__(
        self,
        content: Content,
        mode: InputMode,
        t: float,
        style: Style = Style.WORDS,
        thin: bool = True,
        resume: Place | None = None,
        rate: int | None = None,
        tempo: float | None = None,
        verbosity: Verbosity = Verbosity.FULL,
        reminders: bool = True,
        history: Callable[[], list[str]] | None = None,
        hints: bool = True,
    ) -> None:
        """rate: words a minute to start at (else the content's); tempo: squeezes a
        minute (clamped to the content's bounds); reminders: one reminder of what she
        can say after a long silence at a step; history: the lines of "read my log",
        None when no sessions are recorded; hints: say how to give commands (not in
        a recording, which cannot hear her)."""
        self._content = content
        self._start_t = t
        # Nothing to carry on from a place that is gone or that is the very start.
        ids = [step.id for step in content.steps]
        worth = resume is not None and resume.step in ids and (resume.step != ids[0] or resume.breast is not None)
        self._offer = resume if worth else None
        self._asked: tuple[str, float] | None = None
        """The yes/no question open ("finish", "start_over") and when it was asked."""
        self._index = 0
        self._breasts = _Breasts()
        self._paused = False
        self._next_id = 0
        self._speaking: int | None = None
        self._last_batch: list[Say] = []
        self._not_understood_t = -math.inf
        self._no_milk: list[tuple[float, Breast, int]] = []
        self._used: list[tuple[float, CommandId, Source]] = []
        self.rhythm = Rhythm(content.rhythm, style, thin)
        if tempo is not None:
            self.rhythm.set_tempo(tempo)
        self.rate = content.speech_rate.default if rate is None else rate
        self.verbosity = verbosity
        self.rhythm.brief = verbosity is Verbosity.BRIEF
        self._reminders = reminders
        self._history = history
        self._say_hints = hints
        self._quiet_since = t
        self._reminded = -1
        self._last_command: CommandId | None = None
        self._words = ""
        self.ended = False
        self.set_mode(mode)
        self._handlers = {
            CommandId.NEXT: self._next,
            CommandId.BACK: self._back,
            CommandId.REPEAT: self._repeat,
            CommandId.NO_MILK: self._no_milk_said,
            CommandId.PAUSE: self._pause,
            CommandId.RESUME: self._resume,
            CommandId.SLOWER: self._slower,
            CommandId.FASTER: self._faster,
            CommandId.HELP: self._help,
            CommandId.WHERE: self._where,
            CommandId.OTHER_SIDE: self._other_side,
            CommandId.CONTACTS: self._contacts,
            CommandId.STOP: self._stop,
            CommandId.LEFT: self._answer_side,
            CommandId.RIGHT: self._answer_side,
            CommandId.YES: self._not_asked,
            CommandId.NO: self._not_asked,
            CommandId.TALK_SLOWER: self._talk_rate,
            CommandId.TALK_FASTER: self._talk_rate,
            CommandId.BRIEF: self._verbosity,
            CommandId.FULL: self._verbosity,
            CommandId.GO_TO: self._go_to,
            CommandId.LIST_STEPS: self._list_steps,
            CommandId.START_OVER: self._start_over,
            CommandId.HOW_LONG: self._how_long,
            CommandId.READ_LOG: self._read_log,
        }

    # -- what the runner asks -------------------------------------------------

    @property
    def step(self) -> Step:
        return self._content.steps[self._index]

    @functools.cached_property
    def answerer(self) -> Answers:
        """What answers her questions (the reader of typed lines asks it too). Its model
        loads at the first question, not before the first word (0.3 s)."""
        return Answers.from_content(self._content)

    @property
    def breast(self) -> Breast | None:
        return self._breasts.current

    @property
    def position(self) -> int:
        return self._breasts.position

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speaking(self) -> bool:
        """Speech is under way: the runner has not yet reported the last Say finished."""
        return self._speaking is not None

    @property
    def counting(self) -> bool:
        """At a counting step and not paused (counting now, or again once speech ends)."""
        return self.step.rhythm and not self._paused and not self.ended

    @property
    def offering(self) -> bool:
        """The offer to carry on is still unanswered: she has begun nothing yet."""
        return self._offer is not None

    def answers(self) -> frozenset[str]:
        """Questions whose answers are understood now: "yes_no" while offering to
        carry on or asking whether to finish, "side" (left/right) while asking
        which breast."""
        if self._offer is not None or self._asked is not None:
            return frozenset({"yes_no"})
        return frozenset({self.step.ask}) if self.step.ask else frozenset()

    def set_mode(self, mode: InputMode) -> None:
        """How commands are named from now on (the microphone went or came back), and
        whether the count may play tones (not as printed text)."""
        self._mode = mode
        self.rhythm.tones = mode is not InputMode.TEXT
        modes = self._content.input_modes[mode]
        self._hints = SimpleNamespace(
            **{command: modes["give"].format(**self._names(command)) for command in self._content.commands}
        )
        self.rhythm.reminder = self._fill(self._content.rhythm.reminder)

    def notice(self, response: str, t: float, **fields: object) -> list[Action]:
        """Say one of the notices about the inputs (no_microphone, microphone_lost, ...)."""
        return [] if self.ended else self._batch([self._say(response, **fields)])

    def texts(self) -> list[str]:
        """Everything it may say that needs no live figures: worth synthesizing ahead."""
        fixed = [name for name, fields in RESPONSES.items() if not fields]
        rhythm = self._content.rhythm
        return [
            *(self._step_text(step, brief) for step in self._content.steps for brief in (False, True)),
            self._welcome_text(),
            *(self._render(name) for name in fixed),
            self._help_text(),
            rhythm.press_word,
            rhythm.release_word,
            *rhythm.count_words,
            self.rhythm.reminder,
        ]

    def preferences(self) -> Preferences:
        return Preferences(self.rate, self.rhythm.tempo, self.verbosity)

    def next_deadline(self) -> float | None:
        """When tick() next has something to do, or None."""
        if self.ended:
            return None
        due = [t for t in (self.rhythm.next_due(), self._question_closes(), self._reminder_due()) if t is not None]
        return min(due, default=None)

    # -- inputs ---------------------------------------------------------------

    def start(self, t: float) -> list[Action]:
        if self._offer is not None:
            return self._batch([self._offer_text()])
        return self._batch([self._say_text(self._welcome_text(), "welcome"), *self._enter(0)])

    def _welcome_text(self) -> str:
        return " ".join([self._render("welcome"), *([self._render("welcome_help")] if self._say_hints else [])])

    def handle(self, command: CommandId, source: Source, t: float, words: str = "") -> list[Action]:
        """Act on a command; what is said replaces anything still being said.
        A stop that was heard, not typed or pressed, is asked about first.
        words: what was said, typed or pressed; go_to finds the step in them."""
        if self.ended:
            return []
        self._used.append((t, command, source))
        self._quiet_since = t
        repeated = command is CommandId.REPEAT and self._last_command is CommandId.REPEAT
        self._last_command = command
        self._words = words
        if self._asked is not None:
            actions = self._answer_question(command, t)
            if actions is not None:
                return actions
        if command is CommandId.STOP and source is Source.VOICE:
            return self._ask("finish", "finish_asked", t)
        if self._offer is not None and command in _REPEAT_OFFER:
            actions = [self._offer_text()]
        elif self._offer is not None and command not in _KEEP_OFFER_OPEN:
            actions = self._answer_offer(command, t)
        elif repeated and self.verbosity is Verbosity.BRIEF and any(say.kind == "step" for say in self._last_batch):
            # Said twice in a row: the step in full, even when brief.
            actions = [self._say_text(self._step_text(self.step, brief=False), "step")]
        else:
            actions = self._handlers[command](command, t)
        return actions if command is CommandId.REPEAT and not repeated else self._batch(actions)

    def ask(self, question: str, t: float) -> list[Action]:
        """A question in her own words: the leaflet's sentences that answer it, read
        as what the leaflet says, or that it does not say, and whom to ask."""
        if self.ended:
            return []
        self._quiet_since = t
        try:
            answer = self.answerer.answer(question)
        except EngineError:
            answer = None  # the question model is broken (a broken install): still, whom to ask
        if answer is None:
            return self._batch([self._say("answer_none")])
        intro = self._render("answer_intro")
        return self._batch([self._say_text(" ".join([intro, *answer.sentences]), "answer")])

    def not_understood(self, source: Source, t: float) -> list[Action]:
        """Input that was not a command. Typed text and keys always get an answer;
        heard speech only now and then, and never over speech or counting."""
        if self.ended:
            return []
        if source is not Source.VOICE:
            return [self._say("not_understood_typed")]
        if self.speaking or self.counting or t - self._not_understood_t < NOT_UNDERSTOOD_INTERVAL:
            return []
        self._not_understood_t = t
        return [self._say("not_understood")]

    def speech_finished(self, say_id: int, t: float) -> list[Action]:
        """The runner finished (or cut off) the utterance say_id. Once the last
        one is done, counting starts again with a new squeeze."""
        if say_id != self._speaking:
            return []
        self._speaking = None
        self._quiet_since = t
        if not self.counting:
            return []
        self.rhythm.start(t)
        return self.tick(t)

    def tick(self, t: float) -> list[Action]:
        """The cues due by t; an unanswered yes/no question lapses; a reminder after a
        long silence."""
        closes = self._question_closes()
        if closes is not None and t >= closes:
            self._asked = None
        due = self._reminder_due()
        if due is not None and t >= due:
            self._reminded = self._index
            return [self._say("reminder")]
        return [PlayCue(cue) for cue in self.rhythm.due(t)]

    # -- command handlers -----------------------------------------------------

    def _next(self, command: CommandId, t: float) -> list[Action]:
        self._paused = False
        if self.step.ask == "side" and self.breast is None:
            self._breasts.switch(Breast.LEFT, t)
            return [self._say("side_default", breast=Breast.LEFT), *self._enter(self._index + 1)]
        if self._index == len(self._content.steps) - 1:
            return [self._say("last_step")]
        return self._enter(self._index + 1)

    def _back(self, command: CommandId, t: float) -> list[Action]:
        self._paused = False
        if self._index == 0:
            return [self._say("first_step")]
        return self._enter(self._index - 1)

    def _repeat(self, command: CommandId, t: float) -> list[Action]:
        if not self._last_batch:
            return self._batch(self._enter(self._index))
        batch = [self._say_text(say.text, say.kind, say.slow, say.printed) for say in self._last_batch]
        self._last_batch = batch
        return list(batch)

    def _no_milk_said(self, command: CommandId, t: float) -> list[Action]:
        self._paused = False
        breasts = self._breasts
        if breasts.current is None:
            return self._ask_side()
        self._no_milk.append((t, breasts.current, breasts.position))
        if not breasts.adjusted:
            breasts.adjusted = True
            return [self._say("no_milk_adjust")]
        limit = self._content.positions_per_breast
        if breasts.position < limit:
            breasts.position += 1
            breasts.positions[breasts.current] = max(breasts.positions[breasts.current], breasts.position)
            return [self._say("no_milk_move", position=breasts.position, positions=limit)]
        breasts.worked.add(breasts.current)
        done_both = breasts.worked == set(Breast)
        if done_both:
            breasts.worked.clear()
        return self._switch(breasts.current.other, t, "no_milk_both_done" if done_both else "no_milk_other_breast")

    def _pause(self, command: CommandId, t: float) -> list[Action]:
        self._paused = True
        return [self._say("paused")]

    def _resume(self, command: CommandId, t: float) -> list[Action]:
        self._paused = False
        return [self._say("resumed")]

    def _slower(self, command: CommandId, t: float) -> list[Action]:
        return [self._say("slower" if self.rhythm.slower() else "slowest", tempo=_number(self.rhythm.tempo))]

    def _faster(self, command: CommandId, t: float) -> list[Action]:
        return [self._say("faster" if self.rhythm.faster() else "fastest", tempo=_number(self.rhythm.tempo))]

    def _help(self, command: CommandId, t: float) -> list[Action]:
        return [self._say_text(self._help_text(), "help")]

    def _help_text(self) -> str:
        modes = self._content.input_modes[self._mode]
        items = [
            modes["item"].format(**self._names(spec.id))
            for spec in self._content.commands.values()
            if spec.answer is None
        ]
        return _sentence(modes["help"].format(list=", ".join(items)))

    def _where(self, command: CommandId, t: float) -> list[Action]:
        parts = [
            self._render(
                "where_step", number=self._index + 1, total=len(self._content.steps), title=self.step.title
            )
        ]
        if self.breast is None:
            parts.append(self._render("where_no_breast"))
        else:
            parts.append(
                self._render(
                    "where_breast",
                    breast=self.breast,
                    position=self.position,
                    positions=self._content.positions_per_breast,
                )
            )
        if self._paused:
            parts.append(self._render("where_paused"))
        return [self._say_text(" ".join(parts), "where")]

    def _other_side(self, command: CommandId, t: float) -> list[Action]:
        self._paused = False
        if self.breast is None:
            return self._ask_side()
        return self._switch(self.breast.other, t, "other_side")

    def _contacts(self, command: CommandId, t: float) -> list[Action]:
        says = [self._say_text(self._fill(self._content.contacts_intro), "contacts")]
        for contact in self._content.contacts:
            text = self._render("contact_number", name=contact.name, phone=_spoken_digits(contact.phone))
            says.append(self._say_text(text, "contact_number", slow=True))
        return says

    def _stop(self, command: CommandId, t: float) -> list[Action]:
        self.ended = True
        summary = self.summary(t)
        parts = [self._render("summary", total=spoken_duration(summary.seconds))]
        for breast, record in summary.breasts.items():
            parts.append(
                self._render("summary_breast", breast=breast, time=spoken_duration(record.seconds), positions=record.positions)
            )
        if not summary.breasts:
            parts.append(self._render("summary_no_breast"))
        return [self._say_text(" ".join(parts), "summary"), Ended(summary)]

    def _not_asked(self, command: CommandId, t: float) -> list[Action]:
        """Yes or no with no question open: say where she is, so she can go on."""
        return self._where(command, t)

    def _talk_rate(self, command: CommandId, t: float) -> list[Action]:
        bounds = self._content.speech_rate
        slower = command is CommandId.TALK_SLOWER
        rate = min(max(self.rate + (-bounds.step if slower else bounds.step), bounds.min), bounds.max)
        if rate == self.rate:
            return [self._say("talk_slowest" if slower else "talk_fastest")]
        self.rate = rate
        return [self._say("talk_slower" if slower else "talk_faster")]

    def _verbosity(self, command: CommandId, t: float) -> list[Action]:
        self.verbosity = Verbosity.BRIEF if command is CommandId.BRIEF else Verbosity.FULL
        self.rhythm.brief = self.verbosity is Verbosity.BRIEF
        return [self._say(self.verbosity.value)]

    def _go_to(self, command: CommandId, t: float) -> list[Action]:
        index = self._content.step_named(self._words)
        if index is None:
            return [self._say("no_such_step")]
        self._paused = False
        return self._enter(index)

    def _list_steps(self, command: CommandId, t: float) -> list[Action]:
        steps = self._content.steps
        items = " ".join(self._render("steps_item", number=i + 1, title=step.title) for i, step in enumerate(steps))
        return [self._say("steps_list", total=len(steps), list=items)]

    def _start_over(self, command: CommandId, t: float) -> list[Action]:
        return self._ask("start_over", "start_over_asked", t, title=self._content.steps[self._massage()].title)

    def _how_long(self, command: CommandId, t: float) -> list[Action]:
        summary = self.summary(t)
        parts = [self._render("how_long", total=spoken_duration(summary.seconds))]
        parts += [
            self._render("how_long_breast", breast=breast, time=spoken_duration(record.seconds))
            for breast, record in summary.breasts.items()
        ]
        return [self._say_text(" ".join(parts), "how_long")]

    def _read_log(self, command: CommandId, t: float) -> list[Action]:
        if self._history is None:
            return [self._say("no_log")]
        return [self._say_text(" ".join(self._history()), "log")]

    def _ask(self, question: str, response: str, t: float, **fields: object) -> list[Action]:
        """Ask a yes/no question, open for FINISH_ANSWER_SECONDS."""
        self._asked = (question, t)
        return self._batch([self._say(response, **fields)])

    def _answer_question(self, command: CommandId, t: float) -> list[Action] | None:
        """The answer to the open question, or None when the command is no answer
        (it closes the question and is carried out as usual)."""
        assert self._asked is not None  # noqa: S101 - only called with a question open
        question = self._asked[0]
        self._asked = None
        stop = question == "finish"
        if command is CommandId.YES or (stop and command is CommandId.STOP):
            return self._batch(self._stop(command, t) if stop else self._restart(t))
        if command in (CommandId.NO, CommandId.RESUME):
            return self._batch([self._say("finish_declined" if stop else "start_over_declined")])
        if command is CommandId.REPEAT:
            self._asked = (question, t)
            return self._repeat(command, t)
        return None

    def _restart(self, t: float) -> list[Action]:
        """From the massage again, on the same breast, its positions from the first."""
        self._paused = False
        if self.breast is not None:
            self._breasts.switch(self.breast, t)
        self.rhythm.restart_count()
        return self._enter(self._massage())

    def _massage(self) -> int:
        """The first step after choosing a breast: where going round again starts."""
        return next(i for i, step in enumerate(self._content.steps) if step.ask == "side") + 1

    def _question_closes(self) -> float | None:
        return None if self._asked is None else self._asked[1] + FINISH_ANSWER_SECONDS

    def _reminder_due(self) -> float | None:
        """When to remind her what she can say: at a step that does not count, once, and
        not over speech, a pause or an open question."""
        if (
            not self._reminders
            or self.counting
            or self._paused
            or self.speaking
            or self._reminded == self._index
            or self._offer is not None
            or self._asked is not None
        ):
            return None
        return self._quiet_since + REMINDER_SECONDS

    def _offer_text(self) -> Say:
        offer = self._offer
        assert offer is not None  # noqa: S101 - only called while offering
        index = next(i for i, step in enumerate(self._content.steps) if step.id == offer.step)
        place = "" if offer.breast is None else self._render(
            "where_breast", breast=offer.breast, position=offer.position, positions=self._content.positions_per_breast
        )
        title = self._content.steps[index].title
        return self._say("resume_offer", number=index + 1, title=title, place=place)

    def _answer_offer(self, command: CommandId, t: float) -> list[Action]:
        """Carry on (yes, carry on) or start afresh (no, next, anything else)."""
        offer = self._offer
        self._offer = None
        if offer is not None and command in (CommandId.YES, CommandId.RESUME):
            index = next(i for i, step in enumerate(self._content.steps) if step.id == offer.step)
            if offer.breast is not None:
                self._breasts.switch(offer.breast, t)
                self._breasts.position = offer.position
                self._breasts.positions[offer.breast] = offer.position
            return [self._say("resume_taken"), *self._enter(index)]
        fresh: list[Action] = [self._say("resume_declined"), *self._enter(0)]
        if command in (CommandId.NO, CommandId.NEXT):
            return fresh
        return fresh + self._handlers[command](command, t)

    def _answer_side(self, command: CommandId, t: float) -> list[Action]:
        if self.step.ask != "side":
            return [self._say("side_not_asked")]
        self._paused = False
        breast = Breast(command.value)
        if breast != self.breast:
            self._breasts.switch(breast, t)
        return [self._say("side_chosen", breast=breast), *self._enter(self._index + 1)]

    # -- helpers --------------------------------------------------------------

    def summary(self, t: float) -> Summary:
        self._breasts.account(t)
        breasts = {
            breast: BreastRecord(self._breasts.seconds[breast], self._breasts.positions[breast])
            for breast in Breast
            if self._breasts.positions[breast]
        }
        used = Counter(command.value for _, command, _ in self._used)
        return Summary(t - self._start_t, breasts, len(self._no_milk), dict(used))

    def place(self) -> Place:
        return Place(self.step.id, self.breast, self.position)

    def record(self, t: float) -> dict[str, object]:
        """What the session record keeps: times, commands, positions. No audio,
        nothing of what was said."""
        summary = self.summary(t)
        place = self.place()
        return {
            "seconds": round(summary.seconds, 1),
            "ended": self.ended,
            "breasts": {
                breast.value: {"seconds": round(b.seconds, 1), "positions": b.positions}
                for breast, b in summary.breasts.items()
            },
            "no_milk": [
                {"t": round(at - self._start_t, 1), "breast": breast.value, "position": position}
                for at, breast, position in self._no_milk
            ],
            "commands": [
                {"t": round(at - self._start_t, 1), "id": command.value, "source": source.value}
                for at, command, source in self._used
            ],
            "place": {"step": place.step, "breast": place.breast and place.breast.value, "position": place.position},
        }

    def _ask_side(self) -> list[Action]:
        side = next(i for i, step in enumerate(self._content.steps) if step.ask == "side")
        return [self._say("need_side"), *self._enter(side)]

    def _switch(self, breast: Breast, t: float, response: str) -> list[Action]:
        """Move to the other breast and take her through the process again."""
        self._breasts.switch(breast, t)
        self.rhythm.restart_count()
        return [self._say(response, breast=breast), *self._enter(self._massage())]

    def _enter(self, index: int) -> list[Action]:
        self._index = index
        brief = self.verbosity is Verbosity.BRIEF
        return [StepChanged(self.step.id, index), self._say_text(self._step_text(self.step, brief), "step")]

    def _step_text(self, step: Step, brief: bool = False) -> str:
        """Its title, its sentences (only the first when brief), and how to go on."""
        say = step.say[:1] if brief else step.say
        hint = [step.hint] if step.hint and self._say_hints else []
        return self._fill(" ".join([f"{step.title}.", *say, *hint]))

    def _batch(self, actions: list[Action]) -> list[Action]:
        """Remember what this answer said, for "repeat"."""
        says = [action for action in actions if isinstance(action, Say)]
        if says:
            self._last_batch = says
        return actions

    def _names(self, command: str) -> dict[str, str]:
        """How help and hints name a command: its first phrase and key. A step slot is
        named by the first counting step's number ("go to step 5"), and digit keys as
        a range ("1 to 9")."""
        spec = self._content.commands[CommandId(command)]
        example = next(i + 1 for i, step in enumerate(self._content.steps) if step.rhythm)
        key = _KEY_NAMES.get(spec.keys[0], spec.keys[0])
        if len(spec.keys) > 1 and all(k.isdigit() for k in spec.keys):
            key = f"{spec.keys[0]} to {spec.keys[-1]}"
        return {"phrase": spec.phrases[0].replace(STEP_SLOT, str(example)), "key": key}

    def _fill(self, template: str, **fields: object) -> str:
        return _sentence(" ".join(template.format(cmd=self._hints, **fields).split()))

    def _render(self, response: str, **fields: object) -> str:
        return self._fill(self._content.responses[response], **fields)

    def _say(self, response: str, **fields: object) -> Say:
        return self._say_text(self._render(response, **fields), response, printed=response in _PRINTED_ONLY)

    def _say_text(self, text: str, kind: str, slow: bool = False, printed: bool = False) -> Say:
        self._next_id += 1
        self._speaking = self._next_id
        self.rhythm.stop()
        return Say(text, kind, self._next_id, slow, printed, self.rate)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _number(value: float) -> str:
    return f"{value:g}"


def _spoken_digits(phone: str) -> str:
    """"020 7188 4045" -> "0 2 0, 7 1 8 8, 4 0 4 5": digit by digit, groups apart."""
    return ", ".join(" ".join(group) for group in phone.split())


def spoken_duration(seconds: float) -> str:
    """125 -> "2 minutes 5 seconds"."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute" + ("s" if minutes != 1 else ""))
    if secs or not minutes:
        parts.append(f"{secs} second" + ("s" if secs != 1 else ""))
    return " ".join(parts)
