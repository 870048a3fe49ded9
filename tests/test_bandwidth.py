"""Narrowband audio's upper band filled in (voice.bandwidth)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from voice.audio import SAMPLE_RATE, read_wav
from voice.bandwidth import BandExtension
from voice.commands import CommandId
from voice.content import load
from voice.recognizer import Recognizer, recognize_file

from .shared import CLIPS

NARROW = CLIPS / "which_step_8k.wav"  # flite's 8 kHz voice
WIDE = CLIPS / "back.wav"  # the same voice at 16 kHz


def band_db(pcm: bytes, low: float, high: float) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    power = np.abs(np.fft.rfft(samples)) ** 2
    frequency = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(10 * np.log10(power[(frequency > low) & (frequency < high)].sum()))


def learnt(path: Path) -> BandExtension:
    band = BandExtension(narrow_db=-55.0, mirror=0.3)
    band.learn(read_wav(path))
    return band


def test_narrowband_speech_is_told_from_wideband() -> None:
    assert not BandExtension(narrow_db=-55.0, mirror=0.3).narrow, "nothing heard, nothing known"
    assert learnt(NARROW).narrow
    assert not learnt(WIDE).narrow


def test_nothing_heard_teaches_nothing() -> None:
    band = learnt(NARROW)
    band.learn(b"")
    assert band.narrow


def test_another_microphone_is_learnt_within_a_few_utterances() -> None:
    band = learnt(NARROW)
    wide = read_wav(WIDE)
    for _ in range(3):
        band.learn(wide)
    assert not band.narrow
    narrow = read_wav(NARROW)
    for _ in range(3):
        band.learn(narrow)
    assert band.narrow


def test_wideband_audio_passes_unchanged() -> None:
    pcm = read_wav(WIDE)
    assert learnt(WIDE).apply(pcm) == pcm


def test_the_upper_band_is_filled_with_a_fainter_mirror_of_the_voice() -> None:
    pcm = read_wav(NARROW)
    extended = learnt(NARROW).apply(pcm)
    voice_before, voice_after = band_db(pcm, 300, 3700), band_db(extended, 300, 3700)
    upper_before, upper_after = band_db(pcm, 4300, 7700), band_db(extended, 4300, 7700)
    assert upper_before < voice_before - 55
    # 0.3 of the amplitude: 10.5 dB below the band it mirrors.
    assert abs(upper_after - (voice_after + 20 * np.log10(0.3))) < 1.5
    assert abs(voice_after - voice_before) < 0.5


def test_audio_extended_in_pieces_is_extended_as_a_whole() -> None:
    pcm = read_wav(NARROW)
    band = learnt(NARROW)
    pieces = b"".join(band.apply(pcm[i : i + 640]) for i in range(0, len(pcm), 640))
    assert pieces == band.apply(pcm)


def test_an_8_khz_file_is_heard_as_narrowband(tmp_path: Path) -> None:
    # Its content is all below 4 kHz: every other sample is an 8 kHz recording of it.
    samples = np.frombuffer(read_wav(NARROW), dtype="<i2")[::2]
    path = tmp_path / "which_step_8000.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())
    heard = recognize_file(Recognizer(load()), path)
    assert heard.extended and heard.command == CommandId.WHERE
