#!/usr/bin/env python3
"""End-of-speech-to-response latency, measured through the audio devices.

The real program runs on a private PulseAudio server. Each trial waits until
the assistant is silent, speaks a command (flite's voices) into the virtual
microphone, and finds in the recording of the virtual speaker when the answer
starts to sound. Latency = first sound of the answer - end of the spoken
command (the last loud 10 ms written to the microphone). Also reported: the
part of it until the program acted on the command (its --events "command").

    .venv/bin/python scripts/bench_latency.py [--trials 40] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.program import Program, flite, says  # noqa: E402
from tests.pulse import PulseHarness  # noqa: E402

# Commands that answer without moving on, so every trial starts from the same place.
PHRASES = ["where am I", "repeat", "which step", "say again", "help"]
VOICES = ["slt", "awb", "rms", "kal"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="latency-"))
    clips = []
    for i in range(args.trials):
        phrase, voice = PHRASES[i % len(PHRASES)], VOICES[(i // len(PHRASES)) % len(VOICES)]
        clips.append((phrase, flite(work, phrase, voice)))

    latencies, acted, missed = [], [], []
    with PulseHarness(work / "pulse") as pulse, pulse.record() as recorder:
        run = Program(pulse, work, "--no-log")
        pulse.wait_for_stream("source-outputs")
        says(run, "Hand expressing")
        run.press(b"n")  # to the question, then wait there: nothing more is said unprompted
        # Each trial waits for the end of what was said last, searched from when it
        # started: searched from earlier, the silence before an answer (the earcon
        # comes ~0.4 s after the command) passed for its end, and the next command
        # was spoken over the answer, its "first sound" the answer under way.
        said = run.monotonic(says(run, "Which breast"))
        for phrase, clip in clips:
            recorder.wait_for_offset(said, timeout=60, min_silence_ms=700)
            before = run.events()[-1]["t"]
            ended = pulse.speak(clip, timeout=20).timing.end_monotonic
            said = ended
            try:
                command = run.wait_for(lambda e: e["type"] == "command", before, timeout=5)
                onset = said = recorder.wait_for_onset(ended, timeout=5)
            except (AssertionError, TimeoutError):
                missed.append(phrase)
                continue
            latencies.append(onset - ended)
            acted.append(run.monotonic(command) - ended)
        run.press(b"q")
        run.finish(timeout=60)

    figures = {
        "trials": len(clips),
        "answered": len(latencies),
        "missed": missed,
        "latency_ms_median": round(statistics.median(latencies) * 1000),
        "latency_ms_p95": round(percentile(latencies, 0.95) * 1000),
        "latency_ms_max": round(max(latencies) * 1000),
        "acted_on_ms_median": round(statistics.median(acted) * 1000),
        "acted_on_ms_p95": round(percentile(acted, 0.95) * 1000),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
