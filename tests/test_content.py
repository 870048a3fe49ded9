"""Content loading and validation: good content loads; every kind of bad content
gives one message naming the file, line and field."""

import shutil

import pytest

from voice import content
from voice.commands import CommandId
from voice.errors import ContentError

from .shared import CONTENT, ROOT, run_cli

GUIDE = (ROOT / "content" / "guide.yaml").read_text(encoding="utf-8")
COMMANDS = (ROOT / "content" / "commands.yaml").read_text(encoding="utf-8")
RHYTHM = (ROOT / "content" / "rhythm.yaml").read_text(encoding="utf-8")


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_the_shipped_content_loads_with_every_command_and_the_leaflet_metadata():
    assert set(CONTENT.commands) == set(CommandId)
    assert CONTENT.meta["resource_number"] == "4863"
    assert CONTENT.meta["last_reviewed"] == "December 2019"
    assert CONTENT.meta["next_review"] == "December 2022"
    assert [c.phone for c in CONTENT.contacts] == ["020 7188 4045", "020 7188 7564", "020 7188 5149"]


def test_required_phrases_are_all_there():
    required = {
        "next": ["next", "next step"],
        "back": ["back", "go back", "previous"],
        "repeat": ["repeat", "say again", "repeat that"],
        "no_milk": ["no milk", "there's no milk"],
        "pause": ["pause", "wait"],
        "resume": ["resume", "carry on"],
        "slower": ["slower", "slow down"],
        "faster": ["faster", "speed up"],
        "help": ["help", "what can I say"],
        "where": ["where am I", "which step"],
        "other_side": ["other side", "switch sides"],
        "stop": ["stop", "finished"],
        "contacts": ["contacts", "phone numbers"],
        "left": ["left"],
        "right": ["right"],
    }
    for command, phrases in required.items():
        assert set(phrases) <= set(CONTENT.commands[CommandId(command)].phrases), command


# Each case: (file name, original text, text to replace, replacement, field named, fragment on the error line)
BAD = {
    "yaml syntax": ("guide.yaml", GUIDE, "  - id: massage\n", "  - id: [massage\n", "", "title: Breast massage"),
    "missing field": ("guide.yaml", GUIDE, "    title: Breast massage\n", "", "steps[2].title", "id: massage"),
    "mistyped field": ("rhythm.yaml", RHYTHM, "press_seconds: 2", "press_seconds: two", "rhythm.press_seconds", "press_seconds"),
    "unknown field": ("guide.yaml", GUIDE, "    rhythm: true\n", "    rythm: true\n", "steps[4].rythm", "rythm: true"),
    "unknown command id": ("commands.yaml", COMMANDS, "  pause:\n", "  hush:\n", "commands.hush", "hush:"),
    "same phrase twice": ("commands.yaml", COMMANDS, "[pause, wait, hold on]", "[pause, next step]", "commands.pause.phrases[1]", "[pause, next step]"),
    "same key twice": ("commands.yaml", COMMANDS, "keys: [b]", "keys: [n]", "commands.back.keys[0]", "keys: [n]"),
    "empty step": ("guide.yaml", GUIDE, "    say:\n      - Use 2 fingers", "    say: []\n    hint:\n      - Use 2 fingers", "steps[3].say", "say: []"),
    "empty sentence": ("guide.yaml", GUIDE, "      - Release the pressure and repeat, building up a rhythm.", '      - ""', "steps[4].say[1]", '- ""'),
    "python object tag": ("guide.yaml", GUIDE, "  title: Hand expressing", "  title: !!python/object/apply:os.system [echo hacked]", "", "!!python"),
    "custom tag": ("guide.yaml", GUIDE, "  title: Hand expressing", "  title: !shout Hand expressing", "", "!shout"),
    "date value": ("guide.yaml", GUIDE, "  last_reviewed: December 2019", "  last_reviewed: 2019-12-01", "", "2019-12-01"),
    "alias": ("guide.yaml", GUIDE, "  title: Hand expressing", "  title: &t Hand expressing\n  source: *t", "", "source: *t"),
    "duplicate key": ("guide.yaml", GUIDE, "  title: Hand expressing", "  title: Hand expressing\n  title: Again", "meta.title", "title: Again"),
    "unknown placeholder": ("guide.yaml", GUIDE, "Position {position} of {positions}.", "Position {place}.", "responses.no_milk_move", "Position {place}."),
    "unknown command placeholder": ("guide.yaml", GUIDE, "{cmd.no_milk}", "{cmd.milk}", "steps[5].hint", "{cmd.milk}"),
    "bad phone": ("guide.yaml", GUIDE, "phone: 020 7188 4045", "phone: call us", "contacts.numbers[0].phone", "call us"),
    "unknown section": ("rhythm.yaml", RHYTHM, "rhythm:\n", "rythm:\n", "rythm", "rythm:"),
    "missing response": ("guide.yaml", GUIDE, "  resumed: Picking up again.\n", "", "responses.resumed", "  welcome:"),
    "tempo outside bounds": ("rhythm.yaml", RHYTHM, "tempo_max: 21", "tempo_max: 12", "rhythm.press_seconds", "press_seconds"),
    "no time to release": ("rhythm.yaml", RHYTHM, "tempo_max: 21", "tempo_max: 29", "rhythm.tempo_max", "tempo_max: 29"),
    "reminder of no command": ("rhythm.yaml", RHYTHM, "{cmd.no_milk}", "{cmd.more_milk}", "rhythm.quiet.reminder", "reminder:"),
    "reminder as long as its interval": ("rhythm.yaml", RHYTHM, "reminder_seconds: 4", "reminder_seconds: 200", "rhythm.quiet.reminder_seconds", "reminder_seconds: 200"),
    "key with a line break": ("guide.yaml", GUIDE, "  title: Hand expressing", '  "ti\\ntle": Hand expressing', "meta.'ti\\ntle'", '"ti\\ntle"'),
    "filler of two words": ("commands.yaml", COMMANDS, "  after: [um,", "  after: [thank you,", "fillers.after[0]", "after: [thank you,"),
    "fillers not by side": ("commands.yaml", COMMANDS, "  before: [um,", "  around: [um,", "fillers.around", "around: [um,"),
    "no side question": ("guide.yaml", GUIDE, "    ask: side\n", "", "steps", "  - id: wash"),
    "question at the last step": ("guide.yaml", GUIDE, "    title: Contact us\n", "    title: Contact us\n    ask: side\n", "steps[8].ask", "ask: side\n    say:\n      - If you have"),
    "sentence with a bracket open": ("commands.yaml", COMMANDS, '"go on",', '"go (on",', "commands.resume.sentences[0]", '"go (on",'),
    "sentence with a stray bracket": ("commands.yaml", COMMANDS, '"go on",', '"go on]",', "commands.resume.sentences[0]", '"go on]",'),
    "sentence of brackets only": ("commands.yaml", COMMANDS, '"go on",', '"[(|)]",', "commands.resume.sentences[0]", '"[(|)]",'),
    "sentence taking another's phrase": ("commands.yaml", COMMANDS, '"go on",', '"[go] back",', "commands.resume.sentences[0]", '"[go] back",'),
}


@pytest.fixture
def content_dir(tmp_path):
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    return target


@pytest.mark.parametrize("case", list(BAD))
def test_bad_content_names_file_line_and_field(case, content_dir):
    name, original, old, new, field, fragment = BAD[case]
    assert old in original, "the case must change the file"
    broken = original.replace(old, new, 1)
    path = content_dir / name
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        content.load(content_dir)
    error = caught.value
    assert error.file == str(path)
    assert error.line == line_of(broken, fragment)
    assert error.field == field
    assert error.message


@pytest.mark.parametrize("case", ["python object tag", "same phrase twice", "yaml syntax", "key with a line break"])
def test_check_subcommand_gives_one_line_and_status_2(case, tmp_path):
    name, original, old, new, *_ = BAD[case]
    path = tmp_path / name
    path.write_text(original.replace(old, new, 1), encoding="utf-8")
    result = run_cli("check", str(path))
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:")
    assert b"Traceback" not in result.stderr and b"hacked" not in result.stdout


def test_check_finds_an_asked_question_naming_no_one_sentence(tmp_path):
    original = (ROOT / "content" / "asked.yaml").read_text(encoding="utf-8")
    old = "    - sentence: no set length of time"
    assert old in original
    path = tmp_path / "asked.yaml"
    path.write_text(original.replace(old, "    - sentence: the nipple", 1), encoding="utf-8")
    result = run_cli("check", str(path))
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"error: {path}:{line_of(original, old)}: asked.answered[")


def test_check_accepts_the_shipped_files():
    for name in ("guide.yaml", "commands.yaml", "rhythm.yaml"):
        result = run_cli("check", str(ROOT / "content" / name))
        assert result.returncode == 0, result.stderr
    assert run_cli("check").returncode == 0


def test_check_takes_several_files_and_a_section_given_twice_is_an_error(tmp_path):
    shipped = sorted(str(path) for path in (ROOT / "content").glob("*.yaml"))
    result = run_cli("check", *shipped)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith(f"OK: {', '.join(shipped)}:")
    twice = tmp_path / "rhythm.yaml"
    twice.write_text(RHYTHM, encoding="utf-8")
    result = run_cli("check", str(ROOT / "content" / "rhythm.yaml"), str(twice))
    assert result.returncode == 2
    assert f"{twice}:" in result.stderr.decode() and "already defined in" in result.stderr.decode()


def test_the_same_validation_runs_at_start_up(content_dir):
    path = content_dir / "commands.yaml"
    path.write_text(COMMANDS.replace("keys: [b]", "keys: [n]"), encoding="utf-8")
    result = run_cli("--text", "--content", str(content_dir), stdin=b"stop\n")
    assert result.returncode == 2
    assert f"{path}:{line_of(path.read_text(), 'keys: [n]')}: commands.back.keys[0]" in result.stderr.decode()
    assert result.stdout == b""


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "file is empty"),
        (b"\xff\xfe bad", "not UTF-8"),
        (b"- a list\n", "must be a mapping"),
        (b"[" * 5000, ""),
        (b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 60)), "nested"),
        (b"x: " + b"y" * 200_000, "larger than"),
    ],
    ids=["empty", "not utf-8", "a list", "deep flow nesting", "deep block nesting", "huge"],
)
def test_files_that_are_not_content_at_all(data, message, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    with pytest.raises(ContentError) as caught:
        content.load(ROOT / "content", overrides=[path])
    assert caught.value.file == str(path)
    assert message in str(caught.value)


def test_a_byte_that_is_not_utf_8_is_found_by_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"fillers:\n  before: [um]\n  after: [caf\xe9]\n")
    with pytest.raises(ContentError, match="not UTF-8") as caught:
        content.load(ROOT / "content", overrides=[path])
    assert caught.value.line == 3


def test_a_missing_file_and_a_directory_are_clear_errors(tmp_path):
    for path, message in ((tmp_path / "nope.yaml", "no such file"), (tmp_path, "is a directory")):
        with pytest.raises(ContentError, match=message):
            content.load(ROOT / "content", overrides=[path])


def test_a_section_defined_in_two_files_names_both(content_dir):
    (content_dir / "extra.yaml").write_text("fillers: {before: [um], after: []}\n", encoding="utf-8")
    with pytest.raises(ContentError, match="fillers.*already defined in"):
        content.load(content_dir)


def test_a_file_of_one_section_overrides_that_section(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("fillers:\n  before: [um, like]\n  after: [please]\n", encoding="utf-8")
    assert content.load(ROOT / "content", overrides=[path]).fillers == content.Fillers(("um", "like"), ("please",))
