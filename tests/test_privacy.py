"""Nothing leaves the machine: whole sessions with every network socket refused,
and in a network namespace with no interfaces; no audio written to disk."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .program import says
from .shared import ROOT, run_cli

GUARD = str(ROOT / "tests" / "no_network.py")
WALK = b"next\nleft\nnext\nnext\nno milk\ncontacts\nhelp\nwhere am I\nstop\n"
needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"), reason="network namespaces need root"
)


def audio_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".wav", ".raw", ".pcm", ".flac", ".ogg")]


def test_a_text_session_opens_no_network_socket(tmp_path):
    report = tmp_path / "network.txt"
    result = subprocess.run(
        [sys.executable, GUARD, str(report), str(ROOT / "run.py"), "--text"],
        input=WALK,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1].startswith("Session finished")
    assert not report.exists(), report.read_text()


@needs_unshare
def test_a_text_session_runs_with_no_network_at_all(tmp_path):
    result = subprocess.run(
        ["unshare", "-n", sys.executable, str(ROOT / "run.py"), "--text"],
        input=WALK,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1].startswith("Session finished")


def test_the_guard_does_see_a_network_attempt(tmp_path):
    """The check above could not pass by missing attempts: here it catches one."""
    report = tmp_path / "network.txt"
    script = tmp_path / "net.py"
    script.write_text("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=1)\n")
    subprocess.run([sys.executable, GUARD, str(report), str(script)], capture_output=True, timeout=30)
    assert "socket" in report.read_text()


def test_a_spoken_session_opens_no_network_socket_and_writes_no_audio(pulse, program, tmp_path):
    report = tmp_path / "network.txt"
    run = program("--keyboard", python=[sys.executable, GUARD, str(report)])
    says(run, "Hand expressing")
    for key in b"nlnnmtwq":
        run.press(bytes([key]))
        time.sleep(0.2)
    says(run, "Session finished")
    assert run.finish() == 0
    assert not report.exists(), report.read_text()
    data = tmp_path / "data"
    assert not audio_files(data) and audio_files(tmp_path / "cache")  # speech is cached, nothing recorded


def test_the_session_record_keeps_no_audio_and_no_words(tmp_path):
    run_cli("--text", stdin=b"please call my sister anna\nnext\nstop\n", data_dir=tmp_path)
    files = list(tmp_path.rglob("*"))
    assert not audio_files(tmp_path)
    assert not any("anna" in f.read_text(errors="replace") for f in files if f.is_file())
