"""Words to commands: phrases and sentence templates, typed or heard, with fillers around."""

import pytest

from voice.commands import CommandId, PhraseMatcher, TemplateError, template_pattern

from .shared import CONTENT, run_cli


def matcher(*templates: str) -> PhraseMatcher:
    return PhraseMatcher({CommandId.NO_MILK: templates}, ["um", "okay"], ["please"])


def test_a_template_stands_for_every_sentence_it_spells():
    found = matcher("(there's|there is) nothing [coming] out")
    for said in ("There's nothing coming out.", "there is nothing out", "Um, there's nothing out please"):
        assert found.match(said) is CommandId.NO_MILK, said
    for said in ("nothing coming out", "there's nothing coming", "there's nothing coming out at all"):
        assert found.match(said) is None, said


def test_a_template_is_matched_whole_not_inside_a_sentence():
    assert matcher("no milk").match("There's no milk in the fridge.") is None


@pytest.mark.parametrize("template", ["go (on", "go on]", "(a|b]", "a | b", "[(|)]", ""])
def test_a_template_that_is_not_well_formed_is_an_error(template):
    with pytest.raises(TemplateError):
        template_pattern(template)


@pytest.mark.parametrize("said, command", [
    ("go on", CommandId.RESUME),
    ("say that once more", CommandId.REPEAT),
    ("there's nothing coming out", CommandId.NO_MILK),
    ("switch to the other breast", CommandId.OTHER_SIDE),
    ("who can I call", CommandId.CONTACTS),
    ("what step am I on", CommandId.WHERE),
    ("that's too quick", CommandId.SLOWER),
])
def test_the_content_s_sentences_are_understood(said, command):
    assert CONTENT.matcher().match(said) is command


@pytest.mark.parametrize("said", ["Go back to sleep, little one.", "Stop it, you two.", "One, two, three.",
                                  "Can you help me with the washing?", "Hold on a second, I'm on the phone."])
def test_ordinary_talk_with_command_words_means_no_command(said):
    assert CONTENT.matcher().match(said) is None


def test_a_sentence_typed_in_text_mode_is_understood():
    result = run_cli("--text", stdin=b"hang on\ngo on\nwhat step am I on\nstop\n")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "Paused." in out and CONTENT.responses["resumed"] in out
    assert "Step 1 of" in out
