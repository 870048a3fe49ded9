"""The session record: atomic, private, and the offer to carry on."""

import io
import json
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from voice.cli import build_parser
from voice.commands import CommandId, Source
from voice.output import TextOutput
from voice.record import KEEP, RESUME_WITHIN, SessionRecord, summarize
from voice.runner import Runner
from voice.session import Breast, InputMode, Place, Session

from .shared import CONTENT, ROOT, STEP_IDS, at_step, kinds, run_cli, says, text

RECORD = "hand-expressing-voice/sessions.json"


def test_update_keeps_one_entry_per_session_and_reads_back(tmp_path):
    path = tmp_path / "sessions.json"
    record = SessionRecord(path)
    record.begin(1000.0)
    record.update({"seconds": 1.0}, 1001.0)
    record.update({"seconds": 2.0}, 1002.0)
    again = SessionRecord(path)
    assert [(e.started, e.updated, e.seconds) for e in again.entries] == [(1000.0, 1002.0, 2.0)]
    again.begin(2000.0)
    again.update({"seconds": 5.0}, 2001.0)
    assert [e.seconds for e in SessionRecord(path).entries] == [2.0, 5.0]


def test_only_the_latest_sessions_are_kept(tmp_path):
    record = SessionRecord(tmp_path / "sessions.json")
    for i in range(KEEP + 3):
        record.begin(float(i))
        record.update({"seconds": float(i)}, float(i))
    entries = SessionRecord(tmp_path / "sessions.json").entries
    assert len(entries) == KEEP and entries[0].seconds == 3.0


@pytest.mark.parametrize("text", ["{ this is not json", "[" * 100_000], ids=["not json", "deeply nested"])
def test_an_unreadable_record_is_set_aside_never_overwritten(tmp_path, text):
    path = tmp_path / "sessions.json"
    path.write_text(text)
    record = SessionRecord(path)
    assert record.entries == []
    record.begin(1.0)
    record.update({"seconds": 1.0}, 1.0)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("sessions.json.unreadable-")]
    assert len(aside) == 1 and aside[0].read_text() == text


WRITER = """
import sys, time
from pathlib import Path
from voice.record import SessionRecord
record = SessionRecord(Path(sys.argv[1]))
record.begin(time.time())
n = 0
print("ready", flush=True)
while True:
    n += 1
    record.update({"seconds": float(n), "commands": [{"t": 0.0, "id": "next", "source": "voice"}] * (n % 300)}, time.time())
"""


def test_a_kill_at_any_moment_leaves_a_readable_record(tmp_path):
    path = tmp_path / "sessions.json"
    rng = random.Random(7)
    for _ in range(12):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.2))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        data = json.loads(path.read_text())  # never half written
        assert data["sessions"] and data["sessions"][-1]["data"]["seconds"] >= 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sessions.json.unreadable")]


def write_sessions(path, *sessions) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "sessions": list(sessions)}))


def good(started: float, seconds: float = 60.0) -> dict:
    return {"started": started, "updated": started, "data": {"seconds": seconds}}


BAD_SESSIONS = [
    5,
    "a line",
    None,
    {"started": 1000.0, "updated": 1000.0, "data": {"seconds": "abc"}},
    {"started": 1000.0, "updated": 1000.0, "data": "abc"},
    {"started": "abc", "updated": 1000.0, "data": {}},
    {"started": 1e300, "updated": 1000.0, "data": {}},
    {"started": 1000.0, "updated": 1000.0, "data": {"breasts": [1]}},
    {"started": 1000.0, "updated": 1000.0, "data": {"breasts": {"left": {"seconds": "abc"}}}},
]


def test_sessions_with_fields_of_the_wrong_type_are_skipped_with_one_notice(tmp_path, caplog):
    path = tmp_path / "sessions.json"
    write_sessions(path, good(1000.0, 60.0), *BAD_SESSIONS, good(2000.0, 90.0))
    record = SessionRecord(path)
    assert [e.seconds for e in record.entries] == [60.0, 90.0]
    notices = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(notices) == 1 and str(path) in notices[0]
    summarize(record.entries, CONTENT.responses, 3000.0)  # no crash on what is left


def test_the_file_with_skipped_sessions_is_kept_aside_before_it_is_rewritten(tmp_path):
    path = tmp_path / "sessions.json"
    write_sessions(path, good(1000.0), *BAD_SESSIONS)
    original = path.read_text()
    record = SessionRecord(path)
    assert path.read_text() == original  # reading alone changes nothing
    record.begin(2000.0)
    record.update({"seconds": 1.0}, 2000.0)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("sessions.json.unreadable-")]
    assert len(aside) == 1 and aside[0].read_text() == original
    assert [e.started for e in SessionRecord(path).entries] == [1000.0, 2000.0]


@pytest.mark.parametrize("place", ["abc", [1], {"step": ["move"], "breast": 5}, {"step": "move", "position": 1e400}])
def test_a_place_of_the_wrong_type_offers_nothing(tmp_path, place):
    record = SessionRecord(tmp_path / "sessions.json")
    record.begin(1000.0)
    record.update({"place": place}, 1000.0)
    assert SessionRecord(tmp_path / "sessions.json").resumable(1000.0) is None


def test_a_recent_session_is_resumable_an_old_one_is_not(tmp_path):
    record = SessionRecord(tmp_path / "sessions.json")
    record.begin(1000.0)
    record.update({"place": {"step": "squeeze", "breast": "right", "position": 3}}, 1000.0)
    assert record.resumable(1000.0 + RESUME_WITHIN - 1) == Place("squeeze", Breast.RIGHT, 3)
    assert record.resumable(1000.0 + RESUME_WITHIN + 1) is None


def test_summarize_gives_today_then_earlier_days(tmp_path):
    record = SessionRecord(tmp_path / "sessions.json")
    now = datetime(2026, 11, 26, 15, 0).timestamp()
    yesterday = (datetime(2026, 11, 26, 15, 0) - timedelta(days=1)).timestamp()
    for started, seconds, left in ((yesterday, 600.0, 300.0), (now - 3600, 900.0, 500.0), (now - 60, 60.0, 0.0)):
        record.begin(started)
        record.update({"seconds": seconds, "breasts": {"left": {"seconds": left, "positions": 2}}}, started)
    lines = summarize(record.entries, CONTENT.responses, now)
    assert lines[0] == "Today: 2 sessions, 16 minutes in all. Left breast 8 minutes 20 seconds, right breast 0 seconds."
    assert lines[1] == "Wednesday 25 November: 1 session, 10 minutes in all."
    assert summarize([], CONTENT.responses, now) == [CONTENT.responses["log_empty"]]


# -- the offer to carry on --------------------------------------------------------


def offered(place: Place) -> Session:
    session = Session(CONTENT, InputMode.VOICE, 0.0, resume=place)
    assert kinds(session.start(0.0)) == ["resume_offer"]
    return session


def test_the_offer_says_where_she_was_and_listens_for_yes_or_no():
    session = Session(CONTENT, InputMode.VOICE, 0.0, resume=Place("move", Breast.RIGHT, 4))
    spoken = text(session.start(0.0))
    assert f"step {STEP_IDS.index('move') + 1}: Move around the breast" in spoken
    assert "Right breast, position 4" in spoken and "say yes" in spoken and "say no" in spoken
    assert session.answers() == {"yes_no"}


@pytest.mark.parametrize("answer", [CommandId.YES, CommandId.RESUME])
def test_yes_carries_on_at_the_step_breast_and_position(answer):
    session = offered(Place("move", Breast.RIGHT, 4))
    actions = session.handle(answer, Source.VOICE, 1.0)
    assert kinds(actions) == ["resume_taken", "step"]
    assert (session.step.id, session.breast, session.position) == ("move", Breast.RIGHT, 4)
    assert session.answers() == frozenset()
    session.handle(CommandId.NO_MILK, Source.VOICE, 2.0)
    assert kinds(session.handle(CommandId.NO_MILK, Source.VOICE, 3.0)) == ["no_milk_move"]
    assert session.position == 5


@pytest.mark.parametrize("answer", [CommandId.NO, CommandId.NEXT])
def test_no_starts_afresh(answer):
    session = offered(Place("move", Breast.RIGHT, 4))
    actions = session.handle(answer, Source.VOICE, 1.0)
    assert kinds(actions) == ["resume_declined", "step"]
    assert session.step.id == STEP_IDS[0] and session.breast is None


def test_where_and_repeat_say_the_offer_again_other_commands_start_afresh_first():
    session = offered(Place("squeeze", Breast.LEFT, 2))
    assert kinds(session.handle(CommandId.WHERE, Source.VOICE, 1.0)) == ["resume_offer"]
    assert kinds(session.handle(CommandId.REPEAT, Source.VOICE, 2.0)) == ["resume_offer"]
    assert session.answers() == {"yes_no"}
    actions = session.handle(CommandId.CONTACTS, Source.VOICE, 3.0)
    assert kinds(actions)[0] == "contacts" and session.answers() == {"yes_no"}
    actions = session.handle(CommandId.SLOWER, Source.VOICE, 4.0)
    assert kinds(actions) == ["resume_declined", "step", "slower"]


def run_offered(path, *commands: CommandId) -> None:
    """A text session started on the record at path (offering to carry on), run
    through commands and stop."""
    record = SessionRecord(path)
    session = Session(CONTENT, InputMode.TEXT, time.monotonic(), resume=record.resumable(time.time()))
    record.begin(time.time())
    runner = Runner(session, record=record)
    for command in (*commands, CommandId.STOP):
        runner.command(command, Source.TEXT)
    runner.run(TextOutput(io.StringIO(), runner.started, runner.finished, print))


def test_an_offer_left_unanswered_keeps_the_place_and_records_nothing(tmp_path):
    path = tmp_path / "sessions.json"
    record = SessionRecord(path)
    record.begin(time.time())
    record.update({"place": {"step": "move", "breast": "right", "position": 4}}, time.time())
    before = path.read_text()
    run_offered(path)
    run_offered(path, CommandId.HELP, CommandId.CONTACTS, CommandId.WHERE)
    assert path.read_text() == before
    assert SessionRecord(path).resumable(time.time()) == Place("move", Breast.RIGHT, 4)
    run_offered(path, CommandId.NO)
    entries = SessionRecord(path).entries
    assert len(entries) == 2 and entries[-1].place() == Place(STEP_IDS[0], None, 1)


def test_yes_or_no_with_no_question_open_says_where_she_is():
    session = at_step("squeeze")
    for answer in (CommandId.YES, CommandId.NO):
        assert says(session.handle(answer, Source.VOICE, 1.0))[0].kind == "where"
        assert session.step.id == "squeeze"


@pytest.mark.parametrize(
    "place", [Place("removed_step", Breast.LEFT, 2), Place(STEP_IDS[0], None, 1)], ids=["step gone", "very start"]
)
def test_nothing_is_offered_from_a_step_that_is_gone_or_from_the_very_start(place):
    session = Session(CONTENT, InputMode.VOICE, 0.0, resume=place)
    assert kinds(session.start(0.0)) == ["welcome", "step"]


# -- through the real program ---------------------------------------------------------


def test_the_program_records_and_offers_to_carry_on(tmp_path):
    first = run_cli("--text", stdin=b"next\nright\nnext\nnext\nno milk\nno milk\n", data_dir=tmp_path)
    assert first.returncode == 0
    data = json.loads((tmp_path / RECORD).read_text())
    entry = data["sessions"][-1]["data"]
    assert entry["ended"] is True
    assert entry["place"] == {"step": "squeeze", "breast": "right", "position": 2}
    assert [e["position"] for e in entry["no_milk"]] == [1, 1]
    assert [c["id"] for c in entry["commands"]][:3] == ["next", "right", "next"]

    second = run_cli("--text", stdin=b"yes\nwhere am I\n", data_dir=tmp_path)
    lines = second.stdout.decode().splitlines()
    assert lines[0].startswith("Welcome back") and "Right breast, position 2" in lines[0]
    assert any(line.startswith(f"Step {STEP_IDS.index('squeeze') + 1} of") and "Right breast, position 2" in line for line in lines)

    log = run_cli("--text", "log", data_dir=tmp_path)
    assert log.returncode == 0 and log.stdout.decode().startswith("Today: 2 sessions")


def test_ending_without_answering_the_offer_keeps_it_for_next_time(tmp_path):
    run_cli("--text", stdin=b"next\nright\nnext\nnext\n", data_dir=tmp_path)
    for stdin in (b"stop\n", b""):  # stop, or end of input, with the offer unanswered
        result = run_cli("--text", stdin=stdin, data_dir=tmp_path)
        assert result.stdout.decode().startswith("Welcome back")
    log = run_cli("--text", "log", data_dir=tmp_path)
    assert log.stdout.decode().startswith("Today: 1 session,")
    again = run_cli("--text", stdin=b"yes\nwhere am I\n", data_dir=tmp_path)
    assert "Right breast, position 1" in again.stdout.decode().splitlines()[-2]


def test_the_record_holds_no_words_she_said(tmp_path):
    run_cli("--text", stdin=b"my secret words\nnext\n", data_dir=tmp_path)
    raw = (tmp_path / RECORD).read_text()
    assert "secret" not in raw and "next" in raw


def test_no_log_writes_nothing_and_offers_nothing(tmp_path):
    run_cli("--text", stdin=b"next\n", data_dir=tmp_path)
    result = run_cli("--text", "--no-log", stdin=b"stop\n", data_dir=tmp_path / "other")
    assert not (tmp_path / "other").exists() or not any((tmp_path / "other").rglob("*.json"))
    result = run_cli("--text", "--no-log", stdin=b"stop\n", data_dir=tmp_path)
    assert result.stdout.decode().startswith("Hand expressing")


# -- run.py log -------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--text", "log"], ["log", "--text"]])
def test_log_takes_text_before_or_after_the_subcommand(argv):
    assert build_parser().parse_args(argv).text is True
    assert build_parser().parse_args(["log"]).text is False


def test_log_text_after_the_subcommand_prints(tmp_path):
    run_cli("--text", stdin=b"next\n", data_dir=tmp_path)
    log = run_cli("log", "--text", data_dir=tmp_path)
    assert log.returncode == 0 and log.stdout.decode().startswith("Today: 1 session,")


def test_log_with_no_sound_prints_says_so_once_and_succeeds(tmp_path, no_sound_server):
    from voice.playback import list_devices

    if any(d.max_out > 0 for d in list_devices()):
        pytest.skip("this machine has a sound card")
    run_cli("--text", stdin=b"next\n", data_dir=tmp_path)
    log = run_cli("log", data_dir=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert log.returncode == 0 and log.stdout.decode().startswith("Today: 1 session,")
    assert len(log.stderr.decode().splitlines()) == 1 and "cannot speak" in log.stderr.decode()


def test_log_and_start_up_skip_sessions_of_the_wrong_type(tmp_path):
    path = tmp_path / RECORD
    place = {"step": ["move"], "breast": 5, "position": "abc"}
    last = {"started": time.time(), "updated": time.time(), "data": {"seconds": 30.0, "place": place}}
    write_sessions(path, good(time.time(), 90.0), *BAD_SESSIONS, last)
    log = run_cli("--text", "log", data_dir=tmp_path)
    assert log.returncode == 0 and log.stdout.decode().startswith("Today: 2 sessions, 2 minutes in all")
    stderr = log.stderr.decode()
    assert len(stderr.splitlines()) == 1 and str(path) in stderr and "Traceback" not in stderr
    session = run_cli("--text", stdin=b"stop\n", data_dir=tmp_path)
    assert session.returncode == 0 and session.stdout.decode().startswith("Hand expressing")
