"""Speech synthesis through pyttsx3 and espeak-ng (real audio), its cache, and the tones."""

import threading
import wave

import numpy as np
import pytest

from voice.errors import EngineError, OptionError
from voice.playback import Sound
from voice.speech import (
    RATE_RANGE,
    TONE_KINDS,
    TONE_LEVEL,
    Pyttsx3Synthesizer,
    check_rate,
    tone,
    voices,
)

TEXT = "Press gently back towards your chest, then squeeze."
WAIT = 30.0


def samples(sound: Sound) -> np.ndarray:
    return np.frombuffer(sound.pcm, "<i2").astype(np.float64)


def dbfs(sound: Sound) -> float:
    rms = np.sqrt(np.mean(np.square(samples(sound))))
    return 20 * np.log10(max(rms, 1e-9) / 32768)


def snapshot(directory):
    """Every file in the cache with its modification time."""
    return {path.name: path.stat().st_mtime_ns for path in directory.iterdir()}


@pytest.fixture
def synth(tmp_path):
    return Pyttsx3Synthesizer(tmp_path / "cache")


def test_synthesizes_a_mono_16_bit_wav_of_plausible_length(synth):
    sound = synth.synthesize(TEXT)
    path = synth.cache_path(TEXT)
    header = path.read_bytes()[:12]
    assert header[:4] == b"RIFF" and header[8:] == b"WAVE"
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        assert wav.readframes(wav.getnframes()) == sound.pcm
    assert sound.rate == 22050
    assert dbfs(sound) > -35, "speech should not be silent"
    words = len(TEXT.split())
    assert 0.15 * words < sound.duration < 1.0 * words


def test_a_cached_text_is_read_back_not_synthesized_again(synth, tmp_path):
    first = synth.synthesize(TEXT)
    before = snapshot(synth.cache_dir)
    assert list(before) == [synth.cache_path(TEXT).name]
    again = synth.synthesize(TEXT)
    # A new synthesizer on the same cache, as after a restart.
    restarted = Pyttsx3Synthesizer(tmp_path / "cache").synthesize(TEXT)
    assert again.pcm == first.pcm == restarted.pcm
    assert snapshot(synth.cache_dir) == before


def test_slow_speech_is_longer_and_cached_apart(synth):
    normal = synth.synthesize("Call 0 8 0 0, 1 2 3 4 5 6.")
    slow = synth.synthesize("Call 0 8 0 0, 1 2 3 4 5 6.", slow=True)
    assert slow.duration > 1.2 * normal.duration
    assert synth.cache_path("x", slow=True) != synth.cache_path("x")


def test_voice_and_rate_each_get_their_own_audio(tmp_path):
    british = Pyttsx3Synthesizer(tmp_path, voice="gmw/en", rate=175).synthesize(TEXT)
    american = Pyttsx3Synthesizer(tmp_path, voice="gmw/en-us", rate=175).synthesize(TEXT)
    fast = Pyttsx3Synthesizer(tmp_path, voice="gmw/en", rate=300).synthesize(TEXT)
    assert british.pcm != american.pcm
    assert fast.duration < british.duration
    assert len(list(tmp_path.glob("*.wav"))) == 3


def test_nothing_reaches_stdout(synth, capfd):
    synth.synthesize("A text never said before.")
    synth.synthesize("A text never said before.", slow=True)
    out, _ = capfd.readouterr()
    assert out == ""


def test_other_output_still_reaches_stdout_while_synthesizing(synth, capsys):
    print("before")
    synth.synthesize("Something to say.")
    print("after")
    assert capsys.readouterr().out == "before\nafter\n"


def test_prepare_fills_the_cache_and_leaves_no_temporary_files(synth):
    texts = ["One.", "Two.", "Three.", "One."]
    synth.prepare(texts)
    assert sorted(p.name for p in synth.cache_dir.iterdir()) == sorted({synth.cache_path(t).name for t in texts})
    before = snapshot(synth.cache_dir)
    synth.synthesize("Two.")
    assert snapshot(synth.cache_dir) == before


def test_an_unwritable_cache_fails_synthesize_but_not_prepare(synth, caplog):
    synth.cache_dir.rmdir()
    synth.cache_dir.write_text("a file where the cache should be")
    synth.prepare(["One.", "Two."])
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, "one warning, not one per text"
    assert warnings[0].startswith("speech not prepared ahead: cannot write to the speech cache")
    with pytest.raises(EngineError, match="cannot write to the speech cache"):
        synth.synthesize("One.")


def test_two_threads_get_the_same_audio_each_made_once(synth):
    texts = [f"Sentence number {n}." for n in range(8)]
    results: dict[str, list[bytes]] = {text: [] for text in texts}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for text in texts:
                results[text].append(synth.synthesize(text).pcm)
        except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "synthesis hung"
    assert errors == []
    assert all(len(set(pcms)) == 1 and len(pcms) == 2 for pcms in results.values())
    assert len(list(synth.cache_dir.iterdir())) == len(texts)


def test_a_damaged_cache_file_is_made_again(synth):
    good = synth.synthesize(TEXT)
    synth.cache_path(TEXT).write_bytes(b"RIFF garbage")
    # espeak-ng's output varies by a few samples from run to run: compare its shape.
    remade = synth.synthesize(TEXT)
    assert remade.duration == pytest.approx(good.duration, rel=0.05)
    assert dbfs(remade) == pytest.approx(dbfs(good), abs=1.0)


def test_empty_text_is_refused(synth):
    with pytest.raises(ValueError, match="nothing to say"):
        synth.synthesize("  ")


def test_voices_lists_the_default_english_voice():
    listed = dict(voices())
    assert listed["gmw/en"] == "English (Great Britain)"


def test_an_unknown_voice_says_how_to_list_them(tmp_path):
    with pytest.raises(OptionError, match=r"'klingon'.*run\.py voices"):
        Pyttsx3Synthesizer(tmp_path, voice="klingon")


@pytest.mark.parametrize("rate", [RATE_RANGE[0] - 1, RATE_RANGE[1] + 1, 0, -175, 200.5, "fast"])
def test_a_rate_out_of_range_is_refused(rate, tmp_path):
    with pytest.raises(OptionError, match="80 to 400 words a minute"):
        Pyttsx3Synthesizer(tmp_path, rate=rate)


@pytest.mark.parametrize("rate", RATE_RANGE)
def test_the_ends_of_the_rate_range_are_accepted(rate):
    check_rate(rate)


@pytest.mark.parametrize("kind", TONE_KINDS)
def test_tones_are_audible_soft_and_unclipped(kind):
    sound = tone(kind)
    values = samples(sound)
    assert sound.rate == 22050
    assert dbfs(sound) > -30, "a tone should be heard"
    assert np.max(np.abs(values)) <= TONE_LEVEL * 32768 < 32767
    # Gentle attack and decay: no click at either end.
    edge = round(0.002 * sound.rate)
    assert np.max(np.abs(values[:edge])) < 0.1 * np.max(np.abs(values))
    assert np.max(np.abs(values[-edge:])) < 0.1 * np.max(np.abs(values))


@pytest.mark.parametrize(("kind", "seconds"), [("press", 0.08), ("release", 0.08), ("understood", 0.16)])
def test_tones_have_their_length_at_any_rate(kind, seconds):
    for rate in (22050, 16000):
        assert tone(kind, rate).duration == pytest.approx(seconds, abs=1e-3)


def test_press_is_higher_than_release():
    def pitch(sound: Sound) -> float:
        spectrum = np.abs(np.fft.rfft(samples(sound)))
        return float(np.argmax(spectrum)) * sound.rate / len(samples(sound))

    assert pitch(tone("press")) > pitch(tone("release"))


def test_an_unknown_tone_names_the_known_ones():
    with pytest.raises(ValueError, match="press, release, understood"):
        tone("gong")


def test_a_rate_given_per_text_is_that_rate_and_cached_apart(synth):
    slow = synth.synthesize(TEXT, rate=120)
    usual = synth.synthesize(TEXT)
    assert slow.duration > usual.duration * 1.2
    assert synth.cache_path(TEXT, rate=120) != synth.cache_path(TEXT)
    assert synth.cache_path(TEXT, rate=synth.rate) == synth.cache_path(TEXT)
