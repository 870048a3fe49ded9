"""The real program as a subprocess on a private PulseAudio server: keys in
through a pipe, its --events log read as it is written."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .pulse import PulseHarness
from .shared import ROOT

WAIT = 30.0
"""Bound on every wait for the program, so a hang fails fast."""


class Program:
    def __init__(
        self,
        pulse: PulseHarness,
        tmp_path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        python: list[str] | None = None,
    ) -> None:
        """python: how to start run.py (default: this interpreter), e.g. under a guard."""
        self.events_path = tmp_path / "events.jsonl"
        self.events_path.unlink(missing_ok=True)
        environment = pulse.env()
        environment.update(
            XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"), **(env or {})
        )
        self.process = subprocess.Popen(
            [*(python or [sys.executable]), str(ROOT / "run.py"), *args, "--events", str(self.events_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=ROOT,
        )
        self.start = self.wait_for(lambda e: e["type"] == "start")["monotonic"]

    def events(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def wait_for(self, match: Callable[[dict[str, Any]], bool], after: float = -1.0, timeout: float = WAIT) -> dict[str, Any]:
        """The first event matching, with "t" after `after`; fails after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if event.get("t", 0) > after and match(event):
                    return event
            if self.process.poll() is not None:
                raise AssertionError(f"the program ended ({self.process.returncode}) while waiting: {self.stderr()}")
            time.sleep(0.02)
        raise AssertionError(f"no matching event within {timeout} s; events: {self.events()[-8:]}")

    def monotonic(self, event: dict[str, Any]) -> float:
        """An event's time on this machine's monotonic clock."""
        return self.start + event["t"]

    def press(self, keys: bytes) -> float:
        """Type keys; returns when (monotonic) they were sent."""
        assert self.process.stdin is not None
        self.process.stdin.write(keys)
        self.process.stdin.flush()
        return time.monotonic()

    def finish(self, timeout: float = WAIT) -> int:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read().decode(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream and not stream.closed:
                stream.close()


def says(program: Program, text: str, after: float = -1.0, timeout: float = WAIT) -> dict[str, Any]:
    return program.wait_for(lambda e: e["type"] == "say" and text in e["text"], after, timeout)


def flite(tmp_path: Path, text: str, voice: str = "slt") -> Path:
    """A command or sentence spoken by flite (another engine than the assistant's)."""
    path = tmp_path / f"{voice}-{text.replace(' ', '_').replace(',', '')}.wav"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, timeout=30)
    return path


def listening(pulse: PulseHarness, program: Callable[..., Program], *args: str, **kwargs: Any) -> Program:
    """The program started in voice mode, once its microphone is open."""
    run = program(*args, **kwargs)
    pulse.wait_for_stream("source-outputs")
    return run


def voice_commands(run: Program, after: float = -1.0) -> list[str]:
    return [e["id"] for e in run.events() if e["type"] == "command" and e["source"] == "voice" and e["t"] > after]
