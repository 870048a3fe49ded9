"""The count's deadline schedule, under a fake clock."""

import dataclasses
import random

import pytest

from voice import content
from voice.rhythm import LATE_CUE_SECONDS, Rhythm, Style
from voice.session import InputMode, Session

SETTINGS = content.load().rhythm
CYCLE = 60 / SETTINGS.default_tempo
PRESS = SETTINGS.press_seconds


def run_for(rhythm: Rhythm, start: float, seconds: float, seed: int = 1) -> list:
    """Tick like a real loop would: at each deadline, plus a random lateness."""
    rng = random.Random(seed)
    cues = []
    t = start
    while t < start + seconds:
        due = rhythm.next_due()
        t = max(t, due) + rng.uniform(0, 0.05)
        cues += rhythm.due(t)
    return cues


def until(rhythm: Rhythm, end: float) -> list:
    """Tick on time at every deadline up to end."""
    cues = []
    while (due := rhythm.next_due()) is not None and due <= end:
        cues += rhythm.due(due)
    return cues


def test_a_cycle_is_press_counts_release_then_a_release_pause():
    rhythm = Rhythm(SETTINGS, Style.WORDS, thin=False)
    rhythm.start(100.0)
    cues = until(rhythm, 100.0 + CYCLE - 0.001)
    assert [c.name for c in cues] == ["press", "count 1", "count 2", "release"]
    assert [c.word for c in cues] == [SETTINGS.press_word, *SETTINGS.count_words, SETTINGS.release_word]
    assert cues[0].planned_t == 100.0
    assert cues[-1].planned_t == pytest.approx(100.0 + PRESS)
    assert rhythm.next_due() == pytest.approx(100.0 + CYCLE)


def test_the_press_lasts_about_two_seconds_as_the_leaflet_says_at_every_tempo():
    assert PRESS == pytest.approx(2.0)
    for change in (Rhythm.slower, Rhythm.faster):
        rhythm = Rhythm(SETTINGS, Style.SIMPLE, thin=False)
        while change(rhythm):
            pass
        rhythm.start(0.0)
        press, release = until(rhythm, 60 / rhythm.tempo - 0.001)
        assert release.planned_t - press.planned_t == pytest.approx(PRESS)
        assert rhythm.next_due() == pytest.approx(60 / rhythm.tempo)


def test_ten_minutes_under_a_late_clock_have_zero_drift():
    rhythm = Rhythm(SETTINGS, Style.WORDS, thin=False)
    rhythm.start(5.0)
    cues = run_for(rhythm, 5.0, 600.0)
    presses = [c for c in cues if c.name == "press"]
    assert len(presses) == pytest.approx(600 / CYCLE, abs=1)
    for cue in presses:
        assert cue.planned_t == pytest.approx(5.0 + cue.cycle * CYCLE, abs=1e-9)
    last = presses[-1]
    assert last.cycle == len(presses) - 1  # no cycle lost or doubled


def test_stopping_and_starting_reanchors_at_the_new_start():
    rhythm = Rhythm(SETTINGS, Style.WORDS, thin=False)
    rhythm.start(0.0)
    first = until(rhythm, 0.7)  # press and count 1 of cycle 0
    rhythm.stop()
    assert rhythm.next_due() is None
    assert rhythm.due(50.0) == []
    rhythm.start(50.0)
    cues = until(rhythm, 50.0 + 2 * CYCLE - 0.001)
    assert [c.name for c in first] == ["press", "count 1"]
    assert cues[0].name == "press" and cues[0].planned_t == 50.0
    assert cues[0].cycle == 1  # the interrupted cycle stays counted
    assert [c.planned_t for c in cues if c.name == "press"] == [50.0, pytest.approx(50.0 + CYCLE)]


def test_a_cue_found_too_late_is_skipped_and_the_beat_kept():
    rhythm = Rhythm(SETTINGS, Style.SIMPLE, thin=False)
    rhythm.start(0.0)
    stalled = rhythm.due(PRESS + LATE_CUE_SECONDS + 0.5)  # both cues of cycle 0 are stale
    assert [c.name for c in stalled] == []
    cues = rhythm.due(CYCLE + 0.01)
    assert [(c.name, c.planned_t) for c in cues] == [("press", pytest.approx(CYCLE))]


def test_thinning_goes_from_every_word_to_press_release_to_tones():
    rhythm = Rhythm(SETTINGS, Style.WORDS, thin=True)
    styles = [rhythm.style_for(cycle) for cycle in range(SETTINGS.word_cycles + 2)]
    assert styles[: SETTINGS.full_cycles] == [Style.WORDS] * SETTINGS.full_cycles
    assert set(styles[SETTINGS.full_cycles : SETTINGS.word_cycles]) == {Style.SIMPLE}
    assert styles[SETTINGS.word_cycles :] == [Style.TONES, Style.TONES]


def test_thinned_cycles_sound_as_their_style():
    rhythm = Rhythm(SETTINGS, Style.WORDS, thin=True)
    rhythm.start(0.0)
    cues = run_for(rhythm, 0.0, CYCLE * (SETTINGS.word_cycles + 1))
    by_cycle: dict[int, list] = {}
    for cue in cues:
        by_cycle.setdefault(cue.cycle, []).append(cue)
    assert len(by_cycle[0]) == 2 + len(SETTINGS.count_words)
    assert [c.word for c in by_cycle[SETTINGS.full_cycles]] == [SETTINGS.press_word, SETTINGS.release_word]
    assert [c.word for c in by_cycle[SETTINGS.word_cycles]] == [None, None]


@pytest.mark.parametrize("style", list(Style))
@pytest.mark.parametrize("thin", [True, False])
def test_where_tones_cannot_sound_the_sparest_count_is_press_and_release(style, thin):
    rhythm = Rhythm(SETTINGS, style, thin=thin)
    rhythm.tones = False
    styles = {rhythm.style_for(cycle) for cycle in range(200)}
    assert Style.TONES not in styles
    assert Style.SIMPLE in styles or (style is Style.WORDS and not thin)


@pytest.mark.parametrize("style", list(Style))
def test_without_thinning_every_cycle_keeps_its_style(style):
    rhythm = Rhythm(SETTINGS, style, thin=False)
    assert {rhythm.style_for(cycle) for cycle in range(200)} == {style}


def test_restart_count_brings_back_the_full_words():
    rhythm = Rhythm(SETTINGS, Style.WORDS, thin=True)
    rhythm.start(0.0)
    run_for(rhythm, 0.0, CYCLE * (SETTINGS.word_cycles + 1))
    rhythm.stop()
    rhythm.restart_count()
    rhythm.start(1000.0)
    assert until(rhythm, 1000.0 + 0.7)[1].name == "count 1"


def test_tempo_moves_in_steps_and_stops_at_the_bounds():
    rhythm = Rhythm(SETTINGS)
    seen = [rhythm.tempo]
    while rhythm.slower():
        seen.append(rhythm.tempo)
    assert rhythm.tempo == SETTINGS.tempo_min
    assert all(a - b == SETTINGS.tempo_step for a, b in zip(seen, seen[1:], strict=False) if b > SETTINGS.tempo_min)
    while rhythm.faster():
        pass
    assert rhythm.tempo == SETTINGS.tempo_max
    assert not rhythm.faster()


def test_a_new_tempo_sets_the_cycle_at_the_next_start():
    rhythm = Rhythm(SETTINGS, Style.SIMPLE, thin=False)
    rhythm.faster()
    rhythm.start(0.0)
    cues = until(rhythm, 60.0)
    presses = [c.planned_t for c in cues if c.name == "press"]
    assert presses[1] - presses[0] == pytest.approx(60 / (SETTINGS.default_tempo + SETTINGS.tempo_step))


def quiet(minutes: float) -> list:
    """Ten minutes of the quiet style, ticked on time from 0."""
    rhythm = Rhythm(SETTINGS, Style.QUIET)
    rhythm.reminder = "Press m when the flow slows."
    rhythm.start(0.0)
    return until(rhythm, minutes * 60)


def test_the_quiet_style_is_tones_with_a_reminder_every_few_minutes():
    cues = quiet(10)
    reminders = [c for c in cues if c.name == "reminder"]
    every = SETTINGS.reminder_minutes * 60
    assert [c.planned_t for c in reminders] == [pytest.approx(every * k) for k in range(1, int(600 // every) + 1)]
    assert {c.word for c in reminders} == {"Press m when the flow slows."}
    assert {(c.name, c.word) for c in cues if c.name != "reminder"} == {("press", None), ("release", None)}


def test_the_quiet_reminder_keeps_the_beat_and_no_tone_sounds_over_it():
    cues = quiet(10)
    for cue in cues:
        if cue.name != "reminder":
            start = cue.cycle * CYCLE
            assert cue.planned_t == pytest.approx(start + (PRESS if cue.name == "release" else 0.0))
    for reminder in (c for c in cues if c.name == "reminder"):
        over = [c for c in cues if reminder.planned_t < c.planned_t < reminder.planned_t + SETTINGS.reminder_seconds]
        assert over == []
        after = next(c for c in cues if c.planned_t >= reminder.planned_t + SETTINGS.reminder_seconds)
        assert after.name in ("press", "release")


def test_a_reminder_longer_than_whole_cycles_silences_them_and_the_count_goes_on():
    settings = dataclasses.replace(SETTINGS, reminder_seconds=3 * CYCLE + PRESS + 0.1)
    rhythm = Rhythm(settings, Style.QUIET)
    rhythm.start(0.0)
    cues = until(rhythm, 2 * settings.reminder_minutes * 60 + 5 * CYCLE)
    reminder = next(c for c in cues if c.name == "reminder")
    following = [c for c in cues if c.planned_t > reminder.planned_t][:2]
    assert [(c.name, c.cycle) for c in following] == [("press", reminder.cycle + 4), ("release", reminder.cycle + 4)]
    assert following[0].planned_t == pytest.approx((reminder.cycle + 4) * CYCLE)


@pytest.mark.parametrize(("mode", "how"), [(InputMode.VOICE, "say no milk"), (InputMode.KEYS, "press m")])
def test_the_quiet_reminder_says_how_to_give_no_milk_as_she_gives_commands(mode, how):
    session = Session(content.load(), InputMode.TEXT, 0.0, Style.QUIET)
    session.set_mode(mode)  # as when the microphone comes or goes
    assert session.rhythm.reminder == f"When the milk flow slows or stops, {how}."
    assert session.rhythm.reminder in session.texts()  # made ahead, not while counting
