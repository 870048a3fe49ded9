#!/usr/bin/env python3
"""What listening costs: CPU time per second of audio and resident memory.

One recognizer, as the live loop builds it, hears a stretch of silence (with a
faint hiss, as a microphone gives), then continuous talk: the committed clips'
sentences and commands one after another with 0.3 s between them (runs of
them go past the longest command and are not decoded), then the same with
0.6 s between them, each its own utterance, every one decoded (the worst case).
CPU time spent over seconds of audio is the share of one core it takes in real
time. Memory is the process's peak resident set (the model loaded).

    .venv/bin/python scripts/bench_cpu.py [--seconds 60] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice.audio import SAMPLE_RATE, chunks, pcm16, read_wav  # noqa: E402
from voice.content import load  # noqa: E402
from voice.recognizer import Recognizer  # noqa: E402

CHUNK_BYTES = 960  # 30 ms, as the microphone reads
CLIPS = ROOT / "tests" / "data" / "clips"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of each kind of audio (default 60)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n = int(args.seconds * SAMPLE_RATE)
    silence = pcm16(rng.standard_normal(n) * 3.0)
    clips = [read_wav(clip) for clip in sorted(CLIPS.glob("*.wav"))]

    def talk(pause: float) -> bytes:
        gap = pcm16(rng.standard_normal(int(pause * SAMPLE_RATE)) * 3.0)
        audio = b""
        while len(audio) < 2 * n:
            audio += b"".join(clip + gap for clip in clips)
        return audio[: 2 * n]

    begin = time.perf_counter()
    recognizer = Recognizer(load())
    load_seconds = time.perf_counter() - begin
    report = {"load_seconds": round(load_seconds, 2)}
    kinds = {"silence": silence, "talk": talk(0.3), "utterances": talk(0.6)}
    for name, audio in kinds.items():
        cpu = time.process_time()
        utterances = sum(len(recognizer.feed(chunk)) for chunk in chunks(audio, CHUNK_BYTES))
        share = (time.process_time() - cpu) / (len(audio) / (2 * SAMPLE_RATE))
        report[name] = {"core_share": round(share, 4), "utterances": utterances}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"model loaded in {report['load_seconds']} s")
    for name in kinds:
        entry = report[name]
        print(f"{name}: {100 * entry['core_share']:.2f}% of a core ({entry['utterances']} utterances)")
    print(f"peak resident memory: {report['peak_rss_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
