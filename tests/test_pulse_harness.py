"""The PulseAudio harness itself, with real audio through a private server."""

import json
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .pulse import (
    MIC,
    MIC_RATE,
    SINK_RATE,
    WAIT_S,
    PulseError,
    PulseHarness,
    Recording,
    read_wav,
    tone,
    write_wav,
)

# A PyAudio child on the default devices: play a tone, then report its peak input level.
PYAUDIO_CHILD = f"""
import json, numpy as np, pyaudio
audio = pyaudio.PyAudio()
names = [audio.get_device_info_by_index(i)["name"] for i in range(audio.get_device_count())]
out = audio.open(format=pyaudio.paInt16, channels=1, rate={SINK_RATE}, output=True)
t = np.arange({SINK_RATE} // 2) / {SINK_RATE}
out.write((8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes())
out.stop_stream()
out.close()
mic = audio.open(format=pyaudio.paInt16, channels=1, rate={MIC_RATE}, input=True, frames_per_buffer=480)
peak = 0
for _ in range(67):  # 2 s: time for the parent to see the stream and speak
    data = np.frombuffer(mic.read(480, exception_on_overflow=False), "<i2").astype(np.int32)
    peak = max(peak, int(np.abs(data).max()))
mic.close()
audio.terminate()
print(json.dumps({{"devices": names, "peak": peak}}))
"""
CHILD_TIMEOUT_S = 30.0


def _beeps(rate: int, *at: float, length: float = 0.2, total: float = 2.0) -> np.ndarray:
    samples = np.zeros(round(total * rate), dtype=np.int16)
    for start in at:
        beep = tone(1000, length, rate)
        samples[round(start * rate) : round(start * rate) + len(beep)] = beep
    return samples


def _write_stereo(path: Path, mono: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(mono[:, None], 2, axis=1).astype("<i2").tobytes())


def _run_child(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PYAUDIO_CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(child: subprocess.Popen[str]) -> tuple[dict[str, Any], str]:
    try:
        out, err = child.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=WAIT_S)
    assert child.returncode == 0, err
    return json.loads(out.splitlines()[-1]), err


def test_server_has_speaker_and_mic_as_defaults(pulse: PulseHarness) -> None:
    info = pulse.pactl("info")
    assert f"Server String: {pulse.server_address}" in info
    assert "Default Sink: spk\n" in info
    assert f"Default Source: {MIC}\n" in info


def test_paplay_into_the_speaker_is_recorded_on_time(pulse: PulseHarness, tmp_path: Path) -> None:
    wav = tmp_path / "beeps.wav"
    write_wav(wav, _beeps(SINK_RATE, 0.5, 1.5), SINK_RATE)
    with pulse.record() as recorder:
        launched = time.monotonic()
        subprocess.run(["paplay", str(wav)], env=pulse.env(), check=True, timeout=CHILD_TIMEOUT_S)
    recording = recorder.recording
    first = recording.onset(launched)
    assert first is not None
    second = recording.onset(first + 0.5)
    assert second is not None
    # paplay's start-up delays the first beep by an unknown few tens of ms; seconds off
    # would mean a broken timeline.
    assert launched + 0.5 <= first <= launched + 1.0
    # Within one stream the timeline must be exact to a block: no gaps, no drift.
    assert second - first == pytest.approx(1.0, abs=0.02)
    # The same holds for where the beep stops: offset() finds its end, not a window's.
    offset = recording.offset(first)
    assert offset is not None
    assert offset - first == pytest.approx(0.2, abs=0.02)


def test_speech_reaches_the_mic_in_real_time_with_its_end_time(pulse: PulseHarness, tmp_path: Path) -> None:
    # A 44.1 kHz stereo WAV, so the conversion to the pipe's format is exercised too.
    wav = tmp_path / "speech.wav"
    _write_stereo(wav, _beeps(44100, 0.3, length=0.6, total=1.2), 44100)
    with pulse.record(MIC) as recorder:
        timing = pulse.speak(wav).timing
        time.sleep(0.3)
    recording = recorder.recording
    assert timing.dropped_ms == 0
    # Paced in real time: the loud part ends 0.9 s into the audio.  An unpaced feeder
    # would be done in a few ms; the slack is for a loaded machine.
    assert timing.end_monotonic - timing.start_monotonic == pytest.approx(0.9, abs=0.1)
    onset = recording.onset(timing.start_monotonic - 0.1)
    offset = recording.offset(onset)
    assert onset is not None and offset is not None
    # The reported times match what a listener got, to a few 10 ms chunks; a wrong end
    # time would be off by the beep's length.
    assert onset - timing.start_monotonic == pytest.approx(0.3, abs=0.05)
    assert offset == pytest.approx(timing.end_monotonic, abs=0.05)
    heard = recording.between(onset, offset).astype(float)
    sent = read_wav(wav, MIC_RATE)[round(0.3 * MIC_RATE) :][: len(heard)].astype(float)
    assert np.corrcoef(heard[: len(sent)], sent)[0, 1] > 0.9
    assert timing.end_time - timing.end_monotonic == pytest.approx(time.time() - time.monotonic(), abs=0.01)


def test_idle_mic_streams_silence(pulse: PulseHarness) -> None:
    # A listener must not block while nobody speaks: the pipe source has no clock.
    with pulse.record(MIC) as recorder:
        time.sleep(0.5)
    recording = recorder.recording
    assert recording.duration >= 0.4
    assert not recording.samples.any()


def test_speech_nobody_listens_to_is_dropped(pulse: PulseHarness) -> None:
    timing = pulse.speak(tone(500, 0.5, MIC_RATE)).timing
    assert timing.dropped_ms >= 300


def test_background_speech_can_be_awaited(pulse: PulseHarness) -> None:
    with pulse.record(MIC):
        speech = pulse.speak(tone(500, 0.3, MIC_RATE), wait=False)
        assert not speech.done
        timing = speech.wait()
    assert speech.done
    assert timing.end_monotonic > timing.start_monotonic


def test_silent_audio_is_refused(pulse: PulseHarness) -> None:
    with pytest.raises(ValueError, match="nothing to speak"):
        pulse.speak(np.zeros(MIC_RATE, dtype=np.int16))


def test_pyaudio_child_uses_this_server_only(pulse: PulseHarness, tmp_path: Path) -> None:
    with PulseHarness(tmp_path / "other") as other, pulse.record() as ours, other.record() as theirs:
        child = _run_child(pulse.env())
        try:
            pulse.wait_for_stream("source-outputs", CHILD_TIMEOUT_S)
            pulse.speak(tone(500, 0.3, MIC_RATE))
        finally:
            result, _ = _finish(child)
    assert result["peak"] > 1000
    assert ours.recording.onset() is not None
    assert theirs.recording.onset() is None
    assert {"pulse", "default"} <= set(result["devices"])


def test_quiet_alsa_leaves_only_pulse_devices(pulse: PulseHarness) -> None:
    child = _run_child(pulse.env(quiet_alsa=True))
    try:
        pulse.wait_for_stream("source-outputs", CHILD_TIMEOUT_S)
        pulse.speak(tone(500, 0.3, MIC_RATE))
    finally:
        result, err = _finish(child)
    assert result["devices"] == ["pulse", "default"]
    assert result["peak"] > 1000
    assert "ALSA lib" not in err


def test_unloaded_mic_is_gone_until_loaded(pulse: PulseHarness) -> None:
    pulse.unload_mic()
    assert MIC not in pulse.pactl("list", "short", "sources")
    with pytest.raises(PulseError, match="not loaded"):
        pulse.speak(tone(500, 0.2, MIC_RATE))
    pulse.load_mic()
    assert f"Default Source: {MIC}\n" in pulse.pactl("info")
    with pulse.record(MIC) as recorder:
        timing = pulse.speak(tone(500, 0.2, MIC_RATE)).timing
    assert recorder.recording.onset(timing.start_monotonic - 0.1) is not None


def test_unloading_the_mic_moves_listeners_to_the_monitor(pulse: PulseHarness) -> None:
    with pulse.record(MIC) as recorder:
        pulse.unload_mic()
        # PulseAudio keeps the stream alive on the new default source: the listener is
        # not told, and now hears the speaker (silent here).
        time.sleep(0.3)
        assert recorder.running
        assert "spk.monitor" in pulse.pactl("info")


def test_killed_server_drops_clients_and_restarts(pulse: PulseHarness) -> None:
    recorder = pulse.record()
    pulse.kill()
    assert pulse.pid is None
    with pytest.raises(PulseError):
        pulse.pactl("info")
    recorder.stop()
    assert not recorder.running
    with pytest.raises(PulseError, match="not loaded"):
        pulse.speak(tone(500, 0.2, MIC_RATE))
    with pytest.raises(PulseError, match="no audio"):
        pulse.record(timeout=2.0)
    pulse.restart()
    assert f"Default Source: {MIC}\n" in pulse.pactl("info")
    with pulse.record(MIC) as mic:
        timing = pulse.speak(tone(500, 0.2, MIC_RATE)).timing
    assert mic.recording.onset(timing.start_monotonic - 0.1) is not None


def test_onset_and_offset_find_sound_after_a_time() -> None:
    samples = _beeps(8000, 0.5, 1.2, length=0.3, total=2.0)
    recording = Recording(samples, 8000, start_monotonic=100.0, start_time=5000.0)
    assert recording.onset() == pytest.approx(100.5, abs=0.002)
    assert recording.onset(100.6) == pytest.approx(100.6, abs=0.002)
    assert recording.onset(100.9) == pytest.approx(101.2, abs=0.002)
    assert recording.offset(100.5) == pytest.approx(100.8, abs=0.01)
    assert recording.offset(100.5, min_silence_ms=500) == pytest.approx(101.5, abs=0.01)
    assert recording.onset(101.6) is None


def test_read_wav_mixes_and_resamples(tmp_path: Path) -> None:
    wav = tmp_path / "stereo.wav"
    _write_stereo(wav, tone(440, 1.0, 22050), 22050)
    samples = read_wav(wav, MIC_RATE)
    assert len(samples) == MIC_RATE
    peak_hz = np.argmax(np.abs(np.fft.rfft(samples))) * MIC_RATE / len(samples)
    assert peak_hz == pytest.approx(440, abs=2)
