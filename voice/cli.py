"""Command line: the guided session and its helper subcommands."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from . import content as content_module
from .commands import CommandId, PhraseMatcher, Source
from .content import Content
from .errors import ContentError, EngineError, OptionError, VoiceError
from .events import EventLog
from .inputs import key_commands, read_keys, read_lines, single_keys
from .output import Output, SpokenOutput, TextOutput
from .rhythm import Style
from .runner import Runner
from .session import InputMode, Session

_LOGGER = logging.getLogger(__name__)
APP_NAME = "hand-expressing-voice"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="A voice-guided assistant for hand expressing breast milk. "
        "With no subcommand it talks you through the whole leaflet.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--text",
        action="store_true",
        help="no audio: read commands line by line from stdin, print every utterance on its own line",
    )
    mode.add_argument("--keyboard", action="store_true", help="speak, and take single keys instead of voice")
    parser.add_argument("--events", type=Path, metavar="FILE", help="append one JSON event per line to FILE")
    parser.add_argument(
        "--count",
        choices=[style.value for style in Style],
        default=Style.WORDS.value,
        help="how the squeeze-and-release rhythm sounds (default: words)",
    )
    parser.add_argument(
        "--no-thin", action="store_true", help="keep counting every word instead of thinning after the first cycles"
    )
    parser.add_argument("--rate", type=int, metavar="WPM", help="speaking rate in words a minute")
    parser.add_argument("--voice", metavar="ID", help="synthesizer voice (see: run.py voices)")
    parser.add_argument("--speaker", type=int, metavar="N", help="output device index (see: run.py devices)")
    parser.add_argument(
        "--content",
        type=Path,
        default=content_module.DEFAULT_DIR,
        metavar="DIR",
        help="content directory (default: the content/ folder)",
    )
    parser.add_argument("--debug", action="store_true", help="log details to stderr")

    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    check = sub.add_parser("check", help="validate content (a file, or the whole content directory)")
    check.add_argument("file", nargs="?", type=Path, help="a content file; its sections replace the default ones")
    sub.add_parser("voices", help="list the synthesizer's voices")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.subcommand == "check":
            return _check(args)
        if args.subcommand == "voices":
            return _voices()
        return _session(args, content_module.load(args.content))
    except ContentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OptionError as exc:
        parser.print_usage(sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except VoiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _check(args: argparse.Namespace) -> int:
    content = content_module.load(args.content, override=args.file)
    print(
        f"OK: {args.file or args.content}: {len(content.steps)} steps, "
        f"{len(content.commands)} commands, {len(content.contacts)} contacts"
    )
    return 0


def _voices() -> int:
    from .speech import voices

    for voice_id, name in voices():
        print(f"{voice_id}\t{name}")
    return 0


def _session(args: argparse.Namespace, content: Content) -> int:
    mode = InputMode.TEXT if args.text else InputMode.KEYS if args.keyboard else InputMode.VOICE
    start_t = time.monotonic()
    session = Session(content, mode, start_t, Style(args.count), thin=not args.no_thin)
    events = EventLog(args.events, start_t) if args.events else None
    runner = Runner(session, events)
    signals: list[int] = []
    try:
        with _stop_on_signals(runner, signals):
            if mode is InputMode.TEXT:
                output: Output = TextOutput(sys.stdout, runner.started, runner.finished)
                matcher = PhraseMatcher({c: spec.phrases for c, spec in content.commands.items()}, content.fillers)
                # A reader of its own: a daemon thread blocked in sys.stdin's reader
                # would hold that object's lock while the interpreter shuts down.
                stdin = open(sys.stdin.fileno(), "rb", closefd=False)  # noqa: SIM115 - lives as long as the process
                _background(read_lines, stdin, matcher, runner)
                summary = runner.run(output)
            else:
                output = _spoken_output(args, runner, session.texts())
                keymap = key_commands({c: spec.keys for c, spec in content.commands.items()})
                fd = sys.stdin.fileno()
                with single_keys(fd):
                    _background(read_keys, fd, keymap, runner, mode is InputMode.KEYS)
                    summary = runner.run(output)
            output.close()
    except KeyboardInterrupt:
        return 130  # a second Ctrl-C: quit at once
    finally:
        if events:
            events.close()
    _LOGGER.debug("session ended: %s", summary)
    return 128 + signal.SIGTERM if signal.SIGTERM in signals else 0


@contextlib.contextmanager
def _stop_on_signals(runner: Runner, received: list[int]):  # type: ignore[no-untyped-def]
    """Ctrl-C and SIGTERM end the session as "stop" does, summary and all;
    a second Ctrl-C quits at once."""

    def handle(signum: int, frame: object) -> None:
        if signum == signal.SIGINT and signal.SIGINT in received:
            raise KeyboardInterrupt
        received.append(signum)
        runner.command(CommandId.STOP, Source.SIGNAL)

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _spoken_output(args: argparse.Namespace, runner: Runner, texts: list[str]) -> SpokenOutput:
    from platformdirs import user_cache_dir

    from .playback import AudioPlayer
    from .speech import Pyttsx3Synthesizer

    synthesizer = Pyttsx3Synthesizer(Path(user_cache_dir(APP_NAME)) / "speech", voice=args.voice, rate=args.rate)
    player = AudioPlayer(runner.started, runner.finished, on_error=_audio_error, device=args.speaker)
    _background(synthesizer.prepare, texts)
    return SpokenOutput(synthesizer, player)


def _audio_error(exc: Exception) -> None:
    _LOGGER.error("audio output failed: %s", exc)


def _background(target, *args) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=target, args=args, daemon=True, name=target.__name__)
    thread.start()
    return thread


if __name__ == "__main__":
    sys.exit(main())
