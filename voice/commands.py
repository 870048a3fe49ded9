"""Command ids and the matching of typed or recognized words to them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum


class CommandId(StrEnum):
    """The fixed command ids; their phrases and keys live in content/commands.yaml."""

    NEXT = "next"
    BACK = "back"
    REPEAT = "repeat"
    NO_MILK = "no_milk"
    PAUSE = "pause"
    RESUME = "resume"
    SLOWER = "slower"
    FASTER = "faster"
    HELP = "help"
    WHERE = "where"
    OTHER_SIDE = "other_side"
    CONTACTS = "contacts"
    STOP = "stop"
    TALK_SLOWER = "talk_slower"
    TALK_FASTER = "talk_faster"
    BRIEF = "brief"
    FULL = "full"
    GO_TO = "go_to"
    """Carries the words that name the step: its number or title."""
    LIST_STEPS = "list_steps"
    START_OVER = "start_over"
    HOW_LONG = "how_long"
    READ_LOG = "read_log"
    LEFT = "left"
    RIGHT = "right"
    YES = "yes"
    NO = "no"


class Source(StrEnum):
    """Where a command came from."""

    VOICE = "voice"
    KEYBOARD = "keyboard"
    TEXT = "text"
    SIGNAL = "signal"
    """Ctrl-C or a termination signal, which end the session as "stop" does."""


# Letters and digits of any script stay: a word in another language is a
# word, not something to ignore around a command.
_NOT_WORD = re.compile(r"[^\w']+|_")


def normalize(text: str) -> tuple[str, ...]:
    """Lower-case words without punctuation: "Um, NEXT step!" -> ("um", "next", "step")."""
    text = text.casefold().replace("\u2019", "'")
    return tuple(word.strip("'") for word in _NOT_WORD.sub(" ", text).split() if word.strip("'"))


def phrase_key(text: str) -> tuple[str, ...]:
    """What tells phrases apart: their words without apostrophes, so that
    "theres no milk" typed is "there's no milk"."""
    return _bare(normalize(text))


def _bare(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(word.replace("'", "") for word in words)


class PhraseMatcher:
    """Finds the command a whole utterance means, allowing filler words around it.

    Each command is known by its phrases and by sentence templates, as Home
    Assistant's hassil writes them: (a|b) for alternatives, [a] for optional
    words, so that "(there's|there is) nothing [coming] out" covers four
    sentences. A phrase is a template without brackets."""

    def __init__(
        self, sentences: Mapping[CommandId, Iterable[str]], before: Iterable[str], after: Iterable[str]
    ) -> None:
        """Raises TemplateError for a template that is not well formed."""
        self._before = frozenset(_bare(before))
        self._after = frozenset(_bare(after))
        self._patterns = [
            (re.compile("".join(template_pattern(template))), command)
            for command, templates in sentences.items()
            for template in templates
        ]

    def strip_fillers(self, words: tuple[str, ...]) -> tuple[str, ...]:
        """Words without the filler words before and after."""
        start, end = 0, len(words)
        while start < end and words[start] in self._before:
            start += 1
        while end > start and words[end - 1] in self._after:
            end -= 1
        return words[start:end]

    def match(self, text: str) -> CommandId | None:
        """The command that text means, or None. "um, next please" means next."""
        words = phrase_key(text)
        for candidate in (words, self.strip_fillers(words)):
            line = "".join(word + " " for word in candidate)
            for pattern, command in self._patterns:
                if pattern.fullmatch(line):
                    return command
        return None


class TemplateError(ValueError):
    """A sentence template that is not well formed."""


_TEMPLATE_TOKEN = re.compile(r"[()\[\]|]|[^\s()\[\]|]+")


def template_pattern(template: str) -> list[str]:
    """A template as a regular expression over words each followed by a space."""
    out: list[str] = []
    closers: list[str] = []
    for token in _TEMPLATE_TOKEN.findall(template):
        if token in "([":
            closers.append(")" if token == "(" else "]")
            out.append("(?:")
        elif token in ")]":
            if not closers or closers.pop() != token:
                raise TemplateError(f"unexpected {token!r}")
            out.append(")" if token == ")" else ")?")
        elif token == "|":
            if not closers:
                raise TemplateError("'|' outside brackets")
            out.append("|")
        else:
            out.extend(re.escape(word) + " " for word in _bare(normalize(token)))
    if closers:
        raise TemplateError(f"{closers[-1]!r} missing")
    if not any(part.endswith(" ") for part in out):
        raise TemplateError("has no words")
    return out
