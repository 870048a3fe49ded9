"""`run.py recognize`: audio files of every kind, good and bad, in one batch."""

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from voice.audio import read_wav

from .shared import run_cli

CLIPS = Path(__file__).parent / "data" / "clips"


def write(path: Path, samples: np.ndarray, rate: int, width: int = 2, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def clip(name: str) -> np.ndarray:
    return np.frombuffer(read_wav(CLIPS / name), "<i2")


def resampled(samples: np.ndarray, rate: int) -> np.ndarray:
    positions = np.arange(round(len(samples) * rate / 16000)) * 16000 / rate
    return np.interp(positions, np.arange(len(samples)), samples)


def results(stdout: bytes) -> dict[str, dict]:
    rows = [json.loads(line) for line in stdout.decode().splitlines()]
    return {Path(row["file"]).name: row for row in rows}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    where = clip("where_am_i.wav")
    files = {
        "empty.wav": folder / "empty.wav",
        "truncated.wav": folder / "truncated.wav",
        "not_audio.wav": folder / "not_audio.wav",
        "8bit.wav": write(folder / "8bit.wav", (where // 256 + 128).astype(np.uint8), 16000, width=1),
        "48k_stereo.wav": write(
            folder / "48k_stereo.wav",
            np.repeat(resampled(where, 48000).astype("<i2")[:, None], 2, axis=1),
            48000,
            channels=2,
        ),
        "directory": folder / "directory",
        "missing.wav": folder / "missing.wav",
        "stop.wav": CLIPS / "stop.wav",
    }
    files["empty.wav"].write_bytes(b"")
    files["truncated.wav"].write_bytes((CLIPS / "stop.wav").read_bytes()[:30])
    files["not_audio.wav"].write_text("this is not audio\n" * 100)
    files["directory"].mkdir()
    result = run_cli("recognize", "--json", *map(str, files.values()), timeout=300)
    return result, results(result.stdout)


def test_every_file_gets_one_line_in_order_and_the_status_says_some_failed(batch):
    result, rows = batch
    assert result.returncode == 1
    assert list(rows) == [
        "empty.wav", "truncated.wav", "not_audio.wav", "8bit.wav", "48k_stereo.wav", "directory", "missing.wav", "stop.wav"
    ]
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "name,message",
    [
        ("empty.wav", "empty"),
        ("truncated.wav", ""),
        ("not_audio.wav", "not a WAV"),
        ("directory", "directory"),
        ("missing.wav", "no such file"),
    ],
)
def test_a_file_that_cannot_be_read_gets_a_clear_error(batch, name, message):
    _, rows = batch
    assert set(rows[name]) == {"file", "error"}
    assert message in rows[name]["error"]


@pytest.mark.parametrize("name,command", [("8bit.wav", "where"), ("48k_stereo.wav", "where"), ("stop.wav", "stop")])
def test_other_formats_are_recognized(batch, name, command):
    _, rows = batch
    row = rows[name]
    assert row["command"] == command, row
    assert set(row) >= {"file", "command", "text", "confidence", "seconds"}
    assert 0.0 <= row["confidence"] <= 1.0 and row["seconds"] >= 0.0


def test_an_hour_long_file_is_heard_to_its_end(tmp_path):
    rate = 16000  # wideband, as the model needs: at 8 kHz "next" loses its "s" and "t"
    rng = np.random.default_rng(0)
    hour = rng.normal(0, 30, rate * 3600)
    path = write(tmp_path / "hour.wav", np.concatenate([hour, clip("next.wav"), np.zeros(rate)]).astype("<i2"), rate)
    result = run_cli("recognize", "--json", str(path), timeout=600)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["command"] == "next"
    assert row["end"] > 3600


def test_answers_are_understood_only_when_their_question_is_given():
    plain = results(run_cli("recognize", "--json", str(CLIPS / "left.wav")).stdout)
    asked = results(run_cli("recognize", "--json", "--answers", "side", str(CLIPS / "left.wav")).stdout)
    assert plain["left.wav"]["command"] is None
    assert asked["left.wav"]["command"] == "left"


def test_plain_output_names_file_and_command():
    result = run_cli("recognize", str(CLIPS / "stop.wav"))
    assert result.returncode == 0
    assert result.stdout.decode().startswith(f"{CLIPS / 'stop.wav'}: stop (")


def test_tune_tries_another_setting_on_the_same_files():
    # With no floor and words beyond a phrase costing nothing, a sentence is its nearest phrase.
    sentence = str(CLIPS / "next_feed.wav")
    default = results(run_cli("recognize", "--json", sentence).stdout)
    tuned = results(
        run_cli("recognize", "--json", "--tune", "nearest_floor=-100", "--tune", "extra_word_cost=0", sentence).stdout
    )
    assert default["next_feed.wav"]["command"] is None
    assert tuned["next_feed.wav"]["command"] == "next"


@pytest.mark.parametrize(
    "item,message",
    [("nope=1", "no setting 'nope'; settings: vad_mode"), ("quiet_db=loud", "quiet_db takes a value of type float"),
     ("candidates=1.5", "candidates takes a value of type int")],
)
def test_tune_names_the_setting_and_type_it_wants(item, message):
    result = run_cli("recognize", "--tune", item, str(CLIPS / "stop.wav"))
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert b"Traceback" not in result.stderr
