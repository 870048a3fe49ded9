"""Narrowband audio heard as the wideband speech the model knows.

A Bluetooth headset in its call mode, an old USB microphone or an 8 kHz file
give speech with nothing above 4 kHz, where the model was trained on 16 kHz
speech whose consonants ("s", "f", "t") have much of their energy up there.
Once her voice is known to be narrowband, the empty band is filled with a
fainter mirror image of the band below (spectral folding, the oldest
bandwidth extension): multiplying the samples by (-1)^n moves each frequency
f to 8 kHz - f.

On the dev set's one narrowband voice (flite's 8 kHz kal, the same voice as
its 16 kHz kal16, 85% of whose commands were understood), commands understood
32 -> 41 of 48 clean and 67 -> 79 of 113 in all conditions, none of its 51
non-command clips firing one, with the mirror at 0.3 of the band's amplitude.
With the mirror added to the files instead (before the room's noise is taken
out): 42 and 80 at 0.3; 39 and 78 at 0.2; 40 and 79 at 0.5; 40 and 81 at 1.0,
but 2 false accepts.
"""

from __future__ import annotations

import numpy as np

from voice.audio import SAMPLE_RATE, pcm16

# The bands compared (Hz): the voice's own, and the one a narrowband source leaves
# empty. Speech of the dev set: upper band at most 48 dB below the lower (100 human
# speakers, synthetic voices, noise and reverberation); flite's 8 kHz voice 58
# (quiet: dither fills it a little) to 79 dB below.
_VOICE_BAND = (300.0, 3700.0)
_UPPER_BAND = (4300.0, 7500.0)


class BandExtension:
    """Learns from her voice whether it comes narrowband, and then fills the upper band in."""

    def __init__(self, narrow_db: float, mirror: float) -> None:
        """narrow_db: an upper band this many dB below the voice's is empty;
        mirror: the amplitude of the mirror image, relative to the band it mirrors."""
        self._narrow_db = narrow_db
        self._mirror = mirror
        self._upper_db: float | None = None

    @property
    def narrow(self) -> bool:
        return self._upper_db is not None and self._upper_db < self._narrow_db

    def learn(self, speech: bytes) -> None:
        """Update from speech as the microphone gave it (16 kHz mono s16)."""
        if not speech:
            return
        samples = np.frombuffer(speech, dtype="<i2").astype(np.float64)
        power = np.abs(np.fft.rfft(samples)) ** 2
        frequency = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
        voice = power[(frequency > _VOICE_BAND[0]) & (frequency < _VOICE_BAND[1])].sum()
        upper = power[(frequency > _UPPER_BAND[0]) & (frequency < _UPPER_BAND[1])].sum()
        if not voice:
            return
        upper_db = float(10 * np.log10(max(upper, 1e-12) / voice))
        # Averaged with what was learnt before, so that one odd utterance does not
        # switch it, while a new microphone does within two or three.
        self._upper_db = upper_db if self._upper_db is None else (self._upper_db + upper_db) / 2

    def apply(self, pcm: bytes) -> bytes:
        """pcm with its upper band filled in, if her voice is narrowband. pcm holds an
        even number of samples, so that the mirror of one piece joins the next's."""
        if not self.narrow or not pcm:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        alternating = np.ones(len(samples), dtype=np.float32)
        alternating[1::2] = -1.0
        return pcm16(samples * (1.0 + self._mirror * alternating))
