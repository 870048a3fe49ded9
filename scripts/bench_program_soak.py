#!/usr/bin/env python3
"""The real program for many real minutes on a private PulseAudio server.

A command every few seconds, alternately spoken into the virtual microphone
(flite's voice) and typed as a key, kept mostly at the counting steps. Every
ten seconds it reads the program's memory (VmRSS) and thread count from /proc.
At the end it reports the memory growth after the first minute, the thread
counts, how many commands were heard, and the cues' lag in the events log: a
cue event's time is when it is to be heard, so the lag is near 0 unless a cue
was handed to the player too late for its beat (scripts/bench_cue_timing.py
measures the timing at the speaker).

    .venv/bin/python scripts/bench_program_soak.py [--minutes 15] [--keys-only]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.program import Program, flite  # noqa: E402
from tests.pulse import PulseHarness  # noqa: E402
from voice import content  # noqa: E402

# At a counting step: what she says or types, as (phrase, key).
AT_COUNT = [("where am I", b"w"), ("no milk", b"m"), ("slower", b"s"), ("faster", b"f"), ("repeat", b"a"),
            ("pause", b"p"), ("carry on", b"c")]


def proc_status(pid: int) -> tuple[int, int]:
    """(VmRSS in kB, threads) of a running process."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--every", type=float, nargs=2, default=(3.0, 6.0), metavar=("MIN", "MAX"))
    parser.add_argument("--keys-only", action="store_true", help="type every command instead of speaking half")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    guide = content.load()
    counting_steps = {step.id for step in guide.steps if step.rhythm}
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    mode = ["--keyboard"] if args.keys_only else []
    spoken = {phrase: flite(work, phrase) for phrase, _ in [*AT_COUNT, ("left", b""), ("next", b"")]}
    with PulseHarness(work / "pulse") as pulse:
        run = Program(pulse, work, *mode, "--count", "words")
        pid = run.process.pid
        samples: list[tuple[float, int, int]] = []
        sent = {"voice": 0, "keyboard": 0}
        start = time.monotonic()
        next_sample = start
        step = guide.steps[0].id
        while time.monotonic() - start < args.minutes * 60:
            steps = [e for e in run.events() if e["type"] == "step"]
            step = steps[-1]["id"] if steps else step
            if step in counting_steps:
                phrase, key = rng.choice(AT_COUNT)
            elif guide.steps[[s.id for s in guide.steps].index(step)].ask == "side":
                phrase, key = "left", b"l"
            else:
                phrase, key = "next", b"n"
            if args.keys_only or rng.random() < 0.5:
                run.press(key)
                sent["keyboard"] += 1
            else:
                pulse.speak(spoken[phrase], wait=True, timeout=20)
                sent["voice"] += 1
            deadline = time.monotonic() + rng.uniform(*args.every)
            while time.monotonic() < deadline:
                if time.monotonic() >= next_sample:
                    samples.append((time.monotonic() - start, *proc_status(pid)))
                    next_sample += 10
                time.sleep(0.05)
        run.press(b"q")
        sent["keyboard"] += 1
        status = run.finish(timeout=60)
        events = run.events()
    after_warm_up = [s for s in samples if s[0] >= 60] or samples
    lags = [e["t"] - e["planned_t"] for e in events if e["type"] == "cue"]
    heard = {source: sum(1 for e in events if e["type"] == "command" and e["source"] == source) for source in sent}
    report = {
        "minutes": round(args.minutes, 1),
        "exit_status": status,
        "rss_mb_first_minute_end": round(after_warm_up[0][1] / 1024, 1),
        "rss_mb_end": round(samples[-1][1] / 1024, 1),
        "rss_growth_mb": round((samples[-1][1] - after_warm_up[0][1]) / 1024, 2),
        "threads_min_max_after_first_minute": [min(s[2] for s in after_warm_up), max(s[2] for s in after_warm_up)],
        "cues": len(lags),
        "cue_lag_ms_median": round(statistics.median(lags) * 1000, 1) if lags else None,
        "cue_lag_ms_p95": round(sorted(lags)[int(0.95 * (len(lags) - 1))] * 1000, 1) if lags else None,
        "cue_lag_ms_max": round(max(lags) * 1000, 1) if lags else None,
        "commands_sent": sent,
        "commands_acted_on": heard,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
