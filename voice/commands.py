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
    """Finds the command a whole utterance names, allowing filler words around it."""

    def __init__(
        self, phrases: Mapping[CommandId, Iterable[str]], before: Iterable[str], after: Iterable[str]
    ) -> None:
        self._before = frozenset(_bare(before))
        self._after = frozenset(_bare(after))
        self._by_words = {
            phrase_key(phrase): command for command, items in phrases.items() for phrase in items
        }

    def strip_fillers(self, words: tuple[str, ...]) -> tuple[str, ...]:
        """Words without the filler words before and after."""
        start, end = 0, len(words)
        while start < end and words[start] in self._before:
            start += 1
        while end > start and words[end - 1] in self._after:
            end -= 1
        return words[start:end]

    def match(self, text: str) -> CommandId | None:
        """The command that text names, or None. "um, next please" names next."""
        words = phrase_key(text)
        return self._by_words.get(words) or self._by_words.get(self.strip_fillers(words))
