#!/usr/bin/env python3
"""The sound server dying and coming back: how soon voice and speech return.

The real program runs on a private PulseAudio server. Each round kills the
server, waits, starts it again, and measures from the restart:
- voice back: until the program reports its microphone available again
  (--events "voice_input");
- speech back: a key is pressed every half second from the restart until an
  answer is heard in the recording of the restarted server's speaker.
At the end it checks the session record is whole and readable.

    .venv/bin/python scripts/bench_faults.py [--rounds 5] [--down 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.program import Program, says  # noqa: E402
from tests.pulse import PulseHarness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down", type=float, default=2.0, help="seconds the server stays dead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faults-"))
    voice_back, speech_back = [], []
    with PulseHarness(work / "pulse") as pulse:
        run = Program(pulse, work)
        pulse.wait_for_stream("source-outputs")
        says(run, "Before you start")
        for _ in range(args.rounds):
            before = run.events()[-1]["t"]
            pulse.kill()
            run.wait_for(lambda e: e["type"] == "voice_input" and not e["available"], before)
            time.sleep(args.down)
            pulse.restart()
            restarted = time.monotonic()
            with pulse.record() as recorder:
                heard = None
                while heard is None and time.monotonic() - restarted < 30:
                    pressed = run.press(b"w")
                    try:
                        heard = recorder.wait_for_onset(pressed, timeout=0.5)
                    except TimeoutError:
                        continue
            if heard is None:
                raise SystemExit("speech did not come back within 30 s")
            speech_back.append(heard - restarted)
            back = run.wait_for(lambda e: e["type"] == "voice_input" and e["available"], before, timeout=30)
            voice_back.append(run.monotonic(back) - restarted)
            time.sleep(3)  # let the answer end
        run.press(b"q")
        status = run.finish(timeout=60)
    record = json.loads((work / "data" / "hand-expressing-voice" / "sessions.json").read_text())
    figures = {
        "rounds": args.rounds,
        "server_down_seconds": args.down,
        "voice_back_s_median": round(statistics.median(voice_back), 2),
        "voice_back_s_max": round(max(voice_back), 2),
        "speech_back_s_median": round(statistics.median(speech_back), 2),
        "speech_back_s_max": round(max(speech_back), 2),
        "exit_status": status,
        "record_readable_and_ended": record["sessions"][-1]["data"]["ended"],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
