"""read_wav: any common WAV becomes 16 kHz mono 16-bit PCM; bad files raise AudioFileError."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from voice.audio import SAMPLE_RATE, chunks, read_wav
from voice.errors import AudioFileError, VoiceError

TONE_HZ = 440.0


def tone(rate: int, seconds: float = 0.5, channels: int = 1) -> np.ndarray:
    """A 440 Hz sine at half scale, the same on every channel: shape (frames, channels)."""
    t = np.arange(int(rate * seconds)) / rate
    return np.repeat((0.5 * np.sin(2 * np.pi * TONE_HZ * t))[:, None], channels, axis=1)


def write_pcm(path: Path, samples: np.ndarray, rate: int, width: int) -> Path:
    """samples in -1..1, shape (frames, channels), as integer PCM of width bytes."""
    if width == 1:
        raw = np.round(samples * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.round(samples * (2**23 - 1)).astype("<i4")
        raw = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raw = np.round(samples * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(raw)
    return path


def write_float(path: Path, samples: np.ndarray, rate: int) -> Path:
    """32-bit float WAV (format tag 3), which the wave module cannot write."""
    data = samples.astype("<f4").tobytes()
    channels = samples.shape[1]
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * channels * 4, channels * 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def as_samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def assert_is_tone(pcm: bytes, seconds: float = 0.5) -> None:
    """16 kHz mono: the right length, the 440 Hz tone at half scale, nothing else."""
    samples = as_samples(pcm)
    assert len(samples) == pytest.approx(SAMPLE_RATE * seconds, abs=1)
    t = np.arange(len(samples)) / SAMPLE_RATE
    expected = 0.5 * np.sin(2 * np.pi * TONE_HZ * t)
    # The resampling filter's edges are left out.
    inner = slice(100, -100)
    assert np.sqrt(np.mean((samples[inner] - expected[inner]) ** 2)) < 0.01


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 32000, 44100, 48000])
def test_any_common_rate_becomes_16_khz(tmp_path: Path, rate: int) -> None:
    assert_is_tone(read_wav(write_pcm(tmp_path / "a.wav", tone(rate), rate, 2)))


def test_48_khz_stereo(tmp_path: Path) -> None:
    assert_is_tone(read_wav(write_pcm(tmp_path / "a.wav", tone(48000, channels=2), 48000, 2)))


def test_channels_are_averaged(tmp_path: Path) -> None:
    left_only = tone(16000, channels=2)
    left_only[:, 1] = 0.0
    samples = as_samples(read_wav(write_pcm(tmp_path / "a.wav", left_only, 16000, 2)))
    assert np.max(np.abs(samples)) == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_every_sample_width(tmp_path: Path, width: int) -> None:
    assert_is_tone(read_wav(write_pcm(tmp_path / "a.wav", tone(16000), 16000, width)))


def test_24_bit_negative_samples_keep_their_sign(tmp_path: Path) -> None:
    samples = np.array([[-0.5], [0.5], [-0.25]])
    out = as_samples(read_wav(write_pcm(tmp_path / "a.wav", samples, 16000, 3)))
    assert out == pytest.approx([-0.5, 0.5, -0.25], abs=1e-3)


def test_float_samples(tmp_path: Path) -> None:
    assert_is_tone(read_wav(write_float(tmp_path / "a.wav", tone(44100, channels=2), 44100)))


def test_frequencies_above_8_khz_are_filtered_out(tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(rate) / rate
    high = 0.5 * np.sin(2 * np.pi * 12000 * t)[:, None]
    samples = as_samples(read_wav(write_pcm(tmp_path / "a.wav", high, rate, 2)))
    # Without an anti-alias filter 12 kHz would fold back to 4 kHz at full strength.
    assert np.sqrt(np.mean(samples[200:-200] ** 2)) < 0.005


def test_file_longer_than_one_read_block(tmp_path: Path) -> None:
    # Reads go in blocks of 2**18 frames: the resampler must carry its state across them.
    seconds = 2**18 / 44100 + 0.5
    assert_is_tone(read_wav(write_pcm(tmp_path / "a.wav", tone(44100, seconds), 44100, 2)), seconds)


def test_chunks_split_pcm_in_order() -> None:
    pcm = bytes(range(10))
    assert list(chunks(pcm, 4)) == [bytes(range(4)), bytes(range(4, 8)), bytes(range(8, 10))]


def test_chunks_reject_odd_sizes() -> None:
    with pytest.raises(ValueError):
        list(chunks(b"\0\0", 3))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="directory"):
        read_wav(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        read_wav(path)


def test_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("shopping list: milk, nappies\n", encoding="utf-8")
    with pytest.raises(AudioFileError, match="not a WAV"):
        read_wav(path)


def test_truncated_data(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "a.wav", tone(16000), 16000, 2)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(AudioFileError, match="truncated"):
        read_wav(path)


def test_truncated_header(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "a.wav", tone(16000), 16000, 2)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(AudioFileError, match="truncated or corrupt"):
        read_wav(path)


def test_zero_frames(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "a.wav", np.zeros((0, 1)), 16000, 2)
    with pytest.raises(AudioFileError, match="no audio frames"):
        read_wav(path)


def test_compressed_encoding_is_named(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "a.wav", tone(8000), 8000, 1)
    data = bytearray(path.read_bytes())
    data[20:22] = struct.pack("<H", 7)  # mu-law
    path.write_bytes(bytes(data))
    with pytest.raises(AudioFileError, match="unsupported WAV encoding"):
        read_wav(path)


def test_errors_belong_to_the_project_hierarchy() -> None:
    assert issubclass(AudioFileError, VoiceError)
