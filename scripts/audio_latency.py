#!/usr/bin/env python3
"""Measure the audio test harness's own latencies (tests/pulse.py).

(a) speaker: a PyAudio output stream (callback mode, 22050 Hz mono) beeps; the time from
    the callback returning the beep's first buffer to the beep's onset in the recording
    of the null sink's monitor.
(b) microphone: the harness speaks beeps into the pipe source; the time from the end of
    each beep as the harness reports it to the return of the PyAudio input read
    (16 kHz mono, blocking) that holds its last loud sample.

Each configuration runs in a child process on a fresh private server, as the program
under test would.  PyAudio always asks PortAudio for the device's default low latency
(8.7 ms here), so the knobs a program has are frames_per_buffer and PULSE_LATENCY_MSEC.

    .venv/bin/python scripts/audio_latency.py [--trials 20]

Found on the 2-core machine, PulseAudio 16.1, 20 beeps (median / p95 ms):
  (a) frames 256: 18 / 23;  512: 41 / 46   (about two buffers: PortAudio's ALSA buffer)
  (b) frames 480: 10 / 20;  1024: 60 / 110 (the read waits for a full buffer)
PULSE_LATENCY_MSEC: leave it unset.  20 shaves ~7 ms off (a) at 256 frames but stalls a
512-frame output stream for good (a buffer shorter than two periods); 100 adds ~60 ms.
The harness's own settings that keep these low: null sink norewinds=1 (renders at most
the requested latency ahead), 10 ms feeder chunks, parec at --latency-msec=10.  tsched=0
is a module-alsa-sink option: there is no sound card, so it does not apply.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pulse import MIC_RATE, SINK_RATE, WAIT_S, PulseHarness, pulseaudio_missing, tone

BEEP_HZ = 1000.0
PLAY_BEEP_S = 0.05
PLAY_PERIOD_S = 0.4
SPEAK_BEEP_S = 0.2
SPEAK_GAP_S = 0.3
WARMUP_S = 0.5
LOUD = 1000
"""Sample amplitude the record child counts as loud: far above silence (0), far below a beep."""
OUTPUT_FRAMES = (256, 512)
INPUT_FRAMES = (480, 1024)
PULSE_LATENCY_MSEC = (None, 20, 100)
"""None leaves the ALSA pulse plugin's own buffer sizing."""


class TrialError(RuntimeError):
    """A configuration that did not work (a child failed or a beep went missing)."""


# --- children: run under the harness's environment; print one JSON line -----------------


def child_play(frames: int, trials: int) -> None:
    """Beep every PLAY_PERIOD_S; print when each beep's first buffer was returned."""
    import pyaudio

    beep = tone(BEEP_HZ, PLAY_BEEP_S, SINK_RATE).tobytes()
    next_beep = time.monotonic() + WARMUP_S
    cursor = len(beep)  # bytes of the current beep already returned
    written: list[float] = []

    def callback(_in: bytes | None, count: int, _info: Mapping[str, float], _status: int) -> tuple[bytes, int]:
        nonlocal next_beep, cursor
        starting = cursor >= len(beep) and len(written) < trials and time.monotonic() >= next_beep
        if starting:
            cursor = 0
            next_beep += PLAY_PERIOD_S
        chunk = beep[cursor : cursor + 2 * count]
        cursor += len(chunk)
        if starting:
            written.append(time.monotonic())
        return chunk + bytes(2 * count - len(chunk)), pyaudio.paContinue

    audio = pyaudio.PyAudio()
    stream = audio.open(
        format=pyaudio.paInt16,
        channels=1,
        rate=SINK_RATE,
        output=True,
        frames_per_buffer=frames,
        stream_callback=callback,
    )
    deadline = time.monotonic() + WARMUP_S + trials * PLAY_PERIOD_S + WAIT_S
    while len(written) < trials or cursor < len(beep):
        if time.monotonic() > deadline:
            raise TimeoutError("not all beeps were played")
        time.sleep(0.05)
    time.sleep(PLAY_PERIOD_S)  # let the last beep drain before closing
    reported = stream.get_output_latency()
    stream.close()
    audio.terminate()
    print(json.dumps({"written": written, "reported": reported}))


def child_record(frames: int, seconds: float) -> None:
    """Read the default input for ``seconds``; print each read's return time and whether
    it held a loud sample.  Prints "ready" once the stream is open."""
    import pyaudio

    audio = pyaudio.PyAudio()
    stream = audio.open(format=pyaudio.paInt16, channels=1, rate=MIC_RATE, input=True, frames_per_buffer=frames)
    print("ready", flush=True)
    reads: list[tuple[float, bool]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        data = stream.read(frames, exception_on_overflow=False)
        reads.append((time.monotonic(), bool(np.abs(np.frombuffer(data, "<i2").astype(np.int32)).max() > LOUD)))
    reported = stream.get_input_latency()
    stream.close()
    audio.terminate()
    print(json.dumps({"reads": reads, "reported": reported}))


# --- parent -----------------------------------------------------------------------------


def _child_argv(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


def _child_env(harness: PulseHarness, latency_msec: int | None) -> dict[str, str]:
    env = harness.env()
    if latency_msec is not None:
        env["PULSE_LATENCY_MSEC"] = str(latency_msec)
    return env


@dataclasses.dataclass(frozen=True)
class Found:
    """One configuration's measurements."""

    latencies: list[float]
    """Seconds, one per beep."""
    portaudio: float
    """The stream's latency as PortAudio reports it, in seconds."""


def _output_trial(root: Path, frames: int, latency_msec: int | None, trials: int) -> Found:
    with PulseHarness(root) as harness, harness.record() as recorder:
        child = subprocess.run(
            _child_argv("play", str(frames), str(trials)),
            check=False,
            env=_child_env(harness, latency_msec),
            capture_output=True,
            text=True,
            timeout=WARMUP_S + trials * PLAY_PERIOD_S + 3 * WAIT_S,
        )
        if child.returncode:
            raise TrialError(f"play child failed:\n{child.stderr[-3000:]}")
        result = json.loads(child.stdout.splitlines()[-1])
        recording = recorder.stop()
    latencies = []
    for written in result["written"]:
        # Search from a little before the write so a harness that stamps sound too early
        # shows as a negative latency instead of a missed beep.
        onset = recording.onset(written - PLAY_PERIOD_S / 4)
        if onset is None or onset > written + PLAY_PERIOD_S / 2:
            raise TrialError(f"beep written at {written:.3f} not found in the recording")
        latencies.append(onset - written)
    return Found(latencies, result["reported"])


def _input_trial(root: Path, frames: int, latency_msec: int | None, trials: int) -> Found:
    seconds = WARMUP_S + trials * (SPEAK_BEEP_S + SPEAK_GAP_S) + 1.0
    with PulseHarness(root) as harness:
        child = subprocess.Popen(
            _child_argv("record", str(frames), str(seconds)),
            env=_child_env(harness, latency_msec),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ends = _speak_beeps(harness, child, trials)
            out, err = child.communicate(timeout=seconds + WAIT_S)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate(timeout=WAIT_S)
    if child.returncode:
        raise TrialError(f"record child failed:\n{err[-3000:]}")
    result = json.loads(out.splitlines()[-1])
    reads = result["reads"]
    latencies = []
    for end in ends:
        # The read holding a beep's last loud sample: the last loud read before a quiet one.
        later = [index for index, (when, loud) in enumerate(reads) if when > end - SPEAK_BEEP_S and loud]
        if not later:
            raise TrialError(f"beep ending at {end:.3f} not heard by the child")
        index = later[0]
        while index + 1 < len(reads) and reads[index + 1][1]:
            index += 1
        latencies.append(reads[index][0] - end)
    return Found(latencies, result["reported"])


def _speak_beeps(harness: PulseHarness, child: subprocess.Popen[str], trials: int) -> list[float]:
    if child.stdout is None or child.stdout.readline().strip() != "ready":
        raise TrialError("record child did not open its stream")
    time.sleep(WARMUP_S)
    beep = tone(BEEP_HZ, SPEAK_BEEP_S, MIC_RATE)
    ends = []
    for _ in range(trials):
        timing = harness.speak(beep).timing
        if timing.dropped_ms:
            raise TrialError(f"{timing.dropped_ms} ms of a beep dropped: the child was not reading")
        ends.append(timing.end_monotonic)
        time.sleep(SPEAK_GAP_S)
    return ends


def _summary(latencies: list[float]) -> str:
    ms = sorted(1000 * value for value in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):6.1f}  p95 {p95:6.1f}  min {ms[0]:6.1f}  max {ms[-1]:6.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="beeps per configuration")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, frames, amount = args.child
        if mode == "play":
            child_play(int(frames), int(amount))
        else:
            child_record(int(frames), float(amount))
        return 0
    missing = pulseaudio_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    runs = (
        (
            f"(a) PyAudio output write -> monitor onset, {SINK_RATE} Hz mono, callback",
            "out",
            OUTPUT_FRAMES,
            _output_trial,
        ),
        (
            f"(b) end of speech in pipe -> PyAudio input read, {MIC_RATE} Hz mono, blocking",
            "in",
            INPUT_FRAMES,
            _input_trial,
        ),
    )
    with tempfile.TemporaryDirectory() as tmp:
        for title, name, frame_sizes, trial in runs:
            print(f"{title}, {args.trials} beeps", flush=True)
            for latency_msec in PULSE_LATENCY_MSEC:
                for frames in frame_sizes:
                    label = f"  frames {frames:4}  PULSE_LATENCY_MSEC {latency_msec!s:>4}"
                    try:
                        found = trial(Path(tmp) / f"{name}-{frames}-{latency_msec}", frames, latency_msec, args.trials)
                    except TrialError as error:
                        print(f"{label}  failed: {str(error).splitlines()[-1]}", flush=True)
                        continue
                    print(
                        f"{label}  {_summary(found.latencies)}  (PortAudio reports {1000 * found.portaudio:.1f} ms)",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
