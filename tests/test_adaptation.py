"""A voice profile learnt from sentences read aloud (voice.adaptation), and the
recognizer adapted by it. The sentences are spoken by flite at test time."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from voice import adaptation
from voice.adaptation import AdaptationError, learn, unknown_words
from voice.audio import SAMPLE_RATE, pcm16
from voice.errors import EngineError
from voice.recognizer import Recognizer, model_paths, recognize_file

from .conftest import READER
from .shared import CLIPS, CONTENT, clip_rows

pytestmark = pytest.mark.skipif(not shutil.which("flite"), reason="flite speaks the sentences")
SENTENCES = CONTENT.enrollment.sentences


@pytest.fixture(scope="module")
def profile(readings: list[tuple[bytes, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "voice.mllr"
    assert learn(readings, path) == len(SENTENCES)
    return path


def test_the_enrollment_sentences_can_all_be_learnt_from() -> None:
    assert unknown_words(SENTENCES) == []


def test_an_adapted_recognizer_hears_her_commands_and_not_her_talk(profile: Path) -> None:
    adapted, plain = Recognizer(CONTENT, profile), Recognizer(CONTENT)
    rows = [row for row in clip_rows() if row["voice"] == f"flite {READER}"]
    assert len(rows) >= 8
    changed = 0
    for row in rows:
        answers = frozenset(row["answers"].split())
        heard = recognize_file(adapted, CLIPS / row["file"], answers)
        expected = row["expected"] or None
        assert (heard.command and heard.command.value) == expected, (row["file"], heard.text)
        changed += heard.confidence != recognize_file(plain, CLIPS / row["file"], answers).confidence
    assert changed, "the profile changed nothing the decoder heard"


def test_readings_not_heard_as_their_sentences_learn_nothing_and_keep_the_old_profile(
    readings: list[tuple[bytes, str]], tmp_path: Path
) -> None:
    old = tmp_path / "voice.mllr"
    old.write_text("the profile learnt before\n")
    # Each reading given the wrong sentence: most cannot be aligned to their words.
    shuffled = [(pcm, readings[(i + 5) % len(readings)][1]) for i, (pcm, _) in enumerate(readings)]
    noise = [(pcm16(np.random.default_rng(i).normal(0, 0.05, SAMPLE_RATE * 2)), sentence)
             for i, (_, sentence) in enumerate(readings)]
    for recordings in (shuffled, noise):
        with pytest.raises(AdaptationError, match="0 of 12 sentences were heard as themselves"):
            learn(recordings, old)
    assert old.read_text() == "the profile learnt before\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["voice.mllr"]


def test_a_word_the_dictionary_lacks_is_named(readings: list[tuple[bytes, str]], tmp_path: Path) -> None:
    pcm, _ = readings[0]
    with pytest.raises(AdaptationError, match="zorblax"):
        learn([(pcm, "Wash your zorblax.")], tmp_path / "voice.mllr")
    assert not (tmp_path / "voice.mllr").exists()


def test_missing_tools_name_the_debian_packages(
    readings: list[tuple[bytes, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(adaptation, "SPHINXTRAIN_DIR", tmp_path)
    with pytest.raises(EngineError, match="sphinxbase-utils pocketsphinx sphinxtrain"):
        learn(readings, tmp_path / "voice.mllr")


def test_the_model_s_mixture_weights_are_read_as_probabilities() -> None:
    hmm, _ = model_paths()
    weights = adaptation._read_sendump(hmm / "sendump")
    senones, streams, gaussians = weights.shape
    assert senones > 1000 and gaussians > 1
    # Each senone's weights sum to one, less what rounding down to 8-bit logs loses
    # (5% on average); read in the wrong order they would sum to anything.
    sums = weights.sum(axis=2)
    assert 0.85 < sums.min() and sums.max() <= 1.0


def test_a_broken_profile_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "voice.mllr"
    broken.write_text("not a transform\n")
    with pytest.raises(EngineError, match="voice.mllr"):
        Recognizer(CONTENT, broken)
    with pytest.raises(EngineError, match="no voice profile"):
        Recognizer(CONTENT, tmp_path / "missing.mllr")
