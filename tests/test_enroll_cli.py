"""run.py enroll end to end on a private PulseAudio server: the sentences said
into the virtual microphone by flite, the profile then used by the voice session."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from voice.adaptation import learn
from voice.cli import APP_NAME

from .conftest import READER
from .program import flite, listening, says, voice_commands
from .pulse import PulseHarness
from .shared import CONTENT, ROOT, run_cli

pytestmark = pytest.mark.skipif(not shutil.which("flite"), reason="flite says the sentences")
PROFILE = Path(APP_NAME) / "voice-profile.mllr"
SENTENCES = CONTENT.enrollment.sentences[:4]


def lines_of(process: subprocess.Popen) -> queue.Queue:
    """The program's stdout, line by line, as it prints them."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.decode().strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_she_reads_the_sentences_into_the_microphone_and_a_profile_is_learnt(
    pulse: PulseHarness, tmp_path: Path
) -> None:
    # Four sentences of the content's twelve, to keep the test short.
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    text = (content / "enrollment.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("  sentences:\n")
    (content / "enrollment.yaml").write_text(head + "  sentences:\n" + "".join(f"    - {s}\n" for s in SENTENCES))
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--content", str(content), "enroll"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**pulse.env(), "XDG_DATA_HOME": str(data), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    try:
        lines = lines_of(process)
        printed = []
        for number, sentence in enumerate(SENTENCES, 1):
            while not (line := lines.get(timeout=60)).startswith(f"Sentence {number} of"):
                printed.append(line)
            printed.append(line)
            assert sentence in line
            pulse.wait_for_stream("source-outputs")  # listening once the prompt is said
            pulse.speak(flite(tmp_path, sentence, READER), timeout=30)
        assert process.wait(timeout=120) == 0, process.stderr.read().decode() if process.stderr else ""
        while not lines.empty():
            printed.append(lines.get())
    finally:
        process.kill()
    lines_said = CONTENT.enrollment
    assert printed[0] == lines_said.intro.format(total=len(SENTENCES))
    assert lines_said.not_heard.split("{")[0] not in "\n".join(printed)
    assert printed[-3:] == [lines_said.learning, lines_said.learnt, f"Voice profile: {data / PROFILE}"]
    assert (data / PROFILE).stat().st_size > 0


def test_ctrl_c_stops_it_cleanly_and_leaves_the_profile_as_it_was(pulse: PulseHarness, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / PROFILE).parent.mkdir(parents=True)
    (data / PROFILE).write_text("the profile learnt before\n")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "enroll"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**pulse.env(), "XDG_DATA_HOME": str(data), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    try:
        lines = lines_of(process)
        while not lines.get(timeout=60).startswith("Sentence 1 of"):
            pass
        pulse.wait_for_stream("source-outputs")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert lines.get(timeout=5) == "Stopped: the voice profile is as it was."
        assert process.stderr is not None and b"Traceback" not in process.stderr.read()
    finally:
        process.kill()
    assert (data / PROFILE).read_text() == "the profile learnt before\n"


def test_the_voice_session_listens_with_her_profile(
    pulse: PulseHarness, program, readings: list[tuple[bytes, str]], tmp_path: Path
) -> None:
    learn(readings, tmp_path / "data" / PROFILE)
    run = listening(pulse, program, "--no-log", "--debug")
    says(run, "Before you start")
    quiet = run.events()[-1]["t"]
    pulse.speak(flite(tmp_path, "where am I", READER), timeout=20)
    run.wait_for(lambda e: e["type"] == "command" and e["id"] == "where", quiet)
    assert voice_commands(run, quiet) == ["where"]
    run.press(b"q")
    assert run.finish() == 0
    assert "listening with the voice profile" in run.stderr()


def test_a_broken_profile_is_set_aside_and_her_voice_still_heard(pulse: PulseHarness, program, tmp_path: Path) -> None:
    (tmp_path / "data" / PROFILE).parent.mkdir(parents=True)
    (tmp_path / "data" / PROFILE).write_text("not a transform\n")
    run = listening(pulse, program, "--no-log")
    says(run, "Before you start")
    quiet = run.events()[-1]["t"]
    pulse.speak(flite(tmp_path, "where am I", READER), timeout=20)
    run.wait_for(lambda e: e["type"] == "command" and e["id"] == "where", quiet)
    run.press(b"q")
    assert run.finish() == 0
    assert "listening without the voice profile" in run.stderr()


def test_forget_deletes_the_profile(tmp_path: Path) -> None:
    (tmp_path / PROFILE).parent.mkdir(parents=True)
    (tmp_path / PROFILE).write_text("a profile\n")
    done = run_cli("enroll", "--forget", data_dir=tmp_path)
    assert done.returncode == 0 and not (tmp_path / PROFILE).exists()
    assert "deleted" in done.stdout.decode()
    again = run_cli("enroll", "--forget", data_dir=tmp_path)
    assert again.returncode == 0 and "no voice profile to delete" in again.stdout.decode()


def test_recognize_with_a_profile_that_is_not_there_says_so(tmp_path: Path) -> None:
    done = run_cli("recognize", "--profile", str(tmp_path / "none.mllr"), str(ROOT / "tests/data/clips/next.wav"))
    assert done.returncode == 1
    assert f"no voice profile at {tmp_path / 'none.mllr'}" in done.stderr.decode()
