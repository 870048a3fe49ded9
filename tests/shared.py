"""Shared helpers for the tests: the content, sessions and what they said."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from voice import content
from voice.commands import CommandId, Source
from voice.session import Action, InputMode, Say, Session

ROOT = Path(__file__).resolve().parent.parent
CONTENT = content.load()
STEP_IDS = [step.id for step in CONTENT.steps]
SIDE_STEP = next(i for i, step in enumerate(CONTENT.steps) if step.ask == "side")
CLIPS = Path(__file__).parent / "data" / "clips"


class TakingPlayer:
    """A Player for SpokenOutput that keeps what it is given to play and sounds nothing."""

    def __init__(self, started, finished, error) -> None:
        self.played: list[tuple[object, object]] = []

    def play(self, sound, item, at=None) -> None:
        self.played.append((sound, item))

    def stop(self) -> None: ...

    def close(self) -> None: ...


def clip_rows() -> list[dict[str, str]]:
    """The committed clips' manifest: file, text, voice, expected command, answers."""
    with (CLIPS / "manifest.tsv").open(encoding="utf-8") as manifest:
        return list(csv.DictReader(manifest, delimiter="\t"))


def says(actions: list[Action]) -> list[Say]:
    return [action for action in actions if isinstance(action, Say)]


def kinds(actions: list[Action]) -> list[str]:
    return [say.kind for say in says(actions)]


def text(actions: list[Action]) -> str:
    return " ".join(say.text for say in says(actions))


def new_session(mode: InputMode = InputMode.VOICE, t: float = 0.0, **kwargs) -> Session:
    session = Session(CONTENT, mode, t, **kwargs)
    session.start(t)
    return session


def at_step(step_id: str, t: float = 0.0, breast: CommandId = CommandId.LEFT, mode: InputMode = InputMode.VOICE) -> Session:
    """A session moved to a step, having chosen a breast on the way (or not, before the question)."""
    session = new_session(mode, t)
    target = STEP_IDS.index(step_id)
    while session.step.id != step_id:
        if session.step.ask == "side":
            session.handle(breast, Source.KEYBOARD, t)
        else:
            session.handle(CommandId.NEXT, Source.KEYBOARD, t)
        assert STEP_IDS.index(session.step.id) <= target
    return session


def finish_speech(session: Session, actions: list[Action], t: float) -> list[Action]:
    """Report the last utterance of actions as said, as the runner does."""
    last = says(actions)[-1]
    return session.speech_finished(last.id, t)


def run_cli(
    *args: str, stdin: bytes = b"", timeout: float = 60, env: dict | None = None, data_dir: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the real program. Its session record goes to data_dir, or to a fresh
    folder, never to the user's own."""
    data_home = str(data_dir) if data_dir else tempfile.mkdtemp(prefix="voice-data-")
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "XDG_DATA_HOME": data_home, **(env or {})},
    )
