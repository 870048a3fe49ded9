"""Questions answered with the leaflet's own sentences (voice/answers.py), on the real content."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from voice import content
from voice.answers import Answers, Asked, Examples
from voice.embedding import shared
from voice.errors import ContentError

from .shared import CONTENT, ROOT

ANSWERS = Answers.from_content(CONTENT)
LEAFLET = {sentence for step in CONTENT.steps for sentence in step.say} | {CONTENT.contacts_intro}
TUNE = yaml.safe_load((ROOT / "scripts" / "questions_tune.yaml").read_text(encoding="utf-8"))
ANSWERS_YAML = (ROOT / "content" / "answers.yaml").read_text(encoding="utf-8")
ASKED_YAML = (ROOT / "content" / "asked.yaml").read_text(encoding="utf-8")


def step(step_id: str) -> tuple[str, ...]:
    return next(s.say for s in CONTENT.steps if s.id == step_id)


@pytest.mark.parametrize(
    "question,sentence",
    [
        ("how far back from the nipple?", step("move")[1]),
        ("what do I collect the milk in?", step("collect")[3]),
        ("how long should I express for?", step("how_long")[0]),
        ("why wash my hands?", step("wash")[1]),
        ("how long do I squeeze for?", step("squeeze")[0]),
        ("what is PALS?", step("contact")[1]),
        ("Um, who can I talk to if I'm worried?", CONTENT.contacts_intro),
    ],
)
def test_a_question_gets_the_sentence_that_answers_it(question: str, sentence: str) -> None:
    answer = ANSWERS.answer(question)
    assert answer is not None and sentence in answer.sentences
    assert 0 < answer.score <= 1


@pytest.mark.parametrize(
    "question",
    ["how do I store breast milk?", "can I freeze my milk?", "what is mastitis?", "how much milk?", "",
     "can I give my baby formula?", "is it safe to take ibuprofen?", "what time is it?"],
)
def test_a_question_the_leaflet_does_not_answer_is_refused(question: str) -> None:
    assert ANSWERS.answer(question) is None


@pytest.mark.parametrize(
    "text,answered",
    [("I don't know where to put my fingers", True), ("cant remember how far from my nipple", True),
     ("the baby is crying", False), ("pass me the towel", False), ("so that's it then", False)],
)
def test_a_typed_line_is_a_question_when_shaped_as_one_or_answered(text: str, answered: bool) -> None:
    assert not ANSWERS.is_question(text)
    assert ANSWERS.is_typed_question(text) is answered


@pytest.mark.parametrize(
    "text,heard",
    [("how far back from the nipple", True), ("um, what do I collect it in", True),
     ("I don't know where to put my fingers", False), ("the baby is crying?", False),
     ("can you pass me the towel?", False)],
)
def test_heard_speech_is_a_question_when_shaped_as_one_and_answered(text: str, heard: bool) -> None:
    assert ANSWERS.is_heard_question(text) is heard


def test_answers_are_leaflet_sentences_in_leaflet_order() -> None:
    order = list(ANSWERS.sentences)
    answered = 0
    for item in TUNE["answerable"] + TUNE["unanswerable"]:
        answer = ANSWERS.answer(item["question"])
        if answer is not None:
            answered += 1
            assert set(answer.sentences) <= LEAFLET
            assert list(answer.sentences) == sorted(answer.sentences, key=order.index)
    assert answered >= len(TUNE["answerable"]) * 0.9


def test_a_step_question_is_never_an_answer() -> None:
    asked = next(s.say[0] for s in CONTENT.steps if s.ask == "side")
    assert asked.endswith("?") and asked not in ANSWERS.sentences


@pytest.mark.parametrize(
    "text",
    ["how far back from the nipple", "Um, so what do I collect it in", "why wash my hands", "can I use a bottle",
     "is it normal?", "the baby is crying?", "do I press hard", "hmm, tell me how to catch the drops",
     "wat do i do wen the drops come out"],
)
def test_questions_are_questions(text: str) -> None:
    assert ANSWERS.is_question(text)


@pytest.mark.parametrize(
    "text", ["the baby is crying", "pass me the towel", "okay", "", "um", "I'll be right back", "so that's it then"]
)
def test_talk_is_not_a_question(text: str) -> None:
    assert not ANSWERS.is_question(text)


def with_examples(*answered: tuple[str, tuple[str, ...]], not_answered: tuple[str, ...] = ()) -> Answers:
    """The real sentences, but only the asked questions given."""
    asked = tuple(Asked(piece, questions, "asked.yaml", 1, "asked") for piece, questions in answered)
    return Answers(ANSWERS.sentences, CONTENT.answers, Examples(asked, not_answered), shared)


def test_the_asked_questions_tell_which_sentence_she_means() -> None:
    """Nothing but the asked questions finds a sentence: none asked, none found."""
    question = "is the wobbling bit done now"
    assert with_examples().answer(question) is None
    taught = with_examples(("no set length of time", ("is the wobbling bit done now or later",)))
    answer = taught.answer(question)
    assert answer is not None and answer.sentences == (step("how_long")[0],)
    # Her words, not the leaflet's: "hurt" is as good as "sore".
    answer = ANSWERS.answer("will it hurt if I rub too hard?")
    assert answer is not None and step("massage")[3] in answer.sentences


def test_the_nearest_questions_likeness_is_the_answers_score() -> None:
    """A sentence's likeness is the mean of its 3 most like asked questions."""
    asked = ("how long should I press my finger and thumb", "how long do I hold the squeeze", "how many seconds do I press")
    answers = with_examples(("without moving their position", asked))
    question = "how long do I squeeze for?"
    vectors = shared().embed([question, *asked])
    answer = answers.answer(question)
    assert answer is not None
    assert answer.score == pytest.approx(float((vectors[1:] @ vectors[0]).mean()), abs=1e-5)


def test_a_question_nearer_one_the_leaflet_does_not_answer_is_refused() -> None:
    question = "how long do I squeeze for?"
    pressing = ("without moving their position", ("how long should I press my finger and thumb",))
    assert with_examples(pressing).answer(question) is not None
    refusing = with_examples(pressing, not_answered=("and how long do I squeeze for",))
    assert refusing.answer(question) is None


def test_every_asked_question_set_names_one_sentence_and_the_examples_cover_every_sentence() -> None:
    named = {a.sentence for a in CONTENT.asked.answered}
    covered = {s for s in ANSWERS.sentences if any(piece in s for piece in named)}
    assert covered == set(ANSWERS.sentences)
    assert all(len(a.questions) >= 5 for a in CONTENT.asked.answered)
    assert len(CONTENT.asked.not_answered) >= 50


@pytest.mark.parametrize(
    "old,new,field,fragment",
    [("    - sentence: no set length of time", "    - sentence: wash your feet", "].sentence", "    - sentence: wash"),
     ("    - sentence: no set length of time", "    - sentence: the nipple", "].sentence", "    - sentence: the nipple"),
     ("      questions:\n", "      asked:\n", "asked.answered[", "      asked:"),
     ("  not_answered:\n", "  not_answered: []\n  unanswered:\n", "asked.unanswered", "  unanswered:")],
)
def test_bad_asked_yaml_names_file_line_and_field(old: str, new: str, field: str, fragment: str, tmp_path) -> None:
    assert old in ASKED_YAML, "the case must change the file"
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    broken = ASKED_YAML.replace(old, new, 1)
    path = target / "asked.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        Answers.from_content(content.load(target))
    assert caught.value.file == str(path)
    assert caught.value.line == line_of(broken, fragment)
    assert field in caught.value.field


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


BAD = {
    "unknown field": ("\n  before_question:", "\n  paraphrases: [a]\n  before_question:", "answers.paraphrases", "  paraphrases"),
    "two words as one": ("[um, uh,", "[um uh,", "answers.before_question[0]", "[um uh,"),
    "a bare boolean": ("wen, wot]", "wen, wot, on]", "answers.question_starts[", "wen, wot, on]"),
    "a list misnamed": ("\n  before_question:", "\n  before_questions:", "answers.before_questions", "  before_questions:"),
}
@pytest.mark.parametrize("case", list(BAD))
def test_bad_answers_yaml_names_file_line_and_field(case: str, tmp_path) -> None:
    old, new, field, fragment = BAD[case]
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    assert old in ANSWERS_YAML, "the case must change the file"
    broken = ANSWERS_YAML.replace(old, new, 1)
    path = target / "answers.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        content.load(target)
    assert caught.value.file == str(path)
    assert caught.value.line == line_of(broken, fragment)
    assert caught.value.field.startswith(field)


def test_the_benchmark_scores_every_set_and_never_shows_the_held_out_questions(tmp_path) -> None:
    tune, dev, heldout = tmp_path / "tune.yaml", tmp_path / "dev.yaml", tmp_path / "heldout.yaml"
    empty = tmp_path / "empty.yaml"
    empty.write_text("answerable: []\nunanswerable: []\n", encoding="utf-8")
    tune.write_text(yaml.safe_dump({
        "answerable": [{"question": "what is PALS?", "answer": [step("contact")[1]]},
                       {"question": "how far back from the nipple?", "answer": [step("wash")[0]]}],
        "unanswerable": [{"question": "can I freeze my milk?"}],
    }), encoding="utf-8")
    dev.write_text(yaml.safe_dump({
        "answerable": [{"question": "what is the bung for?", "answer": [step("wash")[0]]}],
        "unanswerable": [],
    }), encoding="utf-8")
    heldout.write_text(yaml.safe_dump({
        "answerable": [{"question": "what is the syringe plunger for?", "answer": [step("wash")[0]]}],
        "unanswerable": [{"question": "how long do I squeeze for?"}],
    }), encoding="utf-8")
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_answers.py"), "--tune", str(tune), "--dev", str(dev),
         *(arg for name in ("--dev2", "--dev3", "--dev4", "--dev5", "--dev6", "--dev7") for arg in (name, str(empty))),
         "--heldout", str(heldout), "--show-misses", "--json", str(figures)],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(figures.read_text(encoding="utf-8"))
    assert (report["tune"]["right"], report["tune"]["wrong"], report["tune"]["wrongly_answered"]) == (1, 1, 0)
    assert report["dev"]["wrong"] == 1
    assert (report["heldout"]["wrong"], report["heldout"]["wrongly_answered"]) == (1, 1)
    assert "how far back from the nipple?" in done.stdout and "what is the bung for?" in done.stdout
    assert "plunger for" not in done.stdout and "squeeze for" not in done.stdout
    assert [line.split(":")[0] for line in done.stdout.splitlines() if not line.startswith(" ")] == ["tune", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "heldout", "talk"]


def test_the_benchmark_scores_only_the_sets_asked_for(tmp_path) -> None:
    heldout = tmp_path / "heldout.yaml"
    heldout.write_text(yaml.safe_dump({"answerable": [], "unanswerable": [{"question": "x?"}]}), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_answers.py"), "--sets", "tune,dev", "--heldout", str(heldout)],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "tune:" in done.stdout and "dev:" in done.stdout and "heldout" not in done.stdout + done.stderr
