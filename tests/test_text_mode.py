"""--text end to end: the real program as a subprocess, commands on stdin."""

import json
import os
import re
import subprocess
import sys

import pytest

from voice.commands import CommandId, PhraseMatcher
from voice.inputs import key_commands

from .shared import CONTENT, ROOT, STEP_IDS, run_cli

# Every fact of the leaflet, as the assistant words it.
LEAFLET_FACTS = [
    "make sure you wash your hands",
    "Babies who are premature or unwell have a higher risk of getting an infection",
    "massage your breast gently with your fingers",
    "cupping your breast with your hands and moving gently from side to side",
    "make a spiralling motion from the nipple back up the breast",
    "Be careful not to push or rub too hard. This might make you feel sore",
    "move your hands all around the breast, particularly on and around the nipple",
    "Use 2 fingers to measure from the base of the nipple",
    "about 2 to 3 centimetres",
    "The edge of the finger furthest away from the nipple is where you will press",
    "This is where your milk ducts are found",
    "Make a C shape with your finger and thumb over the milk ducts",
    "press your finger and thumb together without moving their position for about 2 seconds",
    "Release the pressure and repeat, building up a rhythm",
    "Do not slide your fingers over the skin or nipple",
    "When the milk flow slows or stops, move your fingers and thumb to a slightly different position",
    "still be about 2 to 3 centimetres back from the nipple",
    "Repeat the squeeze and release in this area",
    "Continue to move around the breast as the milk flow slows or stops",
    "If you do not see any milk, you might not be reaching your milk ducts",
    "Change your hand position slightly",
    "try again",
    "milk drops appear like small beads on the nipple, use a small syringe to collect them",
    "suck the milk into the syringe by pulling on the plunger",
    "remove the plunger, put a bung on the end of the syringe and use it as a scoop",
    "As you have more milk, you can collect it in a bottle",
    "There's no set length of time to express for",
    "worked your way around the breast and no longer see any milk drops",
    "slowed down a lot, move to the other breast",
    "You can then repeat the process again",
    "If you have any questions or concerns about expressing breast milk, contact the team caring for your baby",
    "Neonatal Unit",
    "Breastfeeding team",
    "Postnatal Ward",
    "comments or concerns about your care, contact the Patient Advice and Liaison Service",
]
PHONES = ["02071884045", "02071887564", "02071885149"]


def walk_script() -> bytes:
    lines = []
    for step in CONTENT.steps[:-1]:
        lines.append("left" if step.ask == "side" else "next")
    lines += ["no milk", "contacts", "stop"]
    return ("\n".join(lines) + "\n").encode()


def test_text_mode_walks_every_step_and_prints_every_fact_of_the_leaflet():
    result = run_cli("--text", stdin=walk_script())
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    for fact in LEAFLET_FACTS:
        assert fact in out, fact
    digits = re.sub(r"[^0-9]", "", out)
    for phone in PHONES:
        assert phone in digits
    for step in CONTENT.steps:
        assert step.title in out
    assert out.strip().splitlines()[-1].startswith("Session finished")
    assert result.stderr == b""


def test_each_utterance_is_one_line():
    result = run_cli("--text", stdin=b"where am I\nhelp\nstop\n")
    lines = result.stdout.decode().splitlines()
    assert lines[2].startswith("Step 1 of")
    assert lines[3].startswith("You can type: next, back, repeat")
    assert lines[4].startswith("Session finished")
    assert len(lines) == 5


def test_end_of_input_ends_the_session_as_stop_does():
    result = run_cli("--text", stdin=b"next\n")
    assert result.returncode == 0
    assert result.stdout.decode().splitlines()[-1].startswith("Session finished")


def test_filler_words_around_a_typed_command_are_fine():
    result = run_cli("--text", stdin=b"um, where am I please\nstop\n")
    assert "Step 1 of" in result.stdout.decode()


def test_typed_fillers_are_the_spoken_ones_on_each_side():
    fillers = CONTENT.fillers
    matcher = PhraseMatcher(CONTENT.phrases, fillers.before, fillers.after)
    assert matcher.match("can you, next") is CommandId.NEXT
    assert matcher.match("next, can you") is None


def test_a_phrase_typed_without_its_apostrophe_is_understood():
    fillers = CONTENT.fillers
    matcher = PhraseMatcher(CONTENT.phrases, fillers.before, fillers.after)
    assert matcher.match("theres no milk") is matcher.match("There’s no milk!") is CommandId.NO_MILK
    assert matcher.match("um, nothings coming please") is CommandId.NO_MILK


def test_keys_are_understood_with_caps_lock_on():
    keymap = key_commands({c: spec.keys for c, spec in CONTENT.commands.items()})
    assert keymap["N"] is keymap["n"] is CommandId.NEXT
    assert keymap["?"] is CommandId.HELP and "<ENTER>" not in keymap


def test_bad_lines_get_not_understood_and_the_session_goes_on():
    stdin = b"".join(
        [
            b"\x00\xff\xfe\x80binary\n",
            b"x" * 100_000 + b"\n",
            "\u05e9\u05dc\u05d5\u05dd \U0001f37c next \u00e9\n".encode(),
            b"\n",
            b"   \n",
            b"where am I\n",
            b"stop\n",
        ]
    )
    result = run_cli("--text", stdin=stdin)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    not_understood = CONTENT.responses["not_understood_typed"].split(".")[0]
    assert sum(line.startswith(not_understood) for line in lines) == 3
    assert any(line.startswith("Step 1 of") for line in lines)
    assert lines[-1].startswith("Session finished")


def test_an_overlong_last_line_without_newline_still_ends_cleanly():
    result = run_cli("--text", stdin=b"y" * 50_000)
    assert result.returncode == 0
    assert result.stdout.decode().splitlines()[-1].startswith("Session finished")


def test_events_file_has_every_kind_of_event_with_times(tmp_path):
    events = tmp_path / "events.jsonl"
    result = run_cli("--text", "--events", str(events), stdin=b"next\nleft\nnonsense\nstop\n")
    assert result.returncode == 0
    records = [json.loads(line) for line in events.read_text().splitlines()]
    types = [r["type"] for r in records]
    assert types[-1] == "end" and types.count("end") == 1
    assert {"say", "step", "command"} <= set(types)
    assert all(isinstance(r["t"], float | int) and r["t"] >= 0 for r in records)
    commands = [(r["id"], r["source"]) for r in records if r["type"] == "command"]
    assert commands == [("next", "text"), ("left", "text"), ("stop", "text")]
    steps = [(r["id"], r["index"]) for r in records if r["type"] == "step"]
    assert steps == [(STEP_IDS[0], 0), (STEP_IDS[1], 1), (STEP_IDS[2], 2)]
    said = [r["text"] for r in records if r["type"] == "say"]
    assert said == result.stdout.decode().splitlines()


def test_events_append_to_an_existing_file(tmp_path):
    events = tmp_path / "events.jsonl"
    run_cli("--text", "--events", str(events), stdin=b"stop\n")
    run_cli("--text", "--events", str(events), stdin=b"stop\n")
    types = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert types.count("end") == 2


def test_counting_is_printed_on_its_beat(tmp_path):
    events = tmp_path / "events.jsonl"
    to_squeeze = "".join("left\n" if s.ask == "side" else "next\n" for s in CONTENT.steps[: STEP_IDS.index("squeeze")])
    # stdin stays open for a while: the count runs until "stop" arrives.
    script = f"import sys, time; sys.stdout.write({to_squeeze!r}); sys.stdout.flush(); time.sleep(5); print('stop')"
    feeder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "--text", "--events", str(events)],
        stdin=feeder.stdout,
        capture_output=True,
        timeout=30,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
    )
    feeder.wait(timeout=5)
    assert result.returncode == 0
    cues = [json.loads(line) for line in events.read_text().splitlines() if '"cue"' in line]
    rhythm = CONTENT.rhythm
    assert [c["name"] for c in cues[:4]] == ["press", "count 1", "count 2", "release"]
    out = result.stdout.decode().splitlines()
    assert [rhythm.press_word, *rhythm.count_words, rhythm.release_word] == out[out.index(rhythm.press_word) :][:4]
    cycle = 60 / rhythm.default_tempo
    presses = [c["planned_t"] for c in cues if c["name"] == "press"]
    assert presses[1] - presses[0] == pytest.approx(cycle, abs=1e-3)
    assert all(c["t"] >= c["planned_t"] for c in cues)


def test_a_rate_out_of_range_is_refused_in_text_mode_too(tmp_path):
    result = run_cli("--text", "--rate", "1000", stdin=b"stop\n", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines()[-1] == (
        "error: speech rate 1000 is out of range: give 80 to 400 words a minute"
    )
    assert result.stdout == b""


@pytest.mark.parametrize(
    "name,reason",
    [("missing/events.jsonl", "No such file or directory"), ("", "Is a directory")],
    ids=["no folder", "a folder"],
)
def test_an_events_file_that_cannot_be_opened_is_an_option_error(tmp_path, name, reason):
    path = tmp_path / name
    result = run_cli("--text", "--events", str(path), stdin=b"stop\n", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines()[-1] == f"error: --events {path}: cannot append to it: {reason}"
    assert result.stdout == b""  # said before the session starts
    assert not (tmp_path / "hand-expressing-voice").exists()


def test_events_that_cannot_be_written_mid_session_are_reported_once_and_the_session_goes_on(tmp_path):
    import resource

    events = tmp_path / "events.jsonl"
    limit = 1000  # bytes a file may grow to: room for the first events and for the record

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "--text", "--events", str(events)],
        input=b"where am I\nhelp\ncontacts\nstop\n",
        capture_output=True,
        timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
        preexec_fn=small_files,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 1 and f"--events {events}: cannot write" in errors[0]
    written = [json.loads(line) for line in events.read_text().splitlines() if line.endswith("}")]
    assert written[0]["type"] == "start" and "end" not in [e["type"] for e in written]
    out = result.stdout.decode()
    assert "Neonatal Unit" in out and out.splitlines()[-1].startswith("Session finished")
    record = json.loads((tmp_path / "hand-expressing-voice/sessions.json").read_text())
    assert [c["id"] for c in record["sessions"][-1]["data"]["commands"]] == ["where", "help", "contacts", "stop"]


def test_output_to_a_full_disk_ends_the_session_with_one_notice_and_its_record_saved(tmp_path):
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "--text"],
            input=b"where am I\n",
            stdout=full,
            stderr=subprocess.PIPE,
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
            timeout=30,
        )
    assert result.returncode == 0
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode().count("cannot print any more") == 1
    record = json.loads((tmp_path / "hand-expressing-voice/sessions.json").read_text())
    assert record["sessions"][-1]["data"]["ended"]


def test_output_no_longer_read_ends_the_session_quietly_with_its_record_saved(tmp_path):
    # As `run.py --text | head -1`: the reader takes a line and goes.
    program = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--text"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
    )
    try:
        assert program.stdout.readline().startswith(b"Hand expressing")
        program.stdout.close()
        program.stdin.write(b"where am I\n")  # its answer meets the closed pipe; input stays open
        program.stdin.flush()
        assert program.wait(timeout=30) == 0
        assert program.stderr.read() == b""
    finally:
        program.kill()
        program.stdin.close()
        program.stderr.close()
    record = json.loads((tmp_path / "hand-expressing-voice/sessions.json").read_text())
    assert record["sessions"][-1]["data"]["ended"]
