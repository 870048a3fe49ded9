"""WAV files as the audio the recognizer hears: 16 kHz mono signed 16-bit PCM.

read_wav streams the file in blocks, mixes channels down and resamples with a
windowed-sinc (Kaiser) low-pass, so an hour-long 48 kHz stereo file costs
little more memory than the 16 kHz result.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import AudioFileError

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Samples a second of the PCM the recognizer takes."""
SAMPLE_WIDTH = 2
"""Bytes a sample: signed 16-bit little-endian."""

_MIN_RATE = 4_000
_MAX_RATE = 384_000
_BLOCK_FRAMES = 1 << 18
_PCM = 0x0001
_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
# WAV writers that stream to a pipe cannot go back to fill in the size.
_UNKNOWN_SIZE = 0xFFFFFFFF


@dataclass(frozen=True)
class _Format:
    """What the fmt chunk says, checked."""

    encoding: int
    """_PCM or _FLOAT."""
    channels: int
    rate: int
    width: int
    """Bytes a sample of one channel."""

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.width


def read_wav(path: str | os.PathLike[str]) -> bytes:
    """The WAV file at path as 16 kHz mono signed 16-bit little-endian PCM.

    Takes PCM of 8, 16, 24 or 32 bits or 32/64-bit float, any channel count
    (mixed down by averaging) and any rate from 4 to 384 kHz. Raises
    AudioFileError naming the file and the problem.
    """
    name = str(path)
    try:
        with Path(path).open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size == 0:
                raise AudioFileError(f"{name}: the file is empty")
            fmt, data_bytes = _read_header(file, name, size)
            return _convert(file, name, fmt, data_bytes)
    except FileNotFoundError:
        raise AudioFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise AudioFileError(f"{name}: is a directory, not a WAV file") from None
    except PermissionError:
        raise AudioFileError(f"{name}: permission denied") from None
    except OSError as exc:
        raise AudioFileError(f"{name}: cannot read: {exc.strerror or exc}") from None


def write_wav(path: str | os.PathLike[str], pcm: bytes) -> None:
    """Write 16 kHz mono signed 16-bit PCM as a WAV file."""
    with wave.open(os.fspath(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)


def chunks(pcm: bytes, size: int) -> Iterator[bytes]:
    """pcm in pieces of size bytes (the last may be shorter), as a microphone sends it."""
    if size <= 0 or size % SAMPLE_WIDTH:
        raise ValueError(f"chunk size must be a positive multiple of {SAMPLE_WIDTH} bytes, not {size}")
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]


def pcm16(samples: np.ndarray) -> bytes:
    """16-bit audio from samples in 16-bit steps, rounded and clipped to the range."""
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def frame_power(pcm: bytes, frame: int) -> np.ndarray:
    """Mean square of each whole frame of `frame` samples of 16 kHz mono s16 audio."""
    samples = np.frombuffer(pcm[: len(pcm) // (SAMPLE_WIDTH * frame) * SAMPLE_WIDTH * frame], dtype="<i2")
    return np.mean(samples.astype(np.float64).reshape(-1, frame) ** 2, axis=1)


def _read_header(file: BinaryIO, name: str, size: int) -> tuple[_Format, int]:
    """The format and the data chunk's byte count, leaving file at the data."""
    head = file.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFileError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    fmt: _Format | None = None
    while True:
        chunk = file.read(8)
        if len(chunk) < 8:
            missing = "fmt" if fmt is None else "data"
            raise AudioFileError(f"{name}: truncated or corrupt WAV: no {missing} chunk")
        chunk_id, chunk_size = struct.unpack("<4sI", chunk)
        if chunk_id == b"fmt ":
            body = file.read(chunk_size + (chunk_size & 1))
            if len(body) < min(chunk_size, 16):
                raise AudioFileError(f"{name}: truncated or corrupt WAV: fmt chunk cut short")
            fmt = _parse_format(body[:chunk_size], name)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFileError(f"{name}: corrupt WAV: data chunk before fmt chunk")
            available = size - file.tell()
            if chunk_size == _UNKNOWN_SIZE:
                chunk_size = available
            elif chunk_size > available:
                raise AudioFileError(
                    f"{name}: truncated WAV: data chunk declares {chunk_size} bytes but only {available} are present"
                )
            if chunk_size < fmt.frame_bytes:
                raise AudioFileError(f"{name}: the WAV file has no audio frames")
            return fmt, chunk_size
        else:
            file.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def _parse_format(body: bytes, name: str) -> _Format:
    if len(body) < 16:
        raise AudioFileError(f"{name}: corrupt WAV: fmt chunk of {len(body)} bytes, expected at least 16")
    encoding, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if encoding == _EXTENSIBLE:
        if len(body) < 26:
            raise AudioFileError(f"{name}: corrupt WAV: extensible fmt chunk cut short")
        # The sub-format GUID starts with the plain format tag.
        (encoding,) = struct.unpack("<H", body[24:26])
    width = block_align // channels if channels else 0
    if encoding not in (_PCM, _FLOAT):
        raise AudioFileError(
            f"{name}: unsupported WAV encoding (format tag 0x{encoding:04x}); use PCM or float samples"
        )
    allowed = (1, 2, 3, 4) if encoding == _PCM else (4, 8)
    if channels == 0 or block_align != channels * width or width not in allowed or bits > 8 * width:
        raise AudioFileError(
            f"{name}: corrupt or unsupported WAV format: {channels} channels, {bits} bits, block of {block_align} bytes"
        )
    if not _MIN_RATE <= rate <= _MAX_RATE:
        raise AudioFileError(f"{name}: unsupported sample rate {rate} Hz (expected {_MIN_RATE}..{_MAX_RATE})")
    return _Format(encoding, channels, rate, width)


def _convert(file: BinaryIO, name: str, fmt: _Format, data_bytes: int) -> bytes:
    resampler = _Resampler(fmt.rate, SAMPLE_RATE)
    out = bytearray()
    # A trailing partial frame is dropped: it carries no whole sample.
    remaining = data_bytes - data_bytes % fmt.frame_bytes
    block_bytes = _BLOCK_FRAMES * fmt.frame_bytes
    while remaining:
        raw = file.read(min(block_bytes, remaining))
        if not raw:
            raise AudioFileError(f"{name}: truncated WAV: the file ended {remaining} bytes early")
        raw = raw[: len(raw) - len(raw) % fmt.frame_bytes]
        remaining -= len(raw)
        out += _to_pcm16(resampler.process(_to_mono(raw, fmt)))
    out += _to_pcm16(resampler.finish())
    _LOGGER.debug("%s: %d Hz x%d, %d-byte samples -> %d samples", name, fmt.rate, fmt.channels, fmt.width, len(out) // 2)
    return bytes(out)


def _to_mono(raw: bytes, fmt: _Format) -> np.ndarray:
    """Whole frames as float32 in -1..1, channels averaged."""
    if fmt.encoding == _FLOAT:
        samples = np.frombuffer(raw, dtype="<f4" if fmt.width == 4 else "<f8").astype(np.float32)
    elif fmt.width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt.width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        # Shift the 24-bit value to the top of an int32 so that its sign extends.
        value = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)
        samples = value.astype(np.float32) / float(1 << 31)
    else:
        dtype = "<i2" if fmt.width == 2 else "<i4"
        samples = np.frombuffer(raw, dtype=dtype).astype(np.float32) / float(1 << (8 * fmt.width - 1))
    if fmt.channels > 1:
        samples = samples.reshape(-1, fmt.channels).mean(axis=1, dtype=np.float32)
    return samples


def _to_pcm16(samples: np.ndarray) -> bytes:
    return pcm16(samples * 32768.0)


class _Resampler:
    """Streaming rational resampler: polyphase windowed-sinc, rate_out/rate_in = up/down.

    Output n sits at input position n * down / up. Its value is the input
    around that position weighted by a Kaiser-windowed sinc whose cut-off is
    below the lower of the two Nyquist frequencies (the anti-alias filter).
    """

    ZERO_CROSSINGS = 16
    """Sinc lobes each side: longer is sharper and slower."""
    ROLLOFF = 0.92
    """Cut-off as a fraction of the lower Nyquist frequency, leaving room for the transition band."""
    BETA = 8.6
    """Kaiser window shape: about 85 dB stop-band attenuation."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        common = math.gcd(rate_in, rate_out)
        self._up = rate_out // common
        self._down = rate_in // common
        self._n_in = 0
        self._n_out = 0
        if self._up == self._down:
            return
        cutoff = 0.5 * min(1.0, self._up / self._down) * self.ROLLOFF  # cycles per input sample
        self._half = math.ceil(self.ZERO_CROSSINGS / (2 * cutoff))
        taps = 2 * self._half
        t = np.arange(self._up)[:, None] / self._up - (np.arange(taps)[None, :] - self._half + 1)
        window = np.i0(self.BETA * np.sqrt(np.clip(1 - (t / self._half) ** 2, 0, None))) / np.i0(self.BETA)
        self._bank = (2 * cutoff * np.sinc(2 * cutoff * t) * window).astype(np.float32)
        # Phase p serves outputs n with n * down = p (mod up).
        inverse = pow(self._down, -1, self._up)
        self._first = [(p * inverse) % self._up for p in range(self._up)]
        # Input before the start counts as silence.
        self._buf = np.zeros(self._half - 1, dtype=np.float32)
        self._buf_start = -(self._half - 1)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Output for as much input as has arrived."""
        self._n_in += len(samples)
        if self._up == self._down:
            return samples
        self._buf = np.concatenate((self._buf, samples))
        available = self._buf_start + len(self._buf)
        # Output n needs input up to floor(n * down / up) + half.
        end = ((available - self._half) * self._up - 1) // self._down + 1
        return self._emit(end)

    def finish(self) -> np.ndarray:
        """The rest of the output, with silence after the last input."""
        if self._up == self._down:
            return np.zeros(0, dtype=np.float32)
        self._buf = np.concatenate((self._buf, np.zeros(self._half, dtype=np.float32)))
        return self._emit(-(-self._n_in * self._up // self._down))

    def _emit(self, end: int) -> np.ndarray:
        start = self._n_out
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        out = np.empty(end - start, dtype=np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(self._buf, 2 * self._half)
        for phase in range(self._up):
            first = start + (self._first[phase] - start) % self._up
            if first >= end:
                continue
            count = (end - 1 - first) // self._up + 1
            offset = (first * self._down) // self._up - self._half + 1 - self._buf_start
            rows = windows[offset : offset + (count - 1) * self._down + 1 : self._down]
            out[first - start :: self._up] = rows @ self._bank[phase]
        self._n_out = end
        keep = (end * self._down) // self._up - self._half + 1
        self._buf = self._buf[keep - self._buf_start :]
        self._buf_start = keep
        return out
