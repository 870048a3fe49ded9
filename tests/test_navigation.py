"""Moving around the guide, the time so far, the log and questions, end to end:
typed (--text), pressed (--keyboard) and spoken (run.py recognize on speech made
by another engine)."""

import json
import shutil

import pytest

from .program import flite
from .shared import CONTENT, run_cli

SQUEEZE = next(step for step in CONTENT.steps if step.rhythm)


def typed(*lines: str, data_dir=None) -> list[str]:
    result = run_cli("--text", stdin=("\n".join([*lines, "stop"]) + "\n").encode(), data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()


def test_typed_go_to_by_number_and_by_title():
    lines = typed("go to step 5", "go to breast massage")
    assert any(line.startswith(f"{SQUEEZE.title}. {SQUEEZE.say[0]}") for line in lines)
    assert any(line.startswith("Breast massage. ") for line in lines)


def test_typed_list_the_steps_then_how_long():
    lines = typed("list the steps", "how long have I been going")
    listing = next(line for line in lines if line.startswith("There are"))
    assert all(f"Step {i + 1}: {step.title}." in listing for i, step in enumerate(CONTENT.steps))
    assert any(line.startswith("You have been going for") for line in lines)


def test_typed_start_over_asks_and_yes_goes_back_to_the_massage():
    lines = typed("right", "next", "next", "start over", "yes")
    assert any(line.startswith("Do you want to start over from Breast massage") for line in lines)
    massage = [i for i, line in enumerate(lines) if line.startswith("Breast massage. ")]
    asked = next(i for i, line in enumerate(lines) if line.startswith("Do you want"))
    assert len(massage) == 2 and massage[1] > asked


def test_typed_read_my_log_reads_the_sessions_recorded(tmp_path):
    typed("next", data_dir=tmp_path)
    offered = typed("read my log", data_dir=tmp_path)
    # Read while the offer to carry on is open, which stays open.
    assert any(line.startswith("Today: 1 session,") for line in offered)
    assert not any(line.startswith(CONTENT.responses["resume_declined"]) for line in offered)
    fresh = typed("no", "read my log", data_dir=tmp_path)
    assert any(line.startswith("Today: 2 sessions,") for line in fresh)  # the one left at the offer is not kept
    off = run_cli("--text", "--no-log", stdin=b"read my log\nstop\n").stdout.decode()
    assert CONTENT.responses["no_log"] in off


def test_a_typed_question_is_answered_from_the_leaflet_or_not_at_all():
    lines = typed("how far back from the nipple should my fingers be?", "how long can I keep milk in the fridge?")
    answer = next(line for line in lines if line.startswith("The leaflet says:"))
    assert "2 to 3 centimetres" in answer
    assert any(line.startswith("The leaflet does not answer that.") for line in lines)


def test_a_typed_line_the_leaflet_answers_is_a_question_even_unasked():
    lines = typed("I don't know where to put my fingers", "the baby is crying")
    answer = next(line for line in lines if line.startswith("The leaflet says:"))
    spot = next(step for step in CONTENT.steps if step.id == "spot")
    assert any(sentence in answer for sentence in spot.say)
    assert "Not understood. To see the commands, type help." in lines


def test_typed_talk_slower_brief_and_full_are_answered():
    lines = typed("talk slower", "brief", "full version")
    for response in ("talk_slower", "full"):
        assert CONTENT.responses[response] in lines
    assert any(line.startswith("Brief.") for line in lines)


needs_flite = pytest.mark.skipif(not shutil.which("flite"), reason="flite makes the test speech")


@needs_flite
def test_spoken_navigation_and_a_spoken_question_are_heard(tmp_path):
    said = {
        "go to step five": ("go_to", False),
        "list the steps": ("list_steps", False),
        "start over": ("start_over", False),
        "talk slower": ("talk_slower", False),
        "how far back from the nipple should I press": (None, True),
    }
    files = [flite(tmp_path, text) for text in said]
    result = run_cli("recognize", "--json", *map(str, files), timeout=300)
    assert result.returncode == 0, result.stderr
    heard = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [(row["command"], row["question"]) for row in heard] == list(said.values())
