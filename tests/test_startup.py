"""The first word: keys work from it, while the recognizer is still loading.
How soon it comes is scripts/bench_startup.py's figure."""

from .program import says
from .shared import STEP_IDS


def test_a_key_pressed_at_the_first_sound_is_acted_on_in_voice_mode(pulse, program):
    with pulse.record() as recorder:
        launched = recorder.snapshot().end_monotonic
        run = program("--no-log")
        recorder.wait_for_onset(launched, timeout=30)
        run.press(b"n")
        command = run.wait_for(lambda e: e["type"] == "command")
        assert (command["id"], command["source"]) == ("next", "keyboard")
        step = run.wait_for(lambda e: e["type"] == "step" and e["index"] == 1)
        assert step["id"] == STEP_IDS[1]
        # The recognizer came up meanwhile: the microphone is open and voice is on.
        assert run.wait_for(lambda e: e["type"] == "voice_input")["available"] is True
        run.press(b"q")
        says(run, "Session finished")
        assert run.finish() == 0
