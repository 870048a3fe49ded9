#!/usr/bin/env python3
"""Measure the player's latency on a private PulseAudio server (tests/pulse.py).

play -> sound: from play() to the first loud 10 ms window on the speaker's monitor.
stop -> silence: from stop() to the last loud window before silence.
Both are upper bounds: they include the monitor's own delivery to the recorder
(about 10 ms).  Run from the project root in the venv: python scripts/bench_playback.py
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pulse import SINK_RATE, PulseHarness, pulseaudio_missing
from voice.playback import AudioPlayer, Sound

TIMEOUT = 10.0


def beep(seconds: float) -> Sound:
    t = np.arange(round(seconds * SINK_RATE)) / SINK_RATE
    return Sound((0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes(), SINK_RATE)


def summary(name: str, values: list[float]) -> str:
    ms = sorted(1000 * v for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{name}: n={len(ms)} median={statistics.median(ms):.1f} ms p95={p95:.1f} ms min={ms[0]:.1f} max={ms[-1]:.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if reason := pulseaudio_missing():
        print(reason, file=sys.stderr)
        return 1
    events: queue.Queue[tuple[str, object, object]] = queue.Queue()

    def wait_for(kind: str, tag: object) -> object:
        deadline = time.monotonic() + TIMEOUT
        while True:
            got = events.get(timeout=max(0.0, deadline - time.monotonic()))
            if got[0] == "error":
                raise RuntimeError(f"player failed: {got[1]}")
            if got[:2] == (kind, tag):
                return got[2]

    with tempfile.TemporaryDirectory() as root, PulseHarness(root) as pulse:
        os.environ.update(pulse.env())
        with (
            pulse.record() as recorder,
            AudioPlayer(
                lambda tag, t: events.put(("started", tag, t)),
                lambda tag, completed: events.put(("finished", tag, completed)),
                lambda error: events.put(("error", error, None)),
            ) as player,
        ):
            # A new stream on a null sink waits for the sink's 2 s block to end: not ours to measure.
            player.play(beep(0.05), "warm-up")
            wait_for("finished", "warm-up")
            time.sleep(0.5)

            to_sound, to_started = [], []
            for run in range(args.runs):
                asked = time.monotonic()
                player.play(beep(0.2), run)
                started = wait_for("started", run)
                onset = recorder.wait_for_onset(asked, TIMEOUT)
                wait_for("finished", run)
                to_sound.append(onset - asked)
                to_started.append(float(started) - asked)  # type: ignore[arg-type]
                time.sleep(0.3)

            to_silence = []
            for run in range(args.runs):
                tag = ("long", run)
                player.play(beep(3.0), tag)
                recorder.wait_for_onset(time.monotonic(), TIMEOUT)
                time.sleep(0.3)
                stopped = time.monotonic()
                player.stop()
                offset = recorder.wait_for_offset(stopped, TIMEOUT, min_silence_ms=100)
                if wait_for("finished", tag) is not False:
                    raise RuntimeError("a stopped sound was reported complete")
                to_silence.append(max(0.0, offset - stopped))
                time.sleep(0.2)

    print(summary("play() -> on_started time", to_started))
    print(summary("play() -> sound on the monitor", to_sound))
    print(summary("stop() -> silence on the monitor", to_silence))
    return 0


if __name__ == "__main__":
    sys.exit(main())
