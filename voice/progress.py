"""A progress bar on stderr for the long jobs of the command line (run.py export)."""

from __future__ import annotations

import sys
from typing import IO

_WIDTH = 30
"""Characters in the bar."""


class Progress:
    """One line redrawn in place on a terminal; elsewhere (a log, a pipe) only a plain
    line as each stage begins, so a log is not filled with carriage returns."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._tty = self._stream.isatty()
        self._label = ""
        self._total = 0

    def stage(self, label: str, total: int) -> None:
        """Begin a stage of ``total`` units of work."""
        self._end_line()
        self._label, self._total = label, max(total, 1)
        if not self._tty:
            self._stream.write(f"{label}...\n")
            self._stream.flush()
        self.update(0)

    def update(self, done: int) -> None:
        """``done`` units of the stage are done."""
        if not self._tty:
            return
        filled = _WIDTH * min(done, self._total) // self._total
        bar = "#" * filled + "-" * (_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {min(done, self._total)}/{self._total}")
        self._stream.flush()

    def close(self) -> None:
        """End the bar's line, so what comes next starts on its own."""
        self._end_line()
        self._label = ""

    def _end_line(self) -> None:
        if self._tty and self._label:
            self._stream.write("\n")
            self._stream.flush()
