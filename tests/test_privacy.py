"""Nothing leaves the machine: whole sessions with every network socket refused,
and in a network namespace with no interfaces; no audio written to disk."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voice.audio import read_wav

from .program import flite, listening, says, voice_commands
from .shared import ROOT, run_cli

GUARD = str(ROOT / "tests" / "no_network.py")
WALK = b"next\nleft\nnext\nnext\nno milk\ncontacts\nhelp\nwhere am I\nstop\n"
needs_flite = pytest.mark.skipif(not shutil.which("flite"), reason="flite makes the test speech")
needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"), reason="network namespaces need root"
)


def audio_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".wav", ".raw", ".pcm", ".flac", ".ogg")]


def text_session(python: list[str], tmp_path: Path) -> None:
    """A whole session in text mode, run by python: it went to its end."""
    result = subprocess.run(
        [*python, str(ROOT / "run.py"), "--text"],
        input=WALK,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1].startswith("Session finished")


def test_a_text_session_opens_no_network_socket(tmp_path):
    report = tmp_path / "network.txt"
    text_session([sys.executable, GUARD, str(report)], tmp_path)
    assert not report.exists(), report.read_text()


@needs_unshare
def test_a_text_session_runs_with_no_network_at_all(tmp_path):
    text_session(["unshare", "-n", sys.executable], tmp_path)


def test_the_guard_does_see_a_network_attempt(tmp_path):
    """The check above could not pass by missing attempts: here it catches one."""
    report = tmp_path / "network.txt"
    script = tmp_path / "net.py"
    script.write_text("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=1)\n")
    subprocess.run([sys.executable, GUARD, str(report), str(script)], capture_output=True, timeout=30)
    assert "socket" in report.read_text()


def voice_session(pulse, run, tmp_path: Path) -> None:
    """A session driven by voice through the virtual microphone: it heard and acted."""
    says(run, "Hand expressing")
    for phrase, step in (("next", "Which breast"), ("left", "Breast massage"), ("where am I", "Step 3 of")):
        pulse.speak(flite(tmp_path, phrase), timeout=20)
        says(run, step)
    pulse.speak(flite(tmp_path, "stop"), timeout=20)
    says(run, "Do you want to finish")
    pulse.speak(flite(tmp_path, "yes"), timeout=20)
    says(run, "Session finished")
    assert run.finish() == 0
    assert voice_commands(run) == ["next", "left", "where", "stop", "yes"]


@needs_flite
def test_a_voice_session_opens_no_network_socket_and_writes_no_audio(pulse, program, tmp_path):
    report = tmp_path / "network.txt"
    before = set(audio_files(ROOT))
    voice_session(pulse, listening(pulse, program, python=[sys.executable, GUARD, str(report)]), tmp_path)
    assert not report.exists(), report.read_text()
    # Only what it says is cached; nothing it heard is kept.
    assert not audio_files(tmp_path / "data") and audio_files(tmp_path / "cache")
    assert set(audio_files(ROOT)) == before


@needs_flite
@needs_unshare
def test_a_voice_session_runs_with_no_network_at_all(pulse, program, tmp_path):
    # The audio server is reached through its Unix socket, which needs no network.
    voice_session(pulse, listening(pulse, program, python=["unshare", "-n", sys.executable]), tmp_path)


@needs_flite
def test_what_it_hears_is_kept_only_when_asked(pulse, program, tmp_path):
    kept = tmp_path / "heard"
    run = listening(pulse, program, "--record-dir", str(kept))
    says(run, "Hand expressing")
    pulse.speak(flite(tmp_path, "next"), timeout=20)
    says(run, "Which breast")
    run.press(b"q")
    assert run.finish() == 0
    [wav] = kept.glob("*-next.wav")
    pcm = read_wav(wav)
    assert 0.3 < len(pcm) / 32000 < 3  # the utterance, not the session
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 1000


def test_keeping_what_it_hears_needs_voice_mode_and_a_writable_folder(tmp_path):
    result = run_cli("--text", "--record-dir", str(tmp_path / "heard"))
    assert result.returncode == 2 and b"needs voice mode" in result.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("--record-dir", str(blocker / "heard"), env={"PULSE_SERVER": "unix:/nonexistent"})
    assert result.returncode == 2 and b"cannot write there" in result.stderr
    assert b"Traceback" not in result.stderr


def test_the_session_record_keeps_no_audio_and_no_words(tmp_path):
    run_cli("--text", stdin=b"please call my sister anna\nnext\nstop\n", data_dir=tmp_path)
    files = list(tmp_path.rglob("*"))
    assert not audio_files(tmp_path)
    assert not any("anna" in f.read_text(errors="replace") for f in files if f.is_file())


@needs_unshare
def test_the_speech_model_hears_a_command_with_no_network_at_all(tmp_path):
    """The model is a file of an installed package: no hub is asked, in a namespace
    with no network and the hub libraries left to their own defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    done = subprocess.run(
        ["unshare", "-n", sys.executable, str(ROOT / "run.py"), "recognize", "--json",
         str(ROOT / "tests" / "data" / "clips" / "next.wav")],
        capture_output=True, timeout=120, cwd=ROOT, env={**env, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr.decode()
    assert '"command": "next"' in done.stdout.decode()
