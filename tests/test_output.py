"""SpokenOutput's routing: what is spoken, what is printed instead."""

import io

from voice.ownvoice import OwnVoice
from voice.output import SpokenOutput, TextOutput
from voice.playback import check_device
from voice.session import Say

from .shared import CONTENT, TakingPlayer


class _Synthesizer:
    def synthesize(self, text, slow=False, rate=None):
        raise AssertionError(f"synthesized {text!r}")


def test_the_notice_that_speech_failed_is_printed_even_when_the_speaker_works():
    """Spoken through a player that works again, "I will write everything here" would be
    untrue, and through one that does not, unheard."""
    printed = io.StringIO()
    reported = []
    fallback = TextOutput(printed, lambda item, t: None, lambda item, done: reported.append(item), print)
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


class _OneDeviceAudio:
    """PyAudio as check_device asks it: one device, 0, that plays and records."""

    def get_device_count(self):
        return 1

    def get_device_info_by_index(self, index):
        return {"name": "default", "maxInputChannels": 1, "maxOutputChannels": 2}


def test_a_chosen_speaker_gone_while_the_session_runs_is_a_speech_failure():
    """A restarted sound server may number its devices otherwise: print, say why, try again."""
    printed = io.StringIO()
    failures = []
    fallback = TextOutput(printed, lambda item, t: None, lambda item, done: None, print)

    def open_player(started, finished, error):
        check_device(99, output=True, audio=_OneDeviceAudio())

    own_voice = OwnVoice(CONTENT.phrases)
    output = SpokenOutput(_Synthesizer(), open_player, print, print, fallback, failures.append, own_voice)
    output.say(Say("Step 1 of 9.", "where", 1))
    assert printed.getvalue() == "Step 1 of 9.\n"
    assert len(failures) == 1 and "device 99 is not an audio output device; output devices: 0 (default)" in failures[0]


def test_a_reader_gone_is_told_once_and_nothing_more_is_printed():
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    closed = []
    output = TextOutput(Closed(), lambda item, t: None, lambda item, done: None, lambda: closed.append(True))
    output.say(Say("Hand expressing.", "welcome", 1))
    output.say(Say("Before you start.", "step", 2))
    assert closed == [True]
