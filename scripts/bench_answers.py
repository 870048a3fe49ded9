#!/usr/bin/env python3
"""Score voice/answers.py on the tuning sets and, apart, on the held-out set.

Nine sets, each YAML:
  tune     scripts/questions_tune.yaml       tuning set, written by the answers' author
  dev      scripts/questions_dev.yaml        tuning sets written by others; each was
  dev2     scripts/questions_dev2.yaml       held out once, its figures seen, then tuned on
  dev3     scripts/questions_dev3.yaml
  dev4     scripts/questions_dev4.yaml
  dev5     scripts/questions_dev5.yaml
  dev6     scripts/questions_dev6.yaml
  dev7     scripts/questions_dev7.yaml
  heldout  scripts/questions_heldout.yaml    held-out set: summary figures only,
                                             never a question of it
Each set is YAML: `answerable: [{question, answer: [leaflet sentences]}]` and
`unanswerable: [{question}]`. An answerable question is answered right when the
answer holds at least one of its sentences and at most one other sentence;
wrong when it holds none of them (or more others); not answered when None.
An unanswerable question must get None. Misses are shown (--show-misses) for
the tuning sets only: the held-out set is for figures, never for choosing rules.
Last, the everyday talk of the recognition dev set (make_devset.py, its tuning
and held-out parts): how much of it would be answered aloud if heard (only
what is shaped as a question is tried). With --timing, also how long the
question model takes to load, to make and to read back the asked questions'
vectors, and to answer one question.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from make_devset import EVERYDAY, HELD_SPEECH, HELD_WITH_COMMAND_WORDS, WITH_COMMAND_WORDS

from voice import content as content_module
from voice.answers import Answers
from voice.content import Content
from voice.embedding import Embedder

# Sentences an answer may hold beside an expected one and still be right.
MAX_OTHERS = 1


@dataclass
class Figures:
    answerable: int = 0
    right: int = 0
    wrong: int = 0
    not_answered: int = 0
    unanswerable: int = 0
    wrongly_answered: int = 0
    not_taken_as_question: int = 0
    """Questions that is_question() would let pass as talk if spoken (typed, an answered line is a question)."""
    unknown_expected: int = 0
    """Expected sentences that are not leaflet sentences: a fault of the set."""
    misses: list[str] = field(default_factory=list)


def score(answers: Answers, questions: dict) -> Figures:
    figures = Figures()
    known = set(answers.sentences)
    for item in questions.get("answerable") or []:
        question, expected = item["question"], set(item["answer"])
        figures.answerable += 1
        figures.unknown_expected += len(expected - known)
        figures.not_taken_as_question += not answers.is_question(question)
        got = answers.answer(question)
        if got is None:
            figures.not_answered += 1
            figures.misses.append(f"NOT ANSWERED  {question}")
        elif expected & set(got.sentences) and len(set(got.sentences) - expected) <= MAX_OTHERS:
            figures.right += 1
        else:
            figures.wrong += 1
            figures.misses.append(f"WRONG {got.score:.2f}  {question}  ->  {' | '.join(got.sentences)}")
    for item in questions.get("unanswerable") or []:
        question = item["question"]
        figures.unanswerable += 1
        figures.not_taken_as_question += not answers.is_question(question)
        got = answers.answer(question)
        if got is not None:
            figures.wrongly_answered += 1
            figures.misses.append(f"ANSWERED {got.score:.2f}  {question}  ->  {' | '.join(got.sentences)}")
    return figures


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(name: str, figures: Figures) -> str:
    return "\n".join([
        f"{name}: {figures.answerable} answerable, {figures.unanswerable} unanswerable",
        f"  answered right      {figures.right:3d}  {_percent(figures.right, figures.answerable)}   (target >= 90%)",
        f"  answered wrong      {figures.wrong:3d}  {_percent(figures.wrong, figures.answerable)}",
        f"  not answered        {figures.not_answered:3d}  {_percent(figures.not_answered, figures.answerable)}",
        f"  unanswerable answered {figures.wrongly_answered:d}  of {figures.unanswerable}   (target <= 1)",
        f"  not taken as a question if spoken {figures.not_taken_as_question}",
        f"  expected sentences not in the leaflet {figures.unknown_expected}",
    ])


def talk(answers: Answers) -> dict[str, dict[str, int]]:
    """Per part of the everyday talk: its lines, those shaped as questions, and
    how many of those would be answered if heard."""
    figures = {}
    for part, lines in (("tuning", EVERYDAY + WITH_COMMAND_WORDS), ("held out", HELD_SPEECH + HELD_WITH_COMMAND_WORDS)):
        asked = [line for line in lines if answers.is_question(line)]
        figures[part] = {
            "lines": len(lines),
            "question_shaped": len(asked),
            "answered_if_heard": sum(answers.answer(line) is not None for line in asked),
        }
    return figures


def timing(content: Content, questions: list[str]) -> dict[str, float]:
    """Seconds to load the model and to make and to read back the asked questions'
    vectors (a first run, then every later one); milliseconds to answer a question."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        embedder = Embedder(cache_dir=Path(folder))
        loaded = time.perf_counter()
        answers = Answers.from_content(content, lambda: embedder)
        answers.prepare()
        made = time.perf_counter()
        reader = Embedder(cache_dir=Path(folder))
        read_start = time.perf_counter()
        Answers.from_content(content, lambda: reader).prepare()
        read = time.perf_counter()
    per_question = []
    for question in questions:
        begin = time.perf_counter()
        answers.answer(question)
        per_question.append(1000 * (time.perf_counter() - begin))
    per_question.sort()
    return {
        "model_load_s": loaded - start,
        "vectors_made_s": made - loaded,
        "vectors_read_s": read - read_start,
        "question_median_ms": statistics.median(per_question),
        "question_p95_ms": per_question[int(0.95 * (len(per_question) - 1))],
    }


SETS = {
    "tune": ROOT / "scripts" / "questions_tune.yaml",
    "dev": ROOT / "scripts" / "questions_dev.yaml",
    "dev2": ROOT / "scripts" / "questions_dev2.yaml",
    "dev3": ROOT / "scripts" / "questions_dev3.yaml",
    "dev4": ROOT / "scripts" / "questions_dev4.yaml",
    "dev5": ROOT / "scripts" / "questions_dev5.yaml",
    "dev6": ROOT / "scripts" / "questions_dev6.yaml",
    "dev7": ROOT / "scripts" / "questions_dev7.yaml",
    "heldout": ROOT / "scripts" / "questions_heldout.yaml",
}
"""The sets in the order reported; only "heldout" never shows its questions."""
TUNING = ("tune", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", type=Path, default=content_module.DEFAULT_DIR, help="content directory")
    for name, path in SETS.items():
        parser.add_argument(f"--{name}", type=Path, default=path, help=f"the {name} set ({path.name})")
    parser.add_argument("--sets", default=",".join(SETS), help="the sets to score, comma-separated (default: all)")
    parser.add_argument("--show-misses", action="store_true", help="print the tuning sets' misses (never the held-out's)")
    parser.add_argument("--timing", action="store_true", help="also time the model, the vectors and one question")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    chosen = [name for name in args.sets.split(",") if name]
    unknown = sorted(set(chosen) - set(SETS))
    if unknown:
        parser.error(f"unknown set(s): {', '.join(unknown)}; expected: {', '.join(SETS)}")
    content = content_module.load(args.content)
    answers = Answers.from_content(content)
    results: dict[str, dict] = {}
    asked: list[str] = []
    for name in SETS:
        path = getattr(args, name)
        if name not in chosen:
            continue
        if not path.exists():
            print(f"{name}: {path} is missing", file=sys.stderr)
            continue
        with path.open(encoding="utf-8") as file:
            questions = yaml.safe_load(file) or {}
        figures = score(answers, questions)
        asked += [item["question"] for part in ("answerable", "unanswerable") for item in questions.get(part) or []]
        print(report(name, figures))
        if name in TUNING and args.show_misses and figures.misses:
            print("\n".join(f"    {miss}" for miss in figures.misses))
        results[name] = {key: value for key, value in asdict(figures).items() if key != "misses"}
    results["talk"] = talk(answers)
    print("talk: everyday lines that would be answered (target: none heard)")
    for part, counts in results["talk"].items():
        print(f"  {part:8s} {counts['answered_if_heard']} of {counts['question_shaped']} question-shaped lines"
              f" ({counts['lines']} in all)")
    if args.timing and asked:
        results["time"] = timing(content, asked)
        print("time: {model_load_s:.2f} s to load the model; the asked questions' vectors made in {vectors_made_s:.1f} s"
              " (once), read in {vectors_read_s:.3f} s; a question {question_median_ms:.1f} ms median,"
              " {question_p95_ms:.1f} ms p95".format(**results["time"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
