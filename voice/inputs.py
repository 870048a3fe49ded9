"""Typed input: lines of text (--text) and single keys (--keyboard).

Readers run on their own thread and hand what they read to a sink (the
runner), which takes commands from any thread.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import select
import termios
import tty
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, Protocol

from .commands import CommandId, PhraseMatcher, Source

_LOGGER = logging.getLogger(__name__)

# Longer typed lines are not commands; reading stops there so a huge line
# cannot fill memory.
MAX_LINE_BYTES = 1000
_ESCAPE = "\x1b"
_END_OF_INPUT = "\x04"  # Ctrl-D, which cbreak mode passes through as a key
_NAMED = {"\r": "<enter>", "\n": "<enter>", " ": "<space>"}


class Sink(Protocol):
    def command(self, command: CommandId, source: Source, words: str = "") -> None: ...
    def question(self, text: str, source: Source) -> None: ...
    def not_understood(self, source: Source) -> None: ...
    def input_ended(self, source: Source) -> None: ...


def read_lines(stream: BinaryIO, matcher: PhraseMatcher, is_question: Callable[[str], bool], sink: Sink) -> None:
    """One command phrase or question per line until end of input. Blank lines are
    ignored; anything else is answered as not understood."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            sink.not_understood(Source.TEXT)
            if not _skip_line(stream):
                break
            continue
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        command = matcher.match(text)
        if command is not None:
            sink.command(command, Source.TEXT, text)
        elif is_question(text):
            sink.question(text, Source.TEXT)
        else:
            sink.not_understood(Source.TEXT)
    sink.input_ended(Source.TEXT)


def _skip_line(stream: BinaryIO) -> bool:
    """Read to the end of an overlong line; False if input ended first."""
    while True:
        chunk = stream.readline(MAX_LINE_BYTES)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


def key_commands(keys: Mapping[CommandId, tuple[str, ...]]) -> dict[str, CommandId]:
    keymap = {key: command for command, items in keys.items() for key in items}
    # With Caps Lock on, "N" is "n", unless it is a key of its own.
    for key, command in list(keymap.items()):
        if len(key) == 1:
            keymap.setdefault(key.swapcase(), command)
    return keymap


def read_keys(fd: int, keymap: Mapping[str, CommandId], sink: Sink, end_session_on_eof: bool) -> None:
    """Single keys from a file descriptor until it closes or Ctrl-D.

    End of input ends the session only when keys are the only input; with a
    microphone on, it just stops the reading of keys."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        data = os.read(fd, 1)
        if not data:
            break
        for char in decoder.decode(data):
            if char == _END_OF_INPUT:
                sink.input_ended(Source.KEYBOARD)
                return
            if char == _ESCAPE:
                _drain(fd)  # arrow and function keys send ESC sequences
                continue
            command = keymap.get(_NAMED.get(char, char))
            if command is None:
                sink.not_understood(Source.KEYBOARD)
            else:
                sink.command(command, Source.KEYBOARD, char)
    if end_session_on_eof:
        sink.input_ended(Source.KEYBOARD)


def _drain(fd: int) -> None:
    while select.select([fd], [], [], 0.05)[0]:
        if not os.read(fd, 16):
            return


@contextlib.contextmanager
def single_keys(fd: int) -> Iterator[None]:
    """Keys arrive one by one, unechoed, while Ctrl-C still interrupts; the
    terminal is restored however the block ends."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
