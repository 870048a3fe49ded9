#!/usr/bin/env python3
"""The count's timing where she hears it: cue onsets in a recording of the speaker.

For each counting style the real program runs on a private PulseAudio server
(voice mode, the microphone silent, so the recognizer listens all along; or
--keyboard), is brought to the squeeze step by keys, and counts for --minutes
while the virtual speaker's monitor is recorded. Every sound's onset is found
in the recording (the first loud sample after at least 60 ms of quiet) and
matched to the cue the program planned nearest to it (its --events log gives
each cue's planned time).

Time base: the program's events are seconds since its start, whose
time.monotonic() the log gives; the recording's samples are put on the same
CLOCK_MONOTONIC by the harness's recorder: a line through the least delayed
read of every 5 s (how many samples had come by when), since the null sink's
clock runs about 90 ppm fast (reported as speaker_clock_ppm). So the error is
absolute: onset at the speaker (the null sink's monitor) minus planned time.
The same figures with the median taken out are the jitter alone.

Reported per style (the default "words" thins to "simple" then "tones"): cues,
onset error median / p99 / worst, drift (mean error in the first minute
minus the last), cues not found, the measured pitch of each tone, and the
program's CPU share of one core while counting and listening.

    .venv/bin/python scripts/bench_cue_timing.py [--minutes 10] [--count words quiet] [--keyboard] [--json FILE]
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.program import Program
from tests.pulse import PulseHarness
from voice.rhythm import Style
from voice.speech import TONES

# An onset further than this from every planned cue is not a cue.
MATCH_SECONDS = 0.25


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycle_styles(cues: list[dict]) -> dict[int, str]:
    """The style each cycle sounded in, from the cues the program logged."""
    styles: dict[int, str] = {}
    for cue in cues:
        if cue["name"] == "reminder":
            style = "reminder"
        elif cue["name"].startswith("count"):
            style = Style.WORDS.value
        elif cue["word"] is None:
            style = Style.TONES.value
        else:
            style = Style.SIMPLE.value
        if styles.get(cue["cycle"]) != Style.WORDS.value:
            styles[cue["cycle"]] = style
    return styles


def summarize(errors: list[tuple[float, float]], start: float, end: float) -> dict[str, object]:
    """errors: (planned time, onset - planned) in seconds."""
    values = [error for _, error in errors]
    first = [error for at, error in errors if at < start + 60]
    last = [error for at, error in errors if at > end - 60]
    median = statistics.median(values)
    return {
        "cues": len(values),
        "error_ms_median": round(median * 1000, 1),
        "error_ms_p99": round(percentile(values, 0.99) * 1000, 1),
        "error_ms_worst": round(max(values, key=abs) * 1000, 1),
        "jitter_ms_p99": round(percentile([abs(v - median) for v in values], 0.99) * 1000, 1),
        "drift_ms": round((statistics.mean(last) - statistics.mean(first)) * 1000, 1) if first and last else None,
    }


def measure(style: str, minutes: float, keyboard: bool, work: Path) -> dict[str, object]:
    """One run of the program counting in style for minutes; its figures."""
    mode = ["--keyboard"] if keyboard else []
    load_before = os.getloadavg()
    with PulseHarness(work / "pulse") as pulse, pulse.record() as recorder:
        run = Program(pulse, work, *mode, "--no-log", "--count", style)
        if not keyboard:
            pulse.wait_for_stream("source-outputs")
        run.press(b"nlnn")  # to the question, the left breast, massage, the squeeze
        squeeze = run.wait_for(lambda e: e["type"] == "step" and e["id"] == "squeeze", timeout=60)
        run.wait_for(lambda e: e["type"] == "cue", squeeze["t"], timeout=120)
        cpu, began = cpu_seconds(run.process.pid), time.monotonic()
        time.sleep(minutes * 60)
        cpu_share = (cpu_seconds(run.process.pid) - cpu) / (time.monotonic() - began)
        ended = time.monotonic()
        run.press(b"q")
        run.finish(timeout=60)
        recording = recorder.stop()
        events = run.events()
    cues = [e for e in events if e["type"] == "cue" and run.monotonic(e) < ended]
    planned = sorted((run.start + e["planned_t"], e) for e in cues)
    heard = recording.onsets()
    times = np.array([at for at, _ in planned])
    matched: dict[int, float] = {}
    for onset in heard:
        nearest = int(np.argmin(np.abs(times - onset)))
        if abs(times[nearest] - onset) <= MATCH_SECONDS and nearest not in matched:
            matched[nearest] = onset
    styles = cycle_styles(cues)
    by_style: dict[str, list[tuple[float, float]]] = {}
    pitches: dict[str, list[float]] = {}
    for index, (at, cue) in enumerate(planned):
        if index in matched:
            kind = styles[cue["cycle"]] if cue["name"] != "reminder" else "reminder"
            by_style.setdefault(kind, []).append((at, matched[index] - at))
            if cue["word"] is None:
                pitches.setdefault(cue["name"], []).append(recording.pitch(matched[index]))
    start, end = times[0], times[-1]
    return {
        "style": style,
        "mode": "keyboard" if keyboard else "voice (microphone silent)",
        "minutes": minutes,
        "load_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cues_planned": len(planned),
        "cues_not_found": len(planned) - len(matched),
        "sounds_not_planned": len(heard) - len(matched),
        "all": summarize([pair for pairs in by_style.values() for pair in pairs], start, end),
        "by_style": {kind: summarize(pairs, start, end) for kind, pairs in by_style.items()},
        "tone_hz_median": {name: round(statistics.median(found)) for name, found in pitches.items()},
        "tone_hz_expected": {name: TONES[name][0][0] for name in pitches},
        "speaker_clock_ppm": round(((recording.clock_rate or recording.rate) / recording.rate - 1) * 1e6),
        "cpu_share_of_a_core": round(cpu_share, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of counting per style (default 10)")
    parser.add_argument(
        "--count",
        nargs="+",
        choices=[style.value for style in Style],
        default=[Style.WORDS.value, Style.QUIET.value],
        help="styles to run, one program each (default: words, which thins to simple and tones; quiet)",
    )
    parser.add_argument("--keyboard", action="store_true", help="keys only: no microphone or recognizer")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cue-timing-"))
    report = [measure(style, args.minutes, args.keyboard, work / style) for style in args.count]
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
