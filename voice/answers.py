"""Questions answered with the leaflet's own sentences.

Each leaflet sentence is found in two ways. By its words and what
content/answers.yaml says it is about, in the words people use ("how far",
"distance" for "Use 2 fingers to measure ... 2 to 3 centimetres"): a sentence
scores the share of the question's words it covers, each word weighed by its
inverse document frequency over the sentences, so that "syringe" counts, "milk"
barely does, and a word no sentence is found by ("fridge") weighs most. And by
the questions people ask (content/asked.yaml): a sentence scores its likeness
to the nearest question it answers. A question nearer one the leaflet does not
answer, or on a subject it leaves to the team ("freeze", "mastitis"), is
refused. Words that mean the same anywhere ("sore", "hurt") are one word.
Nothing is composed: an answer is leaflet sentences, or None. docs/answers.md
has the method and its figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import snowballstemmer
from yaml.nodes import Node

from .commands import phrase_key
from .errors import ContentError

if TYPE_CHECKING:
    from .content import Content
    from .yamlcheck import Doc

# Chosen on the tuning sets (scripts/questions_tune.yaml, questions_dev*.yaml): docs/answers.md.
MIN_SCORE = 0.35
"""The least score a sentence must have to be an answer."""
WORDS_SHARE = 0.4
"""How much of a sentence's score is the share of the question's words it covers;
the rest is its likeness to the nearest question it answers (content/asked.yaml)."""
RUNNER_UP = 0.85
"""A second sentence is added when it scores at least this share of the best."""
MAX_SENTENCES = 2
ARTICLES = frozenset({"a", "an", "the", "my", "your"})
"""Left out of phrases and questions alike: "where to put my fingers" is "where to put fingers"."""


@dataclass(frozen=True)
class Topic:
    """What one leaflet sentence is about, in the words people use."""

    sentence: str
    """A piece of the sentence's text, found in no other sentence."""
    about: tuple[tuple[str, ...], ...]
    """Words and phrases, as phrase_key words: ("how", "far")."""
    file: str
    line: int
    field: str


@dataclass(frozen=True)
class Vocabulary:
    """content/answers.yaml: the words that find sentences and tell questions."""

    question_starts: frozenset[str]
    before_question: frozenset[str]
    ignore: frozenset[str]
    synonyms: tuple[tuple[tuple[str, ...], ...], ...]
    """Groups of words and phrases that mean the same."""
    topics: tuple[Topic, ...]
    off_topic: tuple[tuple[str, ...], ...]
    """Words and phrases of subjects the leaflet does not cover ("fridge")."""


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
    """The best sentence's score, 0 to 1: its words' share and its nearest asked question's likeness."""


Unit = frozenset[str]
"""One word or phrase of a question: the terms any of which matches it."""


class Answers:
    """Finds the leaflet sentences that answer a question."""

    def __init__(self, passages: Sequence[tuple[str, str]], vocabulary: Vocabulary, examples: Examples) -> None:
        """passages: (sentence said, text it is found by), in leaflet order.
        Each of vocabulary's topics and examples' answered must name one sentence said."""
        self._vocabulary = vocabulary
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}
        """Each word's stem, kept: the pure-Python stemmer is slow and words recur."""
        self._ignored = frozenset(self._stem(vocabulary.ignore)) | vocabulary.ignore
        # Phrases and synonyms are matched on stems: "letting go" is "let go".
        self._same: dict[tuple[str, ...], str] = {}
        for i, group in enumerate(vocabulary.synonyms):
            for phrase in group:
                self._same[self._key(phrase)] = f"={i}"
        phrases = {self._key(phrase) for group in vocabulary.synonyms for phrase in group}
        phrases |= {self._key(phrase) for topic in vocabulary.topics for phrase in topic.about}
        phrases |= {self._key(phrase) for phrase in vocabulary.off_topic}
        # Longest phrases first, so that "how far" is taken before "far".
        self._phrases: dict[str, list[tuple[str, ...]]] = {}
        for phrase in sorted((p for p in phrases if len(p) > 1), key=len, reverse=True):
            self._phrases.setdefault(phrase[0], []).append(phrase)
        self._sentences = tuple(said for said, _ in passages)
        about: list[list[tuple[str, ...]]] = [[] for _ in passages]
        for topic in vocabulary.topics:
            about[self._named(topic.sentence, topic.file, topic.line, topic.field)].extend(topic.about)
        self._terms = [
            frozenset().union(*self._units(text), *(unit for phrase in extra for unit in self._units(" ".join(phrase))))
            for (_, text), extra in zip(passages, about)
        ]
        counts: dict[str, int] = {}
        for terms in self._terms:
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
        total = len(passages)
        self._idf = {term: _idf(total, count) for term, count in counts.items()}
        self._unknown = _idf(total, 0)
        self._off_topic = frozenset(self._term(self._key(phrase)) for phrase in vocabulary.off_topic)
        self._examples = _Nearest(
            [(frozenset(self._unit_terms(q)), self._named(a.sentence, a.file, a.line, a.field))
             for a in examples.answered for q in a.questions]
            + [(frozenset(self._unit_terms(q)), None) for q in examples.not_answered]
        )

    def _named(self, piece: str, file: str, line: int, field: str) -> int:
        """The index of the one sentence holding piece."""
        found = [i for i, said in enumerate(self._sentences) if piece in said]
        if len(found) != 1:
            where = "no leaflet sentence" if not found else f"{len(found)} leaflet sentences"
            raise ContentError(file, line, field, f"{piece!r} is in {where}; it must name one")
        return found[0]

    def _unit_terms(self, text: str) -> list[str]:
        return [term for unit in self._units(text) for term in unit]

    @classmethod
    def from_content(cls, content: Content) -> Answers:
        """Every step's sentences (not its questions) and the contacts' intro,
        found also by the contacts' names."""
        passages = {
            sentence: sentence for step in content.steps for sentence in step.say if not sentence.endswith("?")
        }
        names = " ".join(contact.name for contact in content.contacts)
        intro = content.contacts_intro
        passages[intro] = f"{passages.get(intro, intro)} {names}"
        return cls(list(passages.items()), content.answers, content.asked)

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
        meant for the assistant; heard speech may be talk in the room, so it must
        be shaped as a question (is_question)."""
        return self.is_question(text) or self.answer(text) is not None

    def answer(self, question: str) -> Answer | None:
        """The sentences that answer the question, or None when none scores enough
        or it is nearer a question the leaflet does not answer."""
        units = list(dict.fromkeys(self._units(question)))
        if any(unit & self._off_topic for unit in units):
            return None
        covered = self._covered(units)
        nearest, not_answered = self._examples.likeness([term for unit in units for term in unit], len(covered))
        scores = [WORDS_SHARE * c + (1 - WORDS_SHARE) * n for c, n in zip(covered, nearest)]
        # Ties go to the sentence found by fewer terms, which says less beside the answer.
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], len(self._terms[i])))
        best = scores[ranked[0]]
        # Nearer a question the leaflet does not answer than any the best sentence answers: refused.
        if best < MIN_SCORE or not_answered > nearest[ranked[0]]:
            return None
        chosen = [i for i in ranked[:MAX_SENTENCES] if scores[i] >= RUNNER_UP * best]
        return Answer(tuple(self._sentences[i] for i in sorted(chosen)), best)

    def _covered(self, units: list[Unit]) -> list[float]:
        """Each sentence's share of the units' weight, in leaflet order."""
        weights = [max((self._idf[t] for t in unit if t in self._idf), default=self._unknown) for unit in units]
        total = sum(weights)
        if not total:
            return [0.0] * len(self._terms)
        scores = []
        for terms in self._terms:
            matched = sum(max((self._idf[t] for t in unit & terms), default=0.0) for unit in units)
            scores.append(matched / total)
        return scores

    def _units(self, text: str) -> list[Unit]:
        """The text's meaningful words and phrases. A phrase ("how far") is one
        unit, matched by itself or by any of its words that is not ignored."""
        words = tuple(word for word in phrase_key(text) if word not in ARTICLES)
        stems = self._stem(words)
        units: list[Unit] = []
        i = 0
        while i < len(words):
            phrase = next((p for p in self._phrases.get(stems[i], ()) if stems[i : i + len(p)] == p), None)
            if phrase is not None:
                inside = [self._term((stem,)) for word, stem in zip(words[i:], phrase) if not self._is_ignored(word, stem)]
                units.append(frozenset([self._term(phrase), *inside]))
                i += len(phrase)
                continue
            if not self._is_ignored(words[i], stems[i]):
                units.append(frozenset([self._term((stems[i],))]))
            i += 1
        return units

    def _is_ignored(self, word: str, stem: str) -> bool:
        return word in self._ignored or stem in self._ignored

    def _term(self, stems: tuple[str, ...]) -> str:
        """A word's or phrase's stems as one term: its synonym group's, if any."""
        return self._same.get(stems, " ".join(stems))

    def _key(self, words: tuple[str, ...]) -> tuple[str, ...]:
        return self._stem(word for word in words if word not in ARTICLES)

    def _stem(self, words: Iterable[str]) -> tuple[str, ...]:
        stems = []
        for word in words:
            stem = self._stems.get(word)
            if stem is None:
                stem = self._stems[word] = self._stemmer.stemWord(word)
            stems.append(stem)
        return tuple(stems)


def _idf(total: int, count: float) -> float:
    return math.log((total + 1) / (count + 0.5))


class _Nearest:
    """Questions people ask, each answered by a sentence (its index) or by none; a
    new question's likeness to them is the cosine of their terms weighted by
    inverse document frequency over these questions."""

    def __init__(self, examples: Sequence[tuple[frozenset[str], int | None]]) -> None:
        counts: dict[str, int] = {}
        for terms, _ in examples:
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
        self._idf = {term: _idf(len(examples), count) for term, count in counts.items()}
        self._unknown = _idf(len(examples), 0)
        self._answers = [answer for _, answer in examples]
        # Term -> (example, its weight in the example's unit vector), to score only examples sharing a term.
        self._index: dict[str, list[tuple[int, float]]] = {}
        for i, (terms, _) in enumerate(examples):
            norm = math.sqrt(sum(self._idf[t] ** 2 for t in terms)) or 1.0
            for term in terms:
                self._index.setdefault(term, []).append((i, self._idf[term] / norm))

    def likeness(self, terms: Sequence[str], sentences: int) -> tuple[list[float], float]:
        """Per sentence, the likeness of the nearest question it answers; and that of
        the nearest question the leaflet does not answer."""
        weights = {term: self._idf.get(term, self._unknown) for term in terms}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        dots: dict[int, float] = {}
        for term, weight in weights.items():
            for i, w in self._index.get(term, ()):
                dots[i] = dots.get(i, 0.0) + weight / norm * w
        nearest = [0.0] * sentences
        not_answered = 0.0
        for i, dot in dots.items():
            answer = self._answers[i]
            if answer is None:
                not_answered = max(not_answered, dot)
            else:
                nearest[answer] = max(nearest[answer], dot)
        return nearest, not_answered


def parse_vocabulary(doc: Doc, node: Node) -> Vocabulary:
    """The `answers` section of content/answers.yaml. Whether each topic names
    one leaflet sentence is checked by Answers, which has the sentences."""
    entries = doc.mapping(
        node, "answers", ("question_starts", "before_question", "ignore", "synonyms", "topics", "off_topic")
    )
    lists = {
        name: frozenset(_words(doc, entries[name], f"answers.{name}"))
        for name in ("question_starts", "before_question", "ignore")
    }
    synonyms = []
    owner: dict[tuple[str, ...], int] = {}
    for i, group_node in enumerate(doc.sequence(entries["synonyms"], "answers.synonyms", min_items=0)):
        field = f"answers.synonyms[{i}]"
        group = []
        items = doc.sequence(group_node, field, min_items=2)
        for j, item in enumerate(items):
            phrase = _phrase(doc, item, f"{field}[{j}]")
            if phrase in owner:
                raise doc.error(item, f"{field}[{j}]", f"{' '.join(phrase)!r} is already in synonyms[{owner[phrase]}]")
            owner[phrase] = i
            group.append(phrase)
        synonyms.append(tuple(group))
    topics = []
    keys: dict[str, int] = {}
    for i, item in enumerate(doc.sequence(entries["topics"], "answers.topics", min_items=0)):
        field = f"answers.topics[{i}]"
        parts = doc.mapping(item, field, ("sentence", "about"))
        sentence_node = parts["sentence"]
        sentence = doc.text(sentence_node, f"{field}.sentence")
        if sentence in keys:
            raise doc.error(sentence_node, f"{field}.sentence", f"{sentence!r} is already in topics[{keys[sentence]}]")
        keys[sentence] = i
        about = tuple(
            _phrase(doc, phrase, f"{field}.about[{j}]")
            for j, phrase in enumerate(doc.sequence(parts["about"], f"{field}.about"))
        )
        line = sentence_node.start_mark.line + 1
        topics.append(Topic(sentence, about, doc.file, line, f"{field}.sentence"))
    off_topic = tuple(
        _phrase(doc, item, f"answers.off_topic[{i}]")
        for i, item in enumerate(doc.sequence(entries["off_topic"], "answers.off_topic", min_items=0))
    )
    return Vocabulary(**lists, synonyms=tuple(synonyms), topics=tuple(topics), off_topic=off_topic)


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
            doc.text(q, f"{field}.questions[{j}]") for j, q in enumerate(doc.sequence(parts["questions"], f"{field}.questions"))
        )
        answered.append(Asked(doc.text(sentence_node, f"{field}.sentence"), questions, doc.file,
                              sentence_node.start_mark.line + 1, f"{field}.sentence"))
    not_answered = tuple(
        doc.text(q, f"asked.not_answered[{i}]") for i, q in enumerate(doc.sequence(entries["not_answered"], "asked.not_answered"))
    )
    return Examples(tuple(answered), not_answered)


def _phrase(doc: Doc, node: Node, field: str) -> tuple[str, ...]:
    phrase = phrase_key(doc.text(node, field))
    if not phrase:
        raise doc.error(node, field, "has no words")
    return phrase


def _words(doc: Doc, node: Node, field: str) -> tuple[str, ...]:
    """A list of single words, without apostrophes as phrase_key gives them."""
    words = []
    for i, item in enumerate(doc.sequence(node, field)):
        word = phrase_key(doc.text(item, f"{field}[{i}]"))
        if len(word) != 1:
            raise doc.error(item, f"{field}[{i}]", "one word each")
        words.append(word[0])
    return tuple(words)
