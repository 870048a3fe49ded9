"""The listener thread: microphone -> recognizer -> sink, with a committed clip as the
microphone, played in real time as a device would."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from voice.audio import SAMPLE_RATE, SAMPLE_WIDTH, chunks, pcm16, read_wav, write_wav
from voice.commands import CommandId, Source
from voice.content import load
from voice.errors import EngineError
from voice.listener import Listener
from voice.ownvoice import OwnVoice
from voice.recognizer import Recognizer

CLIPS = Path(__file__).parent / "data" / "clips"
CHUNK = 480  # samples: 30 ms, as the real microphone reads


class ClipMicrophone:
    """A clip, then silence, at the pace of a real device."""

    def __init__(self, clip: Path) -> None:
        pcm = b"\0" * (SAMPLE_RATE * SAMPLE_WIDTH // 2) + read_wav(clip)
        self._chunks = list(chunks(pcm, CHUNK * SAMPLE_WIDTH))
        self.open = False
        self.opened = 0

    def __enter__(self) -> ClipMicrophone:
        self.open = True
        self.opened += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.open = False

    def read(self) -> bytes:
        time.sleep(CHUNK / SAMPLE_RATE)
        return self._chunks.pop(0) if self._chunks else b"\0" * CHUNK * SAMPLE_WIDTH


class Sink:
    def __init__(self) -> None:
        self.commands: list[tuple[CommandId, Source]] = []
        self.questions: list[str] = []
        self.availability: list[bool] = []
        self.heard = threading.Event()

    def command(self, command: CommandId, source: Source, words: str = "") -> None:
        self.commands.append((command, source))
        self.heard.set()

    def question(self, text: str, source: Source) -> None:
        self.questions.append(text)
        self.heard.set()

    def not_understood(self, source: Source) -> None:
        self.heard.set()

    def voice_input(self, available: bool, reason: str = "") -> None:
        self.availability.append(available)

    def own_voice(self, command: CommandId | None) -> None:
        self.heard.set()


@pytest.fixture(scope="module")
def content():  # type: ignore[no-untyped-def]
    return load()


def listener_for(content, open_microphone, sink: Sink) -> Listener:  # type: ignore[no-untyped-def]
    own_voice = OwnVoice(content.phrases)
    return Listener(open_microphone, lambda: Recognizer(content), sink, frozenset, own_voice)


def test_a_spoken_command_reaches_the_session_as_voice(content) -> None:  # type: ignore[no-untyped-def]
    microphone, sink = ClipMicrophone(CLIPS / "next.wav"), Sink()
    listener = listener_for(content, lambda: microphone, sink)
    listener.start()
    try:
        assert sink.heard.wait(20)
    finally:
        listener.stop()
    assert sink.commands == [(CommandId.NEXT, Source.VOICE)]
    assert sink.availability == [True]


def test_stop_returns_only_once_the_microphone_is_closed(content) -> None:  # type: ignore[no-untyped-def]
    # A capture stream still open when the program exits crashes the interpreter.
    microphone, sink = ClipMicrophone(CLIPS / "baby_asleep.wav"), Sink()
    listener = listener_for(content, lambda: microphone, sink)
    listener.start()
    deadline = time.monotonic() + 20
    while not microphone.open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert microphone.open
    listener.stop()
    assert not microphone.open
    assert sink.availability == [True]  # stopping is not losing the microphone


def test_a_missing_microphone_is_reported_once_and_tried_again(content) -> None:  # type: ignore[no-untyped-def]
    tries = []

    def no_microphone() -> ClipMicrophone:
        tries.append(time.monotonic())
        raise EngineError("no such device")

    sink = Sink()
    listener = listener_for(content, no_microphone, sink)
    listener.start()
    deadline = time.monotonic() + 20
    while len(tries) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    listener.stop()
    assert len(tries) >= 2
    assert sink.availability == [False]


class EverythingIsItsOwnVoice:
    def explains(self, command: CommandId | None, pcm: bytes, start: float, end: float) -> bool:
        return True


@pytest.mark.parametrize("own", [False, True], ids=["hers", "its own"])
def test_a_command_in_the_assistants_own_voice_is_not_acted_on(content, tmp_path: Path, own: bool) -> None:  # type: ignore[no-untyped-def]
    # A soft "next", 24 dB down: the model hears it at any level.
    soft = tmp_path / "soft.wav"
    write_wav(soft, pcm16(np.frombuffer(read_wav(CLIPS / "next.wav"), dtype="<i2") * 10 ** (-24 / 20)))
    microphone, sink = ClipMicrophone(soft), Sink()
    own_voice = EverythingIsItsOwnVoice() if own else OwnVoice(content.phrases)
    listener = Listener(lambda: microphone, lambda: Recognizer(content), sink, frozenset, own_voice)  # type: ignore[arg-type]
    listener.start()
    try:
        assert sink.heard.wait(20)
    finally:
        listener.stop()
    assert sink.commands == ([] if own else [(CommandId.NEXT, Source.VOICE)])
