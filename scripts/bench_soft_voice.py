#!/usr/bin/env python3
"""A soft voice, live: commands understood as the gain learns her level, and
whether the room's noise, raised with her voice, then fires anything.

For each voice of the dev set (scripts/make_devset.py), one recognizer hears
that voice's commands of one condition (by default "quiet": 20 dB below the
others) one after another, as a live session does: no learning from the file
beforehand, each utterance learnt as hers (and heard again once her level is
known) the way the listener does it, steady room noise under everything. Then
a minute of that noise alone. The same with the gain off (max_gain=0), side by
side.

    .venv/bin/python scripts/bench_soft_voice.py [--room-db 20 30 40]
        [--condition quiet] [--per-voice 10] [--tune SETTING=VALUE ...]
        [--devset build/devset]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice.audio import SAMPLE_RATE, chunks, pcm16, read_wav  # noqa: E402
from voice.content import load  # noqa: E402
from voice.errors import OptionError  # noqa: E402
from voice.recognizer import Recognizer, Tuning  # noqa: E402

CHUNK_BYTES = 960  # 30 ms, as the microphone reads
NOISE_AFTER = 60.0  # seconds of room noise alone at the end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devset", type=Path, default=ROOT / "build" / "devset")
    parser.add_argument("--condition", default="quiet")
    parser.add_argument("--room-db", type=float, nargs="+", default=[20.0, 30.0, 40.0],
                        help="room noise levels, dB of 16-bit frame power (speech: about 70, quiet speech 50)")
    parser.add_argument("--per-voice", type=int, default=10, help="commands per voice, in turn")
    parser.add_argument("--tune", action="append", default=[], metavar="SETTING=VALUE",
                        help="another recognizer setting to measure (run.py recognize --tune)")
    args = parser.parse_args(argv)
    try:
        tuning = Tuning.overrides(args.tune)
    except OptionError as exc:
        parser.error(str(exc))
    manifest = args.devset / "manifest.jsonl"
    if not manifest.exists():
        parser.error(f"{manifest} not found: run scripts/make_devset.py first")
    by_voice: dict[str, list[dict]] = defaultdict(list)
    for row in map(json.loads, manifest.read_text(encoding="utf-8").splitlines()):
        if row["condition"] == args.condition and row["expected"] and not row["answers"]:
            by_voice[f'{row["synth"]} {row["voice"]}'].append(row)
    if not by_voice:
        parser.error(f"no commands of condition {args.condition!r} in {manifest}")
    content = load()
    print(f"| room noise | gain | commands understood | first of each voice | fired by {NOISE_AFTER:.0f} s of noise |")
    print("|---|---|---|---|---|")
    for room_db in args.room_db:
        for label, settings in (("on", tuning), ("off", {**tuning, "max_gain": 0.0})):
            rng = np.random.default_rng(7)
            understood = first = fired = total = 0
            for rows in by_voice.values():
                recognizer = Recognizer(content, **settings)
                for i, row in enumerate(rows[: args.per_voice]):
                    clip = np.frombuffer(read_wav(args.devset / row["file"]), dtype="<i2").astype(np.float64)
                    clip = np.concatenate([np.zeros(SAMPLE_RATE), clip, np.zeros(SAMPLE_RATE)])
                    heard = _hear(recognizer, clip + _room(rng, len(clip), room_db))
                    hit = row["expected"] in [r.command for r in heard]
                    understood += hit
                    first += hit and i == 0
                    total += 1
                noise = _room(rng, int(NOISE_AFTER * SAMPLE_RATE), room_db)
                fired += sum(r.command is not None for r in _hear(recognizer, noise))
            print(f"| {room_db:.0f} dB | {label} | {understood}/{total} ({understood / total:.0%}) "
                  f"| {first}/{len(by_voice)} | {fired} |", flush=True)
    return 0


def _hear(recognizer: Recognizer, samples: np.ndarray) -> list:
    """Recognitions of this audio, streamed; each learnt as hers and heard again if
    need be, as the listener does."""
    return [recognizer.hers(r) for chunk in chunks(pcm16(samples), CHUNK_BYTES) for r in recognizer.feed(chunk)]


def _room(rng: np.random.Generator, n: int, db: float) -> np.ndarray:
    """Steady room noise, a low rumble under a hiss, at db of 16-bit frame power."""
    rumble = np.cumsum(rng.standard_normal(n))
    rumble -= np.convolve(rumble, np.ones(400) / 400, "same")
    noise = rumble / rumble.std() + rng.standard_normal(n)
    return noise / noise.std() * 10 ** (db / 20)


if __name__ == "__main__":
    sys.exit(main())
