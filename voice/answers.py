"""Questions answered with the leaflet's own sentences.

Each leaflet sentence is found by the questions people ask that it answers
(content/asked.yaml): a question's likeness to one is the cosine of their
sentence vectors (voice/embedding.py), and a sentence's likeness is the mean of
its 3 most like questions. A question more like those the leaflet does
not answer (on the subject, "can I freeze it?", or everyday talk) is refused.
Nothing is composed: an answer is leaflet sentences, or None. docs/answers.md
has the method and its figures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from yaml.nodes import Node

from .commands import phrase_key
from .embedding import Embedder, shared
from .errors import ContentError, EngineError

if TYPE_CHECKING:
    from .content import Content
    from .yamlcheck import Doc

# Chosen on the tuning sets (scripts/questions_tune.yaml, questions_dev*.yaml): docs/answers.md.
NEAREST = 3
"""A sentence's likeness is the mean of its this many most like asked questions."""
MIN_LIKENESS = 0.4
"""Below this, nothing asked is like her words ("so that's it then"): no answer."""
MARGIN = 0.05
"""The best sentence must be this much more like her question than the questions
the leaflet does not answer are."""
RUNNER_UP = 0.9
"""A second sentence is added when its likeness is at least this share of the best."""
MAX_SENTENCES = 2


@dataclass(frozen=True)
class Vocabulary:
    """content/answers.yaml: the words that make what she says a question."""

    question_starts: frozenset[str]
    before_question: frozenset[str]


@dataclass(frozen=True)
class Asked:
    """Questions people ask that one leaflet sentence answers."""

    sentence: str
    """A piece of the sentence's text, found in no other sentence."""
    questions: tuple[str, ...]
    file: str
    line: int
    field: str


@dataclass(frozen=True)
class Examples:
    """content/asked.yaml: questions people ask, answered by the leaflet or not."""

    answered: tuple[Asked, ...]
    not_answered: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    sentences: tuple[str, ...]
    """Leaflet sentences, in leaflet order."""
    score: float
    """The best sentence's likeness to her question (cosine, -1 to 1)."""


class Answers:
    """Finds the leaflet sentences that answer a question."""

    def __init__(
        self, sentences: Sequence[str], vocabulary: Vocabulary, examples: Examples, embedder: Callable[[], Embedder]
    ) -> None:
        """sentences: those an answer may hold, in leaflet order. Each of examples'
        answered must name one of them. Every sentence needs asked questions to be found.
        embedder gives the model at the first question (prepare() for sooner)."""
        self._vocabulary = vocabulary
        self._sentences = tuple(sentences)
        self._embedder = embedder
        # The asked questions grouped by what answers them: each sentence's, then the unanswered.
        groups: list[list[str]] = [[] for _ in self._sentences]
        for asked in examples.answered:
            groups[self._named(asked.sentence, asked.file, asked.line, asked.field)].extend(asked.questions)
        groups.append(list(examples.not_answered))
        self._bounds = np.cumsum([0, *map(len, groups)])
        self._questions = [question for group in groups for question in group]

    @functools.cached_property
    def _model(self) -> tuple[Embedder, np.ndarray]:
        """The model and the asked questions' vectors; EngineError when it cannot be had
        (then tried again at the next question)."""
        embedder = self._embedder()
        return embedder, embedder.embed_kept(self._questions)

    def prepare(self) -> None:
        """Load the model and the asked questions' vectors now rather than at the first
        question. Raises EngineError when the model cannot be had."""
        self._model  # noqa: B018 - made and kept by the property

    def _named(self, piece: str, file: str, line: int, field: str) -> int:
        """The index of the one sentence holding piece."""
        found = [i for i, said in enumerate(self._sentences) if piece in said]
        if len(found) != 1:
            where = "no leaflet sentence" if not found else f"{len(found)} leaflet sentences"
            raise ContentError(file, line, field, f"{piece!r} is in {where}; it must name one")
        return found[0]

    @classmethod
    def from_content(cls, content: Content, embedder: Callable[[], Embedder] | None = None) -> Answers:
        """Every step's sentences (not its questions) and the contacts' intro. The model
        is the process's shared one unless another is given."""
        sentences = [sentence for step in content.steps for sentence in step.say if not sentence.endswith("?")]
        sentences.append(content.contacts_intro)
        return cls(list(dict.fromkeys(sentences)), content.answers, content.asked, embedder or shared)

    @property
    def sentences(self) -> tuple[str, ...]:
        """Every sentence an answer can hold."""
        return self._sentences

    def is_question(self, text: str) -> bool:
        """Whether she asked something, rather than talked: a question word first
        ("um, how far...") or a question mark from the recognizer or keyboard."""
        words = phrase_key(text)
        start = 0
        while start < len(words) and words[start] in self._vocabulary.before_question:
            start += 1
        if start == len(words):
            return False
        return words[start] in self._vocabulary.question_starts or text.rstrip().endswith("?")

    def is_typed_question(self, text: str) -> bool:
        """Whether a typed line that is no command is a question: shaped as one, or
        answered by the leaflet ("I don't know where my fingers go"). Typed text is
        meant for the assistant."""
        return self.is_question(text) or self._answered(text)

    def is_heard_question(self, text: str) -> bool:
        """Whether heard speech that is no command is a question: shaped as one and
        answered by the leaflet. Talk in the room is neither answered nor refused."""
        return self.is_question(text) and self._answered(text)

    def _answered(self, text: str) -> bool:
        """Whether the leaflet answers it. With the question model broken (a broken
        install), yes: asked, it is told whom to contact (Session.ask)."""
        try:
            return self.answer(text) is not None
        except EngineError:
            return True

    def answer(self, question: str) -> Answer | None:
        """The sentences that answer the question, or None when no asked question is
        like it or the questions the leaflet does not answer are as like it.
        Raises EngineError when the model cannot be had."""
        if not phrase_key(question):
            return None
        embedder, vectors = self._model
        likeness = vectors @ embedder.embed([question])[0]
        nearest = [
            float(np.sort(likeness[start:end])[-NEAREST:].mean()) if end > start else -1.0
            for start, end in zip(self._bounds[:-1], self._bounds[1:])
        ]
        not_answered = nearest.pop()
        ranked = sorted(range(len(nearest)), key=lambda i: -nearest[i])
        best = nearest[ranked[0]]
        if best < MIN_LIKENESS or not_answered > best - MARGIN:
            return None
        chosen = [i for i in ranked[:MAX_SENTENCES] if nearest[i] >= RUNNER_UP * best]
        return Answer(tuple(self._sentences[i] for i in sorted(chosen)), best)


def parse_vocabulary(doc: Doc, node: Node) -> Vocabulary:
    """The `answers` section of content/answers.yaml."""
    entries = doc.mapping(node, "answers", ("question_starts", "before_question"))
    return Vocabulary(
        **{
            name: frozenset(_words(doc, entries[name], f"answers.{name}"))
            for name in ("question_starts", "before_question")
        }
    )


def parse_examples(doc: Doc, node: Node) -> Examples:
    """The `asked` section of content/asked.yaml. Whether each names one leaflet
    sentence is checked by Answers, which has the sentences."""
    entries = doc.mapping(node, "asked", ("answered", "not_answered"))
    answered = []
    for i, item in enumerate(doc.sequence(entries["answered"], "asked.answered")):
        field = f"asked.answered[{i}]"
        parts = doc.mapping(item, field, ("sentence", "questions"))
        sentence_node = parts["sentence"]
        questions = tuple(
            doc.text(q, f"{field}.questions[{j}]")
            for j, q in enumerate(doc.sequence(parts["questions"], f"{field}.questions"))
        )
        answered.append(
            Asked(
                doc.text(sentence_node, f"{field}.sentence"),
                questions,
                doc.file,
                sentence_node.start_mark.line + 1,
                f"{field}.sentence",
            )
        )
    not_answered = tuple(
        doc.text(q, f"asked.not_answered[{i}]")
        for i, q in enumerate(doc.sequence(entries["not_answered"], "asked.not_answered"))
    )
    return Examples(tuple(answered), not_answered)


def _words(doc: Doc, node: Node, field: str) -> tuple[str, ...]:
    """A list of single words, without apostrophes as phrase_key gives them."""
    words = []
    for i, item in enumerate(doc.sequence(node, field)):
        word = phrase_key(doc.text(item, f"{field}[{i}]"))
        if len(word) != 1:
            raise doc.error(item, f"{field}[{i}]", "one word each")
        words.append(word[0])
    return tuple(words)
