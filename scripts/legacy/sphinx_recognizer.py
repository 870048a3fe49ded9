"""The assistant's recognizer until Whisper replaced it, kept for scripts/bench_recognition.py
to measure beside the new one. Spoken commands from a stream of 16 kHz mono audio, offline, with PocketSphinx.

One decoder, built once, listens with a grammar compiled from the content:
every command phrase, with at most one filler word before and after (and one
faint sound before all), against a loop of "other" sounds (everyday short
words, the assistant's count words and twenty single phones). An utterance is a
command only when the command branch explains it better than the loop, so
"no", "go" or "move along" are heard as other sounds instead of being forced
onto the nearest command. Nor is a sentence that starts with one ("go back
to sleep, little one"): the grammar takes the rest for a long filler, or for
silence, so speech after the command's words that lasts longer than a filler
word does unmakes the command.

Steady noise in the room (a fan, a hiss) is taken out first (voice.denoise).
A soft voice, or a microphone set low, is raised to the loudness the model
knows, as far as the room's noise allows, from what was heard of her voice
before, and a narrowband one (a headset's call mode) has its empty upper band
filled in (voice.bandwidth); what was not understood before her voice was
known is heard again.

A voice activity detector cuts the stream into utterances and the decoder
runs while speech goes on: once the words so far make a complete command, a
short pause ends the utterance; any other speech waits for a longer one.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE, SAMPLE_WIDTH, chunks, frame_power, pcm16, read_wav
from .bandwidth import BandExtension
from voice.commands import CommandId, PhraseMatcher, normalize
from voice.content import Content
from .denoise import NoiseSuppressor
from voice.errors import EngineError, OptionError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recognition:
    """What one utterance was heard as."""

    command: CommandId | None
    """The command, or None when the utterance is not a command."""
    text: str
    """The words heard ("" if nothing but other sounds)."""
    confidence: float
    """0..1: per second, the likelihood of the heard words relative to the best-matching sounds."""
    seconds: float
    """Wall time spent on this utterance's audio: cleaning, detecting speech in and decoding it."""
    heard_speech: bool
    """Speech was heard, command or not."""
    start: float
    """Utterance start, in seconds of the audio fed so far."""
    end: float
    """End of its speech, in seconds of the audio fed so far."""
    ready: float = 0.0
    """When the result was ready, in the same clock: ready - end is the endpointing delay."""
    finish_seconds: float = 0.0
    """Of seconds, the part spent after the endpoint: decoding time added to that delay."""
    audio: bytes = b""
    """The utterance's audio as decoded (16 kHz mono s16), to tell the assistant's own voice."""
    gain: float = 0.0
    """dB by which that audio was raised from the microphone's (see Tuning.speech_level)."""
    extended: bool = False
    """Its upper band was filled in, as narrowband audio is (voice.bandwidth)."""
    microphone_audio: bytes = b""
    """The same audio as the microphone gave it: her loudness and the room's, and
    what is heard again at another gain (Recognizer.hers)."""
    given_up: bool = False
    """Decoding stopped before its end (too long for a command, or no word of
    one): not worth hearing again."""


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
    """Audio before the detected start that is decoded too (soft onsets)."""
    command_silence: float = 0.3
    """Quiet (see quiet_db) after a complete command that ends the utterance."""
    quiet_db: float = 25.0
    """A frame is quiet when the voice activity detector hears no speech in it,
    or when it is this many dB below the loudest speech of the utterance so
    far. The detector alone hangs on to speech after its end for a varying
    while, longer as a session goes on (it adapts to what it hears): fed two
    voices of the latency benchmark's commands one after another, 2 s apart,
    one recognizer ended them on its silence of 0.15 s 246 to 361 ms (median
    276) after their end in the first ten and 256 to 411 ms (339) in the
    third; on 0.3 s of quiet at 25 dB, 200 to 336 ms (308) and 210 to 332 ms
    (303). Against that silence of 0.15 s, on the dev set, 0.3 s
    quiet at 25 dB: end of speech to result 300 / 390 -> 300 / 320 ms
    (median / p95), commands understood 1151 -> 1154 of 1545, clean and
    false accepts the same (570 of 665, 9 of 747), the recognizer alone
    taking 6 rather than 7 of its own 124 prompts and count words for
    commands. At 25 dB, 0.25 s: 240 / 260 ms but 11 false accepts; at 20
    dB, 0.3 s: 280 / 320 ms but one of its own prompts fired (the recognizer
    alone took 10 of them); at 15 dB, two."""
    end_silence: float = 0.45
    """Silence that ends any utterance: commas and sentence breaks of the
    assistant's own speech (0.1-0.25 s at 200 words a minute) stay inside."""
    max_utterance: float = 4.0
    """Longer speech is not a command: decoding stops until it ends."""
    give_up: float = 2.5
    """Speech in which no word of a command or filler has been heard this far into
    it is not a command either: decoding stops there, saving a long sentence's
    cost (on half the dev set, sentences' p95 decoding time 343 -> 258 ms and no
    command lost; 2.0 s lost 4 of 762 commands, 1.5 s lost 13). 0: never."""
    min_speech: float = 0.2
    """Less speech than this is a click or a bump, not a word: no "not understood"
    (the VAD also takes the first frames of a stream for speech, and 0.14 s of a
    60 ms click). Commands have a floor of their own (min_command_speech)."""
    min_command_speech: float = 0.1
    """A command, though, may hold less: a crisp real "stop" held 0.14 s of what
    the VAD takes for speech (at 0.2, the one clip of the dev set's 2804 that
    this lost)."""
    speech_level: float = 70.0
    """Loudness (dB of 16-bit frame power, the 90th percentile over an utterance)
    that a soft voice or a microphone set low is raised to, from what was heard
    of it before: the model's features were trained on speech about this loud,
    and the noise floor below would drown a voice 20 dB quieter."""
    max_gain: float = 24.0
    """The most it is raised by, in dB."""
    noise_ceiling: float = 35.0
    """Nor is it raised so far that the room's noise between words, raised with
    it, gets louder than this (dB as above). A soft voice in a 30 dB room
    (scripts/bench_soft_voice.py) was understood 51% of the time unraised, 48%
    with a ceiling of 45, 54% with 40, 65% with 38 and 67% with 35; once her
    loudness and the room's were learnt from the microphone's audio rather than
    as heard, 60% with 40, 67% with 38 and 68% with 35."""
    noise_suppression: float = 6.0
    """The room's steady noise is estimated (voice.denoise) and taken out of the
    microphone's audio this many times over (its estimate is a low percentile);
    0: not at all. Commands understood on the dev set in white noise 20 dB and
    pink noise 10 dB below the voice, of 80 each: 25 and 15 with none; 43 and 23
    at 2.5; 47 and 32 at 4; 51 and 36 at 6; 44 and 31 at 10 (floor 0.05). Clean
    commands 544 of 665 with none, 543 or 544 with any."""
    suppression_floor: float = 0.1
    """The least gain any frequency is left with when noise is taken out: less
    leaves a warbling residue. The same clips: 51 and 36 at 0.05, 49 and 44 at
    0.1, 47 and 43 at 0.2 (at 6; 50 and 41 at 8 with 0.1)."""
    narrow_db: float = -55.0
    """Her voice is narrowband when, as the microphone gives it, the band of 4.3
    to 7.5 kHz is this many dB below that of 0.3 to 3.7 kHz: its upper band is
    then filled in (voice.bandwidth)."""
    mirror: float = 0.3
    """The amplitude of what fills it, relative to the band it mirrors."""
    noise_floor: float = 40.0
    """Standard deviation, in 16-bit steps, of faint noise added to the input:
    digital silence (files, padding) matches no silence the model was trained on."""
    max_fillers: int = 1
    """Filler words heard on each side of a phrase ("um, next please")."""
    max_tail: float = 0.5
    """Speech after the command's own words, within tail_db of their loudness,
    longer than this is more words, not a filler: a sentence that starts with a
    command ("there's no milk in the fridge", its tail heard as a long "uh").
    A trailing "please" measured at most 0.4 s on the dev set."""
    max_hesitation: float = 0.1
    """A hesitation ("uh", "erm") as the last word after a command, holding more
    than this of speech within tail_db of the command's loudness, is more words
    forced onto one, quieter than max_tail counts: "Please repeat after me"
    heard as "please repeat, uh". Its quieter part is not counted: other
    voices 10 dB down, a reverberant tail or a soft "um" after a command,
    heard as a long hesitation. After clean commands of the dev set,
    hesitations lasted 0.11 s at most (a breath or a click given a name); after
    the command words of sentences taken for commands, 0.14 to 1.24 s. On the
    dev set, the whole hesitation longer than 0.15 s against none: false
    accepts 38 -> 19 of 747, commands understood 1062 -> 1051 of 1545 (6 of
    the 11 in babble), clean commands unchanged. Its loud part longer than
    0.1 s against the whole longer than 0.15 s: commands 1096 -> 1102 (5 in
    babble), real "yes" when asked 55 -> 56 of 62, false accepts 13 -> 12;
    0.15 s: 1105 and 16; 0.06 s: 1098 and 11."""
    max_unworded: float = 0.15
    """Speech after the last word heard, within tail_db of the command's loudness,
    that the decoder took for silence: longer than this, it is more words ("Stop
    it, you two" heard as "stop" and a silence). After the commands understood
    on the dev set it was 0.06 s at most."""
    max_rise: float = 10.0
    """A word after the command's own words this many dB louder than them (90th
    percentiles of loudness) is the word she said, not a filler said in
    passing: two real "stop"s were heard as "next, oh", the "st" taken for
    next and the vowel, 18 and 20 dB louder, for "oh". After the commands
    understood on the dev set, in every condition, a filler was at most 3.8
    dB louder than the command's words; after the words of a sentence taken
    for a command ("Stop it" said quickly, heard as "stop, uh"), 12 dB."""
    max_lead: float = 0.5
    """Speech before the command's own words, within tail_db of their loudness,
    longer than this (as after them, max_tail) is more words, not a filler: a
    sentence that ends with a command ("We ran out of milk again" heard as
    "okay, again"). Before the commands understood on the dev set it was 0.43
    s at most (a filler said slowly)."""
    max_lead_unworded: float = 0.25
    """Speech before the first word heard, within tail_db of the command's
    loudness, that the decoder took for silence: longer than this, it is more
    words ("We ran out of milk again", said quickly, heard as a silence and
    "continue"). Before the commands understood on the dev set it was 0.18 s
    at most (a breath before a real "no")."""
    tail_db: float = 10.0
    """How much quieter than the command's words (their 90th percentile of
    loudness) speech after them may be and still count: noise 10 dB below the
    speech is not counted, which a voice activity detector would."""
    cmn_init: str = "50.0,-4.6,-1.1,6.4,-6.7,-2.7,-1.8,-4.9,-1.6,-1.7,0.6,-1.1,-0.7"
    """Cepstral mean a session starts from: the average over speech of the dev set
    (the model's own 40,3,-1 is far from it, which garbles the first utterances)."""
    other: bool = True
    """Let a loop of other sounds compete with the commands (without it, every
    utterance is forced onto the nearest command)."""
    other_phones: str = "AA AE AH AO AY CH DH EY F IY K L OW P T TH UH W Y Z"
    """Single phones (of the CMU set) among the other sounds, to absorb any word
    the loop lacks: the twenty that a loop of all 39 used most on the dev set's
    non-command clips. Against all 39, on the dev set: recognition time p95 300
    -> 192 ms (each phone is a branch the decoder follows every frame), commands
    understood 1074 -> 1092 of 1545 (clean 541 -> 548 of 665), real "stop" 55
    -> 56 of 67, real "yes" and "no" when asked 54 -> 55 and 47 -> 48; false
    accepts 10 -> 13 of 747 (two sentences heard as stop, which is asked about,
    and one as repeat). The fifteen used most: as quick, 1095 commands, 14
    false accepts, and a real "no" heard as back. "": none."""
    onset_phones: str = "DH F TH P"
    """Phones (of the CMU set) one of which may come before a command: the faint
    fricative or pop of a breath, a lip or the room as speech starts, which
    the loop of other sounds took as its first phone, and so the utterance
    (of the commands missed on the dev set, 99 of 494 began with one of these).
    On the dev set, the recognizer alone (before its own voice is set aside):
    commands understood 1051 -> 1081 of 1545 (clean 541 -> 549 of 665), real
    "stop" 53 -> 54 of 67, real "yes" and "no" when asked 51 -> 54 and 48 ->
    50; false accepts 11 -> 12 of 747. Any phone allowed there: 1098 and 556,
    but real "yes" fired a command unasked and "stop" was heard as another
    command more often. "": none."""
    word_penalty: float = 1e-3
    """Word insertion probability: low, so that a loop of phones and short
    words costs more than the few words of a command."""
    silence_prob: float = 1.0
    """Probability of a silence between two words of the grammar: at 1, a pause
    costs nothing, on the command path and the loop of other sounds alike. On the dev set,
    against PocketSphinx's 0.005: commands understood 559 -> 571 of 665 clean
    and 1116 -> 1152 of 1545 in all conditions, heard as another command 10 ->
    7 clean, false accepts 10 -> 9 of 747, real "stop" 57 -> 58 of 67, real "no"
    when asked 48 -> 51 of 63, real "go" firing a command 1 -> 0 of 56. On
    --quick (clean commands of 180, all of 390, false accepts of 215), 0.005:
    152, 297, 3; 0.02: 153, 301, 3; 0.1: 154, 304, 3; 0.5: 154, 307, 2; 1:
    154, 307, 1; 3: 153, 301, 2."""
    phone_penalty: float = 1.0
    """Phone insertion probability. 1.5 (with silence_prob 1), on the dev set:
    13 more commands of 1545 understood in all conditions, but real "go" and
    "yes" fired a command twice each of 56 and 62, where 1 gives none."""

    @classmethod
    def overrides(cls, items: list[str]) -> dict[str, Any]:
        """{"max_tail": 1.0} from ["max_tail=1.0"], each value of its field's type,
        for trying other settings on the dev set. Raises OptionError."""
        types = {f.name: type(f.default) for f in fields(cls)}
        result: dict[str, Any] = {}
        for item in items:
            name, _, text = item.partition("=")
            if name not in types:
                raise OptionError(f"--tune {item}: no setting {name!r}; settings: {', '.join(types)}")
            kind = types[name]
            try:
                if kind is bool:
                    if text.lower() not in ("true", "false"):
                        raise ValueError
                    result[name] = text.lower() == "true"
                else:
                    result[name] = kind(text)
            except ValueError:
                raise OptionError(f"--tune {item}: {name} takes a value of type {kind.__name__}") from None
        return result


class Recognizer:
    """Streaming command recognizer: feed audio, get one Recognition per utterance."""

    def __init__(self, content: Content, profile: Path | None = None, **tuning: Any) -> None:
        """profile: a voice profile (voice.adaptation) to adapt the model to her voice."""
        self.tuning = Tuning(**tuning)
        self._question = {command: spec.answer for command, spec in content.commands.items()}
        self._decoder, self._vad = _load_engine(self.tuning, profile)
        self._matcher, grammar = self._compile(content)
        try:
            self._decoder.add_fsg(_COMMAND_SEARCH, self._decoder.create_fsg(_COMMAND_SEARCH, *grammar))
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"PocketSphinx rejected the command grammar: {exc}") from None
        self._decoder.add_jsgf_string(_ADAPT_SEARCH, f"#JSGF V1.0;\ngrammar {_ADAPT_SEARCH};\npublic <any> = a;\n")
        self._decoder.activate_search(_COMMAND_SEARCH)
        self._decoder.set_cmn(self.tuning.cmn_init)
        t = self.tuning
        self._frame_bytes = self._vad.frame_bytes
        self._frame_seconds = self._vad.frame_length
        self._start_frames = max(1, round(t.start_seconds / self._frame_seconds))
        # (as the microphone gave it, as heard): see feed.
        self._pre_roll: deque[tuple[bytes, bytes]] = deque(maxlen=max(1, round(t.pre_roll / self._frame_seconds)))
        self._recent: deque[bool] = deque(maxlen=2 * self._start_frames)
        self._command_frames = round(t.command_silence / self._frame_seconds)
        self._end_frames = round(t.end_silence / self._frame_seconds)
        self._max_frames = round(t.max_utterance / self._frame_seconds)
        self._give_up_frames = round(t.give_up / self._frame_seconds) if t.give_up else None
        self._min_speech_frames = round(t.min_speech / self._frame_seconds)
        self._min_command_frames = round(t.min_command_speech / self._frame_seconds)
        self._noise = np.random.default_rng(0)
        self._gain = _Gain(self.tuning)
        self._band = BandExtension(self.tuning.narrow_db, self.tuning.mirror)
        self._suppressor = self._new_suppressor()
        # The microphone's last frame, kept while the suppressor gives out the one before.
        self._given = bytes(self._frame_bytes)
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

    def reset(self, new_session: bool = False) -> None:
        """Drop any partial utterance (the microphone restarted, say). The clock runs on.

        new_session: also forget what was learnt of the voice and room (the
        gain, the noise, the cepstral mean) and restart the noise floor, so
        that the next utterance is heard as a session's first. The voice
        activity detector runs on: started afresh for each file, it lost 15 of
        the dev set's 665 clean commands; settled first on faint noise (a fresh
        one takes its first 80 ms for speech), 6 of them, 15 of 1545 in all
        conditions and 2 of 67 real "stop"s.
        """
        if self._utterance is not None and self._utterance.decoding:
            self._decoder.end_utt()
        if new_session:
            self._decoder.set_cmn(self.tuning.cmn_init)
            self._noise = np.random.default_rng(0)  # the same audio is heard the same way
            self._gain = _Gain(self.tuning)
            self._band = BandExtension(self.tuning.narrow_db, self.tuning.mirror)
            self._suppressor = self._new_suppressor()
        elif self._suppressor is not None:
            self._suppressor.restart()
        self._given = bytes(self._frame_bytes)
        self._utterance = None
        self._pending = b""
        self._recent.clear()
        self._pre_roll.clear()

    def adapt(self, pcm: bytes) -> None:
        """Learn the voice and room from this audio (the noise, and the speech's
        loudness and cepstral mean) without recognizing it, as a live session has
        from what it heard before. Silence and noise between words would pull the
        mean away from speech."""
        whole = pcm[: len(pcm) - len(pcm) % self._frame_bytes]
        if self._suppressor is not None:
            self._suppressor.learn(whole)
        cleaned = self._cleaned(whole)
        is_speech = [self._vad.is_speech(f) for f in chunks(self._as_heard(cleaned), self._frame_bytes)]
        if not any(is_speech):
            return

        def speech_in(audio: bytes) -> bytes:
            return b"".join(f for f, s in zip(chunks(audio, self._frame_bytes), is_speech) if s)

        self._gain.learn(speech_in(whole), whole)
        self._band.learn(speech_in(whole))
        # The cepstral mean of the speech as it will be heard: at the gain just learnt.
        speech = speech_in(self._as_heard(cleaned))
        # Only the features' mean is wanted, but ending the utterance searches all of
        # it: through a grammar of one short word, 13 times quicker than the commands'.
        self._decoder.activate_search(_ADAPT_SEARCH)
        self._decoder.start_utt()
        self._decoder.process_raw(speech, no_search=True)
        self._decoder.end_utt()
        self._decoder.activate_search(_COMMAND_SEARCH)

    def hers(self, heard: Recognition, answers: frozenset[str] = frozenset()) -> Recognition:
        """An utterance that was hers (not the assistant's own voice coming back, which
        would set the gain by the speaker's level): learn her loudness and bandwidth
        from it, and if it was not understood and would now be heard otherwise
        (raised by _AGAIN_DB more, or its upper band filled in), hear it again (a
        soft or narrowband voice's first command, heard before her voice was
        known). Else it is returned as it is."""
        if not heard.heard_speech:
            return heard
        self._gain.learn(heard.microphone_audio, heard.microphone_audio)
        self._band.learn(heard.microphone_audio)
        if (
            heard.command is not None
            or heard.given_up
            or (self._gain.db - heard.gain < _AGAIN_DB and self._band.narrow == heard.extended)
            or self._utterance is not None  # the decoder is busy with the next one
        ):
            return heard
        begin = time.perf_counter()
        audio = self._as_heard(self._cleaned(heard.microphone_audio))
        self._decoder.start_utt()
        self._decoder.process_raw(audio)
        self._decoder.end_utt()
        words, command, confidence = self._result(audio, answers)
        seconds = time.perf_counter() - begin
        louder = self._gain.db - heard.gain
        _LOGGER.debug("heard again, %.0f dB louder, upper band filled in: %s: %r", louder, self._band.narrow, words)
        return replace(
            heard,
            command=command,
            text=words,
            confidence=confidence,
            seconds=heard.seconds + seconds,
            finish_seconds=heard.finish_seconds + seconds,
            audio=audio,
            gain=self._gain.db,
            extended=self._band.narrow,
        )

    @property
    def gain(self) -> float:
        """dB by which the microphone's audio is raised now (see Tuning.speech_level)."""
        return self._gain.db

    @property
    def seconds_fed(self) -> float:
        """Audio fed so far, in seconds: the clock of Recognition.start, end and ready."""
        return self._frames * self._frame_seconds + len(self._pending) / (SAMPLE_RATE * SAMPLE_WIDTH)

    # -- one VAD frame at a time ---------------------------------------------------

    def _frame(self, pcm: bytes, answers: frozenset[str]) -> Recognition | None:
        """pcm: a frame as the microphone gave it."""
        begin = time.perf_counter()
        frame = self._prepare(pcm)
        self._frames += 1
        speech = self._vad.is_speech(frame[1])
        before_decoding = time.perf_counter() - begin
        utterance = self._utterance
        if utterance is None:
            self._pre_roll.append(frame)
            self._recent.append(speech)
            if sum(self._recent) < self._start_frames:
                return None
            # The frame just seen is the last of the pre-roll and is counted below.
            utterance = self._utterance = _Utterance(
                self._frames - len(self._pre_roll),
                len(self._pre_roll) - 1,
                speech=sum(self._recent) - speech,
                gain=self._gain.db,
                extended=self._band.narrow,
            )
            utterance.microphone.append(b"".join(given for given, _ in self._pre_roll))
            utterance.audio.append(b"".join(heard for _, heard in self._pre_roll))
            self._decode(utterance, utterance.audio[0], start=True)
            self._pre_roll.clear()
            self._recent.clear()
        elif utterance.decoding:
            utterance.microphone.append(frame[0])
            utterance.audio.append(frame[1])
            self._decode(utterance, frame[1])
        utterance.seconds += before_decoding
        utterance.frames += 1
        utterance.speech += speech
        utterance.silence = 0 if speech else utterance.silence + 1
        level = _db(frame_power(frame[1], len(frame[1]) // SAMPLE_WIDTH)[0])
        if speech:
            utterance.loudest = max(utterance.loudest, level)
        loud = speech and level > utterance.loudest - self.tuning.quiet_db
        utterance.quiet = 0 if loud else utterance.quiet + 1
        if utterance.decoding and (
            utterance.frames > self._max_frames
            or (utterance.frames == self._give_up_frames and not self._has_command_words(utterance))
        ):
            # Not a command: stop decoding, wait for the speech to end.
            begin = time.perf_counter()
            self._decoder.end_utt()
            utterance.seconds += time.perf_counter() - begin
            utterance.decoding = False
        if utterance.silence >= self._end_frames:
            return self._finish(answers)
        # Checked on every quiet frame: the words at the first may not be whole yet.
        if utterance.quiet >= self._command_frames and utterance.decoding and self._complete(utterance, answers):
            return self._finish(answers)
        return None

    def _decode(self, utterance: _Utterance, audio: bytes, start: bool = False) -> None:
        begin = time.perf_counter()
        if start:
            self._decoder.start_utt()
        self._decoder.process_raw(audio)
        utterance.seconds += time.perf_counter() - begin

    def _has_command_words(self, utterance: _Utterance) -> bool:
        begin = time.perf_counter()
        hyp = self._decoder.hyp()
        utterance.seconds += time.perf_counter() - begin
        return hyp is not None and any(_ALTERNATE.sub("", w) in self._command_words for w in hyp.hypstr.split())

    def _complete(self, utterance: _Utterance, answers: frozenset[str]) -> bool:
        """The words so far make a command: no need to wait out the long silence."""
        begin = time.perf_counter()
        hyp = self._decoder.hyp()
        utterance.seconds += time.perf_counter() - begin
        return hyp is not None and self._command(hyp.hypstr, answers) is not None

    def _finish(self, answers: frozenset[str]) -> Recognition:
        utterance = self._utterance
        self._utterance = None
        begin = time.perf_counter()
        audio = b"".join(utterance.audio)
        words, command, confidence = "", None, 0.0
        if utterance.decoding:
            self._decoder.end_utt()
            words, command, confidence = self._result(audio, answers)
        finish = time.perf_counter() - begin
        # Cleaning the noise out delays the audio heard by a frame.
        late = 0 if self._suppressor is None else 1
        start = (utterance.first_frame - late) * self._frame_seconds
        if utterance.speech < self._min_command_frames:
            command = None
        return Recognition(
            command=command,
            text=words,
            confidence=confidence,
            seconds=utterance.seconds + finish,
            heard_speech=command is not None or utterance.speech >= self._min_speech_frames,
            start=start,
            end=start + (utterance.frames - utterance.silence) * self._frame_seconds,
            ready=self._frames * self._frame_seconds,
            finish_seconds=finish,
            audio=audio,
            gain=utterance.gain,
            extended=utterance.extended,
            microphone_audio=b"".join(utterance.microphone),
            given_up=not utterance.decoding,
        )

    def _result(self, audio: bytes, answers: frozenset[str]) -> tuple[str, CommandId | None, float]:
        """The words, the command and the confidence of the utterance just decoded (after end_utt)."""
        hyp = self._decoder.hyp()
        if hyp is None:
            return "", None, 0.0
        command = self._command(hyp.hypstr, answers)
        if command is not None:
            segments = [
                (_ALTERNATE.sub("", seg.word), seg.start_frame, seg.end_frame + 1) for seg in self._decoder.seg() or ()
            ]
            t = self.tuning
            extra = self._extra_speech(audio, segments)
            if (
                extra.before_core > t.max_lead
                or extra.before_first > t.max_lead_unworded
                or extra.after_core > t.max_tail
                or extra.after_last > t.max_unworded
                or extra.hesitation > t.max_hesitation
                or extra.rise > t.max_rise
            ):
                command = None
        words = " ".join(w for w in hyp.hypstr.split() if not w.startswith(_PHONE_PREFIX))
        # The path score is relative to the best senone of each 10 ms frame.
        frames = max(1, self._decoder.n_frames())
        return words, command, hyp.score ** (100 / frames) if hyp.score > 0 else 0.0

    def _extra_speech(self, audio: bytes, segments: list[tuple[str, int, int]]) -> _ExtraSpeech:
        """Speech around the command's words (segments: the decoder's words, first
        and end frames)."""
        frame = SAMPLE_RATE // _SEG_FRAME_RATE
        core = [(start, end) for word, start, end in segments if word in self._core_words]
        loudness = 10 * np.log10(frame_power(audio, frame) + 1.0)
        if not core or core[-1][1] > len(loudness):
            return _ExtraSpeech()
        start, end = core[0][0], core[-1][1]
        level = np.percentile(loudness[start:end], 90)
        loud = loudness > level - self.tuning.tail_db
        words = [seg for seg in segments if not seg[0].startswith(_NOT_WORDS)]
        first, (last_word, last_start, last) = words[0][1], words[-1]
        hesitation = loud[last_start:last] if last_word in _HESITATIONS else []
        following = [word_start for _, word_start, _ in words if word_start >= end]
        after = loudness[following[0] : last] if following else []

        def seconds(frames: Any) -> float:
            return float(np.count_nonzero(frames)) / _SEG_FRAME_RATE

        return _ExtraSpeech(
            before_core=seconds(loud[:start]),
            before_first=seconds(loud[:first]),
            after_core=seconds(loud[end:]),
            after_last=seconds(loud[last:]),
            hesitation=seconds(hesitation),
            rise=float(np.percentile(after, 90) - level) if len(after) else -np.inf,
        )

    def _command(self, hypothesis: str, answers: frozenset[str]) -> CommandId | None:
        words = hypothesis.split()
        if words and words[0].startswith(_PHONE_PREFIX):
            # The onset sound, the one phone a command's path may hold.
            words = words[1:]
        if len(words) > 2 and words[0] == words[-1] in _ONCE:
            return None
        command = self._matcher.match(" ".join(words))
        if command is None:
            return None
        question = self._question[command]
        return command if question is None or question in answers else None

    def _prepare(self, pcm: bytes) -> tuple[bytes, bytes]:
        """A frame as the microphone gave it, and as heard (decoded): cleaned of the
        room's noise, a frame late (see voice.denoise), so both are of the frame before."""
        if self._suppressor is None:
            return pcm, self._as_heard(pcm)
        cleaned = self._suppressor.frame(pcm)
        given, self._given = self._given, pcm
        return given, self._as_heard(cleaned)

    def _cleaned(self, pcm: bytes) -> bytes:
        """Audio cleaned of the room's noise as known now, apart from the stream."""
        return pcm if self._suppressor is None else self._suppressor.clean(pcm)

    def _new_suppressor(self) -> NoiseSuppressor | None:
        t = self.tuning
        if not t.noise_suppression:
            return None
        frame = self._frame_bytes // SAMPLE_WIDTH
        return NoiseSuppressor(frame, SAMPLE_RATE, t.noise_suppression, t.suppression_floor, t.noise_floor**2)

    def _as_heard(self, pcm: bytes) -> bytes:
        """Microphone audio as the decoder hears it: its upper band filled in if narrow,
        raised by the gain, the noise floor added."""
        return self._add_noise(self._gain.apply(self._band.apply(pcm)))

    def _add_noise(self, pcm: bytes) -> bytes:
        if not self.tuning.noise_floor or not pcm:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        samples += self._noise.standard_normal(len(samples), dtype=np.float32) * self.tuning.noise_floor
        return pcm16(samples)

    # -- the grammar ---------------------------------------------------------------

    def _compile(self, content: Content) -> tuple[PhraseMatcher, _Grammar]:
        """The matcher of heard words, and the grammar the decoder listens with.
        Keeps the phrases' own words (not the fillers) for _extra_speech, and with the
        fillers for give_up."""
        phrases: dict[CommandId, list[str]] = {}
        for command, spec in content.commands.items():
            for phrase in spec.phrases:
                words = normalize(phrase)
                if self._pronounceable(words, f"the phrase {phrase!r} of {command}"):
                    phrases.setdefault(command, []).append(" ".join(words))
        if not phrases:
            raise EngineError("no command phrase can be heard: none is in the pronunciation dictionary")
        said = content.fillers
        fillers = {w for w in {*said.before, *said.after} if self._pronounceable((w,), f"the filler {w!r}")}
        before, after = sorted(fillers.intersection(said.before)), sorted(fillers.intersection(said.after))
        self._core_words = {w for items in phrases.values() for p in items for w in p.split()} - fillers
        command_words = self._command_words = self._core_words | fillers
        rhythm = content.rhythm
        cues = [w for text in (rhythm.press_word, rhythm.release_word, *rhythm.count_words) for w in normalize(text)]
        others = sorted({w for w in (*_OTHER_WORDS, *cues) if w not in command_words and self._decoder.lookup_word(w)})
        onset_phones = self._phones("onset_phones")
        other_phones = self._phones("other_phones")
        # Each phone the grammar uses as a word of its own.
        used = [phone for phone in _PHONES if phone in other_phones or phone in onset_phones]
        for i, phone in enumerate(used, 1):
            # Rebuilding the search once, with the last word, is enough.
            self._decoder.add_word(_phone_word(phone), phone, i == len(used))
        others += [_phone_word(phone) for phone in other_phones]
        onset = [_phone_word(phone) for phone in onset_phones]
        every_phrase = sorted({p for items in phrases.values() for p in items})
        other = others if self.tuning.other else []
        grammar = _grammar(every_phrase, onset, before, after, other, self.tuning.max_fillers)
        return PhraseMatcher(phrases, before, after), grammar

    def _phones(self, setting: str) -> list[str]:
        """The phones a setting names, each of the CMU set. Raises OptionError."""
        phones = getattr(self.tuning, setting).split()
        unknown = sorted(set(phones) - set(_PHONES))
        if unknown:
            raise OptionError(f"{setting}: {' '.join(unknown)} not among the phones {' '.join(_PHONES)}")
        return phones

    def _pronounceable(self, words: tuple[str, ...], what: str) -> bool:
        """Every word is in the dictionary, or added to it from _EXTRA_WORDS."""
        for word in words:
            if self._decoder.lookup_word(word):
                continue
            if word in _EXTRA_WORDS:
                self._decoder.add_word(word, _EXTRA_WORDS[word], True)
                continue
            _LOGGER.warning("%s cannot be heard: %r is not in the pronunciation dictionary", what, word)
            return False
        return True


# The decoder's searches: the commands, and one that only carries adapt's audio.
_COMMAND_SEARCH = "commands"
_ADAPT_SEARCH = "adapt"

# Short words often said alone, so that they are heard as themselves rather
# than forced onto the nearest command ("no" onto "no milk"). Not "why" and
# "eight", which together say "wait" (W AY EY T against W EY T): with them,
# 3 clips of "wait" in the dev set (2 of flite's and festival's 4 clean ones)
# were heard as "why eight", and without them all 3 are understood.
_OTHER_WORDS = (
    "yes", "yeah", "no", "nope", "go", "up", "down", "on", "off", "in", "out", "hello", "hi", "bye",
    "thanks", "thank", "sorry", "what", "how", "who", "when", "good", "fine", "sure", "maybe",
    "look", "listen", "come", "here", "there", "this", "that", "it", "is", "the", "a", "and",
    "one", "two", "three", "four", "five", "six", "seven", "nine", "ten", "zero",
)
# The CMU dictionary's phones: as one-phone words they absorb any other speech.
_PHONES = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
).split()
_PHONE_PREFIX = "_"


def _phone_word(phone: str) -> str:
    """The grammar's word for a phone alone: "DH" -> "_dh"."""
    return _PHONE_PREFIX + phone.lower()


# A finite-state grammar: start state, final state, and its transitions (from,
# to, probability[, word]; without a word, an empty one).
_Grammar = tuple[int, int, list[tuple[Any, ...]]]


def _grammar(
    phrases: list[str], onset: list[str], before: list[str], after: list[str], others: list[str], fillers: int
) -> _Grammar:
    """[onset] [before]... phrase [after]... (up to fillers of each), or one or
    more of the other sounds.

    Built as states rather than as JSGF, whose "<other>+" PocketSphinx compiles
    into two copies of the loop, and every word into a state of its own: the
    decoder follows each copy and state every frame (on 60 slow clips of the
    dev set, 194 -> 151 ms median). The probabilities are the JSGF
    grammar's: 1/2 for each side of an alternative or an optional word, shared
    evenly among the words of a choice.
    """
    states = itertools.count()
    start, state = next(states), next(states)
    transitions: list[tuple[Any, ...]] = [(start, state, 0.5)]

    def optional(source: int, words: list[str]) -> int:
        if not words:
            return source
        target = next(states)
        transitions.append((source, target, 0.5))
        transitions.extend((source, target, 0.5 / len(words), word) for word in words)
        return target

    state = optional(state, onset)
    for _ in range(fillers):
        state = optional(state, before)
    phrase_start, phrase_done = state, next(states)
    for phrase in phrases:
        *words, last = phrase.split()
        state, probability = phrase_start, 1 / len(phrases)
        for word in words:
            state, previous = next(states), state
            transitions.append((previous, state, probability, word))
            probability = 1.0
        transitions.append((state, phrase_done, probability, last))
    final = phrase_done
    for _ in range(fillers):
        final = optional(final, after)
    if others:
        # One more sound costs 1/2, as JSGF's "+" does; the first, 1/4.
        loop, looped = next(states), next(states)
        transitions.append((start, loop, 0.25))
        transitions.extend((loop, looped, 1 / len(others), word) for word in others)
        transitions += [(looped, loop, 0.5), (looped, final, 1.0)]
    return start, final, _closed(transitions)


def _closed(transitions: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The transitions with an empty one for each chain of empty ones, at the chain's
    best probability: the decoder follows one empty transition at a time, taking
    them to be closed over (as PocketSphinx's own JSGF compiler leaves them)."""
    empty = {(a, b): p for a, b, p, *word in transitions if not word}
    closed = dict(empty)
    changed = True
    while changed:
        changed = False
        for (a, b), p in list(closed.items()):
            for (c, d), q in empty.items():
                if c == b and a != d and p * q > closed.get((a, d), 0.0):
                    closed[a, d] = p * q
                    changed = True
    return [t for t in transitions if len(t) == 4] + [(a, b, p) for (a, b), p in closed.items()]


# The decoder's frames per second (its default), and how it marks a word's
# alternate pronunciations in its segmentation ("repeat(2)").
_SEG_FRAME_RATE = 100
_ALTERNATE = re.compile(r"\(\d+\)$")
# What the decoder's segmentation holds besides words: silence ("<sil>"), the
# grammar's empty transitions ("(NULL)") and noise ("[NOISE]").
_NOT_WORDS = ("<", "(", "[")
# Fillers nobody says on both sides of one command: heard so, they are a
# sentence's words forced onto fillers. On the dev set, "please X please" was
# only ever non-command speech ("Please repeat after me") or a command heard
# as another; never a command understood.
_ONCE = frozenset({"please"})
# Hesitations that the CMU dictionary lacks.
_EXTRA_WORDS = {"erm": "ER M", "mm": "M", "hmm": "HH M"}
# Fillers that are sounds rather than words: they stretch to fit whatever follows
# a command (see Tuning.max_hesitation).
_HESITATIONS = frozenset({"um", "uh", "er", "erm", "mm", "hmm"})


# A voice raised this much more than when an utterance was heard is worth hearing
# again. First commands of the 16 committed command clips understood live, with
# room hiss, never heard again / at 6 dB / at 3 dB: 6 dB soft 12/13/14, 10 dB soft
# 12/14/14, 14 dB soft 9/14/14; soft non-command clips fired nothing more.
_AGAIN_DB = 3.0


# Steady noise that the voice activity detector took for speech is no voice to
# learn the loudness of. Speech stands out of the noise around it (in the dev
# set: by 30 dB or more in 95% of clean clips, by 8 to 19 dB in 10 dB noise);
# white noise that a fresh detector took for speech, by 5 dB.
_SPEECH_ABOVE_NOISE = 10.0


class _Gain:
    """Raises a soft voice to the loudness the model knows, learnt from her voice and
    the room as the microphone gives them."""

    def __init__(self, tuning: Tuning) -> None:
        self._tuning = tuning
        self._speech: float | None = None
        self._noise: float | None = None
        self.db = 0.0

    def apply(self, pcm: bytes) -> bytes:
        if not self.db or not pcm:
            return pcm
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * np.float32(10 ** (self.db / 20))
        return pcm16(samples)

    def learn(self, speech: bytes, around: bytes) -> None:
        """Update from speech and audio around it (its quietest tenth is the room)."""
        frame = SAMPLE_RATE // _SEG_FRAME_RATE
        speech_db = _db(np.percentile(frame_power(speech, frame), 90))
        noise_db = _db(np.percentile(frame_power(around, frame), 10))
        self._noise = noise_db if self._noise is None else (self._noise + noise_db) / 2
        if speech_db - noise_db >= _SPEECH_ABOVE_NOISE:
            # A louder voice counts at once, so that it is not pushed into clipping;
            # a softer one halfway, so that one odd utterance does not raise it far.
            self._speech = speech_db if self._speech is None else max(speech_db, (self._speech + speech_db) / 2)
        if self._speech is None:
            return
        t = self._tuning
        self.db = float(np.clip(min(t.speech_level - self._speech, t.noise_ceiling - self._noise), 0.0, t.max_gain))


def _db(power: float) -> float:
    return float(10 * np.log10(max(power, 1.0)))


@dataclass(frozen=True)
class _ExtraSpeech:
    """Speech around a command's own words: seconds of it nearly as loud as they
    are (see Tuning.tail_db), and how much louder the words after them are."""

    before_core: float = 0.0
    """Before the command's words."""
    before_first: float = 0.0
    """Before the first word heard (taken for silence)."""
    after_core: float = 0.0
    """After the command's words."""
    after_last: float = 0.0
    """After the last word heard (taken for silence)."""
    hesitation: float = 0.0
    """In the hesitation that is the last word heard, if it is one."""
    rise: float = -np.inf
    """dB by which the words after the command's are louder than them (90th
    percentiles); -inf with none."""


@dataclass
class _Utterance:
    first_frame: int
    """Index of its first frame (pre-roll included) in the stream, counted from 0."""
    frames: int
    """Frames so far, pre-roll included."""
    speech: int = 0
    """Speech frames in it so far."""
    silence: int = 0
    """Non-speech frames at its end so far."""
    quiet: int = 0
    """Quiet frames at its end so far (see Tuning.quiet_db)."""
    loudest: float = 0.0
    """dB of its loudest speech frame so far."""
    seconds: float = 0.0
    gain: float = 0.0
    """dB its audio was raised by."""
    extended: bool = False
    """Its upper band was filled in."""
    decoding: bool = True
    audio: list[bytes] = field(default_factory=list)
    """What was decoded, pre-roll included."""
    microphone: list[bytes] = field(default_factory=list)
    """The same, as the microphone gave it."""


# recognize_file feeds audio as a microphone would, with silence around it so
# that tightly cut clips have a lead-in and room for the endpoint.
_FILE_PADDING = 0.5
_FILE_CHUNK_BYTES = int(0.03 * SAMPLE_RATE) * SAMPLE_WIDTH
# Enough of a file to learn its voice and room from: learning costs about 6% of
# the speech's length, which for an hour-long file would be minutes.
_ADAPT_SECONDS = 30


def recognize_file(
    recognizer: Recognizer, path: str | os.PathLike[str], answers: frozenset[str] = frozenset()
) -> Recognition:
    """The first command in a WAV file, else its longest non-command utterance.

    The same settings as live, heard as a session that has already heard the
    file's voice and room: read_wav, 30 ms chunks, flush. Times are in seconds
    of the file. Raises AudioFileError.
    """
    return pick(hear_file(recognizer, path, answers))


def pick(results: list[Recognition]) -> Recognition:
    """What a file says: its first command, else its longest speech, else nothing."""
    for result in results:
        if result.command is not None:
            return result
    speech = [r for r in results if r.heard_speech]
    if speech:
        return max(speech, key=lambda r: r.end - r.start)
    return Recognition(None, "", 0.0, 0.0, False, 0.0, 0.0)


def hear_file(
    recognizer: Recognizer, path: str | os.PathLike[str], answers: frozenset[str] = frozenset()
) -> list[Recognition]:
    """Every utterance of a WAV file, as recognize_file hears them."""
    pcm = read_wav(path)
    silence = bytes(int(_FILE_PADDING * SAMPLE_RATE) * SAMPLE_WIDTH)
    # Each file is a session of its own that has already heard the file's voice
    # and room. Only the voice activity detector runs on (see reset), so a file
    # after others can be heard a little otherwise than alone: a real "yes"
    # ending in a soft "um" was "yes, um" after others, "previous, um" alone.
    recognizer.reset(new_session=True)
    recognizer.adapt(pcm[: _ADAPT_SECONDS * SAMPLE_RATE * SAMPLE_WIDTH])
    offset = recognizer.seconds_fed + _FILE_PADDING
    results = []
    for chunk in chunks(silence + pcm + silence, _FILE_CHUNK_BYTES):
        results += recognizer.feed(chunk, answers)
    results += recognizer.flush(answers)
    return [
        replace(r, start=max(0.0, r.start - offset), end=max(0.0, r.end - offset), ready=r.ready - offset)
        for r in results
    ]


def model_paths() -> tuple[Path, Path]:
    """PocketSphinx's English acoustic model folder and pronunciation dictionary."""
    try:
        import pocketsphinx
    except ImportError as exc:
        raise EngineError(f"pocketsphinx is not installed ({exc}); install it with: pip install pocketsphinx") from None
    model = Path(pocketsphinx.get_model_path()) / "en-us"
    hmm, dictionary = model / "en-us", model / "cmudict-en-us.dict"
    for path in (hmm, dictionary):
        if not path.exists():
            raise EngineError(f"the PocketSphinx English model is missing: {path} not found")
    return hmm, dictionary


def _load_engine(tuning: Tuning, profile: Path | None) -> tuple[Any, Any]:
    """The decoder (no language model: the grammar is added after) and the VAD."""
    hmm, dictionary = model_paths()  # first: it says so if PocketSphinx is missing
    import pocketsphinx

    if profile is not None and not profile.is_file():
        raise EngineError(f"no voice profile at {profile}")
    try:
        decoder = pocketsphinx.Decoder(
            hmm=str(hmm),
            dict=str(dictionary),
            lm=None,
            logfn=os.devnull,
            # The lattice pass costs ~0.2 s an utterance and found fewer commands.
            bestpath=False,
            wip=tuning.word_penalty,
            silprob=tuning.silence_prob,
            pip=tuning.phone_penalty,
            **({"mllr": str(profile)} if profile is not None else {}),
        )
        vad = pocketsphinx.Vad(tuning.vad_mode, SAMPLE_RATE, tuning.frame_seconds)
    except (RuntimeError, ValueError) as exc:
        if profile is not None:
            raise EngineError(
                f"cannot start PocketSphinx with the voice profile {profile} (learn it again: run.py enroll): {exc}"
            ) from None
        raise EngineError(f"cannot start PocketSphinx: {exc}") from None
    return decoder, vad
