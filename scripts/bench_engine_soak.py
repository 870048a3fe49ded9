#!/usr/bin/env python3
"""Two simulated hours of a session under a fake clock: memory, drift, speed.

A random command every 5 to 30 seconds (never "stop"), speech that takes as long
as it would to say, the count ticked at each deadline plus a random lateness.
Reports the engine's memory growth (tracemalloc), the largest error of any
cue against its schedule, and how long the two hours took to compute.

    .venv/bin/python scripts/bench_engine_soak.py [--hours 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice import content  # noqa: E402
from voice.commands import CommandId, Source  # noqa: E402
from voice.session import InputMode, PlayCue, Say, Session  # noqa: E402

WORDS_A_SECOND = 2.9  # 175 words a minute
# What a mother at the counting steps says most; every command but "stop" appears.
WEIGHTS = {CommandId.NO_MILK: 20, CommandId.RESUME: 10, CommandId.WHERE: 8, CommandId.REPEAT: 8, CommandId.NEXT: 6}
COMMANDS = [c for c in CommandId if c is not CommandId.STOP]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--every", type=float, nargs=2, default=(5.0, 30.0), metavar=("MIN", "MAX"),
                        help="seconds between commands, drawn evenly (default 5 30)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    guide = content.load()
    session = Session(guide, InputMode.VOICE, 0.0)
    end = args.hours * 3600
    started = time.perf_counter()
    tracemalloc.start()

    t = 0.0
    speech_ends: tuple[float, int] | None = None
    next_command = 5.0
    cues = 0
    worst = 0.0
    commands = 0
    anchor: tuple[float, int] | None = None  # (time, cycle) of the first press since counting started
    baseline = None

    def apply(actions: list, restarted: bool = False) -> None:
        """Carry out actions; restarted: counting (re)starts with these."""
        nonlocal speech_ends, cues, worst, anchor
        for action in actions:
            if isinstance(action, Say):
                speech_ends = (t + len(action.text.split()) / WORDS_A_SECOND, action.id)
            elif isinstance(action, PlayCue):
                cue = action.cue
                cues += 1
                if cue.name != "press":
                    continue
                if restarted or anchor is None:
                    anchor = (cue.planned_t, cue.cycle)
                    restarted = False
                expected = anchor[0] + (cue.cycle - anchor[1]) * 60 / session.rhythm.tempo
                worst = max(worst, abs(cue.planned_t - expected))

    apply(session.start(t))
    while t < end:
        deadlines = [next_command]
        if speech_ends:
            deadlines.append(speech_ends[0])
        due = session.next_deadline()
        if due is not None:
            deadlines.append(due)
        t = max(t, min(deadlines)) + rng.uniform(0, 0.02)
        if speech_ends and t >= speech_ends[0]:
            say_id = speech_ends[1]
            speech_ends = None
            apply(session.speech_finished(say_id, t), restarted=True)
        if t >= next_command:
            commands += 1
            command = rng.choices(COMMANDS, [WEIGHTS.get(c, 3) for c in COMMANDS])[0]
            apply(session.handle(command, Source.VOICE, t))
            next_command = t + rng.uniform(*args.every)
        apply(session.tick(t))
        if baseline is None and t > 60:
            baseline = tracemalloc.take_snapshot()
    current = tracemalloc.take_snapshot()
    growth = sum(stat.size_diff for stat in current.compare_to(baseline, "filename"))
    elapsed = time.perf_counter() - started
    summary = session.summary(t)
    print(f"simulated: {t / 3600:.2f} h, {commands} commands, {cues} cues, {summary.no_milk} no-milk moves")
    print(f"memory growth after the first minute: {growth / 1e6:.3f} MB")
    print(f"largest cue error against its schedule: {worst * 1000:.6f} ms")
    print(f"computed in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
