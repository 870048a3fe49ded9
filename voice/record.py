"""The session record: times, breasts, positions and commands; never audio,
never what was said.

One JSON file in the user's data directory, rewritten whole on every change
through a temporary file, fsync and rename, so a kill at any moment leaves
either the old or the new version, both readable.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .session import Breast, Place, spoken_duration

_LOGGER = logging.getLogger(__name__)

VERSION = 1
KEEP = 500
"""Sessions kept; older ones are dropped."""
RESUME_WITHIN = 30 * 60
"""A session touched this recently (seconds) is offered to carry on."""
DAYS = 7
"""The days "run.py log" covers, today's included."""


@dataclass(frozen=True)
class Entry:
    """One recorded session."""

    started: float
    """Wall-clock start, seconds since the epoch."""
    updated: float
    data: dict[str, Any]
    """What Session.record() returned at the last update."""

    @property
    def seconds(self) -> float:
        return float(self.data.get("seconds", 0.0))

    def breast_seconds(self, breast: Breast) -> float:
        return float(self.data.get("breasts", {}).get(breast.value, {}).get("seconds", 0.0))

    def place(self) -> Place | None:
        place = self.data.get("place")
        if not isinstance(place, dict):
            return None
        try:
            breast = Breast(place["breast"]) if place.get("breast") else None
            return Place(str(place["step"]), breast, int(place.get("position", 1)))
        except (KeyError, TypeError, ValueError, OverflowError):
            return None


class SessionRecord:
    """The record file: read the past sessions, keep the current one up to date."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._skipped = 0
        """Sessions in the file that could not be read: the file is kept aside before it is rewritten without them."""
        self._entries = self._read()
        self._current: Entry | None = None

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries)

    def resumable(self, now: float) -> Place | None:
        """Where the last session was, if it was touched within RESUME_WITHIN."""
        if not self._entries:
            return None
        last = self._entries[-1]
        if now - last.updated > RESUME_WITHIN:
            return None
        return last.place()

    def begin(self, now: float) -> None:
        self._current = Entry(now, now, {})

    def update(self, data: dict[str, Any], now: float) -> None:
        """Save the current session's latest record."""
        if self._current is None:
            raise RuntimeError("update() before begin()")
        if self._entries and self._entries[-1].started == self._current.started:
            self._entries.pop()
        self._current = Entry(self._current.started, now, data)
        self._entries.append(self._current)
        del self._entries[:-KEEP]
        if self._skipped:
            # Rewriting drops the sessions that were skipped: keep the file as it was.
            aside = self._aside()
            shutil.copy2(self.path, aside)
            _LOGGER.warning(
                "session record %s: rewritten without its unreadable sessions; the old file is kept as %s",
                self.path,
                aside,
            )
            self._skipped = 0
        self._write()

    def _read(self) -> list[Entry]:
        try:
            sessions = json.loads(self.path.read_text(encoding="utf-8"))["sessions"]
            if not isinstance(sessions, list):
                raise TypeError("sessions is not a list")
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            # Never lose a record by overwriting it: keep the unreadable file aside.
            aside = self._aside()
            _LOGGER.warning("session record %s is unreadable (%s); kept as %s", self.path, exc, aside)
            try:
                self.path.replace(aside)
            except OSError:
                _LOGGER.exception("could not set the unreadable record aside")
            return []
        entries = []
        for raw in sessions:
            try:
                entries.append(_entry(raw))
            except (ValueError, TypeError, OverflowError, OSError):
                self._skipped += 1
        if self._skipped:
            _LOGGER.warning("session record %s: %d unreadable session(s) skipped", self.path, self._skipped)
        return entries

    def _aside(self) -> Path:
        return self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")

    def _write(self) -> None:
        payload = {
            "version": VERSION,
            "sessions": [{"started": e.started, "updated": e.updated, "data": e.data} for e in self._entries],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(self.path, json.dumps(payload, ensure_ascii=False))


def write_whole(path: Path, text: str) -> None:
    """Write text to path through a temporary file, fsync and rename: a kill or a
    failure at any moment leaves the old file or the new one, never a part. OSError
    if it cannot be written; no temporary file is left behind."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _entry(raw: Any) -> Entry:
    """One stored session; TypeError (or ValueError, OverflowError, OSError) if a
    figure that is read from it is missing or of the wrong type."""
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), dict):
        raise TypeError("not a session")
    data = raw["data"]
    breasts = data.get("breasts", {})
    if not isinstance(breasts, dict) or not all(isinstance(b, dict) for b in breasts.values()):
        raise TypeError("breasts")
    figures = [raw.get("started"), raw.get("updated"), data.get("seconds", 0.0)]
    figures += [b.get("seconds", 0.0) for b in breasts.values()]
    if not all(isinstance(f, int | float) and math.isfinite(f) for f in figures):
        raise TypeError("a figure that is not a number")
    datetime.fromtimestamp(raw["started"])  # a day the summary can name
    return Entry(float(raw["started"]), float(raw["updated"]), data)


def by_day(entries: list[Entry], now: float, days: int = DAYS) -> dict[date, list[Entry]]:
    """The sessions started on each of the last `days` days up to now's, in their order."""
    grouped: dict[date, list[Entry]] = {}
    today = datetime.fromtimestamp(now).date()
    for entry in entries:
        day = datetime.fromtimestamp(entry.started).date()
        if (today - day).days < days:
            grouped.setdefault(day, []).append(entry)
    return grouped


def day_line(day: date, entries: list[Entry], responses: dict[str, str]) -> str:
    """A day's sessions in one line, as run.py log says it: Wednesday 25 November: 1 session, 10 minutes in all."""
    return responses["log_day"].format(
        day=day.strftime("%A %d %B"),
        sessions=_sessions(len(entries)),
        total=spoken_duration(sum(e.seconds for e in entries)),
    )


def summarize(entries: list[Entry], responses: dict[str, str], now: float, days: int = DAYS) -> list[str]:
    """What "run.py log" says: today, then each earlier day of the last week."""
    grouped = by_day(entries, now, days)
    if not grouped:
        return [responses["log_empty"]]
    lines = []
    todays = grouped.pop(datetime.fromtimestamp(now).date(), [])
    if todays:
        lines.append(
            responses["log_today"].format(
                sessions=_sessions(len(todays)),
                total=spoken_duration(sum(e.seconds for e in todays)),
                left=spoken_duration(sum(e.breast_seconds(Breast.LEFT) for e in todays)),
                right=spoken_duration(sum(e.breast_seconds(Breast.RIGHT) for e in todays)),
            )
        )
    lines += [day_line(day, grouped[day], responses) for day in sorted(grouped, reverse=True)]
    return lines


def _sessions(count: int) -> str:
    return f"{count} session" + ("s" if count != 1 else "")
