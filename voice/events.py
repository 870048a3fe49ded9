"""--events FILE: one JSON object per line, written as it happens."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, BinaryIO

_LOGGER = logging.getLogger(__name__)


class EventLog:
    """Appends events with "t", seconds since the session started.

    The file is opened here (OSError if it cannot be). A write that fails later (a
    full disk) is reported once and ends the log, never the session."""

    def __init__(self, path: Path, start_t: float) -> None:
        self._path = path
        self._start_t = start_t
        # Unbuffered, one write a line: each line is in the file as it happens, and a
        # failed write leaves nothing behind to fail again on closing.
        self._file: BinaryIO | None = path.open("ab", buffering=0)
        # The start on the machine's monotonic clock, so that other programs (tests,
        # benchmarks) can line their own timings up with this log's.
        self.write(start_t, "start", monotonic=start_t)

    def seconds(self, t: float) -> float:
        """t on the session's clock as seconds since the start."""
        return round(t - self._start_t, 4)

    def write(self, t: float, type_: str, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"t": self.seconds(t), "type": type_, **fields}
        try:
            self._file.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
        except OSError as exc:
            _LOGGER.warning("--events %s: cannot write, so no more events: %s", self._path, exc.strerror or exc)
            self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
