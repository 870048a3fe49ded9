#!/usr/bin/env python3
"""How long run.py export takes, and what it makes, in each format.

The real program exports a whole session with the default options (tempo,
squeezes, positions) to each format in turn: the first export fills a fresh
speech cache (as a first export does), the later ones find it warm. For each:
wall time, the file's length in minutes, its size and its chapters.

    .venv/bin/python scripts/bench_export.py [--formats wav,ogg,opus,mp3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent


def export(work: Path, ext: str) -> dict[str, object]:
    path = work / f"guide.{ext}"
    began = time.monotonic()
    subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "export", str(path)],
        check=True,
        capture_output=True,
        env={**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "XDG_CONFIG_HOME": str(work / "config")},
    )
    seconds = time.monotonic() - began
    info = soundfile.info(str(path))
    chapters = (work / f"guide.{ext}.chapters.txt").read_text(encoding="utf-8").splitlines()
    return {
        "format": ext,
        "export_seconds": round(seconds, 1),
        "minutes": round(info.duration / 60, 2),
        "megabytes": round(path.stat().st_size / 1e6, 1),
        "chapters": len(chapters),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--formats", default="wav,ogg,opus,mp3", help="comma-separated extensions, in order")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as work:
        rows = [export(Path(work), ext) for ext in args.formats.split(",")]
    print("| format | export time | length | size | chapters |")
    print("|---|---|---|---|---|")
    for i, row in enumerate(rows):
        cache = "cold cache" if i == 0 else "warm cache"
        print(
            f"| {row['format']} | {row['export_seconds']} s ({cache}) | {row['minutes']} min "
            f"| {row['megabytes']} MB | {row['chapters']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
