"""Steady noise (a fan, a hiss, a hum) taken out of the microphone's audio before
the recognizer hears it.

PocketSphinx's model was trained on quiet speech: with white noise 20 dB below
the voice, it found the right command in 58% of the dev set's command clips
even when forced to pick one (scripts/bench_recognition.py --tune other=false
--tune noise_suppression=0; 79% with the noise taken out). The noise's
spectrum is estimated from what was heard (per frequency, a low percentile
over the last seconds, which speech rarely reaches) and each frame is scaled,
frequency by frequency, by a Wiener gain from its signal-to-noise ratio,
smoothed over time ("decision-directed") so that the noise left does not
warble. Speech over silence, babble or a television passes unchanged (their
quiet moments are not steady), and so does noise fainter than what the
recognizer adds itself. It costs about 0.07 ms a 20 ms frame.
"""

from __future__ import annotations

import numpy as np

from voice.audio import pcm16

# Seconds of frames the noise is estimated over, the percentile of each frequency's
# power taken, and how often it is estimated again (in frames; it costs 0.23 ms).
_MEMORY_SECONDS = 5.0
_PERCENTILE = 10
_EVERY_FRAMES = 10
# Noise is steady, and worth taking out, when the quieter frames are about as
# loud as one another: between these percentiles of frame loudness, within
# _STEADY_DB. In the dev set's clips, white and pink noise at 20 and 10 dB spread
# over 0.4 to 3.3 dB, babble 3.8 to 7.5, clean speech over digital silence over
# 3 to 46 (the quiet edges of words, which taking out would garble).
_STEADY_SPAN = (5, 30)
_STEADY_DB = 4.0
# Less than this much audio (in frames) says nothing yet of the room.
_MIN_FRAMES = 10
# Frames with next to no power (the mean of their spectrum's, about 300 times
# the samples' mean square) are digital silence (padding, a muted source): no
# sound of the room at all.
_SILENCE_POWER = 1.0
# How much each frame's own SNR counts against the last frame's cleaned speech.
_SMOOTHING = 0.98


class NoiseSuppressor:
    """Frame by frame: each frame in gives the frame before it out, cleaned (the
    analysis windows overlap by half, so a frame is done once the next is in)."""

    def __init__(self, frame_samples: int, rate: int, over: float, floor: float, quietest: float) -> None:
        """over: the noise's estimate is multiplied by this (a percentile of it is
        below its mean, and noise left over garbles more than speech taken off);
        floor: the least gain, so that no frequency is silenced outright;
        quietest: noise with less power than this (the samples' mean square) is
        left in, as the recognizer adds as much back (Tuning.noise_floor)."""
        self._hop = frame_samples
        self._window = np.sqrt(np.hanning(2 * frame_samples + 1)[:-1])  # sums to 1 when overlapped by half
        self._over = over
        self._floor = floor
        # A frame's mean spectral power is its samples' mean square times this.
        self._quietest_db = 10 * np.log10(quietest * np.sum(self._window**2))
        # The last seconds' power spectra, a row per frequency (a ring of columns):
        # sorting contiguous rows is what makes a percentile of each cheap.
        self._recent = np.zeros((frame_samples + 1, round(_MEMORY_SECONDS * rate / frame_samples)))
        self._filled = 0
        self._noise: np.ndarray | None = None
        self._since = 0
        self.restart()

    def frame(self, pcm: bytes) -> bytes:
        """One frame of 16-bit PCM in; the one before it out, cleaned."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        spectrum = np.fft.rfft(np.concatenate((self._last, samples)) * self._window)
        self._last = samples
        power = np.abs(spectrum) ** 2
        self._observe(power)
        gain, self._speech = self._gain(power, self._speech)
        block = np.fft.irfft(spectrum * gain) * self._window
        out, self._overlap = self._overlap + block[: self._hop], block[self._hop :]
        return pcm16(out)

    def learn(self, pcm: bytes) -> None:
        """The room's noise from audio heard before, not cleaned."""
        for power in self._spectra(np.frombuffer(pcm, dtype="<i2").astype(np.float64))[1]:
            if power.mean() >= _SILENCE_POWER:
                self._remember(power)
        self._estimate()

    def clean(self, pcm: bytes) -> bytes:
        """A whole stretch of audio cleaned with the noise known now, with no delay and
        no effect on the frames to come."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        spectra, powers = self._spectra(samples)
        out = np.zeros((len(spectra) + 1) * self._hop)
        speech = np.zeros(self._hop + 1)
        for i, (spectrum, power) in enumerate(zip(spectra, powers)):
            gain, speech = self._gain(power, speech)
            out[i * self._hop : (i + 2) * self._hop] += np.fft.irfft(spectrum * gain) * self._window
        # The first block starts a hop before the audio (see _spectra).
        return pcm16(out[self._hop : self._hop + len(samples)])

    def restart(self) -> None:
        """The stream broke off (the microphone restarted): start afresh, knowing the room."""
        self._last = np.zeros(self._hop)
        self._overlap = np.zeros(self._hop)
        self._speech = np.zeros(self._hop + 1)

    def _spectra(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windowed spectra of blocks of two frames, a frame apart, from a frame
        of silence before the samples to the end of them, and their powers."""
        padded = np.concatenate((np.zeros(self._hop), samples, np.zeros(2 * self._hop - len(samples) % self._hop)))
        count = len(padded) // self._hop - 1
        blocks = np.lib.stride_tricks.sliding_window_view(padded, 2 * self._hop)[:: self._hop][:count]
        spectra = np.fft.rfft(blocks * self._window, axis=1)
        return spectra, np.abs(spectra) ** 2

    def _observe(self, power: np.ndarray) -> None:
        if power.mean() < _SILENCE_POWER:
            return
        self._remember(power)
        self._since += 1
        if self._since >= _EVERY_FRAMES:
            self._estimate()

    def _remember(self, power: np.ndarray) -> None:
        self._recent[:, self._filled % self._recent.shape[1]] = power
        self._filled += 1

    def _estimate(self) -> None:
        self._since = 0
        count = min(self._filled, self._recent.shape[1])
        if count < _MIN_FRAMES:
            return
        powers = self._recent[:, :count]
        levels = 10 * np.log10(powers.mean(axis=0))
        low, high = np.percentile(levels, _STEADY_SPAN)
        if high - low > _STEADY_DB:
            self._noise = None  # no steady noise: the quiet frames are speech or silence
        elif low < self._quietest_db:
            self._noise = None  # too faint to matter: taking it out would only garble
        else:
            self._noise = _percentile(powers, _PERCENTILE) * self._over

    def _gain(self, power: np.ndarray, speech: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The gain for a frame of this power, given the cleaned speech power of the
        frame before; and this frame's cleaned speech power."""
        if self._noise is None:
            return np.ones_like(power), power
        snr = _SMOOTHING * speech / self._noise + (1 - _SMOOTHING) * np.maximum(power / self._noise - 1, 0)
        gain = np.maximum(snr / (1 + snr), self._floor)
        return gain, gain**2 * power


def _percentile(rows: np.ndarray, percent: float) -> np.ndarray:
    """np.percentile(rows, percent, axis=1) (linear interpolation), by sorting
    each row: on these contiguous rows, several times faster than numpy's own."""
    ordered = np.sort(rows, axis=1)
    index = percent / 100 * (rows.shape[1] - 1)
    low = int(index)
    high = min(low + 1, rows.shape[1] - 1)
    return ordered[:, low] + (ordered[:, high] - ordered[:, low]) * (index - low)
