"""--events FILE: one JSON object per line, written and flushed as it happens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any


class EventLog:
    """Appends events with "t", seconds since the session started."""

    def __init__(self, path: Path, start_t: float) -> None:
        self._start_t = start_t
        self._file: IO[str] = path.open("a", encoding="utf-8")
        # The start on the machine's monotonic clock, so that other programs (tests,
        # benchmarks) can line their own timings up with this log's.
        self.write(start_t, "start", monotonic=start_t)

    def seconds(self, t: float) -> float:
        """t on the session's clock as seconds since the start."""
        return round(t - self._start_t, 4)

    def write(self, t: float, type_: str, **fields: Any) -> None:
        record = {"t": self.seconds(t), "type": type_, **fields}
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
