"""The audio player, through a private PulseAudio server (tests/pulse.py): what it plays is
recorded from the speaker's monitor."""

import os
import queue
import signal
import threading
import time

import numpy as np
import pytest

from voice.errors import EngineError, OptionError
from voice.playback import STALL_SECONDS, AudioPlayer, Sound, list_devices

from .pulse import SINK_RATE, PulseHarness, tone

WAIT = 10.0
"""Bound on every wait: a hang fails the test instead of stalling the suite."""


def beep(seconds: float, rate: int = SINK_RATE, freq: float = 440.0) -> Sound:
    return Sound(tone(freq, seconds, rate, amplitude=0.3).astype("<i2").tobytes(), rate)


class Events:
    """What the player reported, in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple] = queue.Queue()
        self.seen: list[tuple] = []

    def started(self, tag: object, t: float) -> None:
        self.queue.put(("started", tag, t))

    def finished(self, tag: object, completed: bool) -> None:
        self.queue.put(("finished", tag, completed))

    def error(self, error: Exception) -> None:
        self.queue.put(("error", error))

    def next(self, timeout: float = WAIT) -> tuple:
        event = self.queue.get(timeout=timeout)
        self.seen.append(event)
        return event

    def until(self, kind: str, tag: object = None, timeout: float = WAIT) -> tuple:
        """Events up to the first of ``kind`` (for ``tag``, unless an error); that one."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.0, deadline - time.monotonic()))
            if event[0] == kind and (kind == "error" or event[1] == tag):
                return event

    def quiet_for(self, seconds: float) -> list[tuple]:
        """Whatever else arrives within ``seconds``."""
        time.sleep(seconds)
        more = []
        while not self.queue.empty():
            more.append(self.next(0))
        return more


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def player(here: PulseHarness, events: Events):
    with AudioPlayer(events.started, events.finished, events.error) as player:
        yield player


def test_a_played_sound_reaches_the_speaker(here, events, player):
    with here.record() as recorder:
        asked = time.monotonic()
        player.play(beep(0.5), "beep")
        _, _, started = events.until("started", "beep")
        assert events.until("finished", "beep") == ("finished", "beep", True)
        onset = recorder.wait_for_onset(asked, WAIT)
        offset = recorder.wait_for_offset(onset, WAIT)
    assert asked <= started < onset + 0.1  # handed to the device before it sounds (10 ms windows)
    assert 0.3 < offset - onset < 0.7
    assert [e[0] for e in events.seen] == ["started", "finished"]


def test_sounds_play_in_order_each_started_then_finished(events, player):
    for tag in ("a", "b", "c"):
        player.play(beep(0.1), tag)
    events.until("finished", "c")
    assert [e[:2] for e in events.seen] == [
        ("started", "a"),
        ("finished", "a"),
        ("started", "b"),
        ("finished", "b"),
        ("started", "c"),
        ("finished", "c"),
    ]
    assert all(e[2] is True for e in events.seen if e[0] == "finished")
    starts = [e[2] for e in events.seen if e[0] == "started"]
    assert starts == sorted(starts)


def test_stop_cuts_the_sound_off(here, events, player):
    with here.record() as recorder:
        player.play(beep(5.0), "long")
        events.until("started", "long")
        onset = recorder.wait_for_onset(time.monotonic() - 1, WAIT)
        time.sleep(0.3)
        stopped = time.monotonic()
        player.stop()
        assert events.until("finished", "long") == ("finished", "long", False)
        offset = recorder.wait_for_offset(stopped, WAIT)
        time.sleep(0.5)
        after = recorder.snapshot()
    assert offset - stopped < 1.0, "stop() should silence the speaker within a few buffers, not play on"
    assert after.onset(offset) is None, "silent after the stop"
    assert offset - onset < 2.0


def test_a_sound_played_at_a_time_is_heard_then_cutting_off_the_one_sounding(here, events, player):
    with here.record() as recorder:
        player.play(beep(2.0, freq=440.0), "long")
        events.until("started", "long")
        at = time.monotonic() + 0.5
        player.play(beep(0.3, freq=880.0), "timed", at=at)
        assert events.until("finished", "long") == ("finished", "long", False)
        _, _, started = events.until("started", "timed")
        events.until("finished", "timed")
        end = recorder.wait_for_offset(at, WAIT)
        recording = recorder.snapshot()
    # On the stream's clock, whose tie to monotonic time is re-estimated as callbacks
    # come (a loaded machine moved it 1.5 ms); a cue played when the loop woke was 27 ms late.
    assert started == pytest.approx(at, abs=0.005)
    # At the speaker: the long one until then (give or take the clock's 10 ms), the
    # timed one from then, and silence once it ends, not the rest of the long one.
    assert recording.pitch(at - 0.08) == pytest.approx(440.0, rel=0.03)
    assert recording.pitch(at + 0.03) == pytest.approx(880.0, rel=0.03)
    assert end - at == pytest.approx(0.3, abs=0.03)


def test_stop_drops_the_queue_but_keeps_what_is_played_after(events, player):
    player.play(beep(5.0), "long")
    player.play(beep(0.1), "queued")
    events.until("started", "long")
    player.stop()
    player.play(beep(0.1), "after")
    events.until("finished", "after")
    assert [e[:3] for e in events.seen if e[0] == "finished"] == [
        ("finished", "long", False),
        ("finished", "queued", False),
        ("finished", "after", True),
    ]
    assert ("started", "queued") not in [e[:2] for e in events.seen]


def test_stop_with_nothing_playing_does_nothing(events, player):
    player.stop()
    player.play(beep(0.1), "a")
    assert events.until("finished", "a")[2] is True
    assert events.quiet_for(0.2) == []


def test_a_sound_at_another_rate_is_resampled(here, events, player):
    with here.record() as recorder:
        asked = time.monotonic()
        player.play(beep(0.5, rate=11025, freq=440.0), "low-rate")
        events.until("finished", "low-rate")
        onset = recorder.wait_for_onset(asked, WAIT)
        offset = recorder.wait_for_offset(onset, WAIT)
        played = recorder.snapshot().between(onset, offset).astype(np.float64)
    assert 0.3 < offset - onset < 0.7
    spectrum = np.abs(np.fft.rfft(played))
    assert np.argmax(spectrum) * SINK_RATE / len(played) == pytest.approx(440, abs=15)


def test_a_killed_server_is_reported_once_and_nothing_breaks(here, events, player):
    player.play(beep(5.0), "long")
    events.until("started", "long")
    here.kill()
    error = events.until("error")
    assert isinstance(error[1], EngineError)
    assert ("finished", "long", False) in events.seen + events.quiet_for(0.5)
    # After the error play() neither blocks nor plays: it answers at once.
    asked = time.monotonic()
    player.play(beep(1.0), "later")
    assert time.monotonic() - asked < 0.5
    assert events.until("finished", "later") == ("finished", "later", False)
    assert [e for e in events.quiet_for(0.3) if e[0] == "error"] == []
    assert [e for e in events.seen if e[0] == "error"] == [error]
    player.close()


def test_a_frozen_server_is_reported_as_a_stall(here, events, player):
    player.play(beep(0.1), "warm-up")
    events.until("finished", "warm-up")
    os.kill(here.pid, signal.SIGSTOP)
    try:
        error = events.until("error", timeout=STALL_SECONDS + WAIT)
    finally:
        os.kill(here.pid, signal.SIGCONT)
    assert "stalled" in str(error[1])


def test_a_stream_that_cannot_open_is_reported_not_raised(here, events):
    with AudioPlayer(events.started, events.finished, events.error, rate=1) as player:
        error = events.until("error")
        assert "cannot open audio output" in str(error[1])
        player.play(beep(0.1), "a")
        assert events.until("finished", "a") == ("finished", "a", False)


def test_close_is_prompt_and_idempotent(events, player):
    player.play(beep(5.0), "long")
    events.until("started", "long")
    asked = time.monotonic()
    player.close()
    player.close()
    assert time.monotonic() - asked < 2.0


def test_start_up_noise_is_hidden_but_other_output_is_not(here, capfd):
    written = 0
    done = threading.Event()

    def chatter() -> None:
        nonlocal written
        while not done.is_set():
            os.write(2, b"another thread speaking\n")
            written += 1
            time.sleep(0.005)

    thread = threading.Thread(target=chatter)
    thread.start()
    try:
        list_devices()
    finally:
        done.set()
        thread.join(WAIT)
    err = capfd.readouterr().err
    assert "ALSA lib" not in err and "jack server" not in err
    assert err.count("another thread speaking\n") == written


def test_the_devices_include_the_server(here):
    devices = list_devices()
    assert any(d.max_out > 0 for d in devices)
    assert any(d.max_in > 0 for d in devices)
    assert [d.index for d in devices] == list(range(len(devices)))


def test_a_bad_device_index_names_the_valid_ones(here, events):
    outputs = [d for d in list_devices() if d.max_out > 0]
    with pytest.raises(OptionError) as raised:
        AudioPlayer(events.started, events.finished, events.error, device=99)
    message = str(raised.value)
    assert "99" in message
    assert all(f"{d.index} ({d.name})" in message for d in outputs)


def test_no_sound_server_and_no_card_is_an_engine_error(no_sound_server, events):
    if any(d.max_out > 0 for d in list_devices()):
        pytest.skip("this machine has a sound card")
    with pytest.raises(EngineError, match="no audio output device"):
        AudioPlayer(events.started, events.finished, events.error)
