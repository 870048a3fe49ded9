"""Steady noise taken out of the microphone's audio (voice.denoise), on a committed clip."""

from __future__ import annotations

import numpy as np

from voice.audio import SAMPLE_RATE, chunks, pcm16, read_wav
from voice.denoise import NoiseSuppressor

from .shared import CLIPS

FRAME = 320  # the recognizer's 20 ms frames


def suppressor() -> NoiseSuppressor:
    return NoiseSuppressor(FRAME, SAMPLE_RATE, over=6.0, floor=0.1, quietest=40.0**2)


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def power_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x**2)))


def streamed(suppressor: NoiseSuppressor, pcm: bytes) -> np.ndarray:
    """The stream out, a frame late, put back in step with the stream in."""
    padded = pcm + bytes(-len(pcm) % (2 * FRAME) + 2 * FRAME)
    out = b"".join(suppressor.frame(frame) for frame in chunks(padded, 2 * FRAME))
    return samples(out)[FRAME : FRAME + len(pcm) // 2]


def speech() -> np.ndarray:
    return samples(read_wav(CLIPS / "next.wav"))


def hiss(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE)) * level


def test_speech_in_a_silent_room_is_left_as_it_is() -> None:
    # Its quiet frames (the edges of words) are no steady noise: taking them out garbles.
    clip = pcm16(speech())
    room = suppressor()
    room.learn(clip)
    assert np.max(np.abs(samples(room.clean(clip)) - samples(clip))) <= 1.0


def test_steady_noise_is_taken_out_and_speech_kept() -> None:
    clip = speech()
    noise = hiss(1.0 + len(clip) / SAMPLE_RATE, 200.0)
    room = suppressor()
    room.learn(pcm16(hiss(3.0, 200.0, seed=1)))
    noisy = noise.copy()
    noisy[SAMPLE_RATE:] += clip
    out = streamed(room, pcm16(noisy))
    # The second of noise alone, after the first 0.2 s, is 15 dB quieter or more...
    assert power_db(out[SAMPLE_RATE // 5 : SAMPLE_RATE]) < power_db(noise[:SAMPLE_RATE]) - 15.0
    # ...and the speech is within 1.5 dB of what it was without the noise.
    words = np.abs(clip) > 1000
    assert abs(power_db(out[SAMPLE_RATE:][words]) - power_db(clip[words])) < 1.5


def test_noise_is_learnt_while_listening() -> None:
    noise = hiss(3.0, 200.0)
    out = streamed(suppressor(), pcm16(noise))
    assert power_db(out[2 * SAMPLE_RATE :]) < power_db(noise[2 * SAMPLE_RATE :]) - 15.0


def test_digital_silence_is_no_quiet_room() -> None:
    # A muted source or padding says nothing of the room: the noise is still known.
    room = suppressor()
    room.learn(pcm16(hiss(2.0, 200.0)))
    room.learn(bytes(10 * SAMPLE_RATE * 2))
    noise = hiss(1.0, 200.0, seed=2)
    assert power_db(samples(room.clean(pcm16(noise)))) < power_db(noise) - 15.0


def test_cleaning_a_stretch_leaves_the_stream_alone() -> None:
    rooms = suppressor(), suppressor()
    for room in rooms:
        room.learn(pcm16(hiss(2.0, 200.0)))
    clip = pcm16(speech() + hiss(len(speech()) / SAMPLE_RATE, 200.0, seed=3))
    frames = list(chunks(clip, 2 * FRAME))
    alone = b"".join(rooms[0].frame(frame) for frame in frames)
    half = len(frames) // 2
    out = b"".join(rooms[1].frame(frame) for frame in frames[:half])
    cleaned = rooms[1].clean(clip)
    out += b"".join(rooms[1].frame(frame) for frame in frames[half:])
    assert out == alone
    assert len(cleaned) == len(clip)
    # The clip's lead-in, before the word, is noise alone.
    lead = slice(0, FRAME * 8)
    assert power_db(samples(cleaned)[lead]) < power_db(samples(clip)[lead]) - 15.0


def test_restart_forgets_the_stream_but_not_the_room() -> None:
    room = suppressor()
    room.learn(pcm16(hiss(2.0, 200.0)))
    room.frame(pcm16(hiss(0.02, 10_000.0)))
    room.restart()
    # No loud frame left over to overlap the next; the noise is still taken out.
    noise = hiss(1.0, 200.0, seed=4)
    out = samples(b"".join(room.frame(frame) for frame in chunks(pcm16(noise), 2 * FRAME)))
    assert np.max(np.abs(out[:FRAME])) < 200.0
    assert power_db(out[FRAME:]) < power_db(noise) - 15.0


def test_noise_fainter_than_the_quietest_is_left_in() -> None:
    room = suppressor()
    room.learn(pcm16(hiss(2.0, 30.0)))
    noise = pcm16(hiss(1.0, 30.0, seed=5))
    assert room.clean(noise) == noise
