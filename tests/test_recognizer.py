"""The command recognizer on committed clips (tests/data/clips) and real human speech (tests/data/speech)."""

from __future__ import annotations

import builtins
import shutil
from pathlib import Path

import numpy as np
import pytest

from voice.audio import SAMPLE_RATE, SAMPLE_WIDTH, chunks, pcm16, read_wav, write_wav
from voice.commands import CommandId
from voice.content import DEFAULT_DIR, load
from voice.errors import AudioFileError, EngineError, OptionError
from voice.recognizer import Recognition, Recognizer, _closed, _grammar, hear_file, recognize_file

from .shared import CLIPS, clip_rows

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "speech" / "words"


COMMAND_CLIPS = [row for row in clip_rows() if row["expected"]]
OTHER_CLIPS = [row for row in clip_rows() if not row["expected"]]


def answers_of(row: dict[str, str]) -> frozenset[str]:
    return frozenset(row["answers"].split())


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(load())


def real(word: str) -> list[Path]:
    return sorted((SPEECH / word).glob("*.wav"))


@pytest.mark.parametrize("row", COMMAND_CLIPS, ids=lambda row: row["file"])
def test_command_clips_are_recognized(recognizer: Recognizer, row: dict[str, str]) -> None:
    heard = recognize_file(recognizer, CLIPS / row["file"], answers_of(row))
    assert heard.command == CommandId(row["expected"]), heard.text


@pytest.mark.parametrize("row", OTHER_CLIPS, ids=lambda row: row["file"])
def test_non_command_clips_fire_nothing(recognizer: Recognizer, row: dict[str, str]) -> None:
    heard = recognize_file(recognizer, CLIPS / row["file"])
    assert heard.command is None, heard.text
    assert heard.heard_speech


def test_real_no_fires_nothing_and_never_no_milk(recognizer: Recognizer) -> None:
    fired = {path.name: recognize_file(recognizer, path).command for path in real("no")}
    assert {name: command for name, command in fired.items() if command is not None} == {}


@pytest.mark.parametrize("word", ["yes", "go"])
def test_real_yes_and_go_almost_never_fire_when_nothing_is_asked(recognizer: Recognizer, word: str) -> None:
    fired = {path.name: recognize_file(recognizer, path).command for path in real(word)[:20]}
    assert sum(command is not None for command in fired.values()) <= 1, fired


# Real "yes" is often heard as "yeah": 8 of these 10 were understood before "yeah" was a phrase of yes.
@pytest.mark.parametrize("word, command, least", [("no", CommandId.NO, 5), ("yes", CommandId.YES, 9)])
def test_real_yes_and_no_answer_a_yes_or_no_question(
    recognizer: Recognizer, word: str, command: CommandId, least: int
) -> None:
    heard = [recognize_file(recognizer, path, frozenset({"yes_no"})).command for path in real(word)[:10]]
    assert heard.count(command) >= least, heard


# Real answers, each heard by the loop of other sounds from a faint first sound on
# when no onset sound may come before a command (of the real clips, the two
# left once a pause between words cost nothing: silence_prob).
@pytest.mark.parametrize("word, name", [("yes", "798f702a"), ("yes", "c9e251d2")])
def test_a_faint_sound_before_a_command_is_not_taken_for_other_speech(word: str, name: str) -> None:
    path, asked = SPEECH / word / f"{name}.wav", frozenset({"yes_no"})
    heard = recognize_file(Recognizer(load()), path, asked)
    without = recognize_file(Recognizer(load(), onset_phones=""), path, asked)
    assert heard.command == CommandId(word), heard.text
    assert without.command is None, without.text


def test_single_phones_among_other_sounds_turn_away_what_the_words_miss() -> None:
    # "He has got such tiny fingers."; with no phones among the other sounds, "back okay previous".
    path = CLIPS / "tiny_fingers.wav"
    heard = recognize_file(Recognizer(load()), path)
    without = recognize_file(Recognizer(load(), other_phones=""), path)
    assert heard.command is None, heard.text
    assert without.command == CommandId.BACK, without.text


def _accepted(grammar: tuple[int, int, list[tuple]], most_words: int = 6) -> dict[str, float]:
    """Every word sequence the grammar accepts, up to most_words, at its best
    probability, following one empty transition at a time as the decoder does."""
    start, final, transitions = grammar
    # (state, words so far, whether the last transition was empty): probability.
    paths, found = {(start, (), False): 1.0}, {}
    for _ in range(2 * most_words + 2):
        for (state, words, empty), p in list(paths.items()):
            for source, target, q, *word in transitions:
                if source == state and (word or not empty) and len(words) + len(word) <= most_words:
                    key = (target, words + tuple(word), not word)
                    if p * q > paths.get(key, 0.0):
                        paths[key] = p * q
    for (state, words, _), p in paths.items():
        if state == final:
            found[" ".join(words)] = max(p, found.get(" ".join(words), 0.0))
    return found


def test_the_grammar_takes_a_phrase_with_fillers_around_it_or_other_sounds() -> None:
    accepted = _accepted(_grammar(["next", "go back"], ["_p"], ["um"], ["please"], ["yes", "_ah"], fillers=2))
    for words in ("next", "go back", "_p next", "um go back", "_p um um next please please", "yes", "yes _ah yes"):
        assert words in accepted, words
    for words in ("", "go", "back", "um um um next", "next _p", "next yes", "um", "please next"):
        assert words not in accepted, words
    # As JSGF's "[<onset>] [<before>] <phrase> [<after>] | <other>+" weighs them.
    one = _accepted(_grammar(["next", "go back"], ["_p"], ["um"], ["please"], ["yes", "_ah"], fillers=1))
    assert one["next"] == pytest.approx(0.5 * 0.5 * 0.5 * (1 / 2) * 0.5)
    assert one["_p um go back please"] == pytest.approx(0.5 * 0.5 * 0.5 * (1 / 2) * 0.5)
    assert one["yes _ah"] == pytest.approx(0.25 * (1 / 2) * 0.5 * (1 / 2))
    assert "um um next" not in one
    assert set(_accepted(_grammar(["next"], [], [], [], [], fillers=1))) == {"next"}


def test_chains_of_empty_transitions_are_closed_over_at_their_best_probability() -> None:
    # 0 -> 1 -> 2 -> 3 skips three optional words; 0 -> 3 also directly, less likely.
    words = [(1, 3, 0.9, "word"), (3, 0, 1.0, "loop")]
    closed = _closed([(0, 1, 0.5), (1, 2, 0.5), (2, 3, 0.5), (0, 3, 0.1), *words])
    assert sorted(closed, key=str) == sorted(
        [(0, 1, 0.5), (0, 2, 0.25), (0, 3, 0.125), (1, 2, 0.5), (1, 3, 0.25), (2, 3, 0.5), *words], key=str
    )
    assert _closed([(0, 1, 0.5), (1, 0, 0.5)]) == [(0, 1, 0.5), (1, 0, 0.5)]


@pytest.mark.parametrize("setting", ["onset_phones", "other_phones"])
def test_phone_settings_must_be_phones(setting: str) -> None:
    with pytest.raises(OptionError, match=f"{setting}: XX not among the phones"):
        Recognizer(load(), **{setting: "DH XX"})


def test_speech_taken_for_silence_after_a_command_unmakes_it() -> None:
    # "Stop it, you two." heard as "stop" and a long silence that holds the rest.
    clip = CLIPS / "stop_it_you_two_espeak.wav"
    heard = recognize_file(Recognizer(load()), clip)
    unlimited = recognize_file(Recognizer(load(), max_unworded=1e9), clip)
    assert heard.command is None, heard.text
    assert (unlimited.command, unlimited.text) == (CommandId.STOP, "stop")


def test_a_filler_much_louder_than_the_command_s_words_unmakes_it() -> None:
    # A real "stop" heard as "next, oh": the "st" as next, its vowel as the filler.
    clip = SPEECH / "stop" / "3d86b69a.wav"
    heard = recognize_file(Recognizer(load()), clip)
    unlimited = recognize_file(Recognizer(load(), max_rise=1e9), clip)
    assert heard.command is None, heard.text
    assert (unlimited.command, unlimited.text) == (CommandId.NEXT, "next oh")


@pytest.mark.parametrize(
    ("file", "rule", "other_rule", "command"),
    [
        # "We ran out of milk" heard as a filler ("okay, again")...
        ("out_of_milk_again.wav", "max_lead", "max_lead_unworded", CommandId.REPEAT),
        # ...and, said quickly, as a silence ("continue").
        ("out_of_milk_again_fast.wav", "max_lead_unworded", "max_lead", CommandId.RESUME),
    ],
)
def test_speech_before_a_command_s_words_unmakes_it(file: str, rule: str, other_rule: str, command: CommandId) -> None:
    clip = CLIPS / file
    heard = recognize_file(Recognizer(load(), **{other_rule: 1e9}), clip)
    unlimited = recognize_file(Recognizer(load(), **{rule: 1e9, other_rule: 1e9}), clip)
    assert heard.command is None, heard.text
    assert unlimited.command is command


def test_real_stop_is_heard_as_stop(recognizer: Recognizer) -> None:
    heard = [recognize_file(recognizer, path).command for path in real("stop")[:10]]
    assert heard.count(CommandId.STOP) >= 5, heard


@pytest.mark.parametrize("file", ["baby_asleep.wav", "next_feed.wav"])
def test_speech_without_a_command_word_is_given_up_on(file: str) -> None:
    content = load()
    whole = recognize_file(Recognizer(content, give_up=0.0), CLIPS / file)
    cut = recognize_file(Recognizer(content, give_up=1.0), CLIPS / file)
    assert whole.text and whole.end > 1.0
    assert (cut.command, cut.text, cut.heard_speech, cut.end) == (None, "", True, whole.end)


def test_speech_with_a_command_word_is_heard_out() -> None:
    content = load()
    whole = recognize_file(Recognizer(content, give_up=0.0), CLIPS / "go_back_to_sleep.wav")
    early = recognize_file(Recognizer(content, give_up=1.0), CLIPS / "go_back_to_sleep.wav")
    assert "go back" in whole.text and whole.end > 1.0
    assert (early.command, early.text) == (whole.command, whole.text)


@pytest.mark.parametrize(
    "file, command",
    [("please_repeat_after_me.wav", CommandId.REPEAT), ("no_milk_in_the_fridge.wav", CommandId.NO_MILK)],
)
def test_more_words_after_a_command_heard_as_one_long_hesitation_unmake_it(
    recognizer: Recognizer, file: str, command: CommandId
) -> None:
    heard = recognize_file(recognizer, CLIPS / file)
    unlimited = recognize_file(Recognizer(load(), max_hesitation=1e9), CLIPS / file)
    assert heard.command is None, heard.text
    assert (unlimited.command, unlimited.text.split()[-1]) == (command, "uh")


def test_a_soft_hesitation_after_a_command_does_not_unmake_it(recognizer: Recognizer) -> None:
    # The reverberant tail, heard as an "um" 0.22 s long, is all more than 10 dB
    # softer than the command: no more words.
    heard = recognize_file(recognizer, CLIPS / "no_milk_reverb.wav")
    assert (heard.command, heard.text.split()[-1]) == (CommandId.NO_MILK, "um")


def test_words_that_never_end_a_command_are_not_heard_after_one(recognizer: Recognizer, tmp_path: Path) -> None:
    # "Please repeat after me" heard as "please repeat that, can" while "can" could come after a command.
    fillers = load().fillers
    either_side = tmp_path / "fillers.yaml"
    either_side.write_text(
        f"fillers:\n  before: {list(fillers.before)}\n  after: {list(fillers.before)}\n", encoding="utf-8"
    )
    assert "can" in fillers.before and "can" not in fillers.after
    clip = CLIPS / "please_repeat_after_me_slt.wav"
    assert recognize_file(recognizer, clip).command is None
    assert recognize_file(Recognizer(load(overrides=[either_side])), clip).command is CommandId.REPEAT


@pytest.mark.parametrize("file, command", [("left.wav", CommandId.LEFT), ("right.wav", CommandId.RIGHT)])
def test_left_and_right_only_answer_the_side_question(recognizer: Recognizer, file: str, command: CommandId) -> None:
    assert recognize_file(recognizer, CLIPS / file).command is None
    assert recognize_file(recognizer, CLIPS / file, frozenset({"yes_no"})).command is None
    assert recognize_file(recognizer, CLIPS / file, frozenset({"side"})).command is command


def at_level(pcm: bytes, db: float, hiss: float = 0.0) -> bytes:
    """Audio db louder (or quieter, below 0) with room noise of that standard deviation
    under it, as a soft voice, a microphone set low or a noisy room give it."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * 10 ** (db / 20)
    samples += np.random.default_rng(3).standard_normal(len(samples)) * hiss
    return pcm16(samples)


def stream(recognizer: Recognizer, pcm: bytes, hiss: float = 3.0) -> list[Recognition]:
    """What a live stream of this audio, with silence around it (a faint hiss), gives at first hearing."""
    pad = at_level(bytes(SAMPLE_RATE * SAMPLE_WIDTH), 0.0, hiss=hiss)
    return [r for chunk in chunks(pad + pcm + pad, 960) for r in recognizer.feed(chunk)] + recognizer.flush()


def hear(recognizer: Recognizer, pcm: bytes, hiss: float = 3.0) -> list[Recognition]:
    """The same, each utterance taken for hers (learnt from, heard again if need
    be: Recognizer.hers), as the listener does."""
    return [recognizer.hers(r) for r in stream(recognizer, pcm, hiss)]


def in_noise(pcm: bytes, snr_db: float) -> bytes:
    """The clip under steady white noise snr_db below its speech (a fan, a hiss)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    speech_power = np.mean(samples[np.abs(samples) > 100] ** 2)
    return at_level(pcm, 0.0, hiss=np.sqrt(speech_power / 10 ** (snr_db / 10)))


# Understood in white noise 20 dB below the voice (six draws of it) with the noise
# taken out; without, only the last three were.
NOISY = ("carry_on.wav", "where_am_i.wav", "other_side.wav", "contacts.wav", "right.wav", "yes.wav")
NOISY += ("no_milk.wav", "slower.wav", "faster.wav")
NOISY_CLIPS = [row for row in COMMAND_CLIPS if row["file"] in NOISY]


# Each heard by a recognizer of its own: the voice activity detector's state, which
# the files heard before leave, tips a clip at the edge one way or the other.
@pytest.mark.parametrize("row", NOISY_CLIPS, ids=lambda row: row["file"])
def test_a_command_in_steady_noise_is_understood(row: dict[str, str], tmp_path: Path) -> None:
    noisy = tmp_path / row["file"]
    write_wav(noisy, in_noise(read_wav(CLIPS / row["file"]), 20.0))
    assert recognize_file(Recognizer(load()), noisy, answers_of(row)).command == CommandId(row["expected"])


# A sentence turned away only by the words after its command, which noise 10 dB
# below it drowns: "please repeat, okay" (README, "Known limits").
REST_LOST_IN_NOISE = {"please_repeat_after_me_rp.wav"}


def test_speech_in_steady_noise_that_is_not_a_command_fires_nothing(tmp_path: Path) -> None:
    fired = {}
    for snr_db in (20.0, 10.0):
        for row in [row for row in OTHER_CLIPS if snr_db > 10.0 or row["file"] not in REST_LOST_IN_NOISE]:
            noisy = tmp_path / row["file"]
            write_wav(noisy, in_noise(read_wav(CLIPS / row["file"]), snr_db))
            fired[row["file"], snr_db] = recognize_file(Recognizer(load()), noisy).command
    assert {key: command for key, command in fired.items() if command is not None} == {}


def test_steady_noise_alone_teaches_nothing_of_her_voice(tmp_path: Path) -> None:
    # Her loudness is learnt from the microphone's audio: learnt from the audio cleaned
    # of this noise, a minute of it (0.8 s of it taken for speech) was a voice to raise
    # 24 dB, and the command after it was heard as "repeat".
    rng = np.random.default_rng(0)
    clip = np.frombuffer(read_wav(CLIPS / "next.wav"), dtype="<i2").astype(np.float64)
    audio = np.concatenate([np.zeros(60 * SAMPLE_RATE), clip, np.zeros(SAMPLE_RATE)])
    path = tmp_path / "fan.wav"
    write_wav(path, pcm16(audio + rng.normal(0, 100, len(audio))))
    recognizer = Recognizer(load())
    heard = hear_file(recognizer, path)
    assert recognizer.gain == 0.0
    assert [r.command for r in heard if r.command not in (None, CommandId.NEXT)] == []


SOFT = ("next.wav", "stop.wav", "where_am_i.wav", "um_next_please.wav")
SOFT_CLIPS = [row for row in COMMAND_CLIPS if row["file"] in SOFT]


@pytest.mark.parametrize("row", SOFT_CLIPS, ids=lambda row: row["file"])
def test_a_soft_voice_is_raised_and_understood(recognizer: Recognizer, row: dict[str, str], tmp_path: Path) -> None:
    soft = tmp_path / row["file"]
    write_wav(soft, at_level(read_wav(CLIPS / row["file"]), -20.0))
    assert recognize_file(recognizer, soft).command == CommandId(row["expected"])


def test_soft_speech_that_is_not_a_command_fires_nothing(recognizer: Recognizer, tmp_path: Path) -> None:
    fired = {}
    for row in OTHER_CLIPS:
        soft = tmp_path / row["file"]
        write_wav(soft, at_level(read_wav(CLIPS / row["file"]), -20.0))
        fired[row["file"]] = recognize_file(recognizer, soft).command
    assert {file: command for file, command in fired.items() if command is not None} == {}


def test_live_a_soft_voice_is_understood_once_its_level_is_learnt() -> None:
    recognizer = Recognizer(load())
    assert recognizer.gain == 0.0
    soft = at_level(read_wav(CLIPS / "stop.wav"), -20.0, hiss=3.0)
    hear(recognizer, soft)  # heard before its level is known: learnt from, if not understood
    assert recognizer.gain > 10.0
    heard = [r.command for _ in range(2) for r in hear(recognizer, soft) if r.command]
    assert heard == [CommandId.STOP, CommandId.STOP]
    # Her voice at full strength is not raised, from that utterance on, lest it clip.
    hear(recognizer, read_wav(CLIPS / "repeat.wav"))
    assert recognizer.gain == 0.0


@pytest.mark.parametrize("row", SOFT_CLIPS, ids=lambda row: row["file"])
def test_live_a_soft_voice_s_first_command_is_heard_again_once_its_level_is_learnt(row: dict[str, str]) -> None:
    soft = at_level(read_wav(CLIPS / row["file"]), -20.0, hiss=3.0)
    [first] = [r for r in stream(Recognizer(load()), soft) if r.heard_speech]
    assert first.command is None, "understood before its level was known: nothing to hear again"
    [heard] = [r for r in hear(Recognizer(load()), soft) if r.heard_speech]
    assert heard.command == CommandId(row["expected"]) and heard.gain > 10.0


# Sentences turned away only by the words after their command, which a soft voice
# loses in the hiss (README, "Known limits").
REST_LOST_IN_HISS = {"please_repeat_after_me_slt.wav", "please_repeat_after_me_rp.wav"}


def test_live_soft_speech_that_is_not_a_command_fires_nothing_heard_again() -> None:
    fired, raised = {}, 0
    for row in [row for row in OTHER_CLIPS if row["file"] not in REST_LOST_IN_HISS]:
        recognizer = Recognizer(load())
        heard = hear(recognizer, at_level(read_wav(CLIPS / row["file"]), -20.0, hiss=3.0))
        raised += recognizer.gain > 10.0  # so heard again
        fired[row["file"]] = [r.command for r in heard if r.command is not None]
    assert {file: commands for file, commands in fired.items() if commands} == {}
    assert raised >= len(OTHER_CLIPS) // 2


def test_an_utterance_understood_or_heard_at_its_level_is_not_heard_again() -> None:
    recognizer = Recognizer(load())
    for file, command in (("stop.wav", CommandId.STOP), ("baby_asleep.wav", None)):
        [heard] = [r for r in stream(recognizer, read_wav(CLIPS / file)) if r.heard_speech]
        assert heard.command is command and recognizer.hers(heard) is heard


def test_speech_given_up_on_is_not_heard_again() -> None:
    recognizer = Recognizer(load(), give_up=1.0)
    soft = at_level(read_wav(CLIPS / "go_back_to_sleep.wav"), -20.0, hiss=3.0)
    [heard] = [r for r in stream(recognizer, soft) if r.heard_speech]
    again = recognizer.hers(heard)
    assert heard.given_up and recognizer.gain - heard.gain > 10.0
    assert again is heard


NARROWBAND_CLIPS = [row for row in COMMAND_CLIPS if row["file"].endswith("_8k.wav")]


@pytest.mark.parametrize("row", NARROWBAND_CLIPS, ids=lambda row: row["file"])
def test_a_narrowband_voice_is_understood_with_its_upper_band_filled_in(row: dict[str, str]) -> None:
    heard = recognize_file(Recognizer(load()), CLIPS / row["file"], answers_of(row))
    assert heard.extended and heard.command == CommandId(row["expected"])


# The clips' voice is one the recognizer needs this for ("switch breasts" is
# understood either way).
@pytest.mark.parametrize("file", ["left_8k.wav", "too_slow_8k.wav", "which_step_8k.wav"])
def test_a_narrowband_voice_is_missed_without_its_upper_band_filled_in(file: str) -> None:
    row = next(row for row in NARROWBAND_CLIPS if row["file"] == file)
    never_narrow = recognize_file(Recognizer(load(), narrow_db=-200.0), CLIPS / file, answers_of(row))
    assert not never_narrow.extended and never_narrow.command is None


def test_a_wideband_voice_is_heard_as_it_is() -> None:
    assert not recognize_file(Recognizer(load()), CLIPS / "back.wav").extended


@pytest.mark.parametrize("file", ["switch_breasts_8k.wav", "too_slow_8k.wav"])
def test_live_a_narrowband_voice_s_first_command_is_heard_again_once_its_band_is_learnt(file: str) -> None:
    row = next(row for row in NARROWBAND_CLIPS if row["file"] == file)
    pcm = read_wav(CLIPS / file)
    # A narrowband microphone's silence is narrowband too: no hiss above 4 kHz.
    [first] = [r for r in stream(Recognizer(load()), pcm, hiss=0.0) if r.heard_speech]
    assert first.command is None and not first.extended
    [heard] = [r for r in hear(Recognizer(load()), pcm, hiss=0.0) if r.heard_speech]
    assert heard.command == CommandId(row["expected"]) and heard.extended


def test_live_a_noisy_room_is_not_raised_past_the_noise_ceiling() -> None:
    soft = read_wav(CLIPS / "repeat.wav")
    quiet_room, noisy_room = Recognizer(load()), Recognizer(load())
    hear(quiet_room, at_level(soft, -24.0, hiss=3.0))
    hear(noisy_room, at_level(soft, -24.0, hiss=31.6))  # the room at 30 dB
    # Its quietest tenth is up to 3 dB below the room's average.
    assert noisy_room.gain <= noisy_room.tuning.noise_ceiling - 30.0 + 3.0 < quiet_room.gain


def test_a_new_session_forgets_the_gain() -> None:
    recognizer = Recognizer(load())
    hear(recognizer, at_level(read_wav(CLIPS / "repeat.wav"), -24.0, hiss=3.0))
    assert recognizer.gain > 10.0
    recognizer.reset()
    assert recognizer.gain > 10.0, "a restarted microphone is still her voice"
    recognizer.reset(new_session=True)
    assert recognizer.gain == 0.0


def test_a_phrase_added_to_the_content_is_heard_with_no_code_change(recognizer: Recognizer, tmp_path: Path) -> None:
    clip = CLIPS / "move_along.wav"
    assert recognize_file(recognizer, clip).command is None
    content_dir = tmp_path / "content"
    shutil.copytree(DEFAULT_DIR, content_dir)
    commands = content_dir / "commands.yaml"
    text = commands.read_text(encoding="utf-8")
    old = "phrases: [next, "
    assert old in text
    commands.write_text(text.replace(old, "phrases: [next, move along, ", 1), encoding="utf-8")
    assert recognize_file(Recognizer(load(content_dir)), clip).command is CommandId.NEXT


def test_streaming_in_odd_chunks_finds_the_command_with_its_times(recognizer: Recognizer) -> None:
    pcm = bytes(SAMPLE_RATE) + read_wav(CLIPS / "stop.wav") + bytes(SAMPLE_RATE)
    recognizer.reset()
    start = recognizer.seconds_fed
    heard: list[Recognition] = []
    for chunk in chunks(pcm, 334):
        heard += recognizer.feed(chunk)
    heard += recognizer.flush()
    commands = [r for r in heard if r.command is not None]
    assert [r.command for r in commands] == [CommandId.STOP]
    clip_seconds = len(pcm) / (2 * SAMPLE_RATE)
    stop = commands[0]
    # The speech sits in the middle second; the result comes soon after it ends.
    assert start + 0.3 < stop.start < stop.end < start + clip_seconds - 0.5
    assert stop.end < stop.ready < stop.end + 1.0
    assert 0.0 < stop.confidence <= 1.0


def test_the_answer_to_a_command_comes_no_later_as_a_session_goes_on() -> None:
    # The voice activity detector, adapting, hangs on to speech longer and longer
    # after its end (on it alone, these delays went from 0.27 to 0.36 s).
    rng = np.random.default_rng(0)
    recognizer = Recognizer(load())
    delays = []
    for name in ["next", "repeat", "help", "stop"] * 6:
        speech = np.frombuffer(read_wav(CLIPS / f"{name}.wav"), dtype="<i2")
        end = recognizer.seconds_fed + 1.5 + np.nonzero(np.abs(speech) > 300)[0][-1] / SAMPLE_RATE
        hiss = [pcm16(rng.standard_normal(int(seconds * SAMPLE_RATE)) * 3.0) for seconds in (1.5, 1.0)]
        heard = [r for chunk in chunks(hiss[0] + speech.tobytes() + hiss[1], 960) for r in recognizer.feed(chunk)]
        assert [r.command.value for r in heard if r.command] == [name]
        delays += [r.ready - end for r in heard if r.command]
    assert np.mean(delays[-4:]) < np.mean(delays[:4]) + 0.02, delays


def test_silence_gives_nothing(recognizer: Recognizer) -> None:
    recognizer.reset()
    heard = recognizer.feed(bytes(3 * 2 * SAMPLE_RATE)) + recognizer.flush()
    # On a fresh stream the VAD's first frames start an utterance that is no speech.
    assert [r for r in heard if r.heard_speech] == []


def test_a_click_and_a_fresh_stream_are_not_speech() -> None:
    # A new VAD takes the first frames of a stream for speech; a 60 ms click is no word.
    rng = np.random.default_rng(1)
    click = (rng.standard_normal(int(0.06 * SAMPLE_RATE)) * 8000).astype("<i2").tobytes()
    recognizer = Recognizer(load())
    second = bytes(SAMPLE_RATE * SAMPLE_WIDTH)
    heard = recognizer.feed(second + click + second) + recognizer.flush()
    assert len(heard) == 2, "the stream's start and the click should each have started an utterance"
    assert [(r.heard_speech, r.command) for r in heard] == [(False, None)] * len(heard)


def test_a_crisp_short_word_is_speech() -> None:
    # A real "stop" of which the VAD takes 0.14 s for speech.
    path = SPEECH / "stop" / "220ee1ef.wav"
    heard = recognize_file(Recognizer(load()), path)
    stricter = recognize_file(Recognizer(load(), min_command_speech=0.2), path)
    assert (heard.command, heard.heard_speech) == (CommandId.STOP, True)
    assert (stricter.command, stricter.heard_speech) == (None, False)


def test_reset_drops_a_partial_utterance(recognizer: Recognizer) -> None:
    speech = read_wav(CLIPS / "stop.wav")
    recognizer.reset()
    recognizer.feed(bytes(SAMPLE_RATE) + speech[: len(speech) * 2 // 3])
    recognizer.reset()
    assert recognizer.flush() == []


def test_recognize_file_raises_for_a_bad_file(recognizer: Recognizer, tmp_path: Path) -> None:
    with pytest.raises(AudioFileError):
        recognize_file(recognizer, tmp_path / "missing.wav")


def test_missing_pocketsphinx_is_an_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pocketsphinx(name: str, *args: object, **kwargs: object) -> object:
        if name == "pocketsphinx":
            raise ImportError("No module named 'pocketsphinx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pocketsphinx)
    with pytest.raises(EngineError, match="pocketsphinx is not installed"):
        Recognizer(load())
