"""The squeeze-and-release count as a deadline schedule.

Every cue time is computed from the moment counting (re)started, never as
"now + sleep", so a late loop never pushes later cues back: no drift.
Pure: time comes in as an argument, nothing here sleeps or plays.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .content import RhythmSettings

# A cue found more than this late (a stalled machine) is skipped, not played
# out of time.
LATE_CUE_SECONDS = 0.3


class Style(StrEnum):
    """How the count sounds."""

    WORDS = "words"
    """Press, the counts through the hold, release."""
    SIMPLE = "simple"
    """Only press and release."""
    TONES = "tones"
    """Soft tones made in code: a higher one to press, a lower one to release."""
    QUIET = "quiet"
    """Tones, and every few minutes a spoken reminder in place of a squeeze's tones."""


@dataclass(frozen=True)
class Cue:
    """One sound of the count."""

    name: str
    """"press", "count 1", "count 2", ..., "release", or "reminder"."""
    word: str | None
    """The word (or the reminder) to say, or None to play the cue's tone."""
    planned_t: float
    """When it should sound, in the session's clock."""
    cycle: int
    """Which squeeze this belongs to, counted from the start on this breast."""


class Rhythm:
    """The count's schedule: start, stop, change tempo, ask what is due."""

    def __init__(self, settings: RhythmSettings, style: Style = Style.WORDS, thin: bool = True) -> None:
        self._settings = settings
        self._style = style
        self._thin = thin
        self.tones = True
        """Whether tones can sound: where not (printed text), press and release are said instead."""
        self.brief = False
        """Only the key words: press and release, never the counts between."""
        self.reminder = settings.reminder
        """The "quiet" style's reminder as said: the session fills in how to give the command."""
        self.tempo = settings.default_tempo
        self._running = False
        self._anchor_t = 0.0
        self._anchor_cycle = 0
        self._cycle = 0  # cycle of the next cue
        self._index = 0  # index of the next cue within its cycle

    @property
    def running(self) -> bool:
        return self._running

    @property
    def cycle_seconds(self) -> float:
        return 60.0 / self.tempo

    def start(self, t: float) -> None:
        """Start counting at t with a new squeeze; cycles already counted stay counted."""
        if self._index > 0:
            self._cycle += 1
        self._index = 0
        self._anchor_t = t
        self._anchor_cycle = self._cycle
        self._running = True

    def stop(self) -> None:
        self._running = False

    def restart_count(self) -> None:
        """Count from the first squeeze again (a new breast): full words return."""
        self._cycle = 0
        self._index = 0

    def slower(self) -> bool:
        """One step slower, if not at the slowest. Takes effect at the next start."""
        return self.set_tempo(self.tempo - self._settings.tempo_step)

    def faster(self) -> bool:
        return self.set_tempo(self.tempo + self._settings.tempo_step)

    def set_tempo(self, tempo: float) -> bool:
        """Squeezes a minute, kept within the content's bounds; whether it changed."""
        clamped = min(max(tempo, self._settings.tempo_min), self._settings.tempo_max)
        changed = clamped != self.tempo
        self.tempo = clamped
        return changed

    def style_for(self, cycle: int) -> Style:
        """The style a cycle is counted in, after thinning."""
        style = self._thinned(cycle)
        if (style in (Style.TONES, Style.QUIET) and not self.tones) or (style is Style.WORDS and self.brief):
            return Style.SIMPLE
        return style

    def _thinned(self, cycle: int) -> Style:
        if not self._thin or self._style in (Style.TONES, Style.QUIET):
            return self._style
        if self._style is Style.WORDS and cycle < self._settings.full_cycles:
            return Style.WORDS
        if cycle < self._settings.word_cycles:
            return Style.SIMPLE
        return Style.TONES

    def _cues_of(self, cycle: int) -> list[tuple[str, str | None, float]]:
        """(name, word, offset from the cycle's start) for every cue of a cycle."""
        s = self._settings
        # The leaflet's hold of about 2 seconds stays: tempo moves the release pause.
        press_len = s.press_seconds
        style = self.style_for(cycle)
        speak = style in (Style.WORDS, Style.SIMPLE)
        if self._style is Style.QUIET:
            reminded = cycle - cycle % self._reminder_cycles()
            if reminded == cycle > 0:
                return [("reminder", self.reminder, 0.0)]
            # Silent while the reminder is said: the cues keep their times, unheard.
            room = s.reminder_seconds - (cycle - reminded) * self.cycle_seconds if reminded else 0.0
        else:
            room = 0.0
        cues = [("press", s.press_word if speak else None, 0.0)]
        if style is Style.WORDS:
            n = len(s.count_words)
            cues += [
                (f"count {i + 1}", word, press_len * (i + 1) / (n + 1))
                for i, word in enumerate(s.count_words)
            ]
        cues.append(("release", s.release_word if speak else None, press_len))
        return [cue for cue in cues if cue[2] >= room]

    def _reminder_cycles(self) -> int:
        """Cycles from one reminder to the next, at the tempo now."""
        return max(1, round(self._settings.reminder_minutes * self.tempo))

    def _planned(self) -> tuple[str, str | None, float]:
        while not self._cues_of(self._cycle):  # all silent under a long reminder
            self._cycle += 1
        name, word, offset = self._cues_of(self._cycle)[self._index]
        start = self._anchor_t + (self._cycle - self._anchor_cycle) * self.cycle_seconds
        return name, word, start + offset

    def _advance(self) -> None:
        self._index += 1
        if self._index == len(self._cues_of(self._cycle)):
            self._cycle += 1
            self._index = 0

    def next_due(self) -> float | None:
        """When the next cue is due, or None when not counting."""
        return self._planned()[2] if self._running else None

    def due(self, t: float) -> list[Cue]:
        """Cues due by t, in order; ones more than LATE_CUE_SECONDS late are skipped."""
        cues: list[Cue] = []
        while self._running:
            name, word, planned = self._planned()
            if planned > t:
                break
            if t - planned <= LATE_CUE_SECONDS:
                cues.append(Cue(name, word, planned, self._cycle))
            self._advance()
        return cues
