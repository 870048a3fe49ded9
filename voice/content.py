"""The guide's content: loaded from content/*.yaml and checked on load.

A content directory holds YAML files whose top-level keys are sections
(steps, responses, commands, rhythm, ...). Each section appears once across
the files. Every problem is one ContentError naming the file, line and field.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from yaml.nodes import Node

from .answers import Examples, Vocabulary, parse_examples, parse_vocabulary
from .commands import CommandId, PhraseMatcher, TemplateError, normalize, phrase_key, template_pattern
from .errors import ContentError
from .yamlcheck import Doc

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "content"

# Every response the session needs, with the fields it fills in. Any
# template may also use {cmd.ID}: how to give command ID in the input mode.
RESPONSES: dict[str, frozenset[str]] = {
    name: frozenset(fields.split())
    for name, fields in {
        "welcome": "",
        "welcome_help": "",
        "where_step": "number total title",
        "where_breast": "breast position positions",
        "where_no_breast": "",
        "where_paused": "",
        "first_step": "",
        "last_step": "",
        "side_chosen": "breast",
        "side_default": "breast",
        "side_not_asked": "",
        "need_side": "",
        "other_side": "breast",
        "no_milk_adjust": "",
        "no_milk_move": "position positions",
        "no_milk_other_breast": "breast",
        "no_milk_both_done": "breast",
        "paused": "",
        "resumed": "",
        "slower": "tempo",
        "faster": "tempo",
        "slowest": "tempo",
        "fastest": "tempo",
        "not_understood": "",
        "not_understood_typed": "",
        "answer_intro": "",
        "answer_none": "",
        "contact_number": "name phone",
        "summary": "total",
        "summary_breast": "breast time positions",
        "summary_no_breast": "",
        "resume_offer": "number title place",
        "resume_taken": "",
        "resume_declined": "",
        "finish_asked": "",
        "finish_declined": "",
        "no_voice": "reason",
        "microphone_lost": "",
        "microphone_back": "",
        "no_speech": "reason",
        "log_empty": "",
        "log_today": "sessions total left right",
        "log_day": "day sessions total",
        "talk_slower": "",
        "talk_faster": "",
        "talk_slowest": "",
        "talk_fastest": "",
        "brief": "",
        "full": "",
        "no_such_step": "",
        "steps_list": "total list",
        "steps_item": "number title",
        "start_over_asked": "title",
        "start_over_declined": "",
        "how_long": "total",
        "how_long_breast": "breast time",
        "no_log": "",
        "reminder": "",
    }.items()
}
QUESTIONS = ("side", "yes_no")
INPUT_MODES = ("voice", "keys", "text")
# The fields each part of an input mode fills in.
MODE_PARTS = {"give": frozenset({"phrase", "key"}), "help": frozenset({"list"}), "item": frozenset({"phrase", "key"})}
NAMED_KEYS = ("<enter>", "<space>")
_STEP_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PHONE = re.compile(r"^[0-9]+( [0-9]+)*$")


@dataclass(frozen=True)
class Step:
    """One step of the guide."""

    id: str
    title: str
    say: tuple[str, ...]
    """The step's sentences, in order."""
    rhythm: bool = False
    """Count the squeeze-and-release rhythm once the step has been said."""
    ask: str | None = None
    """The question the step asks ("side"), whose answers are then understood."""
    hint: str | None = None
    """Said after the step: how to go on from it."""


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    """Digit groups separated by spaces, as the leaflet prints them."""


@dataclass(frozen=True)
class Fillers:
    """Words said around a command ("um, next please"), on each side."""

    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class CommandSpec:
    id: CommandId
    phrases: tuple[str, ...]
    """What she can say or type; the first is the one help names."""
    keys: tuple[str, ...]
    """Single characters, or <enter> / <space>."""
    answer: str | None = None
    """Only understood when the session has just asked this question."""
    sentences: tuple[str, ...] = ()
    """Other ways of saying it: templates with (a|b) and [optional] words."""


@dataclass(frozen=True)
class RhythmSettings:
    press_seconds: float
    release_seconds: float
    tempo_min: float
    tempo_max: float
    tempo_step: float
    press_word: str
    release_word: str
    count_words: tuple[str, ...]
    full_cycles: int
    """Cycles counted with every word before thinning."""
    word_cycles: int
    """Cycles with spoken press and release before only tones remain."""
    reminder: str
    """The "quiet" style's spoken reminder, a template with {cmd.ID}."""
    reminder_minutes: float
    """About how often the reminder is said."""
    reminder_seconds: float
    """How long the tones stay silent from the reminder's start."""

    @property
    def default_tempo(self) -> float:
        """Squeezes a minute at the content's press and release lengths."""
        return 60.0 / (self.press_seconds + self.release_seconds)


@dataclass(frozen=True)
class SpeechRate:
    """Words a minute: where speech starts, and the bounds and step of talk slower/faster."""

    default: int
    min: int
    max: int
    step: int


@dataclass(frozen=True)
class Content:
    meta: dict[str, str]
    positions_per_breast: int
    steps: tuple[Step, ...]
    contacts_intro: str
    contacts: tuple[Contact, ...]
    responses: dict[str, str]
    commands: dict[CommandId, CommandSpec]
    fillers: Fillers
    input_modes: dict[str, dict[str, str]]
    """Input mode ("voice", "keys", "text") -> part ("give", "help", "item") -> template."""
    rhythm: RhythmSettings
    answers: Vocabulary
    """The words that make what she says a question (voice/answers.py)."""
    asked: Examples
    """Questions people ask, answered by the leaflet or not (voice/answers.py)."""
    speech_rate: SpeechRate

    @property
    def phrases(self) -> dict[CommandId, tuple[str, ...]]:
        """Each command's phrases, a step slot filled with every step's number and title:
        what the recognizer and the own-voice check know."""
        return {
            command: tuple(phrase.replace(STEP_SLOT, name) for phrase in spec.phrases for name in self._slot(phrase))
            for command, spec in self.commands.items()
        }

    def matcher(self) -> PhraseMatcher:
        """What understands words, typed or heard: every phrase and sentence, fillers around."""
        names = "(" + "|".join(name for step in range(len(self.steps)) for name in step_names(self.steps, step)) + ")"
        sentences = {
            command: [template.replace(STEP_SLOT, names) for template in spec.phrases + spec.sentences]
            for command, spec in self.commands.items()
        }
        return PhraseMatcher(sentences, self.fillers.before, self.fillers.after)

    def step_named(self, words: str) -> int | None:
        """The index of the step that words name by title or number ("go to squeeze and
        release", "step 5", a key "5"), or None."""
        said = " " + " ".join(phrase_key(words)) + " "
        named = [
            (len(name), step)
            for step in range(len(self.steps))
            for name in step_names(self.steps, step)
            if f" {' '.join(phrase_key(name))} " in said
        ]
        return max(named)[1] if named else None

    def _slot(self, phrase: str) -> list[str]:
        """What a phrase's step slot is filled with: each step's number, then its title."""
        if STEP_SLOT not in phrase:
            return [""]
        return [str(i + 1) for i in range(len(self.steps))] + [step.title for step in self.steps]


# Placeholder in go_to's phrases and sentences for the step named.
STEP_SLOT = "{step}"
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve".split()


def step_names(steps: Sequence[Step], index: int) -> list[str]:
    """How a step can be named: "5", "five", "squeeze and release"."""
    number = index + 1
    return [str(number), *_NUMBER_WORDS[number - 1 : number], steps[index].title]


def load(directory: Path = DEFAULT_DIR, overrides: Sequence[Path] = ()) -> Content:
    """Load every *.yaml in directory; sections in the override files replace theirs."""
    if not directory.is_dir():
        raise ContentError(str(directory), None, "", "not a content directory")
    given = {path.resolve() for path in overrides}
    found = _gather(path for path in sorted(directory.glob("*.yaml")) if path.resolve() not in given)
    found.update(_gather(overrides))
    for name in _SECTIONS:
        if name not in found:
            raise ContentError(", ".join(map(str, overrides)) or str(directory), None, name, "missing section")
    values = {name: parse(*found[name]) for name, parse in _SECTIONS.items()}
    return Content(
        meta=values["meta"],
        positions_per_breast=values["positions_per_breast"],
        steps=values["steps"],
        contacts_intro=values["contacts"][0],
        contacts=values["contacts"][1],
        responses=values["responses"],
        commands=values["commands"],
        fillers=values["fillers"],
        input_modes=values["input_modes"],
        rhythm=values["rhythm"],
        answers=values["answers"],
        asked=values["asked"],
        speech_rate=values["speech_rate"],
    )


def _gather(paths: Iterable[Path]) -> dict[str, tuple[Doc, Node]]:
    """The sections of the files, each defined once."""
    found: dict[str, tuple[Doc, Node]] = {}
    for path in paths:
        for name, value in _sections(path).items():
            if name in found:
                doc, _ = found[name]
                raise ContentError(str(path), value[1].start_mark.line + 1, name, f"already defined in {doc.file}")
            found[name] = value
    return found


def _sections(path: Path) -> dict[str, tuple[Doc, Node]]:
    file = str(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ContentError(file, None, "", "no such file") from None
    except IsADirectoryError:
        raise ContentError(file, None, "", "is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(file, line, "", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ContentError(file, None, "", f"cannot read: {exc.strerror}") from None
    doc = Doc.parse(file, text)
    sections = {}
    for name, (key_node, value) in doc.entries(doc.root, "").items():
        if name not in _SECTIONS:
            raise doc.error(key_node, name, f"unknown section; expected one of: {', '.join(_SECTIONS)}")
        sections[name] = (doc, value)
    return sections


def _check_template(doc: Doc, node: Node, field: str, text: str, fields: frozenset[str] = frozenset()) -> str:
    """Text whose {placeholders} are all among fields or {cmd.ID}."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise doc.error(node, field, f"bad braces: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise doc.error(node, field, f"placeholder {{{name}}} must not have a format")
        if name.startswith("cmd."):
            if name[4:] not in CommandId.__members__.values():
                raise doc.error(node, field, f"unknown command id in {{{name}}}")
        elif name not in fields:
            allowed = ", ".join(sorted(fields)) or "none but {cmd.ID}"
            raise doc.error(node, field, f"unknown placeholder {{{name}}}; allowed: {allowed}")
    return text


def _template(doc: Doc, node: Node, field: str, fields: frozenset[str] = frozenset()) -> str:
    return _check_template(doc, node, field, doc.text(node, field), fields)


def _meta(doc: Doc, node: Node) -> dict[str, str]:
    items = doc.mapping(
        node, "meta", ("title", "source", "resource_number", "last_reviewed", "next_review"), ("left_out",)
    )
    return {key: doc.text(value, f"meta.{key}") for key, value in items.items()}


def _positions(doc: Doc, node: Node) -> int:
    return doc.integer(node, "positions_per_breast", 1, 24)


def _steps(doc: Doc, node: Node) -> tuple[Step, ...]:
    steps = []
    seen: set[str] = set()
    items = doc.sequence(node, "steps")
    for i, item in enumerate(items):
        field = f"steps[{i}]"
        entries = doc.mapping(item, field, ("id", "title", "say"), ("rhythm", "ask", "hint"))
        step_id = doc.text(entries["id"], f"{field}.id")
        if not _STEP_ID.match(step_id):
            raise doc.error(entries["id"], f"{field}.id", "use lower-case letters, digits and _")
        if step_id in seen:
            raise doc.error(entries["id"], f"{field}.id", f"step id {step_id!r} appears twice")
        seen.add(step_id)
        ask = None
        if "ask" in entries:
            ask = doc.text(entries["ask"], f"{field}.ask")
            if ask != "side":
                raise doc.error(entries["ask"], f"{field}.ask", "the one question a step can ask is: side")
            if i == len(items) - 1:
                raise doc.error(entries["ask"], f"{field}.ask", "the last step cannot ask: the answer moves on to the next")
        steps.append(
            Step(
                id=step_id,
                title=_template(doc, entries["title"], f"{field}.title"),
                say=tuple(
                    _template(doc, line, f"{field}.say[{j}]")
                    for j, line in enumerate(doc.sequence(entries["say"], f"{field}.say"))
                ),
                rhythm=doc.boolean(entries["rhythm"], f"{field}.rhythm") if "rhythm" in entries else False,
                ask=ask,
                hint=_template(doc, entries["hint"], f"{field}.hint") if "hint" in entries else None,
            )
        )
    if sum(step.ask == "side" for step in steps) != 1:
        raise doc.error(node, "steps", "exactly one step must have 'ask: side'")
    return tuple(steps)


def _contacts(doc: Doc, node: Node) -> tuple[str, tuple[Contact, ...]]:
    entries = doc.mapping(node, "contacts", ("intro", "numbers"))
    contacts = []
    for i, item in enumerate(doc.sequence(entries["numbers"], "contacts.numbers")):
        field = f"contacts.numbers[{i}]"
        fields = doc.mapping(item, field, ("name", "phone"))
        phone = doc.text(fields["phone"], f"{field}.phone")
        if not _PHONE.match(phone):
            raise doc.error(fields["phone"], f"{field}.phone", "use digits in groups separated by spaces")
        contacts.append(Contact(doc.text(fields["name"], f"{field}.name"), phone))
    return _template(doc, entries["intro"], "contacts.intro"), tuple(contacts)


def _responses(doc: Doc, node: Node) -> dict[str, str]:
    entries = doc.mapping(node, "responses", tuple(RESPONSES))
    return {
        name: _template(doc, value, f"responses.{name}", RESPONSES[name]) for name, value in entries.items()
    }


def _commands(doc: Doc, node: Node) -> dict[CommandId, CommandSpec]:
    entries = doc.mapping(node, "commands", tuple(CommandId))
    commands = {}
    phrase_owner: dict[tuple[str, ...], str] = {}
    key_owner: dict[str, str] = {}
    templates: list[tuple[str, Node, str, str]] = []  # (sentence, node, field, command)
    for name, item in entries.items():
        field = f"commands.{name}"
        fields = doc.mapping(item, field, ("phrases", "keys"), ("answer", "sentences"))
        phrases = []
        for j, phrase_node in enumerate(doc.sequence(fields["phrases"], f"{field}.phrases")):
            phrase = _slot_used(doc, phrase_node, f"{field}.phrases[{j}]", name, phrase=True)
            words = phrase_key(phrase)
            if not words:
                raise doc.error(phrase_node, f"{field}.phrases[{j}]", "has no words")
            if words in phrase_owner:
                raise doc.error(
                    phrase_node, f"{field}.phrases[{j}]", f"{phrase!r} is already a phrase of {phrase_owner[words]}"
                )
            phrase_owner[words] = name
            phrases.append(phrase)
        keys = []
        for j, key_node in enumerate(doc.sequence(fields["keys"], f"{field}.keys")):
            key = doc.text(key_node, f"{field}.keys[{j}]")
            if len(key) != 1 and key not in NAMED_KEYS:
                raise doc.error(key_node, f"{field}.keys[{j}]", f"a key is one character or one of {', '.join(NAMED_KEYS)}")
            if key in key_owner:
                raise doc.error(key_node, f"{field}.keys[{j}]", f"key {key!r} is already a key of {key_owner[key]}")
            key_owner[key] = name
            keys.append(key)
        answer = None
        if "answer" in fields:
            answer = doc.text(fields["answer"], f"{field}.answer")
            if answer not in QUESTIONS:
                raise doc.error(fields["answer"], f"{field}.answer", f"unknown question; expected one of: {', '.join(QUESTIONS)}")
        sentences = []
        listed = doc.sequence(fields["sentences"], f"{field}.sentences", min_items=0) if "sentences" in fields else []
        for j, sentence_node in enumerate(listed):
            where = f"{field}.sentences[{j}]"
            sentence = _slot_used(doc, sentence_node, where, name)
            try:
                template_pattern(sentence.replace(STEP_SLOT, "(1|one)"))
            except TemplateError as exc:
                raise doc.error(sentence_node, where, f"{sentence!r}: {exc}") from None
            sentences.append(sentence)
            templates.append((sentence, sentence_node, where, name))
        command = CommandId(name)
        commands[command] = CommandSpec(command, tuple(phrases), tuple(keys), answer, tuple(sentences))
    # A sentence must not take another command's phrase.
    for sentence, sentence_node, where, name in templates:
        matcher = PhraseMatcher({CommandId(name): [sentence.replace(STEP_SLOT, "(1|one)")]}, (), ())
        for words, owner in phrase_owner.items():
            if owner != name and matcher.match(" ".join(words)) is not None:
                raise doc.error(sentence_node, where, f"{sentence!r} also matches {' '.join(words)!r}, a phrase of {owner}")
    return commands


def _slot_used(doc: Doc, node: Node, field: str, command: str, phrase: bool = False) -> str:
    """The phrase or sentence at node; only go_to's may name a step, and go_to's phrases must."""
    text = doc.text(node, field)
    if STEP_SLOT in text and command != CommandId.GO_TO:
        raise doc.error(node, field, f"only go_to can name a step with {STEP_SLOT}")
    if command == CommandId.GO_TO and phrase and STEP_SLOT not in text:
        raise doc.error(node, field, f"a go_to phrase names the step: put {STEP_SLOT} in it")
    return text


def _fillers(doc: Doc, node: Node) -> Fillers:
    sides = doc.mapping(node, "fillers", ("before", "after"))
    words: dict[str, tuple[str, ...]] = {}
    for side, items in sides.items():
        found = []
        for i, item in enumerate(doc.sequence(items, f"fillers.{side}", min_items=0)):
            word = normalize(doc.text(item, f"fillers.{side}[{i}]"))
            if len(word) != 1:
                raise doc.error(item, f"fillers.{side}[{i}]", "a filler is one word")
            found.append(word[0])
        words[side] = tuple(found)
    return Fillers(**words)


def _input_modes(doc: Doc, node: Node) -> dict[str, dict[str, str]]:
    modes = {}
    for mode, value in doc.mapping(node, "input_modes", INPUT_MODES).items():
        parts = doc.mapping(value, f"input_modes.{mode}", tuple(MODE_PARTS))
        modes[mode] = {
            part: _template(doc, item, f"input_modes.{mode}.{part}", MODE_PARTS[part]) for part, item in parts.items()
        }
    return modes


# The shortest release pause the fastest tempo may leave, as release_seconds' floor.
_LEAST_RELEASE = 0.5


def _rhythm(doc: Doc, node: Node) -> RhythmSettings:
    names = ("press_seconds", "release_seconds", "tempo_min", "tempo_max", "tempo_step", "words", "full_cycles", "word_cycles")
    e = doc.mapping(node, "rhythm", (*names, "quiet"))
    words = doc.mapping(e["words"], "rhythm.words", ("press", "release", "counts"))
    quiet = doc.mapping(e["quiet"], "rhythm.quiet", ("reminder", "every_minutes", "reminder_seconds"))
    settings = RhythmSettings(
        press_seconds=doc.number(e["press_seconds"], "rhythm.press_seconds", 0.5, 10),
        release_seconds=doc.number(e["release_seconds"], "rhythm.release_seconds", 0.5, 10),
        tempo_min=doc.number(e["tempo_min"], "rhythm.tempo_min", 2, 60),
        tempo_max=doc.number(e["tempo_max"], "rhythm.tempo_max", 2, 60),
        tempo_step=doc.number(e["tempo_step"], "rhythm.tempo_step", 0.5, 20),
        press_word=doc.text(words["press"], "rhythm.words.press"),
        release_word=doc.text(words["release"], "rhythm.words.release"),
        count_words=tuple(
            doc.text(item, f"rhythm.words.counts[{i}]")
            for i, item in enumerate(doc.sequence(words["counts"], "rhythm.words.counts", min_items=0))
        ),
        full_cycles=doc.integer(e["full_cycles"], "rhythm.full_cycles", 0, 10_000),
        word_cycles=doc.integer(e["word_cycles"], "rhythm.word_cycles", 0, 10_000),
        reminder=_template(doc, quiet["reminder"], "rhythm.quiet.reminder"),
        reminder_minutes=doc.number(quiet["every_minutes"], "rhythm.quiet.every_minutes", 0.5, 60),
        reminder_seconds=doc.number(quiet["reminder_seconds"], "rhythm.quiet.reminder_seconds", 0.5, 3600),
    )
    if settings.tempo_min > settings.tempo_max:
        raise doc.error(e["tempo_min"], "rhythm.tempo_min", "must not be above tempo_max")
    if not settings.tempo_min <= settings.default_tempo <= settings.tempo_max:
        raise doc.error(
            e["press_seconds"],
            "rhythm.press_seconds",
            f"press and release give {settings.default_tempo:g} squeezes a minute, outside tempo_min..tempo_max",
        )
    if 60.0 / settings.tempo_max - settings.press_seconds < _LEAST_RELEASE:
        raise doc.error(
            e["tempo_max"],
            "rhythm.tempo_max",
            f"leaves less than {_LEAST_RELEASE:g} s to release after a press of {settings.press_seconds:g} s",
        )
    if settings.full_cycles > settings.word_cycles:
        raise doc.error(e["full_cycles"], "rhythm.full_cycles", "must not be above word_cycles")
    if settings.reminder_seconds >= 60 * settings.reminder_minutes:
        raise doc.error(quiet["reminder_seconds"], "rhythm.quiet.reminder_seconds", "must be shorter than every_minutes")
    return settings


def _speech_rate(doc: Doc, node: Node) -> SpeechRate:
    e = doc.mapping(node, "speech_rate", ("default", "min", "max", "step"))
    # espeak-ng's useful range; run.py --rate accepts as much.
    rate = SpeechRate(
        *(doc.integer(e[key], f"speech_rate.{key}", 80, 400) for key in ("default", "min", "max")),
        step=doc.integer(e["step"], "speech_rate.step", 1, 100),
    )
    if not rate.min <= rate.default <= rate.max:
        raise doc.error(e["default"], "speech_rate.default", "must be between min and max")
    return rate


_SECTIONS: dict[str, Callable[[Doc, Node], object]] = {
    "meta": _meta,
    "positions_per_breast": _positions,
    "steps": _steps,
    "contacts": _contacts,
    "responses": _responses,
    "commands": _commands,
    "fillers": _fillers,
    "input_modes": _input_modes,
    "rhythm": _rhythm,
    "answers": parse_vocabulary,
    "asked": parse_examples,
    "speech_rate": _speech_rate,
}
