"""The microphone, through a private PulseAudio server (tests/pulse.py) whose pipe source
the harness feeds in real time."""

import threading
import time

import numpy as np
import pytest

from voice.errors import EngineError, OptionError
from voice.microphone import STALL_SECONDS, Microphone, MicrophoneLost
from voice.playback import list_devices

from .pulse import MIC_RATE, write_wav

WAIT = 10.0
"""Bound on every wait: a hang fails the test instead of stalling the suite."""
CHUNK = 480


def chirp(seconds: float) -> np.ndarray:
    """A rising sweep: it lines up with its recording at one lag only."""
    t = np.arange(round(seconds * MIC_RATE)) / MIC_RATE
    return np.round(0.4 * 32767 * np.sin(2 * np.pi * (300 * t + 1000 * t * t))).astype(np.int16)


def read_for(mic: Microphone, seconds: float) -> np.ndarray:
    chunks = [mic.read() for _ in range(round(seconds * MIC_RATE / CHUNK))]
    assert {len(chunk) for chunk in chunks} == {2 * CHUNK}
    return np.frombuffer(b"".join(chunks), "<i2")


def lost_within(mic: Microphone, seconds: float) -> tuple[MicrophoneLost, float]:
    """Read until MicrophoneLost; it and how long it took.  Each read() is bounded, so
    this loop is too."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            mic.read()
        except MicrophoneLost as lost:
            return lost, time.monotonic() - began
    pytest.fail(f"the microphone was not reported lost within {seconds} s")


def test_reads_what_is_spoken_into_it(here, tmp_path):
    sent = chirp(1.0)
    wav = tmp_path / "chirp.wav"
    write_wav(wav, sent, MIC_RATE)
    with Microphone(chunk=CHUNK) as mic:
        read_for(mic, 0.2)
        here.speak(wav, wait=False)
        heard = read_for(mic, 2.0).astype(np.float64)
        assert mic.overflows == 0
    reference = sent.astype(np.float64)
    correlation = np.correlate(heard, reference, mode="valid")
    lag = int(np.argmax(np.abs(correlation)))
    match = heard[lag : lag + len(reference)]
    similarity = np.dot(match, reference) / (np.linalg.norm(match) * np.linalg.norm(reference))
    assert similarity > 0.95


def test_keeps_up_in_real_time_without_overflow(here):
    with Microphone() as mic:
        began = time.monotonic()
        read_for(mic, 3.0)
        took = time.monotonic() - began
        assert mic.overflows == 0
    assert 2.0 < took < 5.0, "chunks arrive at the rate of the audio, not faster nor stalled"


def test_an_unloaded_source_is_lost_not_a_hang(here):
    with Microphone() as mic:
        read_for(mic, 0.3)
        here.unload_mic()
        lost, _ = lost_within(mic, WAIT)
        assert "unplugged" in str(lost)
        # And it stays lost: PulseAudio moved the stream to the speaker's monitor.
        with pytest.raises(MicrophoneLost):
            mic.read()


def test_a_killed_server_is_lost_not_a_hang(here):
    with Microphone() as mic:
        read_for(mic, 0.3)
        here.kill()
        lost_within(mic, WAIT)


def test_a_source_that_stops_delivering_is_lost_not_a_hang(here, tmp_path, monkeypatch):
    # A second pipe source that nobody writes to: a recording stream on it gets nothing.
    here.pactl(
        "load-module",
        "module-pipe-source",
        "source_name=stalled",
        f"file={tmp_path}/stalled.fifo",
        "format=s16le",
        f"rate={MIC_RATE}",
        "channels=1",
    )
    monkeypatch.setenv("PULSE_SOURCE", "stalled")
    with Microphone() as mic:
        lost, took = lost_within(mic, WAIT)
    assert "no audio" in str(lost)
    assert took >= STALL_SECONDS


def test_reopening_after_a_loss_starts_afresh(here):
    mic = Microphone()
    with mic:
        read_for(mic, 0.1)
        here.unload_mic()
        lost_within(mic, WAIT)
    here.load_mic()
    with mic:
        read_for(mic, 0.3)


def test_closing_from_another_thread_ends_a_waiting_read(here):
    outcome: list[BaseException] = []

    def reader() -> None:
        try:
            while True:
                mic.read()
        except MicrophoneLost as lost:
            outcome.append(lost)

    mic = Microphone()
    with mic:
        read_for(mic, 0.1)
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        time.sleep(0.2)
    thread.join(WAIT)
    assert not thread.is_alive(), "read() went on after close()"
    assert [str(lost) for lost in outcome] == ["the microphone was closed"]


def test_with_no_microphone_left_the_speakers_monitor_is_refused(here):
    here.unload_mic()  # the default source is now the speaker's monitor
    with pytest.raises(EngineError, match="no microphone"), Microphone():
        pass


def test_read_outside_the_with_block_is_a_mistake():
    with pytest.raises(RuntimeError, match="with-block"):
        Microphone().read()


def test_a_bad_device_index_names_the_valid_ones(here):
    inputs = [d for d in list_devices() if d.max_in > 0]
    with pytest.raises(OptionError) as raised, Microphone(device=99):
        pass
    assert all(f"{d.index} ({d.name})" in str(raised.value) for d in inputs)


def test_no_sound_server_and_no_card_is_an_engine_error(no_sound_server):
    if any(d.max_in > 0 for d in list_devices()):
        pytest.skip("this machine has a sound card")
    with pytest.raises(EngineError, match="no audio input device"), Microphone():
        pass
