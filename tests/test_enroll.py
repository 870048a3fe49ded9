"""Learning her voice by voice (voice.enroll): hearing each sentence she says after
the prompt, and the whole exchange with a microphone that plays recordings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voice.audio import SAMPLE_RATE, SAMPLE_WIDTH, read_wav
from voice.enroll import END_SECONDS, MAX_SECONDS, PRE_ROLL, WAIT_SECONDS, capture, enroll
from voice.recognizer import Tuning

from .shared import CLIPS, CONTENT

LINES = CONTENT.enrollment
CHUNK = 960  # 30 ms, as the microphone reads


def silence(seconds: float) -> bytes:
    return bytes(round(seconds * SAMPLE_RATE) * SAMPLE_WIDTH)


def seconds(pcm: bytes) -> float:
    return len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)


class Audio:
    """Reads audio in microphone-sized chunks, then silence for ever; counts what was read."""

    def __init__(self, pcm: bytes) -> None:
        self.pcm, self.position = pcm, 0

    def read(self) -> bytes:
        chunk = self.pcm[self.position : self.position + CHUNK] or silence(CHUNK / (SAMPLE_RATE * SAMPLE_WIDTH))
        self.position += CHUNK
        return chunk


class PlayingMicrophone:
    """open_microphone for enroll(): each opening plays the next recording, after a
    moment of room, as if she said it then; with none left, only the room."""

    def __init__(self, recordings: list[bytes]) -> None:
        self.recordings = list(recordings)
        self.openings = 0

    def __call__(self) -> PlayingMicrophone:
        self.openings += 1
        said = self.recordings.pop(0) if self.recordings else b""
        self.audio = Audio(silence(0.5) + said)
        return self

    def __enter__(self) -> Audio:
        return self.audio

    def __exit__(self, *exc_info: object) -> None: ...


def vad():  # type: ignore[no-untyped-def]
    import pocketsphinx

    return pocketsphinx.Vad(Tuning.vad_mode, SAMPLE_RATE, Tuning.frame_seconds)


def test_what_she_says_is_taken_from_its_start_to_the_pause_after_it() -> None:
    said = read_wav(CLIPS / "baby_asleep.wav")
    audio = Audio(silence(1.0) + said + silence(5.0))
    detector = vad()
    heard = capture(audio.read, detector.is_speech, detector.frame_bytes)
    assert heard is not None
    # All of the sentence (the clip has some silence of its own at each end), and the
    # pause that ended it; not the seconds of silence after.
    assert seconds(said) - 0.5 < seconds(heard) <= seconds(said) + PRE_ROLL + END_SECONDS + 0.1
    assert seconds(audio.pcm[: audio.position]) < 1.0 + seconds(said) + END_SECONDS + 0.2


def test_nothing_said_is_no_recording_once_the_wait_is_over() -> None:
    audio = Audio(b"")
    detector = vad()
    assert capture(audio.read, detector.is_speech, detector.frame_bytes) is None
    # It gave up once the wait was over, not reading on for ever.
    assert audio.position / (SAMPLE_RATE * SAMPLE_WIDTH) == pytest.approx(WAIT_SECONDS, abs=0.1)


def test_a_room_that_never_falls_quiet_ends_the_recording_at_its_longest() -> None:
    # The same sentence over and over, never a pause as long as the one that ends it.
    audio = Audio(read_wav(CLIPS / "baby_asleep.wav") * 20)
    detector = vad()
    heard = capture(audio.read, detector.is_speech, detector.frame_bytes)
    assert heard is not None and seconds(heard) == pytest.approx(MAX_SECONDS, abs=0.1)


@pytest.mark.skipif(not shutil.which("flite"), reason="flite reads the sentences")
def test_she_reads_each_sentence_after_its_prompt_and_her_voice_is_learnt(
    readings: list[tuple[bytes, str]], tmp_path: Path
) -> None:
    said: list[str] = []
    microphone = PlayingMicrophone([pcm for pcm, _ in readings])
    profile = tmp_path / "voice.mllr"
    assert enroll(LINES, said.append, microphone, profile)
    total = len(LINES.sentences)
    assert said == [
        LINES.intro.format(total=total),
        *(LINES.prompt.format(number=i, total=total, sentence=s) for i, s in enumerate(LINES.sentences, 1)),
        LINES.learning,
        LINES.learnt,
    ]
    assert microphone.openings == total
    assert profile.stat().st_size > 0


def test_a_sentence_not_heard_is_asked_again_and_nothing_heard_learns_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    profile = tmp_path / "voice.mllr"
    assert not enroll(LINES, said.append, PlayingMicrophone([]), profile)
    first = LINES.sentences[0]
    assert said[1:3] == [
        LINES.prompt.format(number=1, total=len(LINES.sentences), sentence=first),
        LINES.not_heard.format(sentence=first),
    ]
    assert said[-1] == LINES.failed.format(reason="no sentence was heard")
    assert not profile.exists()
