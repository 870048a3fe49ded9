"""Speech rate, brevity, moving around the guide, the time so far, the log and the
reminder after a long silence: the session's side of it. Pure: times are numbers."""

import pytest

from voice import answers, embedding
from voice.commands import CommandId, Source
from voice.session import FINISH_ANSWER_SECONDS, REMINDER_SECONDS, Breast, InputMode, Preferences, Session, Verbosity

from .shared import CONTENT, SIDE_STEP, STEP_IDS, at_step, finish_speech, kinds, new_session, says, text

RATE = CONTENT.speech_rate
MASSAGE = SIDE_STEP + 1


def handle(session: Session, command: CommandId, t: float = 1.0, words: str = "", source=Source.VOICE):
    return session.handle(command, source, t, words)


def test_talk_slower_and_faster_change_the_speech_rate_by_steps_and_say_so_at_the_new_rate():
    session = new_session()
    said = says(handle(session, CommandId.TALK_SLOWER))
    assert kinds(said) == ["talk_slower"]
    assert said[0].rate == RATE.default - RATE.step == session.rate
    said = says(handle(session, CommandId.TALK_FASTER))
    assert said[0].rate == RATE.default
    # Every later utterance keeps the new rate, the count's tempo stays.
    tempo = session.rhythm.tempo
    assert says(handle(session, CommandId.NEXT))[-1].rate == RATE.default
    assert session.rhythm.tempo == tempo


def test_the_speech_rate_stops_at_its_bounds_and_says_so():
    session = new_session(rate=RATE.min)
    assert kinds(handle(session, CommandId.TALK_SLOWER)) == ["talk_slowest"]
    assert session.rate == RATE.min
    session = new_session(rate=RATE.max)
    assert kinds(handle(session, CommandId.TALK_FASTER)) == ["talk_fastest"]


def test_slower_still_changes_the_tempo_not_the_speech_rate():
    session = new_session()
    tempo = session.rhythm.tempo
    said = says(handle(session, CommandId.SLOWER))
    assert session.rhythm.tempo < tempo
    assert session.rate == RATE.default and said[0].rate == RATE.default


def test_brief_says_each_steps_first_sentence_and_full_everything():
    session = at_step("massage")
    assert kinds(handle(session, CommandId.BRIEF)) == ["brief"]
    step = CONTENT.steps[MASSAGE + 1]
    brief = text(handle(session, CommandId.NEXT))
    assert step.say[0] in brief and step.say[1] not in brief
    handle(session, CommandId.FULL)
    assert session.verbosity is Verbosity.FULL
    full = text(handle(session, CommandId.BACK))
    assert all(sentence in full for sentence in CONTENT.steps[MASSAGE].say)


def test_brief_counts_press_and_release_only():
    session = at_step("squeeze")
    handle(session, CommandId.BRIEF)
    first = finish_speech(session, handle(session, CommandId.REPEAT), 2.0)
    actions = first + [action for t in range(2, 62) for action in session.tick(t + 0.05)]
    names = [action.cue.name for action in actions]
    assert names[:4] == ["press", "release", "press", "release"]
    assert set(names) == {"press", "release"}


def test_repeat_twice_in_a_row_gives_the_step_in_full_even_when_brief():
    session = at_step("spot")
    handle(session, CommandId.BRIEF)
    brief = text(handle(session, CommandId.BACK))
    step = CONTENT.steps[MASSAGE]
    assert step.say[-1] not in brief
    assert text(handle(session, CommandId.REPEAT)) == brief
    full = says(handle(session, CommandId.REPEAT))
    assert kinds(full) == ["step"] and all(sentence in full[0].text for sentence in step.say)


@pytest.mark.parametrize(
    "words,step_id",
    [("go to step 5", "squeeze"), ("go to squeeze and release", "squeeze"), ("3", "massage"), ("step one", "wash")],
)
def test_go_to_moves_to_the_step_named_by_number_or_title(words, step_id):
    session = at_step("massage")
    actions = handle(session, CommandId.GO_TO, words=words)
    assert session.step.id == step_id
    assert kinds(actions) == ["step"]


def test_go_to_a_step_that_is_not_there_says_so_and_stays():
    session = at_step("massage")
    assert kinds(handle(session, CommandId.GO_TO, words="go to step 12")) == ["no_such_step"]
    assert session.step.id == "massage"


def test_list_the_steps_says_every_title_numbered_in_order():
    session = new_session()
    said = text(handle(session, CommandId.LIST_STEPS))
    places = [said.index(f"Step {i + 1}: {step.title}.") for i, step in enumerate(CONTENT.steps)]
    assert places == sorted(places)
    assert CONTENT.steps[0].say[0] not in said


def test_start_over_asks_first_and_yes_goes_back_to_the_massage_on_the_same_breast():
    session = at_step("move", breast=CommandId.RIGHT)
    handle(session, CommandId.NO_MILK, 2.0)
    handle(session, CommandId.NO_MILK, 3.0)
    assert session.position == 2
    asked = handle(session, CommandId.START_OVER, 4.0)
    assert kinds(asked) == ["start_over_asked"] and session.step.id == "move"
    assert session.answers() == frozenset({"yes_no"})
    handle(session, CommandId.YES, 5.0)
    assert session.step.id == STEP_IDS[MASSAGE]
    assert session.breast is Breast.RIGHT and session.position == 1


@pytest.mark.parametrize("answer", [CommandId.NO, CommandId.RESUME])
def test_start_over_declined_carries_on_where_she_was(answer):
    session = at_step("move")
    handle(session, CommandId.START_OVER, 2.0)
    assert kinds(handle(session, answer, 3.0)) == ["start_over_declined"]
    assert session.step.id == "move"


def test_an_unanswered_start_over_lapses():
    session = at_step("move")
    handle(session, CommandId.START_OVER, 2.0)
    session.tick(2.0 + FINISH_ANSWER_SECONDS + 0.1)
    assert session.answers() == frozenset()
    assert kinds(handle(session, CommandId.YES, 30.0)) != ["step"]
    assert session.step.id == "move"


def test_how_long_says_the_time_so_far_and_per_breast():
    session = at_step("squeeze", t=0.0, breast=CommandId.LEFT)
    handle(session, CommandId.OTHER_SIDE, 65.0)
    said = text(handle(session, CommandId.HOW_LONG, 125.0))
    assert "2 minutes 5 seconds" in said
    assert "Left breast: 1 minute 5 seconds." in said and "Right breast: 1 minute." in said


def test_read_my_log_says_the_history_it_is_given_or_that_there_is_none():
    lines = ["Today: 2 sessions, 20 minutes in all.", "Monday 30 November: 1 session, 5 minutes in all."]
    session = new_session(history=lambda: lines)
    assert text(handle(session, CommandId.READ_LOG)) == " ".join(lines)
    assert kinds(handle(new_session(), CommandId.READ_LOG)) == ["no_log"]


def quiet_until(session: Session, actions, t: float) -> float:
    finish_speech(session, actions, t)
    return t


def test_after_a_long_silence_at_a_step_it_reminds_her_once():
    session = at_step("massage", t=0.0)
    done = quiet_until(session, handle(session, CommandId.REPEAT, 0.0), 1.0)
    assert session.next_deadline() == done + REMINDER_SECONDS
    assert session.tick(done + REMINDER_SECONDS - 1) == []
    reminded = session.tick(done + REMINDER_SECONDS)
    assert kinds(reminded) == ["reminder"] and "say next" in text(reminded)
    finish_speech(session, reminded, done + REMINDER_SECONDS + 3)
    assert session.next_deadline() is None
    assert session.tick(done + 10 * REMINDER_SECONDS) == []
    # A new step may remind again.
    t = quiet_until(session, handle(session, CommandId.NEXT, 1000.0), 1001.0)
    assert kinds(session.tick(t + REMINDER_SECONDS)) == ["reminder"]


def test_a_command_puts_the_reminder_off():
    session = at_step("massage", t=0.0)
    quiet_until(session, handle(session, CommandId.REPEAT, 0.0), 1.0)
    quiet_until(session, handle(session, CommandId.WHERE, 100.0), 101.0)
    assert session.tick(1.0 + REMINDER_SECONDS) == []
    assert kinds(session.tick(101.0 + REMINDER_SECONDS)) == ["reminder"]


def test_no_reminder_while_counting_paused_or_turned_off():
    counting = at_step("squeeze")
    finish_speech(counting, handle(counting, CommandId.REPEAT, 0.0), 1.0)
    assert "reminder" not in kinds(counting.tick(1.0 + 2 * REMINDER_SECONDS))
    paused = at_step("massage")
    finish_speech(paused, handle(paused, CommandId.PAUSE, 0.0), 1.0)
    assert paused.tick(1.0 + 2 * REMINDER_SECONDS) == []
    off = Session(CONTENT, InputMode.VOICE, 0.0, reminders=False)
    finish_speech(off, off.start(0.0), 1.0)
    assert off.next_deadline() is None and off.tick(1.0 + 2 * REMINDER_SECONDS) == []


def test_preferences_hold_what_she_chose():
    session = new_session(rate=150, tempo=11, verbosity=Verbosity.BRIEF)
    assert session.preferences() == Preferences(150, 11, Verbosity.BRIEF)
    handle(session, CommandId.TALK_FASTER)
    handle(session, CommandId.FASTER)
    handle(session, CommandId.FULL)
    prefs = session.preferences()
    assert prefs == Preferences(150 + RATE.step, 11 + CONTENT.rhythm.tempo_step, Verbosity.FULL)


def test_a_question_is_answered_from_the_leaflet_or_told_whom_to_ask():
    session = at_step("massage", t=0.0)
    said = says(session.ask("how far back from the nipple?", 1.0))
    assert kinds(said) == ["answer"] and "2 to 3 centimetres" in said[0].text
    assert kinds(session.ask("can I freeze my milk?", 2.0)) == ["answer_none"]


def test_without_the_question_model_she_is_still_told_whom_to_ask(monkeypatch, tmp_path):
    """A broken install (the model's tokenizer gone) does not end the session."""
    monkeypatch.setattr(embedding, "TOKENIZER", tmp_path / "missing.json")
    monkeypatch.setattr(answers, "shared", lambda: embedding.Embedder(cache_dir=None))
    session = at_step("massage", t=0.0)
    assert session.answerer.is_typed_question("I don't know where to put my fingers")
    assert session.answerer.is_heard_question("how far back from the nipple?")
    assert not session.answerer.is_heard_question("the baby is crying")
    assert kinds(session.ask("how far back from the nipple?", 1.0)) == ["answer_none"]
