"""SpokenOutput's routing: what is spoken, what is printed instead."""

import io

from voice.ownvoice import OwnVoice
from voice.output import SpokenOutput, TextOutput
from voice.session import Say

from .shared import CONTENT, TakingPlayer


class _Synthesizer:
    def synthesize(self, text, slow=False):
        raise AssertionError(f"synthesized {text!r}")


def test_the_notice_that_speech_failed_is_printed_even_when_the_speaker_works():
    """Spoken through a player that works again, "I will write everything here" would be
    untrue, and through one that does not, unheard."""
    printed = io.StringIO()
    reported = []
    fallback = TextOutput(printed, lambda item, t: None, lambda item, done: reported.append(item))
    players = []

    def open_player(started, finished, error):
        players.append(TakingPlayer(started, finished, error))
        return players[-1]

    output = SpokenOutput(_Synthesizer(), open_player, print, print, fallback, print, OwnVoice(CONTENT.phrases))
    notice = Say("Speech is not working (no sound server).", "no_speech", 1, printed=True)
    output.say(notice)
    assert printed.getvalue() == notice.text + "\n"
    assert reported == [notice]  # finished, so the session goes on
    assert players[0].played == []
