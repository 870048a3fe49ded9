"""Command line: the guided session and its helper subcommands."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from . import content as content_module
from .answers import Answers
from .commands import CommandId, Source
from .content import QUESTIONS, Content
from .errors import AudioFileError, ContentError, EngineError, NoSuchDevice, OptionError, VoiceError
from .events import EventLog
from .inputs import key_commands, read_keys, read_lines, single_keys
from .listener import Listener
from .output import Output, SpokenOutput, TextOutput
from .ownvoice import OwnVoice
from .record import SessionRecord, summarize, write_whole
from .report import page
from .rhythm import Style
from .runner import Runner
from .session import InputMode, Preferences, Session, Verbosity
from .settings import Settings, SettingsFile, shown

_LOGGER = logging.getLogger(__name__)
APP_NAME = "hand-expressing-voice"
# The longest wait for a line to be said (run.py log), or for the
# assistant's texts to be known as its own voice.
_SPEAK_LIMIT = 120.0


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
        help="how the squeeze-and-release rhythm sounds: words (thinning to press and release, "
        "then tones), simple, tones, or quiet (tones, and a spoken reminder every few minutes); default: words",
    )
    parser.add_argument("--tempo", type=float, metavar="N", help="squeezes a minute to start counting at")
    parser.add_argument(
        "--verbosity",
        choices=[v.value for v in Verbosity],
        help="full: every sentence of each step (default); brief: each step's first sentence",
    )
    parser.add_argument(
        "--reminders",
        choices=["on", "off"],
        help="one reminder of what you can say after a few quiet minutes at a step (default: on)",
    )
    parser.add_argument(
        "--no-thin", action="store_true", help="keep counting every word instead of thinning after the first cycles"
    )
    parser.add_argument("--rate", type=int, metavar="WPM", help="speaking rate in words a minute")
    parser.add_argument("--voice", metavar="ID", help="synthesizer voice (see: run.py voices)")
    parser.add_argument("--speaker", type=int, metavar="N", help="output device number (see: run.py devices)")
    parser.add_argument("--mic", type=int, metavar="N", help="microphone device number (see: run.py devices)")
    parser.add_argument(
        "--content",
        type=Path,
        default=content_module.DEFAULT_DIR,
        metavar="DIR",
        help="content directory (default: the content/ folder)",
    )
    parser.add_argument(
        "--no-log", action="store_true", help="keep no session record, and do not offer to carry on a recent one"
    )
    parser.add_argument(
        "--record-dir",
        type=Path,
        metavar="DIR",
        help="keep every utterance the microphone hears as a WAV in DIR, to diagnose recognition "
        "(off by default: this writes what you say to disk)",
    )
    parser.add_argument("--debug", action="store_true", help="log details to stderr")

    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    check = sub.add_parser("check", help="validate content (files, or the whole content directory)")
    check.add_argument("files", nargs="*", type=Path, metavar="FILE", help="content files; their sections replace the default ones")
    sub.add_parser("voices", help="list the synthesizer's voices")
    sub.add_parser("devices", help="list audio devices and their numbers")
    recognize = sub.add_parser(
        "recognize", help="recognize commands in WAV files with the same recognizer and settings as the live loop"
    )
    recognize.add_argument("--json", action="store_true", help="one JSON object per file per line")
    recognize.add_argument(
        "--answers",
        default="",
        metavar="QUESTIONS",
        help="questions taken as asked, comma-separated (side, yes_no): their answers count as commands",
    )
    recognize.add_argument(
        "--tune",
        action="append",
        default=[],
        metavar="SETTING=VALUE",
        help="try another recognizer setting (a field of voice.recognizer.Tuning); the live loop keeps the defaults",
    )
    recognize.add_argument("files", nargs="+", metavar="WAV")
    settings = sub.add_parser("settings", help="print the settings kept between sessions")
    settings.add_argument("--reset", action="store_true", help="clear them: the defaults apply again")
    log = sub.add_parser("log", help="say and print a summary of today's and recent sessions")
    # Also after the subcommand, as one would type it; SUPPRESS keeps a --text given before it.
    log.add_argument("--text", action="store_true", default=argparse.SUPPRESS, help="print only, say nothing")
    log.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write the sessions as a page to print instead (tables per day and a chart); replaces FILE if it exists",
    )
    _add_export(sub)
    return parser


def _add_export(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from .export import DEFAULT_SQUEEZES
    from .exportfile import CHAPTERS_SUFFIX, FORMATS

    export = sub.add_parser(
        "export",
        help="render a whole guided session into one audio file to play on a phone or speaker",
        description=f"Render a whole guided session, count included, into FILE ({', '.join(FORMATS)}, by its "
        f"extension), with its chapters listed in FILE{CHAPTERS_SUFFIX}.",
    )
    export.add_argument("file", type=Path, metavar="FILE")
    export.add_argument(
        "--squeezes", type=int, default=DEFAULT_SQUEEZES, metavar="N",
        help=f"squeezes counted at each position (default: {DEFAULT_SQUEEZES})",
    )
    export.add_argument("--positions", type=int, metavar="N", help="positions around each breast (default: the content's)")
    export.add_argument("--force", action="store_true", help="overwrite FILE and its chapter list if they exist")
    # As before the subcommand, and also after it; SUPPRESS keeps one given before it.
    export.add_argument("--tempo", type=float, metavar="N", default=argparse.SUPPRESS, help="squeezes a minute")
    export.add_argument("--count", choices=[style.value for style in Style], default=argparse.SUPPRESS)
    export.add_argument("--no-thin", action="store_true", default=argparse.SUPPRESS)
    export.add_argument("--rate", type=int, metavar="WPM", default=argparse.SUPPRESS)
    export.add_argument("--voice", metavar="ID", default=argparse.SUPPRESS)


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
        if args.subcommand == "settings":
            return _settings(args)
        if args.subcommand == "devices":
            return _devices()
        if args.subcommand == "recognize":
            return _recognize(args, content_module.load(args.content))
        if args.subcommand == "log":
            return _log(args, content_module.load(args.content))
        if args.subcommand == "export":
            return _export(args, content_module.load(args.content))
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
    content = content_module.load(args.content, overrides=args.files)
    # Asked questions name leaflet sentences: checked once the sentences are known. Also
    # checks the question model and keeps the asked questions' vectors, so that her first
    # question is answered at once.
    Answers.from_content(content).prepare()
    print(
        f"OK: {', '.join(map(str, args.files)) or args.content}: {len(content.steps)} steps, "
        f"{len(content.commands)} commands, {len(content.contacts)} contacts"
    )
    return 0


def _voices() -> int:
    from .speech import voices

    for voice_id, name in voices():
        print(f"{voice_id}\t{name}")
    return 0


def _export(args: argparse.Namespace, content: Content) -> int:
    from .export import Options, write
    from .progress import Progress

    # As in a live session: her saved settings, the options given over them (not saved).
    chosen = _usable(_chosen(args, content, _settings_file(), save=False), args, audio=True)
    tempo = content.rhythm.default_tempo if chosen.tempo is None else chosen.tempo
    options = Options(tempo, Style(chosen.count or Style.WORDS), not args.no_thin, args.squeezes, args.positions)
    args.rate = content.speech_rate.default if chosen.rate is None else chosen.rate
    args.voice = chosen.voice
    try:
        timeline = write(args.file, content, options, _synthesizer(args), args.force, Progress())
    except KeyboardInterrupt:
        return 130  # Ctrl-C: stopped, and the half-made file removed
    print(f"{args.file}: {round(timeline.end)} s, {len(timeline.chapters)} chapters")
    return 0


def _settings_file() -> SettingsFile:
    from platformdirs import user_config_dir

    return SettingsFile(Path(user_config_dir(APP_NAME)) / "settings.yaml")


def _settings(args: argparse.Namespace) -> int:
    store = _settings_file()
    if args.reset:
        print("Settings cleared: the defaults apply." if store.reset() else "No settings were kept: the defaults apply.")
        return 0
    saved, notice = store.load()
    if notice:
        print(notice, file=sys.stderr)
    print(f"Settings file: {store.path}")
    for line in shown(saved):
        print(line)
    return 0


def _chosen(args: argparse.Namespace, content: Content, store: SettingsFile, save: bool) -> Settings:
    """The saved settings with the options given put over them; with save, the options
    given are saved: they are her choice from now on. OptionError for a tempo out of
    the content's bounds."""
    saved, notice = store.load()
    if notice:
        print(notice, file=sys.stderr)
    given = Settings(
        rate=getattr(args, "rate", None),
        voice=getattr(args, "voice", None),
        tempo=getattr(args, "tempo", None),
        count=getattr(args, "count", None),
        verbosity=getattr(args, "verbosity", None),
        reminders=None if getattr(args, "reminders", None) is None else args.reminders == "on",
    )
    rhythm = content.rhythm
    if given.tempo is not None and not rhythm.tempo_min <= given.tempo <= rhythm.tempo_max:
        raise OptionError(f"--tempo {given.tempo:g}: give {rhythm.tempo_min:g} to {rhythm.tempo_max:g} squeezes a minute")
    if save and given != Settings():
        try:
            store.save(saved.merged(given))
        except OSError as exc:
            _LOGGER.warning("the settings could not be saved: %s", exc)
    return saved.merged(given)


def _usable(chosen: Settings, args: argparse.Namespace, audio: bool) -> Settings:
    """Saved settings that no longer fit (a voice since removed) are left out, with a
    warning; options given were checked already."""
    from dataclasses import replace

    from .speech import check_voice

    if audio and chosen.voice is not None and args.voice is None:
        try:
            check_voice(chosen.voice)
        except (OptionError, EngineError) as exc:
            print(f"the saved voice is not used: {exc}", file=sys.stderr)
            return replace(chosen, voice=None)
    return chosen


def _keeper(store: SettingsFile, start: Preferences) -> Callable[[Preferences], None]:
    """keep(preferences): save what she changed in the session (speech rate, tempo,
    brevity) over the saved settings, when it changed."""
    kept = start

    def keep(now: Preferences) -> None:
        nonlocal kept
        if now == kept:
            return
        changed = Settings(
            rate=now.rate if now.rate != start.rate else None,
            tempo=now.tempo if now.tempo != start.tempo else None,
            verbosity=now.verbosity.value if now.verbosity != start.verbosity else None,
        )
        try:
            store.save(store.load()[0].merged(changed))
        except OSError as exc:
            _LOGGER.warning("the settings could not be saved: %s", exc)
        kept = now

    return keep


def _record_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "sessions.json"


def _log(args: argparse.Namespace, content: Content) -> int:
    if args.html is not None:
        return _log_html(args.html, content)
    lines = summarize(SessionRecord(_record_path()).entries, content.responses, time.time())
    for line in lines:
        print(line)
    if not args.text:
        try:
            with _speaking(args) as say:
                for line in lines:
                    say(line)
        except EngineError as exc:
            # The summary is printed: no speech is no failure.
            print(f"cannot speak, printed only: {exc}", file=sys.stderr)
    return 0


def _log_html(path: Path, content: Content) -> int:
    """The log as a page to print; it is a report made again on demand, so an
    existing file is replaced, whole or not at all."""
    html = page(SessionRecord(_record_path()).entries, content.responses, time.time())
    try:
        write_whole(path, html)
    except OSError as exc:
        raise OptionError(f"--html {path}: cannot write it: {exc.strerror or exc}") from None
    print(f"Written to {path}")
    return 0


@contextlib.contextmanager
def _speaking(args: argparse.Namespace) -> Iterator[Callable[[str], None]]:
    """say(line): say the line through the speaker, returning once it is said;
    EngineError if speech or the speaker fails."""
    from .playback import AudioPlayer

    done = threading.Event()
    errors: list[Exception] = []

    def failed(error: Exception) -> None:
        errors.append(error)
        done.set()

    synthesizer = _synthesizer(args)
    with AudioPlayer(lambda *_: None, lambda *_: done.set(), failed, device=args.speaker) as player:

        def say(line: str) -> None:
            done.clear()
            player.play(synthesizer.synthesize(line), None)
            done.wait(timeout=_SPEAK_LIMIT)
            if errors:
                raise errors[0]

        yield say


def _devices() -> int:
    from .playback import NO_DEVICES, list_devices

    devices = list_devices()
    if not devices:
        raise EngineError(f"no audio devices found: {NO_DEVICES}")
    for device in devices:
        roles = [role for role, channels in (("microphone", device.max_in), ("speaker", device.max_out)) if channels]
        print(f"{device.index}\t{device.name}\t{', '.join(roles)}")
    return 0


def _recognize(args: argparse.Namespace, content: Content) -> int:
    from dataclasses import replace

    from .recognizer import Recognizer, Tuning, hear_file, pick

    answers = frozenset(filter(None, args.answers.split(",")))
    unknown = answers - set(QUESTIONS)
    if unknown:
        raise OptionError(f"unknown question {', '.join(sorted(unknown))}; questions: {', '.join(QUESTIONS)}")
    recognizer = Recognizer(content, **Tuning.overrides(args.tune))
    own_voice = _learnt_own_voice(args, content)
    failed = False
    for file in args.files:
        try:
            heard = hear_file(recognizer, file, answers)
        except AudioFileError as exc:
            failed = True
            result: dict[str, object] = {"file": file, "error": str(exc)}
        else:
            # As live: what is the assistant's own voice is no command.
            own = [r for r in heard if r.command is not None and own_voice and own_voice.heard_in(r.audio)]
            best = pick([replace(r, command=None) if r in own else r for r in heard])
            result = {
                "file": file,
                "command": best.command and best.command.value,
                "text": best.text,
                "question": best.question,
                "confidence": round(best.confidence, 3),
                # The whole file's recognition time, not only the utterance chosen.
                "seconds": round(sum(r.seconds for r in heard), 4),
                "end": round(best.end, 3),
                "ready": round(best.ready, 3),
                "own_voice": [r.command.value for r in own if r.command],
            }
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif "error" in result:
            print(f"{file}: error: {result['error']}", flush=True)
        else:
            print(f"{file}: {result['command'] or '-'} ({result['text']!r}, confidence {result['confidence']})", flush=True)
    return 1 if failed else 0


def _learnt_own_voice(args: argparse.Namespace, content: Content) -> OwnVoice | None:
    """The assistant's own voice as the live loop knows it at the start: every fixed text.
    None when there is no speech to know it by."""
    own_voice = OwnVoice(content.phrases)
    try:
        _synthesizer(args).prepare(Session(content, InputMode.VOICE, 0.0).texts(), own_voice.learn)
    except EngineError as exc:
        _LOGGER.warning("the assistant's own voice is not known: %s", exc)
        return None
    own_voice.wait_learnt(_SPEAK_LIMIT)
    return own_voice


def _session(args: argparse.Namespace, content: Content) -> int:
    mode = InputMode.TEXT if args.text else InputMode.KEYS if args.keyboard else InputMode.VOICE
    if args.record_dir is not None:
        _check_record_dir(args.record_dir, mode)
    _check_options(args, audio=mode is not InputMode.TEXT)
    store = _settings_file()
    chosen = _usable(_chosen(args, content, store, save=True), args, audio=mode is not InputMode.TEXT)
    # What the synthesizer and the session start from.
    args.rate = content.speech_rate.default if chosen.rate is None else chosen.rate
    args.voice = chosen.voice
    record = None if args.no_log else SessionRecord(_record_path())
    resume = record.resumable(time.time()) if record else None
    start_t = time.monotonic()
    session = Session(
        content,
        mode,
        start_t,
        Style(chosen.count or Style.WORDS),
        thin=not args.no_thin,
        resume=resume,
        rate=args.rate,
        tempo=chosen.tempo,
        verbosity=Verbosity(chosen.verbosity or Verbosity.FULL),
        reminders=chosen.reminders is not False,
        history=None if record is None else lambda: summarize(record.entries, content.responses, time.time()),
    )
    events = _event_log(args.events, start_t) if args.events else None
    if record:
        record.begin(time.time())
    runner = Runner(session, events, record, keep=_keeper(store, session.preferences()))
    signals: list[int] = []
    try:
        # Closed last in first out, also on a second Ctrl-C: the listener, then the
        # output; an audio stream left open crashes the interpreter's shutdown.
        with _stop_on_signals(runner, signals), contextlib.ExitStack() as devices:
            text = TextOutput(sys.stdout, runner.started, runner.finished, lambda: _stdout_closed(runner))
            output: Output = text
            if mode is not InputMode.TEXT:
                own_voice = OwnVoice(content.phrases)
                try:
                    output = _spoken_output(args, runner, text, session.texts(), own_voice)
                    devices.callback(output.close)
                except EngineError as exc:
                    # No speech at all: carry on as text mode, and say why.
                    mode = InputMode.TEXT
                    session.set_mode(mode)
                    runner.output_failed(str(exc))
            if mode is InputMode.TEXT:
                matcher = content.matcher()
                # A reader of its own: a daemon thread blocked in sys.stdin's reader
                # would hold that object's lock while the interpreter shuts down.
                stdin = open(sys.stdin.fileno(), "rb", closefd=False)  # noqa: SIM115 - lives as long as the process
                _background(read_lines, stdin, matcher, session.answerer.is_typed_question, runner)
                summary = runner.run(output)
            else:
                if mode is InputMode.VOICE:
                    listener = _listener(args, content, runner, own_voice)
                    listener.start()
                    devices.callback(listener.stop)
                keymap = key_commands({c: spec.keys for c, spec in content.commands.items()})
                fd = sys.stdin.fileno()
                with single_keys(fd):
                    _background(read_keys, fd, keymap, runner, mode is InputMode.KEYS)
                    summary = runner.run(output)
    except KeyboardInterrupt:
        return 130  # a second Ctrl-C: quit at once
    finally:
        if events:
            events.close()
    _LOGGER.debug("session ended: %s", summary)
    return 128 + signal.SIGTERM if signal.SIGTERM in signals else 0


def _event_log(path: Path, start_t: float) -> EventLog:
    """The --events log, opened; OptionError naming the file and why if it cannot be."""
    try:
        return EventLog(path, start_t)
    except OSError as exc:
        raise OptionError(f"--events {path}: cannot append to it: {exc.strerror or exc}") from None


def _stdout_closed(runner: Runner) -> None:
    """What it prints cannot be written any more (run.py --text | head -1, or a full
    disk): end the session, as such a pipe ends other tools, with its record saved."""
    # What stdout still holds would fail again, loudly, at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    runner.command(CommandId.STOP, Source.SIGNAL)


def _check_options(args: argparse.Namespace, audio: bool) -> None:
    """Options of speech and audio devices not among the choices: OptionError naming
    the valid ones. The rate's range is checked in any mode, though only speech uses it."""
    from .speech import check_rate, check_voice

    if args.rate is not None:
        check_rate(args.rate)
    if not audio:
        return
    if args.voice is not None:
        check_voice(args.voice)
    if args.speaker is not None:
        _check_device(args.speaker, output=True)
    if args.mic is not None and not args.keyboard:
        _check_device(args.mic, output=False)


def _check_device(index: int, output: bool) -> None:
    """NoSuchDevice unless index is a device of its kind. With no audio devices at all
    (no sound server), there is nothing to choose from: the session finds that out
    itself and says so, as it does with no device chosen, and goes on without."""
    from .playback import check_device

    try:
        check_device(index, output=output)
    except NoSuchDevice:
        raise
    except EngineError as exc:
        _LOGGER.debug("device %d not checked: %s", index, exc)


def _check_record_dir(folder: Path, mode: InputMode) -> None:
    """OptionError unless utterances can be kept in folder (made if missing)."""
    if mode is not InputMode.VOICE:
        raise OptionError("--record-dir keeps what the microphone hears: it needs voice mode (no --text or --keyboard)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OptionError(f"--record-dir {folder}: cannot write there: {exc.strerror or exc}") from None


def _synthesizer(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from platformdirs import user_cache_dir

    from .speech import Pyttsx3Synthesizer

    return Pyttsx3Synthesizer(Path(user_cache_dir(APP_NAME)) / "speech", voice=args.voice, rate=args.rate)


def _spoken_output(
    args: argparse.Namespace, runner: Runner, fallback: Output, texts: list[str], own_voice: OwnVoice
) -> SpokenOutput:
    from .playback import AudioPlayer
    from .speech import voices

    synthesizer = _synthesizer(args)
    voices()  # starts the engine: fails here, before the session starts, if speech cannot work
    # Every fixed text is made ahead, and known again if it comes back through the microphone.
    _background(synthesizer.prepare, texts, own_voice.learn)

    def open_player(started, finished, error):  # type: ignore[no-untyped-def]
        return AudioPlayer(started, finished, error, device=args.speaker)

    return SpokenOutput(
        synthesizer, open_player, runner.started, runner.finished, fallback, runner.output_failed, own_voice
    )


def _listener(args: argparse.Namespace, content: Content, runner: Runner, own_voice: OwnVoice) -> Listener:
    from .microphone import Microphone
    from .recognizer import Recognizer

    return Listener(
        lambda: Microphone(device=args.mic),
        lambda: Recognizer(content),
        runner,
        lambda: runner.answers,
        own_voice,
        args.record_dir,
    )


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


def _background(target, *args) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=target, args=args, daemon=True, name=target.__name__)
    thread.start()
    return thread


if __name__ == "__main__":
    sys.exit(main())
