"""Spoken commands from a stream of 16 kHz mono audio, offline.

A voice activity detector (WebRTC's, through PocketSphinx) cuts the stream
into utterances. Whisper tiny.en (voice.whisper) writes down what each one
says, and scores the command phrases against it. What it wrote is a command
when it means one (content/commands.yaml's phrases and sentences, matched by
voice.commands). When it means nothing, the nearest phrase is taken if it is
likely enough, less for each word heard beyond its own: that brings back
commands misheard in noise ("slar" for slower) without taking a sentence
that holds a command word for one. Each setting was chosen on the dev set's
tuning part and is reported on its held-out part (scripts/bench_recognition.py,
docs/recognition.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from .answers import Answers
from .audio import SAMPLE_RATE, SAMPLE_WIDTH, chunks, frame_power, read_wav
from .commands import CommandId, phrase_key
from .content import Content
from .errors import EngineError, OptionError
from .whisper import Transcript, Whisper


@dataclass(frozen=True)
class Recognition:
    """What one utterance was heard as."""

    command: CommandId | None
    """The command, or None when the utterance is not a command."""
    text: str
    """The words Whisper wrote ("" when not decoded: too long, too faint)."""
    confidence: float
    """0..1: 1 when the words mean the command, else the nearest phrase's probability
    (less for words beyond it); 0 for no command."""
    seconds: float
    """Wall time spent on this utterance: detecting speech in it and decoding it."""
    heard_speech: bool
    """Speech was heard, command or not."""
    start: float
    """Utterance start, in seconds of the audio fed so far."""
    end: float
    """End of its speech, in seconds of the audio fed so far."""
    ready: float = 0.0
    """When the result was ready, in the same clock: ready - end is the endpointing delay."""
    audio: bytes = b""
    """The utterance's audio (16 kHz mono s16), to tell the assistant's own voice and to keep."""
    said: str = ""
    """The words the command was taken from: what Whisper wrote when that means it,
    else the nearest phrase ("go to step 5": go_to finds the step in them)."""
    question: bool = False
    """No command, but a question the leaflet answers: text is the question."""


@dataclass(frozen=True)
class Tuning:
    """Recognizer settings; Recognizer(content, **tuning) overrides any of them."""

    vad_mode: int = 2
    """WebRTC VAD aggressiveness, 0 (loose) to 3 (strict)."""
    frame_seconds: float = 0.02
    """VAD frame: 0.01, 0.02 or 0.03 s."""
    start_seconds: float = 0.06
    """Speech this long, within twice as long, starts an utterance."""
    pre_roll: float = 0.25
    """Audio before the detected start that is heard too (soft onsets)."""
    command_silence: float = 0.25
    """Quiet after which the utterance so far is heard: a command ends it here."""
    quiet_db: float = 25.0
    """A frame is quiet when the voice activity detector hears no speech in it, or
    when it is this many dB below the loudest speech of the utterance so far: the
    detector hangs on to speech for a while after its end."""
    end_silence: float = 0.5
    """Silence that ends any utterance."""
    max_utterance: float = 4.0
    """Longer speech is not a command: it is not decoded."""
    min_speech: float = 0.2
    """Less speech than this is a click or a bump, not a word: no "not understood"
    (a 60 ms click is 0.14 s of it) ..."""
    min_command_speech: float = 0.1
    """... but a command may hold less: a crisp real "stop" held 0.14 s."""
    min_level: float = 40.0
    """An utterance whose loudest speech frame is below this (dB of 16-bit frame
    power; 40 is -50 dBFS) is no speech but hiss or digital silence, which
    Whisper writes as "you" or "Thank you" (and "you" is nearest to "yes"). The
    softest command of the tuning part peaked at 46, a real word at 54."""
    min_window: float = 3.0
    """Seconds of audio the model sees at the least: shorter utterances are padded
    with silence (2 s: 1 command in 100 fewer, on the tuning part)."""
    tokens_per_second: float = 2.5
    """The most tokens decoded per second of utterance (and two more): a command is
    short, and a short window makes Whisper write it over and over."""
    candidates: int = 8
    """Phrases scored whole against each utterance: those whose first token is likeliest."""
    nearest_floor: float = -8.0
    """The nearest phrase is taken, when the free words mean nothing, if its log
    probability is at least this ..."""
    extra_word_cost: float = 2.0
    """... less this for each word heard beyond the phrase's own (fillers aside):
    a sentence that holds a command is more words than a misheard command."""

    @classmethod
    def overrides(cls, items: list[str]) -> dict[str, Any]:
        """{"quiet_db": 20.0} from ["quiet_db=20"], each value of its field's type,
        for trying other settings on the dev set. Raises OptionError."""
        types = {f.name: type(f.default) for f in fields(cls)}
        result: dict[str, Any] = {}
        for item in items:
            name, _, text = item.partition("=")
            if name not in types:
                raise OptionError(f"--tune {item}: no setting {name!r}; settings: {', '.join(types)}")
            try:
                result[name] = types[name](text)
            except ValueError:
                raise OptionError(f"--tune {item}: {name} takes a value of type {types[name].__name__}") from None
        return result


@dataclass
class _Utterance:
    first_frame: int
    """Index of its first frame (pre-roll included) in the stream."""
    audio: list[bytes] = field(default_factory=list)
    frames: int = 0
    speech: int = 0
    silence: int = 0
    """Frames of silence since the last speech."""
    quiet: int = 0
    """Frames of quiet (see Tuning.quiet_db) since the last loud speech."""
    loudest: float = -np.inf
    """dB of its loudest speech frame."""
    too_long: bool = False
    """Its speech went on past Tuning.max_utterance: no command, not decoded."""
    heard: Recognition | None = None
    """What it was heard as at its last pause, and how much speech it had then."""
    heard_speech: int = 0
    seconds: float = 0.0


class Recognizer:
    """Streaming command recognizer: feed audio, get one Recognition per utterance."""

    def __init__(self, content: Content, threads: int = 1, **tuning: Any) -> None:
        """threads: CPU threads the model may use. Raises EngineError when the model
        or the voice activity detector cannot be had."""
        self.tuning = t = Tuning(**tuning)
        self._matcher = content.matcher()
        self._answers = Answers.from_content(content)
        # Its model now, not at her first question. Without it, a question is told whom to contact.
        with contextlib.suppress(EngineError):
            self._answers.prepare()
        self._question = {command: spec.answer for command, spec in content.commands.items()}
        self._owner = {phrase: command for command, phrases in content.phrases.items() for phrase in phrases}
        self._words = {phrase: len(phrase_key(phrase)) for phrase in self._owner}
        self._whisper = Whisper(
            list(self._owner), (list(content.fillers.before), list(content.fillers.after)), threads, t.candidates
        )
        self._vad = _vad(t)
        self._frame_bytes = self._vad.frame_bytes
        frame = self._vad.frame_length
        self._frame_seconds = frame
        self._start_frames = max(1, round(t.start_seconds / frame))
        self._pre_roll: deque[bytes] = deque(maxlen=max(1, round(t.pre_roll / frame)))
        self._recent: deque[bool] = deque(maxlen=2 * self._start_frames)
        self._command_frames = round(t.command_silence / frame)
        self._end_frames = round(t.end_silence / frame)
        self._max_frames = round(t.max_utterance / frame)
        self._min_speech_frames = round(t.min_speech / frame)
        self._min_command_frames = max(1, round(t.min_command_speech / frame))
        self._pending = b""
        self._frames = 0
        self._utterance: _Utterance | None = None

    # -- the interface -------------------------------------------------------------

    def feed(self, pcm: bytes, answers: frozenset[str] = frozenset()) -> list[Recognition]:
        """Recognitions of the utterances that ended within this chunk of 16 kHz mono s16 audio.

        answers: the questions being asked now ({"side"}); commands that answer
        a question (left, right) count only while it is asked.
        """
        results = []
        data = self._pending + pcm
        whole = len(data) - len(data) % self._frame_bytes
        self._pending = data[whole:]
        for frame in chunks(data[:whole], self._frame_bytes):
            result = self._frame(frame, answers)
            if result is not None:
                results.append(result)
        return results

    def flush(self, answers: frozenset[str] = frozenset()) -> list[Recognition]:
        """End of stream: finish the utterance under way, if any."""
        self._pending = b""
        self._pre_roll.clear()
        self._recent.clear()
        if self._utterance is None:
            return []
        return [self._finish(answers)]

    def reset(self) -> None:
        """Drop any partial utterance (the microphone restarted, say). The clock runs on."""
        self._utterance = None
        self._pending = b""
        self._recent.clear()
        self._pre_roll.clear()

    @property
    def seconds_fed(self) -> float:
        """Audio fed so far, in seconds: the clock of Recognition.start, end and ready."""
        return self._frames * self._frame_seconds + len(self._pending) / (SAMPLE_RATE * SAMPLE_WIDTH)

    def _hear(self, pcm: bytes, answers: frozenset[str]) -> _Heard:
        """What one utterance's audio means."""
        seconds = len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)
        window = max(self.tuning.min_window, math.ceil(seconds))
        heard = self._whisper.transcribe(pcm, window, int(2 + self.tuning.tokens_per_second * seconds))
        return self._decide(heard, answers)

    # -- one VAD frame at a time ---------------------------------------------------

    def _frame(self, frame: bytes, answers: frozenset[str]) -> Recognition | None:
        begin = time.perf_counter()
        self._frames += 1
        speech = self._vad.is_speech(frame)
        utterance = self._utterance
        if utterance is None:
            self._pre_roll.append(frame)
            self._recent.append(speech)
            if sum(self._recent) < self._start_frames:
                return None
            utterance = self._utterance = _Utterance(self._frames - len(self._pre_roll))
            utterance.audio.extend(self._pre_roll)
            utterance.frames = len(self._pre_roll)
            utterance.speech = sum(self._recent)
            self._pre_roll.clear()
            self._recent.clear()
        else:
            utterance.frames += 1
            utterance.speech += speech
            utterance.silence = 0 if speech else utterance.silence + 1
            utterance.too_long = utterance.too_long or utterance.frames - utterance.silence > self._max_frames
            if not utterance.too_long:
                utterance.audio.append(frame)
        utterance.seconds += time.perf_counter() - begin
        if utterance.silence >= self._end_frames:
            return self._finish(answers)
        level = 10 * np.log10(frame_power(frame, len(frame) // SAMPLE_WIDTH)[0] + 1e-10)
        if speech:
            utterance.loudest = max(utterance.loudest, level)
        utterance.quiet = 0 if speech and level > utterance.loudest - self.tuning.quiet_db else utterance.quiet + 1
        if utterance.quiet == self._command_frames and self._heard(utterance, answers).command is not None:
            return self._finish(answers)
        return None

    def _heard(self, utterance: _Utterance, answers: frozenset[str]) -> Recognition:
        """The utterance as heard now, decoded again only if more speech came since."""
        if utterance.heard is None or utterance.heard_speech != utterance.speech:
            begin = time.perf_counter()
            audio = b"".join(utterance.audio)
            heard = _Heard(None, "", 0.0)
            if self._audible(utterance) and utterance.speech >= self._min_command_frames and not utterance.too_long:
                heard = self._hear(audio, answers)
            utterance.seconds += time.perf_counter() - begin
            utterance.heard = Recognition(
                heard.command, heard.text, heard.confidence, 0.0, False, 0.0, 0.0,
                audio=audio, said=heard.said, question=heard.question,
            )
            utterance.heard_speech = utterance.speech
        return utterance.heard

    def _finish(self, answers: frozenset[str]) -> Recognition:
        utterance = self._utterance
        self._utterance = None
        heard = self._heard(utterance, answers)
        start = utterance.first_frame * self._frame_seconds
        return Recognition(
            command=heard.command,
            text=heard.text,
            confidence=heard.confidence,
            seconds=utterance.seconds,
            heard_speech=heard.command is not None
            or heard.question
            or (self._audible(utterance) and utterance.speech >= self._min_speech_frames),
            start=start,
            end=start + (utterance.frames - utterance.silence) * self._frame_seconds,
            ready=self._frames * self._frame_seconds,
            audio=heard.audio,
            said=heard.said,
            question=heard.question,
        )

    def _audible(self, utterance: _Utterance) -> bool:
        return utterance.loudest >= self.tuning.min_level

    # -- from words to a command ---------------------------------------------------

    def _decide(self, heard: Transcript, answers: frozenset[str]) -> _Heard:
        said = _once(heard.text)
        command = self._matcher.match(said)
        if command is not None:
            return _Heard(command, heard.text, 1.0, said) if self._asked(command, answers) else _Heard(None, heard.text, 0.0)
        near = self._nearest(heard, said, answers)
        # No command, not even the nearest: a question the leaflet answers ("what can I
        # see?" is help misheard, not a question). Talk that asks nothing it says is nothing.
        if near.command is None and self._answers.is_heard_question(said):
            return _Heard(None, said, 0.0, question=True)
        return near

    def _nearest(self, heard: Transcript, said: str, answers: frozenset[str]) -> _Heard:
        """The nearest phrase's command, if near enough."""
        t = self.tuning
        # No words written is no word heard: nothing to take for "yes" (real "no"s were).
        if not phrase_key(said):
            return _Heard(None, heard.text, 0.0)
        words = len(self._matcher.strip_fillers(phrase_key(said)))
        # Only phrases that so many words could still be taken for (a log probability is at most 0).
        nearest = self._whisper.nearest(
            heard, {p for p, n in self._words.items() if t.extra_word_cost * (words - n) <= -t.nearest_floor}
        )
        if not nearest:
            return _Heard(None, heard.text, 0.0)
        phrase, log_prob = nearest[0]
        score = log_prob - t.extra_word_cost * max(0, words - self._words[phrase])
        command = self._owner[phrase]
        if score < t.nearest_floor or not self._asked(command, answers):
            return _Heard(None, heard.text, 0.0)
        return _Heard(command, heard.text, math.exp(score), phrase)

    def _asked(self, command: CommandId, answers: frozenset[str]) -> bool:
        """A command that answers a question counts only while it is asked."""
        question = self._question[command]
        return question is None or question in answers


@dataclass(frozen=True)
class _Heard:
    """What the words of one utterance mean (the fields of Recognition)."""

    command: CommandId | None
    text: str
    confidence: float
    said: str = ""
    question: bool = False


def _once(text: str) -> str:
    """Words said once: a short window makes Whisper write a short utterance over
    again until its tokens run out ("There's no milk. There"), which means no
    other command than once."""
    words = text.split()
    bare = [word.strip(".,!?").lower() for word in words]
    last = len(words) - 1
    for size in range(1, len(words)):
        if all(bare[i] == bare[i % size] for i in range(size, last)) and bare[last % size].startswith(bare[last]):
            return " ".join(words[:size])
    return text


def _vad(tuning: Tuning) -> Any:
    try:
        import pocketsphinx
    except ImportError as exc:
        raise EngineError(f"pocketsphinx is not installed ({exc}); install it with: pip install pocketsphinx") from None
    try:
        return pocketsphinx.Vad(tuning.vad_mode, SAMPLE_RATE, tuning.frame_seconds)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"cannot start the voice activity detector: {exc}") from None


# Files are heard as a microphone would give them: some silence around, in 30 ms chunks.
_FILE_PADDING = 0.5
_FILE_CHUNK_BYTES = int(0.03 * SAMPLE_RATE) * SAMPLE_WIDTH


def hear_file(
    recognizer: Recognizer, path: str | os.PathLike[str], answers: frozenset[str] = frozenset()
) -> list[Recognition]:
    """Every utterance of a WAV file, with times in seconds of the file. Raises AudioFileError."""
    pcm = read_wav(path)
    silence = bytes(int(_FILE_PADDING * SAMPLE_RATE) * SAMPLE_WIDTH)
    recognizer.reset()
    offset = recognizer.seconds_fed + _FILE_PADDING
    results = []
    for chunk in chunks(silence + pcm + silence, _FILE_CHUNK_BYTES):
        results += recognizer.feed(chunk, answers)
    results += recognizer.flush(answers)
    return [
        replace(r, start=max(0.0, r.start - offset), end=max(0.0, r.end - offset), ready=r.ready - offset)
        for r in results
    ]


def pick(results: list[Recognition]) -> Recognition:
    """What a file says: its first command, else its longest speech, else nothing."""
    for result in results:
        if result.command is not None:
            return result
    speech = [r for r in results if r.heard_speech]
    if speech:
        return max(speech, key=lambda r: r.end - r.start)
    return Recognition(None, "", 0.0, 0.0, False, 0.0, 0.0)
