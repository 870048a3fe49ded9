#!/usr/bin/env python3
"""From launch to the first word she hears, with a warm speech cache.

The real program is started --runs times on a private PulseAudio server (voice
mode by default: the recognizer loads too), its speaker recorded. Launch is
time.monotonic() just before the process is spawned; the first word is the
first sound in the recording after it (same clock). One run first, not
counted, fills the speech cache as a first start would; every later run uses
it, as every later start does. Each run is quit with "q" once it has spoken.

    .venv/bin/python scripts/bench_startup.py [--runs 10] [--keyboard] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.program import Program
from tests.pulse import PulseHarness


def first_word(pulse: PulseHarness, work: Path, keyboard: bool) -> float:
    """Seconds from spawning the program to its first sound at the speaker."""
    with pulse.record() as recorder:
        launched = time.monotonic()
        run = Program(pulse, work, *(["--keyboard"] if keyboard else []), "--no-log")
        try:
            heard = recorder.wait_for_onset(launched, timeout=30)
        finally:
            run.press(b"q")
            run.finish(timeout=60)
    return heard - launched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="starts measured, after one that fills the cache")
    parser.add_argument("--keyboard", action="store_true", help="keys only: no microphone or recognizer")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="startup-"))
    load_before = os.getloadavg()[0]
    with PulseHarness(work / "pulse") as pulse:
        cold = first_word(pulse, work, args.keyboard)
        seconds = [first_word(pulse, work, args.keyboard) for _ in range(args.runs)]
    figures = {
        "mode": "keyboard" if args.keyboard else "voice",
        "runs": args.runs,
        "load_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cold_cache_s": round(cold, 3),
        "first_word_s_median": round(statistics.median(seconds), 3),
        "first_word_s_min": round(min(seconds), 3),
        "first_word_s_max": round(max(seconds), 3),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
