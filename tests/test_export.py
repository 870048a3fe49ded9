"""run.py export: a whole session in one audio file, checked in the audio itself."""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile

from voice.export import Options, Timeline, plan, write
from voice.exportfile import chapters_path, clock
from voice.output import from_first_sound
from voice.progress import Progress
from voice.rhythm import Cue, Style
from voice.session import Say
from voice.speech import Pyttsx3Synthesizer, tone

from .shared import CONTENT, ROOT

# Short sessions: one or two squeezes at one or two positions, at the fastest tempo.
FAST = CONTENT.rhythm.tempo_max
SILENT = 100
"""A sample below this (-50 dBFS) is silence: what from_first_sound trims too."""
WINDOW = 0.010
"""Seconds of an RMS window."""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One speech cache for the module: each text is synthesized once."""
    return tmp_path_factory.mktemp("cache")


def export(folder: Path, cache: Path, name: str, options: Options) -> tuple[Path, Timeline]:
    path = folder / name
    synthesizer = Pyttsx3Synthesizer(cache / "hand-expressing-voice" / "speech")
    return path, write(path, CONTENT, options, synthesizer, False, Progress(io.StringIO()))


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[Path, Timeline]:
    """The default count (words, thinned), two squeezes at two positions."""
    return export(tmp_path_factory.mktemp("words"), cache, "s.wav", Options(FAST, squeezes=2, positions=2))


def run_cli(*args: str, cache: Path, **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "export", *args],
        check=False, capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)}, **kwargs,
    )


def samples(path: Path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(path, dtype="int16")
    return data.astype(np.int32), rate


def rms(data: np.ndarray, rate: int, start: float, seconds: float = WINDOW) -> float:
    a = round(start * rate)
    window = data[a : a + round(seconds * rate)].astype(float)
    return float(np.sqrt(np.mean(window**2)))


def onsets(data: np.ndarray, rate: int, start: float, end: float, gap: float = 0.02) -> list[float]:
    """Times in [start, end) where sound begins after at least ``gap`` seconds of silence."""
    loud = np.flatnonzero(np.abs(data[round(start * rate) : round(end * rate)]) > SILENT)
    found = [i for k, i in enumerate(loud) if k == 0 or i - loud[k - 1] > gap * rate]
    return [start + i / rate for i in found]


def lead_in(sound: bytes, rate: int) -> float:
    """Seconds before a sound's first sample above silence."""
    return int(np.argmax(np.abs(np.frombuffer(sound, "<i2")) > SILENT)) / rate


def counting_spans(timeline: Timeline) -> list[tuple[float, float, list[Cue]]]:
    """(start, end, cues) of each stretch of counting: from its first cue to the next speech."""
    events = timeline.events
    spans = []
    k = 0
    while k < len(events):
        if not isinstance(events[k].item, Cue):
            k += 1
            continue
        j = k
        while j < len(events) and isinstance(events[j].item, Cue):
            j += 1
        end = events[j].start if j < len(events) else timeline.end
        spans.append((events[k].start, end, [event.item for event in events[k:j]]))
        k = j
    return spans


# --- the timeline ---------------------------------------------------------------------


def test_the_session_goes_round_each_breast_then_to_the_contacts() -> None:
    timeline = plan(CONTENT, Options(FAST, squeezes=1, positions=3), lambda say: 1.0)
    kinds = [event.item.kind for event in timeline.events if isinstance(event.item, Say)]
    # Around each breast: a slight change of position, then positions 2 and 3 of 3.
    assert kinds.count("no_milk_adjust") == 2
    assert kinds.count("no_milk_move") == 4
    assert kinds.count("no_milk_other_breast") == 1
    assert kinds[-1 - len(CONTENT.contacts) :] == ["contacts"] + ["contact_number"] * len(CONTENT.contacts)
    moves = [e.item.text for e in timeline.events if isinstance(e.item, Say) and e.item.kind == "no_milk_move"]
    assert all("3" in text for text in moves)  # "position k of 3": the session's own words for --positions


def test_each_position_counts_the_squeezes_asked_for() -> None:
    timeline = plan(CONTENT, Options(FAST, squeezes=3, positions=1), lambda say: 1.0)
    presses = [span[2] for span in counting_spans(timeline)]
    # Squeeze and release, then the slight change, on each breast; then collecting.
    assert [sum(cue.name == "press" for cue in cues) for cues in presses] == [3] * 5


@pytest.mark.parametrize("tempo", [CONTENT.rhythm.tempo_min - 1, CONTENT.rhythm.tempo_max + 0.5])
def test_a_tempo_out_of_bounds_is_refused(tmp_path: Path, cache: Path, tempo: float) -> None:
    done = run_cli(str(tmp_path / "s.wav"), "--tempo", str(tempo), cache=cache)
    assert done.returncode == 2
    assert "usage:" in done.stderr
    assert f"give {CONTENT.rhythm.tempo_min:g} to {CONTENT.rhythm.tempo_max:g} squeezes a minute" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_extension_is_refused(tmp_path: Path, cache: Path) -> None:
    done = run_cli(str(tmp_path / "s.aiff"), cache=cache)
    assert done.returncode == 2
    assert "unknown audio format '.aiff'" in done.stderr and ".ogg" in done.stderr


# --- the audio ------------------------------------------------------------------------


def test_the_file_is_as_long_as_the_timeline(words: tuple[Path, Timeline]) -> None:
    path, timeline = words
    info = soundfile.info(path)
    assert info.frames == round(timeline.end * info.samplerate)
    assert info.channels == 1


def test_each_chapter_starts_where_its_step_is_said(words: tuple[Path, Timeline]) -> None:
    path, timeline = words
    data, rate = samples(path)
    lines = chapters_path(path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(timeline.chapters) > len(CONTENT.steps)
    steps = {event.start: event.item for event in timeline.events if isinstance(event.item, Say)}
    for line, chapter in zip(lines, timeline.chapters, strict=True):
        stamp, title = line.split(" ", 1)
        assert (stamp, title) == (clock(chapter.start), chapter.title)
        assert steps[chapter.start].kind in ("welcome", "step")
        at = chapter.start
        if at > 0:  # the tail of what was said before is silent
            assert rms(data, rate, at - 3 * WINDOW, 3 * WINDOW) < SILENT, line
        assert max(rms(data, rate, at + k * WINDOW) for k in range(10)) > 10 * SILENT, line


@pytest.mark.parametrize("style", [Style.WORDS, Style.TONES])
def test_the_count_sounds_where_the_rhythm_puts_it(
    tmp_path: Path, cache: Path, words: tuple[Path, Timeline], style: Style
) -> None:
    path, timeline = words if style is Style.WORDS else export(
        tmp_path, cache, "t.wav", Options(FAST, Style.TONES, squeezes=2, positions=1)
    )
    data, rate = samples(path)
    beat = 60 / FAST
    spans = counting_spans(timeline)
    assert spans
    heard_words = set()
    for start, end, cues in spans:
        presses = [cue.planned_t for cue in cues if cue.name == "press"]
        assert np.allclose(np.diff(presses), beat)  # the rhythm's schedule at this tempo
        assert presses[0] == start  # counting starts as the speech ends
        # A word starts with its first sound; a tone with its fade-in.
        expected = [cue.planned_t + (0.0 if cue.word else lead_in(tone(cue.name, rate).pcm, rate)) for cue in cues]
        heard_words.update(cue.word for cue in cues)
        heard = onsets(data, rate, start - 0.001, end)
        assert len(heard) == len(expected)
        assert np.max(np.abs(np.array(heard) - expected)) < 0.002
    if style is Style.WORDS:  # thinned after the first squeezes, as live
        assert {"one", "two", "press", "release"} <= heard_words
    else:
        assert heard_words == {None}


def test_the_words_of_the_count_are_the_sessions(words: tuple[Path, Timeline], cache: Path) -> None:
    path, timeline = words
    data, rate = samples(path)
    synthesizer = Pyttsx3Synthesizer(cache / "hand-expressing-voice" / "speech")
    index, cue = next(
        (i, event) for i, event in enumerate(timeline.events) if isinstance(event.item, Cue) and event.item.word == "one"
    )
    sound = np.frombuffer(from_first_sound(synthesizer.synthesize("one")).pcm, "<i2")
    # Until the next cue, which cuts off what is left of it, as live.
    heard = sound[: round((timeline.events[index + 1].start - cue.start) * rate)]
    start = round(cue.start * rate)
    assert len(heard) > rate // 4
    assert np.array_equal(data[start : start + len(heard)], heard)


@pytest.mark.parametrize("ext", [".ogg", ".opus", ".mp3"])
def test_a_compressed_file_decodes_as_long_with_its_chapters(tmp_path: Path, cache: Path, ext: str) -> None:
    path, timeline = export(tmp_path, cache, f"s{ext}", Options(FAST, squeezes=1, positions=1))
    data, rate = soundfile.read(path, dtype="int16")
    # Encoders pad a frame or so; MP3's decoder keeps a little of it.
    assert abs(len(data) / rate - timeline.end) < (0.06 if ext == ".mp3" else 0.01)
    first = timeline.chapters[1].start  # speech there, silence before
    assert rms(data.astype(np.int32), rate, first - 0.08, 0.03) < 2 * SILENT
    assert max(rms(data.astype(np.int32), rate, first + k * WINDOW) for k in range(10)) > 10 * SILENT
    tags = mutagen.File(path).tags
    lines = chapters_path(path).read_text(encoding="utf-8").splitlines()
    if ext == ".mp3":
        chapters = sorted(tags.getall("CHAP"), key=lambda chap: chap.start_time)
        embedded = [f"{clock(chap.start_time / 1000)} {chap.sub_frames['TIT2'].text[0]}" for chap in chapters]
    else:
        embedded = [
            f"{tags[f'CHAPTER{k:03d}'][0]} {tags[f'CHAPTER{k:03d}NAME'][0]}" for k in range(1, len(lines) + 1)
        ]
        assert f"CHAPTER{len(lines) + 1:03d}" not in tags
    assert embedded == lines


# --- the file -------------------------------------------------------------------------

SHORT = ["--squeezes", "1", "--positions", "1", "--tempo", str(FAST)]


def test_an_existing_file_is_kept_without_force(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "s.ogg"
    path.write_bytes(b"hers")
    done = run_cli(str(path), *SHORT, cache=cache)
    assert done.returncode == 2
    assert f"{path} exists: give --force" in done.stderr
    assert path.read_bytes() == b"hers"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.ogg"]
    done = run_cli(str(path), *SHORT, "--force", cache=cache)
    assert done.returncode == 0, done.stderr
    assert soundfile.info(path).format == "OGG"
    assert chapters_path(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.ogg", "s.ogg.chapters.txt"]


def test_an_unwritable_folder_is_an_error_and_leaves_no_file(tmp_path: Path, cache: Path) -> None:
    if os.geteuid() == 0:
        folder = Path("/sys")  # root may write anywhere but there
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
    done = run_cli(str(folder / "s.wav"), *SHORT, cache=cache)
    assert done.returncode == 1
    assert f"error: cannot write {folder / 's.wav'}: Permission denied" in done.stderr
    assert not (folder / "s.wav").exists()
    assert not any(p.name.startswith(".s.wav") for p in folder.iterdir())


def test_a_full_disk_is_an_error_and_leaves_no_file(tmp_path: Path, cache: Path) -> None:
    # Files may grow to 200 kB (the speech is cached already): the export stops as on a full disk.
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    warm = tmp_path / "warm"
    warm.mkdir()
    assert run_cli(str(warm / "s.wav"), *SHORT, cache=cache).returncode == 0
    shutil.rmtree(warm)
    path = tmp_path / "s.wav"
    done = run_cli(str(path), *SHORT, cache=cache, preexec_fn=limit)
    assert done.returncode == 1
    assert f"error: cannot write {path}: " in done.stderr
    assert "(is the disk full?)" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = Progress(stream)
        progress.stage("making speech", 4)
        for done in range(1, 5):
            progress.update(done)
        progress.close()
    assert log.getvalue() == "making speech...\n"
    assert terminal.getvalue().endswith("\rmaking speech [" + "#" * 30 + "] 4/4\n")
    assert "\rmaking speech [" + "#" * 15 + "-" * 15 + "] 2/4" in terminal.getvalue()
