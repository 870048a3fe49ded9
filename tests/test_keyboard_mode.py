"""--keyboard end to end: the real program speaking through a private PulseAudio
server, driven by single keys, its speaker recorded."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from voice.output import RETRY_SECONDS
from voice.playback import NO_DEVICES, list_devices

from .program import says
from .shared import CONTENT, ROOT, STEP_IDS

SILENT_DBFS = -45.0


def step_event(program, step_id, after=-1.0):
    return program.wait_for(lambda e: e["type"] == "step" and e["id"] == step_id, after)


def test_keys_drive_the_whole_session_and_it_is_heard(pulse, program):
    with pulse.record() as recorder:
        run = program("--keyboard")
        welcome = says(run, "Hand expressing")
        recorder.wait_for_onset(run.monotonic(welcome))
        for step in CONTENT.steps[1:]:
            previous = STEP_IDS[STEP_IDS.index(step.id) - 1]
            key = b"l" if CONTENT.steps[STEP_IDS.index(previous)].ask == "side" else b"n"
            run.press(key)
            step_event(run, step.id)
        run.press(b"t")
        says(run, "Neonatal Unit: 0 2 0, 7 1 8 8, 4 0 4 5")
        run.press(b"q")
        says(run, "Session finished")
        assert run.finish() == 0
    commands = [(e["id"], e["source"]) for e in run.events() if e["type"] == "command"]
    assert commands[-2:] == [("contacts", "keyboard"), ("stop", "keyboard")]
    assert [e["id"] for e in run.events() if e["type"] == "step"] == STEP_IDS


def test_a_key_cuts_off_the_utterance_under_way(pulse, program):
    with pulse.record() as recorder:
        run = program("--keyboard")
        run.press(b"n")
        run.press(b"l")
        massage = says(run, "Breast massage")  # about twenty seconds of speech
        recorder.wait_for_onset(run.monotonic(massage))
        pressed = run.press(b"w")
        where = says(run, "Step 3 of", after=massage["t"])
        assert run.monotonic(where) - pressed < 1.0  # the answer comes now, not after the step
        # The answer's parts are made on the fly: under load a second or so may pass between them.
        end = recorder.wait_for_offset(run.monotonic(where), min_silence_ms=1500, threshold_dbfs=SILENT_DBFS)
        # Had the step not been cut off, it would still be sounding for many seconds.
        with pytest.raises(TimeoutError):
            recorder.wait_for_onset(end, timeout=3.0, threshold_dbfs=SILENT_DBFS)
        run.press(b"q")
        assert run.finish() == 0


def test_the_count_sounds_at_the_squeeze_step(pulse, program):
    with pulse.record() as recorder:
        run = program("--keyboard", "--count", "tones")
        run.press(b"n")
        run.press(b"l")
        run.press(b"nn")
        squeeze = step_event(run, "squeeze")
        cues = [run.wait_for(lambda e: e["type"] == "cue" and e["name"] == name, squeeze["t"]) for name in ("press", "release")]
        for cue in cues:
            # Each cue is heard: sound starts in the recording right at its time.
            onset = recorder.wait_for_onset(run.monotonic(cue) - 0.05)
            assert onset - run.monotonic(cue) < 0.25
        cycle = 60 / CONTENT.rhythm.default_tempo
        press = CONTENT.rhythm.press_seconds / (CONTENT.rhythm.press_seconds + CONTENT.rhythm.release_seconds)
        assert cues[1]["planned_t"] - cues[0]["planned_t"] == pytest.approx(cycle * press, abs=1e-3)
        run.press(b"q")
        assert run.finish() == 0


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 0), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_a_signal_ends_the_session_with_its_summary_said(pulse, program, signum, status):
    run = program("--keyboard")
    run.press(b"n")
    step_event(run, "side")
    run.process.send_signal(signum)
    summary = says(run, "Session finished")
    assert run.finish() == status
    events = run.events()
    assert events[-1]["type"] == "end"
    assert {"type": "command", "id": "stop", "source": "signal"}.items() <= next(
        e for e in events if e["type"] == "command" and e["id"] == "stop"
    ).items()
    assert summary["t"] < events[-1]["t"]
    record = json.loads((run.events_path.parent / "data/hand-expressing-voice/sessions.json").read_text())
    assert record["sessions"][-1]["data"]["ended"] is True


def test_a_second_ctrl_c_quits_at_once(pulse, program):
    run = program("--keyboard")
    says(run, "Before you start")
    run.process.send_signal(signal.SIGINT)
    run.wait_for(lambda e: e["type"] == "command" and e["source"] == "signal")
    run.process.send_signal(signal.SIGINT)
    assert run.finish(timeout=10) == 130
    record = json.loads((run.events_path.parent / "data/hand-expressing-voice/sessions.json").read_text())
    assert record["sessions"]  # still whole and readable


def test_the_audio_server_dying_and_returning(pulse, program):
    run = program("--keyboard")
    says(run, "Before you start")
    pulse.kill()
    run.press(b"w")
    failed = run.wait_for(lambda e: e["type"] == "output_failed")
    says(run, "Step 1 of", after=failed["t"] - 1)  # printed meanwhile: nothing is lost
    pulse.restart()
    time.sleep(RETRY_SECONDS * 1.5)  # the output tries the device again at most this often
    with pulse.record() as recorder:
        back = run.press(b"n")
        side = says(run, "Which breast", after=failed["t"])
        # Spoken again, through the restarted server: heard in its recording (whose
        # clock, just after it starts, is good to a few tens of milliseconds).
        assert recorder.wait_for_onset(max(back, run.monotonic(side)) - 0.1, timeout=5) > back - 0.05
    run.press(b"q")
    assert run.finish() == 0
    out = run.process.stdout.read().decode()
    assert out.count("Speech is not working") == 1
    assert "Step 1 of" in out


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root to hide the library")
def test_without_a_working_speech_engine_it_goes_on_as_text(tmp_path):
    library = next(
        (p for p in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu") if os.path.isdir(p)), "/usr/lib"
    )
    target = os.path.realpath(os.path.join(library, "libespeak-ng.so.1"))
    script = f'mount --bind /dev/null {target} && exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, str(ROOT / "run.py"), "--keyboard"],
        input=b"next\nwhere am I\nstop\n",
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert sum(line.startswith("Speech is not working") for line in lines) == 1
    assert "espeak" in next(line for line in lines if line.startswith("Speech is not working")).lower()
    assert any(line.startswith("Step 2 of") for line in lines)  # typed commands work
    assert lines[-1].startswith("Session finished")
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--keyboard", "--rate", "1000"], "80 to 400"),
        (["--keyboard", "--voice", "klingon"], "run.py voices"),
        (["--keyboard", "--speaker", "99"], "output devices: "),
        (["--mic", "99"], "input devices: "),
    ],
)
def test_options_out_of_range_name_the_valid_ones(pulse, tmp_path, args, message):
    from .shared import run_cli

    result = run_cli(*args, env=pulse.env(), data_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_devices_lists_the_servers_devices(pulse, tmp_path):
    from .shared import run_cli

    result = run_cli("devices", env=pulse.env(), data_dir=tmp_path)
    assert result.returncode == 0
    assert "default\tmicrophone, speaker" in result.stdout.decode()


def no_sound_card() -> None:
    if list_devices():
        pytest.skip("this machine has a sound card")


def event_types(path) -> set[str]:
    return {json.loads(line)["type"] for line in path.read_text().splitlines()} if path.exists() else set()


@pytest.mark.parametrize(
    "args,awaited,notice",
    [
        (["--keyboard", "--speaker", "99"], {"output_failed"}, f"(no audio output device: {NO_DEVICES}), so"),
        (["--mic", "99"], {"voice_input"}, f"cannot listen for your voice: no audio input device: {NO_DEVICES}. I"),
    ],
    ids=["speaker", "mic"],
)
def test_a_device_chosen_with_no_sound_server_is_done_without_as_none(no_sound_server, tmp_path, args, awaited, notice):
    no_sound_card()
    events = tmp_path / "events.jsonl"
    program = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--no-log", "--events", str(events), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    try:
        deadline = time.monotonic() + 30
        while not awaited <= event_types(events):  # keys once it has said what it goes on without
            assert time.monotonic() < deadline and program.poll() is None, "no failure was reported"
            time.sleep(0.05)
        out, err = program.communicate(b"wq", timeout=30)
    finally:
        program.kill()
    assert program.returncode == 0, err
    assert notice in out.decode() and "Step 1 of" in out.decode()
    assert b"Traceback" not in err


def test_devices_with_no_sound_server_says_why_there_are_none(no_sound_server, tmp_path):
    from .shared import run_cli

    no_sound_card()
    result = run_cli("devices", data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == f"error: no audio devices found: {NO_DEVICES}\n"


def test_number_keys_go_to_that_step_and_the_new_keys_answer(pulse, program):
    run = program("--keyboard")
    says(run, "Hand expressing")
    squeeze = next(i for i, step in enumerate(CONTENT.steps) if step.rhythm)
    run.press(str(squeeze + 1).encode())
    step_event(run, STEP_IDS[squeeze])
    for key, response in ((b"i", "There are"), (b"k", "You have been going for"), (b",", "I will talk more slowly")):
        run.press(key)
        says(run, response)
    run.press(b"q")
    says(run, "Session finished")
