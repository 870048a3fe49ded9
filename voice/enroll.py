"""Learning her voice by voice (run.py enroll): the assistant says each sentence of
the content's enrollment section, she says it after it, and a voice profile is
learnt from what she said (voice.adaptation)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .adaptation import AdaptationError, learn, unknown_words
from .audio import SAMPLE_RATE, SAMPLE_WIDTH
from .content import Enrollment
from .recognizer import Tuning

_LOGGER = logging.getLogger(__name__)

WAIT_SECONDS = 8.0
"""How long she has to start saying a sentence."""
END_SECONDS = 0.8
"""Silence that ends what she says (a pause between words is shorter)."""
MAX_SECONDS = 15.0
"""The longest sentence taken: a room that never falls quiet ends it here."""
PRE_ROLL = 0.3
"""Audio kept from before speech is first detected: a word's quiet onset."""
SETTLE_SECONDS = 0.3
"""Audio dropped as the microphone opens: the tail of the prompt from the speaker."""
START_FRAMES = 3
"""Voiced frames in a row that start speech: a click is not speech."""
TRIES = 2
"""Times a sentence is asked for before it is left out."""


def capture(read: Callable[[], bytes], is_speech: Callable[[bytes], bool], frame_bytes: int) -> bytes | None:
    """One utterance from the audio read: from just before it starts until END_SECONDS
    of silence, or None when no speech starts within WAIT_SECONDS. Time is audio read,
    not the clock, so that a file is heard as the microphone would be."""
    frame_seconds = frame_bytes / (SAMPLE_RATE * SAMPLE_WIDTH)
    before: deque[bytes] = deque(maxlen=max(START_FRAMES, round(PRE_ROLL / frame_seconds)))
    heard: list[bytes] = []
    pending = b""
    elapsed = voiced = silent = 0
    settle = round(SETTLE_SECONDS / frame_seconds)
    while True:
        chunk = read()
        if not chunk:
            break
        pending += chunk
        while len(pending) >= frame_bytes:
            frame, pending = pending[:frame_bytes], pending[frame_bytes:]
            elapsed += 1
            if elapsed <= settle:
                continue
            speech = is_speech(frame)
            if not heard:
                before.append(frame)
                voiced = voiced + 1 if speech else 0
                if voiced >= START_FRAMES:
                    heard, silent = list(before), 0
                elif elapsed * frame_seconds >= WAIT_SECONDS:
                    return None
                continue
            heard.append(frame)
            silent = 0 if speech else silent + 1
            if silent * frame_seconds >= END_SECONDS or len(heard) * frame_seconds >= MAX_SECONDS:
                return b"".join(heard)
    return b"".join(heard) or None


def enroll(
    lines: Enrollment,
    say: Callable[[str], None],
    open_microphone: Callable[[], AbstractContextManager[Any]],
    profile: Path,
) -> bool:
    """Ask for each sentence, hear it (asked once more when not heard), learn the
    profile. say() returns once the line is said, so that the microphone does not
    hear the prompt. False when nothing was learnt (the profile stays as it was);
    EngineError when the microphone or a tool fails."""
    import pocketsphinx

    # The recognizer's own voice activity detector and frames.
    vad = pocketsphinx.Vad(Tuning.vad_mode, SAMPLE_RATE, Tuning.frame_seconds)
    words = unknown_words(lines.sentences)  # before she reads, not after
    if words:
        say(lines.failed.format(reason=f"these words are not in the pronunciation dictionary: {', '.join(words)}"))
        return False
    total = len(lines.sentences)
    say(lines.intro.format(total=total))
    recordings: list[tuple[bytes, str]] = []
    for number, sentence in enumerate(lines.sentences, 1):
        say(lines.prompt.format(number=number, total=total, sentence=sentence))
        for attempt in range(TRIES):
            with open_microphone() as microphone:
                heard = capture(microphone.read, vad.is_speech, vad.frame_bytes)
            _LOGGER.debug("sentence %d: %s", number, "heard" if heard is not None else "not heard")
            if heard is not None:
                recordings.append((heard, sentence))
                break
            if attempt + 1 < TRIES:
                say(lines.not_heard.format(sentence=sentence))
    say(lines.learning)
    try:
        learn(recordings, profile)
    except AdaptationError as exc:
        say(lines.failed.format(reason=exc))
        return False
    say(lines.learnt)
    return True
