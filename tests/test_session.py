"""The session engine: every command in every step, the "no milk" progression,
repeat, counting, summaries. Pure: times are plain numbers."""

import re

import pytest

from voice.commands import CommandId, Source
from voice.content import RESPONSES
from voice.session import FINISH_ANSWER_SECONDS, NOT_UNDERSTOOD_INTERVAL, Breast, Ended, InputMode, PlayCue, Say, Session, StepChanged

from .shared import CONTENT, SIDE_STEP, STEP_IDS, at_step, finish_speech, kinds, new_session, says, text

LAST = len(STEP_IDS) - 1
POSITIONS = CONTENT.positions_per_breast


def expected_step(command: CommandId, index: int, has_breast: bool) -> int:
    if command is CommandId.NEXT:
        return min(index + 1, LAST)
    if command is CommandId.BACK:
        return max(index - 1, 0)
    if command in (CommandId.LEFT, CommandId.RIGHT):
        return SIDE_STEP + 1 if index == SIDE_STEP else index
    if command is CommandId.NO_MILK:
        return index if has_breast else SIDE_STEP
    if command is CommandId.OTHER_SIDE:
        return SIDE_STEP + 1 if has_breast else SIDE_STEP
    return index


@pytest.mark.parametrize("step_id", STEP_IDS)
@pytest.mark.parametrize("command", list(CommandId))
def test_every_command_in_every_step_answers_and_lands_on_the_right_step(command, step_id):
    session = at_step(step_id, t=0.0)
    index = STEP_IDS.index(step_id)
    actions = session.handle(command, Source.KEYBOARD, 5.0)  # a stop heard is asked about: below
    spoken = says(actions)
    assert spoken, "every command gets a spoken answer"
    assert all(say.text and "{" not in say.text for say in spoken)
    known = set(RESPONSES) | {"step", "help", "where", "contacts", "contact_number", "summary"}
    assert set(kinds(actions)) <= known
    assert STEP_IDS.index(session.step.id) == expected_step(command, index, index > SIDE_STEP)
    changes = [a for a in actions if isinstance(a, StepChanged)]
    if changes:
        assert changes[-1].id == session.step.id
    assert session.ended == (command is CommandId.STOP)


def test_the_session_starts_with_the_welcome_and_the_hand_washing_warning():
    session = new_session()
    actions = session.start(0.0)
    assert kinds(actions) == ["welcome", "step"]
    assert "wash your hands" in says(actions)[1].text
    assert session.step.id == STEP_IDS[0]


def test_walking_every_step_says_each_step_in_leaflet_order():
    session = new_session()
    said = []
    for _ in STEP_IDS[1:]:
        command = CommandId.RIGHT if session.step.ask == "side" else CommandId.NEXT
        said += [s.text for s in says(session.handle(command, Source.TEXT, 1.0)) if s.kind == "step"]
    assert len(said) == len(STEP_IDS) - 1
    for step, spoken in zip(CONTENT.steps[1:], said, strict=True):
        assert spoken.startswith(step.title)
        for sentence in step.say:
            assert sentence in spoken


def test_next_at_the_question_starts_with_the_left_breast():
    session = at_step("side")
    actions = session.handle(CommandId.NEXT, Source.VOICE, 1.0)
    assert kinds(actions)[0] == "side_default"
    assert session.breast is Breast.LEFT


@pytest.mark.parametrize("answer,breast", [(CommandId.LEFT, Breast.LEFT), (CommandId.RIGHT, Breast.RIGHT)])
def test_left_or_right_answers_the_question(answer, breast):
    session = at_step("side")
    assert session.answers() == {"side"}
    actions = session.handle(answer, Source.VOICE, 1.0)
    assert kinds(actions) == ["side_chosen", "step"]
    assert breast.value in says(actions)[0].text
    assert session.breast is breast
    assert session.answers() == frozenset()


def test_left_or_right_when_not_asked_changes_nothing():
    session = at_step("squeeze", breast=CommandId.RIGHT)
    actions = session.handle(CommandId.LEFT, Source.VOICE, 1.0)
    assert kinds(actions) == ["side_not_asked"]
    assert session.breast is Breast.RIGHT and session.step.id == "squeeze"


def test_back_and_next_stop_at_the_ends():
    session = new_session()
    assert kinds(session.handle(CommandId.BACK, Source.VOICE, 1.0)) == ["first_step"]
    last = at_step(STEP_IDS[-1])
    assert kinds(last.handle(CommandId.NEXT, Source.VOICE, 1.0)) == ["last_step"]


# -- "no milk" ------------------------------------------------------------------


def test_no_milk_first_changes_the_hand_position_then_moves_around_the_breast():
    session = at_step("squeeze", breast=CommandId.LEFT)
    first = session.handle(CommandId.NO_MILK, Source.VOICE, 1.0)
    assert kinds(first) == ["no_milk_adjust"]
    assert "2 to 3 centimetres" in text(first) and "try again" in text(first)
    assert session.position == 1
    for position in range(2, POSITIONS + 1):
        actions = session.handle(CommandId.NO_MILK, Source.VOICE, float(position))
        assert kinds(actions) == ["no_milk_move"]
        assert f"Position {position} of {POSITIONS}" in text(actions)
        assert session.position == position and session.step.id == "squeeze"
    assert session.breast is Breast.LEFT


def test_no_milk_all_the_way_round_moves_to_the_other_breast_then_both_then_again():
    session = at_step("squeeze", breast=CommandId.LEFT)
    per_breast = POSITIONS + 1  # one adjustment, then every move, then the next breast

    def all_the_way_round(t: float) -> list:
        actions = []
        for _ in range(per_breast):
            actions = session.handle(CommandId.NO_MILK, Source.VOICE, t)
        return actions

    actions = all_the_way_round(10.0)
    assert kinds(actions) == ["no_milk_other_breast", "step"]
    assert "right breast" in says(actions)[0].text
    assert session.breast is Breast.RIGHT and session.position == 1
    assert session.step.id == STEP_IDS[SIDE_STEP + 1]  # the process again: massage first

    actions = all_the_way_round(20.0)
    assert kinds(actions) == ["no_milk_both_done", "step"]
    assert "both breasts" in says(actions)[0].text and "left breast" in says(actions)[0].text
    assert session.breast is Breast.LEFT

    actions = all_the_way_round(30.0)
    assert kinds(actions)[0] == "no_milk_other_breast"  # the second round goes on as the first
    summary = session.summary(40.0)
    assert summary.breasts[Breast.LEFT].positions == POSITIONS
    assert summary.no_milk == 3 * per_breast


def test_no_milk_before_choosing_a_breast_asks_for_one():
    session = new_session()
    actions = session.handle(CommandId.NO_MILK, Source.VOICE, 1.0)
    assert kinds(actions) == ["need_side", "step"]
    assert session.step.ask == "side"


def test_other_side_switches_breast_and_restarts_the_positions():
    session = at_step("move", breast=CommandId.RIGHT)
    session.handle(CommandId.NO_MILK, Source.VOICE, 1.0)
    session.handle(CommandId.NO_MILK, Source.VOICE, 2.0)
    assert session.position == 2
    actions = session.handle(CommandId.OTHER_SIDE, Source.VOICE, 3.0)
    assert kinds(actions) == ["other_side", "step"]
    assert session.breast is Breast.LEFT and session.position == 1
    assert kinds(session.handle(CommandId.NO_MILK, Source.VOICE, 4.0)) == ["no_milk_adjust"]


# -- repeat ---------------------------------------------------------------------

REPEATABLE = [
    (CommandId.NEXT, "step"),
    (CommandId.HELP, "help"),
    (CommandId.WHERE, "where"),
    (CommandId.CONTACTS, "contacts"),
    (CommandId.SLOWER, "slower"),
    (CommandId.FASTER, "faster"),
    (CommandId.PAUSE, "paused"),
    (CommandId.RESUME, "resumed"),
    (CommandId.NO_MILK, "no_milk_adjust"),
    (CommandId.OTHER_SIDE, "other_side"),
]


@pytest.mark.parametrize("command,kind", REPEATABLE)
def test_repeat_says_again_exactly_what_was_last_said(command, kind):
    session = at_step("squeeze")
    before = session.handle(command, Source.VOICE, 1.0)
    assert kind in kinds(before)
    again = session.handle(CommandId.REPEAT, Source.VOICE, 2.0)
    assert [(s.text, s.slow) for s in says(again)] == [(s.text, s.slow) for s in says(before)]
    assert min(s.id for s in says(again)) > max(s.id for s in says(before))
    assert says(session.handle(CommandId.REPEAT, Source.VOICE, 3.0))[0].text == says(before)[0].text


def test_repeat_at_the_start_says_the_welcome_and_first_step():
    session = new_session()
    assert kinds(session.handle(CommandId.REPEAT, Source.VOICE, 1.0)) == ["welcome", "step"]


def test_repeat_skips_a_not_understood_answer():
    session = at_step("massage")
    where = session.handle(CommandId.WHERE, Source.TEXT, 1.0)
    assert kinds(session.not_understood(Source.TEXT, 2.0)) == ["not_understood_typed"]
    assert text(session.handle(CommandId.REPEAT, Source.TEXT, 3.0)) == text(where)


def test_the_notice_that_speech_failed_is_only_printed_also_when_repeated():
    session = at_step("massage")
    [notice] = says(session.notice("no_speech", 1.0, reason="no sound server"))
    assert notice.printed and "no sound server" in notice.text
    [again] = says(session.handle(CommandId.REPEAT, Source.KEYBOARD, 2.0))
    assert again.printed and again.text == notice.text
    assert not any(s.printed for s in says(session.handle(CommandId.WHERE, Source.KEYBOARD, 3.0)))


# -- what is said -----------------------------------------------------------------


def test_where_says_step_number_total_breast_and_position():
    session = at_step("move", breast=CommandId.RIGHT)
    session.handle(CommandId.NO_MILK, Source.VOICE, 1.0)
    session.handle(CommandId.NO_MILK, Source.VOICE, 2.0)
    spoken = text(session.handle(CommandId.WHERE, Source.VOICE, 3.0))
    number = STEP_IDS.index("move") + 1
    assert f"Step {number} of {len(STEP_IDS)}" in spoken
    assert "Move around the breast" in spoken
    assert f"Right breast, position 2 of {POSITIONS}" in spoken


def test_where_before_a_breast_is_chosen_says_so():
    spoken = text(new_session().handle(CommandId.WHERE, Source.VOICE, 1.0))
    assert "Step 1 of" in spoken and "not chosen a breast" in spoken


def test_contacts_reads_every_number_slowly_digit_by_digit_with_groups_apart():
    actions = new_session().handle(CommandId.CONTACTS, Source.VOICE, 1.0)
    numbers = [s for s in says(actions) if s.kind == "contact_number"]
    assert len(numbers) == len(CONTENT.contacts) == 3
    for say, contact in zip(numbers, CONTENT.contacts, strict=True):
        assert say.slow
        assert contact.name in say.text
        groups = [" ".join(group) for group in contact.phone.split()]
        assert ", ".join(groups) in say.text
    assert "team caring for your baby" in says(actions)[0].text


@pytest.mark.parametrize(
    "mode,example",
    [(InputMode.VOICE, "where am I"), (InputMode.KEYS, "w for where am I"), (InputMode.TEXT, "where am I")],
)
def test_help_lists_every_command_but_the_answers_in_the_input_modes_words(mode, example):
    session = new_session(mode)
    spoken = text(session.handle(CommandId.HELP, Source.KEYBOARD, 1.0))
    assert example in spoken
    for spec in CONTENT.commands.values():
        if spec.answer is None:
            assert spec.phrases[0].replace("{step}", "5") in spoken
    assert not re.search(r"\b(left|right)\b", spoken)


@pytest.mark.parametrize(
    "mode,verb", [(InputMode.VOICE, "say help"), (InputMode.KEYS, "press h"), (InputMode.TEXT, "type help")]
)
def test_prompts_name_commands_the_way_the_input_mode_gives_them(mode, verb):
    assert verb in text(Session(CONTENT, mode, 0.0).start(0.0))


def test_slower_and_faster_say_the_new_tempo_and_stop_at_the_bounds():
    session = at_step("squeeze")
    tempo = CONTENT.rhythm.default_tempo
    spoken = text(session.handle(CommandId.SLOWER, Source.VOICE, 1.0))
    assert f"{tempo - CONTENT.rhythm.tempo_step:g} squeezes a minute" in spoken
    for _ in range(20):
        actions = session.handle(CommandId.SLOWER, Source.VOICE, 2.0)
    assert kinds(actions) == ["slowest"] and f"{CONTENT.rhythm.tempo_min:g}" in text(actions)
    for _ in range(20):
        actions = session.handle(CommandId.FASTER, Source.VOICE, 3.0)
    assert kinds(actions) == ["fastest"] and f"{CONTENT.rhythm.tempo_max:g}" in text(actions)


def test_stop_ends_with_time_spent_time_per_breast_and_positions():
    session = at_step("squeeze", t=0.0, breast=CommandId.LEFT)
    session.handle(CommandId.NO_MILK, Source.VOICE, 60.0)
    session.handle(CommandId.NO_MILK, Source.VOICE, 120.0)  # position 2
    session.handle(CommandId.OTHER_SIDE, Source.VOICE, 185.0)
    actions = session.handle(CommandId.STOP, Source.KEYBOARD, 245.0)
    ended = [a for a in actions if isinstance(a, Ended)]
    assert len(ended) == 1 and session.ended
    summary = ended[0].summary
    assert summary.seconds == 245.0
    assert summary.breasts[Breast.LEFT].seconds == 185.0
    assert summary.breasts[Breast.RIGHT].seconds == 60.0
    assert summary.breasts[Breast.LEFT].positions == 2 and summary.breasts[Breast.RIGHT].positions == 1
    spoken = text(actions)
    assert "4 minutes 5 seconds" in spoken
    assert "Left breast: 3 minutes 5 seconds, positions used: 2" in spoken
    assert "Right breast: 1 minute, positions used: 1" in spoken
    assert session.handle(CommandId.NEXT, Source.VOICE, 250.0) == []


def test_stop_before_choosing_a_breast_says_no_breast_was_chosen():
    assert "No breast was chosen" in text(new_session().handle(CommandId.STOP, Source.TEXT, 3.0))


@pytest.mark.parametrize("answer", [CommandId.YES, CommandId.STOP])
def test_a_stop_heard_is_asked_about_and_yes_or_stop_again_finishes(answer):
    session = at_step("squeeze")
    asked = session.handle(CommandId.STOP, Source.VOICE, 10.0)
    assert kinds(asked) == ["finish_asked"] and not session.ended
    assert session.answers() == {"yes_no"}
    assert "say yes" in text(asked) and "say no" in text(asked)
    actions = session.handle(answer, Source.VOICE, 14.0)
    assert kinds(actions) == ["summary"] and session.ended
    assert [a.summary.seconds for a in actions if isinstance(a, Ended)] == [14.0]


@pytest.mark.parametrize("answer", [CommandId.NO, CommandId.RESUME])
def test_no_to_finishing_goes_on_counting(answer):
    session = at_step("squeeze")
    asked = session.handle(CommandId.STOP, Source.VOICE, 10.0)
    assert cues(finish_speech(session, asked, 12.0))  # the count goes on under the question
    declined = session.handle(answer, Source.VOICE, 13.0)
    assert kinds(declined) == ["finish_declined"] and not session.ended
    assert session.answers() == frozenset()
    assert cues(finish_speech(session, declined, 14.0))
    assert kinds(session.handle(CommandId.YES, Source.VOICE, 15.0)) == ["where"]  # no question open


def test_another_command_closes_the_question_and_is_acted_on():
    session = at_step("massage")
    session.handle(CommandId.STOP, Source.VOICE, 10.0)
    assert kinds(session.handle(CommandId.REPEAT, Source.VOICE, 11.0)) == ["finish_asked"]  # still asked
    assert session.answers() == {"yes_no"}
    actions = session.handle(CommandId.NEXT, Source.VOICE, 12.0)
    assert session.step.id == STEP_IDS[STEP_IDS.index("massage") + 1] and kinds(actions)[-1] == "step"
    assert session.answers() == frozenset() and not session.ended


def test_an_unanswered_question_whether_to_finish_lapses():
    session = at_step("massage")
    session.handle(CommandId.STOP, Source.VOICE, 10.0)
    assert session.next_deadline() == 10.0 + FINISH_ANSWER_SECONDS
    session.tick(10.0 + FINISH_ANSWER_SECONDS - 0.1)
    assert session.answers() == {"yes_no"}
    session.tick(10.0 + FINISH_ANSWER_SECONDS)
    assert session.answers() == frozenset() and session.next_deadline() is None
    assert not session.ended


@pytest.mark.parametrize("source", [Source.KEYBOARD, Source.TEXT, Source.SIGNAL])
def test_a_stop_typed_pressed_or_signalled_ends_at_once(source):
    session = at_step("massage")
    assert kinds(session.handle(CommandId.STOP, source, 10.0)) == ["summary"] and session.ended


# -- counting -----------------------------------------------------------------------


def cues(actions):
    return [a.cue for a in actions if isinstance(a, PlayCue)]


def test_counting_starts_when_the_squeeze_step_has_been_said():
    session = at_step("spot")
    actions = session.handle(CommandId.NEXT, Source.VOICE, 10.0)
    assert session.next_deadline() is None  # not over the instructions
    started = finish_speech(session, actions, 30.0)
    assert [c.name for c in cues(started)] == ["press"]
    assert cues(started)[0].planned_t == 30.0
    assert session.next_deadline() > 30.0


def test_a_command_stops_the_count_and_it_starts_again_after_the_answer():
    session = at_step("spot")
    finish_speech(session, session.handle(CommandId.NEXT, Source.VOICE, 0.0), 10.0)
    session.tick(11.0)
    answer = session.handle(CommandId.WHERE, Source.VOICE, 11.5)
    assert session.next_deadline() is None and session.tick(13.0) == []
    restarted = finish_speech(session, answer, 14.0)
    assert cues(restarted)[0].name == "press" and cues(restarted)[0].planned_t == 14.0


def test_an_older_utterance_finishing_does_not_restart_the_count():
    session = at_step("spot")
    first = session.handle(CommandId.NEXT, Source.VOICE, 0.0)
    session.handle(CommandId.HELP, Source.VOICE, 1.0)  # cuts the step off
    assert finish_speech(session, first, 2.0) == []
    assert session.speaking and session.next_deadline() is None


def test_pause_stops_counting_until_resumed_and_keeps_the_schedule_from_the_resume():
    session = at_step("spot")
    finish_speech(session, session.handle(CommandId.NEXT, Source.VOICE, 0.0), 1.0)
    paused = session.handle(CommandId.PAUSE, Source.VOICE, 2.0)
    assert finish_speech(session, paused, 3.0) == []
    assert session.paused and session.next_deadline() is None
    where = session.handle(CommandId.WHERE, Source.VOICE, 4.0)
    assert "Paused." in text(where) and finish_speech(session, where, 5.0) == []
    resumed = session.handle(CommandId.RESUME, Source.VOICE, 100.0)
    restarted = finish_speech(session, resumed, 101.0)
    assert cues(restarted)[0].planned_t == 101.0
    cycle = 60 / CONTENT.rhythm.default_tempo
    times = []
    t = 101.0
    while len(times) < 3:
        t = session.next_deadline()
        times += [c.planned_t for c in cues(session.tick(t)) if c.name == "press"]
    assert times == [pytest.approx(101.0 + cycle), pytest.approx(101.0 + 2 * cycle), pytest.approx(101.0 + 3 * cycle)]


def test_there_is_no_counting_at_steps_without_rhythm():
    session = at_step("massage")
    assert finish_speech(session, session.handle(CommandId.REPEAT, Source.VOICE, 0.0), 1.0) == []
    assert session.rhythm.next_due() is None
    assert not cues(session.tick(100.0))


def test_a_new_breast_counts_every_word_again():
    session = at_step("spot")
    finish_speech(session, session.handle(CommandId.NEXT, Source.VOICE, 0.0), 0.0)
    while (due := session.next_deadline()) < 200:
        session.tick(due)
    session.handle(CommandId.OTHER_SIDE, Source.VOICE, 200.0)
    session.handle(CommandId.NEXT, Source.VOICE, 201.0)
    started = finish_speech(session, session.handle(CommandId.NEXT, Source.VOICE, 202.0), 210.0)
    assert cues(started)[0].word == CONTENT.rhythm.press_word
    assert cues(session.tick(session.next_deadline()))[0].name == "count 1"


def test_printed_text_keeps_the_count_in_words_when_a_voice_would_thin_it_to_tones():
    said = {}
    for mode in (InputMode.VOICE, InputMode.TEXT):
        session = at_step("spot", mode=mode)
        finish_speech(session, session.handle(CommandId.NEXT, Source.KEYBOARD, 0.0), 0.0)
        words = []
        while (due := session.next_deadline()) < 60 / CONTENT.rhythm.default_tempo * (CONTENT.rhythm.word_cycles + 2):
            words += [c.word for c in cues(session.tick(due))]
        said[mode] = words[-2:]
    assert said[InputMode.VOICE] == [None, None]  # tones
    assert said[InputMode.TEXT] == [CONTENT.rhythm.press_word, CONTENT.rhythm.release_word]


# -- not understood -------------------------------------------------------------------


def test_heard_but_not_understood_is_said_rarely_and_never_over_speech_or_counting():
    session = at_step("massage")
    assert session.not_understood(Source.VOICE, 1.0) == []  # the step is still being said
    finish_speech(session, session.handle(CommandId.WHERE, Source.VOICE, 2.0), 3.0)
    first = session.not_understood(Source.VOICE, 4.0)
    assert kinds(first) == ["not_understood"]
    finish_speech(session, first, 5.0)
    assert session.not_understood(Source.VOICE, 4.0 + NOT_UNDERSTOOD_INTERVAL / 2) == []
    assert kinds(session.not_understood(Source.VOICE, 4.0 + NOT_UNDERSTOOD_INTERVAL)) == ["not_understood"]

    counting = at_step("spot")
    finish_speech(counting, counting.handle(CommandId.NEXT, Source.VOICE, 0.0), 1.0)
    assert counting.not_understood(Source.VOICE, 100.0) == []


@pytest.mark.parametrize("source", [Source.TEXT, Source.KEYBOARD])
def test_typed_input_that_is_not_a_command_is_always_answered(source):
    session = at_step("squeeze")
    for t in (1.0, 1.1, 1.2):
        assert kinds(session.not_understood(source, t)) == ["not_understood_typed"]


def test_texts_to_prepare_cover_every_step_and_the_count_words():
    session = new_session()
    prepared = session.texts()
    for step in CONTENT.steps:
        assert any(t.startswith(step.title) for t in prepared)
    assert CONTENT.rhythm.press_word in prepared
    assert not [t for t in prepared if re.search(r"[{}]", t)]


def test_say_ids_increase():
    session = at_step("squeeze")
    ids = [s.id for s in says(session.handle(CommandId.CONTACTS, Source.VOICE, 1.0))]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(isinstance(s, Say) for s in says(session.handle(CommandId.STOP, Source.KEYBOARD, 2.0)))
