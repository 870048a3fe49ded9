#!/usr/bin/env python3
"""Build the recognizer's dev set into build/devset/ (reproducible: fixed seeds).

Synthesized command phrases (alone and with filler words), non-command speech
(household and television sentences, free speech holding command words,
numbers), the assistant's own prompts in its own voice, silence and noise,
under several conditions, plus the real human clips of tests/data/speech.

    python scripts/make_devset.py [--out build/devset] [--jobs 2]
    python scripts/make_devset.py --test-clips tests/data/clips   (the committed test clips only)

Writes <out>/manifest.jsonl, one clip a line:
  file       path relative to <out>
  expected   the command id the clip must give, or null
  answers    the questions asked while it is heard (["side"], ["yes_no"] or [])
  group      command, command_filler, variant, variant_independent, speech, speech_command_words, numbers,
             short_words, answer_unasked, prompt, count, noise, real
  synth      espeak-ng, flite, festival, human, numpy
  voice      the synthesizer's voice, or the speaker id
  condition  clean, white_20db, white_10db, pink_20db, pink_10db, babble_10db,
             reverb, tempo_fast, tempo_slow, pitch_high, pitch_low, quiet
  text       what is said
  split      tune or held: held-out clips (voices, texts, real people) are never tuned on
Needs the Debian packages espeak-ng, flite, festival (+ voices) and sox.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import shutil
import subprocess
import sys
import tempfile
import wave
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice.audio import SAMPLE_RATE, read_wav  # noqa: E402
from voice.commands import CommandId, Source, normalize  # noqa: E402
from voice.content import Content, load  # noqa: E402
from voice.session import Breast, InputMode, Place, Say, Session  # noqa: E402
from voice.speech import Pyttsx3Synthesizer  # noqa: E402

SEED = 20240601
REAL_DIR = ROOT / "tests" / "data" / "speech"

# (synth, voice, extra argument): espeak-ng voice+variant and words a minute.
VOICES = [
    ("espeak-ng", "en-us", "170"),
    ("espeak-ng", "en-us+f3", "160"),
    ("espeak-ng", "en+f2", "175"),
    ("espeak-ng", "en-gb-scotland", "165"),
    ("espeak-ng", "en-gb-x-rp+m3", "180"),
    ("espeak-ng", "en-029", "160"),
    ("flite", "kal", ""),
    ("flite", "kal16", ""),
    ("flite", "awb", ""),
    ("flite", "rms", ""),
    ("flite", "slt", ""),
    ("festival", "kal_diphone", ""),
    ("festival", "ked_diphone", ""),
    ("festival", "cmu_us_slt_arctic_hts", ""),
]
# The assistant's own voice: made by its own synthesizer (voice/speech.py) with
# the defaults it speaks with; phone numbers are said slowly.
OWN_VOICE = ("assistant", "default", "")
OWN_VOICE_SLOW = ("assistant", "default", "slow")

CONDITIONS = [
    "white_20db", "white_10db", "pink_20db", "pink_10db", "babble_10db",
    "reverb", "tempo_fast", "tempo_slow", "pitch_high", "pitch_low", "quiet",
]
# sox guards against clipping (-G) and dithers every 16-bit result: repeatable
# mode (-R) seeds the dither, else each build differs in the last bit and
# borderline clips flip between runs.
SOX = ("sox", "-G", "-R")
SOX_EFFECTS = {
    "reverb": ["reverb", "50", "50", "100"],
    "tempo_fast": ["tempo", "-s", "1.25"],
    "tempo_slow": ["tempo", "-s", "0.8"],
    "pitch_high": ["pitch", "300"],
    "pitch_low": ["pitch", "-300"],
}
# Sizes that keep the benchmark to a few minutes on 2 cores.
COMMANDS_PER_CONDITION = 80
SPEECH_PER_CONDITION = 30
"""Clips drawn from the clean ones for each other condition."""
SPEECH_VOICES = 4
"""Voices each non-command sentence is synthesized with."""
PROMPT_CONDITIONS = ("reverb",)
"""The assistant's voice comes back through a room and a microphone."""

FILLER_TEMPLATES = ["um, {} please", "okay {}", "uh, {}", "{} please", "so {} now", "er, {} then"]

EVERYDAY = [
    "The baby is finally asleep.",
    "Can you pass me the bottle?",
    "Did you remember to buy more nappies?",
    "I'll make us a cup of tea.",
    "What time is the midwife coming tomorrow?",
    "The weather tomorrow will be dry and mostly sunny.",
    "And now, the news at six o'clock.",
    "I think he needs his nappy changed.",
    "Have you seen my phone anywhere?",
    "It's really cold in here, shall I put the heating on?",
    "We should go to bed early tonight.",
    "The shop closes at eight.",
    "Thank you so much for the flowers.",
    "Let me know when you want something to eat.",
    "My sister is coming round this afternoon.",
    "Scientists say the results are very encouraging.",
    "Coming up after the break, our guide to the garden.",
    "He has got such tiny fingers.",
    "I'm so tired, I could sleep for a week.",
    "Shall I open the window a little?",
]
WITH_COMMAND_WORDS = [
    "I need to go back to the shop.",
    "Stop it.",
    "Stop it, you two.",
    "There's no milk in the fridge.",
    "We ran out of milk again.",
    "Can you help me with the washing?",
    "Hold on a second, I'm on the phone.",
    "Wait until the water boils.",
    "Keep going straight for two miles.",
    "Turn left at the next junction.",
    "Is it time for the next feed?",
    "That's right, he was born on Tuesday.",
    "Where did I put the car keys?",
    "Which way is the station?",
    "I'm done with the dishes, love.",
    "Could you slow down a little when you drive?",
    "Press the button on the side.",
    "Please repeat after me.",
    "That's the other side of the road.",
    "I've finished the book you lent me.",
    "Carry on like this and we'll be late.",
    "Nothing is coming out of the tap.",
    "The pause button is on the remote.",
    "Pardon me, can I get past?",
    "Let's go on holiday next year.",
    "Say hello to grandma.",
    "The phone numbers are on the fridge.",
    "Go back to sleep, little one.",
]
NUMBERS = [
    "Seven.",
    "Twenty three.",
    "One, two, three, four, five.",
    "Nineteen eighty four.",
    "A hundred and fifty millilitres.",
    "Three o'clock.",
    "Zero two zero, seven one eight eight.",
    "Six, five, four.",
]
SHORT_WORDS = ["Yes.", "No.", "Okay.", "Thanks.", "Hello?", "Sorry.", "Maybe.", "Milk.", "Side.", "Breast."]

# -- the held-out part: never tuned on (see split()) --------------------------------
HELD_VOICES = {"en-gb-scotland", "en+f2", "awb", "ked_diphone"}
"""Voices whose every clip is held out: one of each synthesizer, and one more espeak-ng."""
HELD_FILLER_TEMPLATES = ["well, {} now", "oh, {} please", "now {}", "okay, {} then"]
HELD_SPEECH = [
    "Could you put the kettle on?",
    "The parcel should arrive on Friday.",
    "Her cousin is getting married in June.",
    "I left my glasses in the kitchen.",
    "It has been raining all morning.",
    "Do we have any bread left?",
    "The doctor said everything looks fine.",
    "Turn the television down a bit.",
    "I can hear him crying upstairs.",
    "Let's take the pram to the park later.",
]
HELD_WITH_COMMAND_WORDS = [
    "Stop that right now.",
    "Don't stop the music.",
    "Next week we are visiting my mum.",
    "Go back and get your coat.",
    "I need some help with the shopping.",
    "Wait for me at the door.",
    "Slow down, you'll fall over.",
    "There's no milk left for the tea.",
    "Switch the light off when you leave.",
    "He's faster than his brother.",
    "Where are my keys?",
    "The left side of the car is scratched.",
    "You're right about that.",
    "Can you repeat the question?",
    "Pause the film, I'll be right back.",
    "We've finished the cake already.",
]
HELD_NUMBERS = [
    "One, two, three.",
    "One, two, three, four.",
    "Four, five, six, seven, eight.",
    "Eleven.",
    "Two hundred.",
]
VARIANTS = [
    # (what she says, the command it means): natural ways of saying a command that
    # content/commands.yaml does not list. Written before the recognizer was tuned,
    # held out: never tuned on, reported as the variants' figure.
    ("move on", "next"),
    ("let's move on", "next"),
    ("what's next", "next"),
    ("go to the next step", "next"),
    ("on to the next one", "next"),
    ("go back a step", "back"),
    ("take me back", "back"),
    ("the step before", "back"),
    ("say that once more", "repeat"),
    ("can you say that again", "repeat"),
    ("one more time", "repeat"),
    ("repeat the step", "repeat"),
    ("come again", "repeat"),
    ("there's nothing coming out", "no_milk"),
    ("the milk has stopped", "no_milk"),
    ("no more milk", "no_milk"),
    ("I'm not getting any milk", "no_milk"),
    ("nothing is happening", "no_milk"),
    ("hang on", "pause"),
    ("hold on a minute", "pause"),
    ("give me a minute", "pause"),
    ("wait a second", "pause"),
    ("go on", "resume"),
    ("let's carry on", "resume"),
    ("let's continue", "resume"),
    ("keep on going", "resume"),
    ("slow it down", "slower"),
    ("a bit slower", "slower"),
    ("that's too quick", "slower"),
    ("a bit faster", "faster"),
    ("speed it up", "faster"),
    ("quicker", "faster"),
    ("what can I do", "help"),
    ("I need help", "help"),
    ("what step am I on", "where"),
    ("where are we", "where"),
    ("which step is this", "where"),
    ("switch to the other breast", "other_side"),
    ("change sides", "other_side"),
    ("swap sides", "other_side"),
    ("who can I call", "contacts"),
    ("who do I contact", "contacts"),
    ("give me the phone numbers", "contacts"),
    ("that's enough", "stop"),
    ("end the session", "stop"),
    ("I want to stop", "stop"),
    ("we're done", "stop"),
]
VARIANT_VOICES = 3
"""Voices each variant is said in, clean."""
INDEPENDENT_VARIANTS = ROOT / "scripts" / "variants_independent.tsv"
"""More variants, written by someone who had not seen content/commands.yaml's sentences."""


def split(voice: str, text: str) -> str:
    """"held" for a clip of a held-out voice or text, else "tune". A third of the
    other texts (by a hash of the text: command phrases, sentences, the assistant's
    own texts) are held out too, as are the sentences, templates and variants above."""
    if voice in HELD_VOICES or text in _held_texts() or any(_fits(t, text) for t in HELD_FILLER_TEMPLATES):
        return "held"
    return "held" if zlib.crc32(text.encode()) % 3 == 0 else "tune"


@functools.cache
def _held_texts() -> frozenset[str]:
    return frozenset({*HELD_SPEECH, *HELD_WITH_COMMAND_WORDS, *HELD_NUMBERS, *(v for v, _ in VARIANTS + _independent())})


@functools.cache
def _independent() -> list[tuple[str, str]]:
    lines = INDEPENDENT_VARIANTS.read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")) for line in lines if line.strip()]


def _fits(template: str, text: str) -> bool:
    head, tail = template.split("{}")
    return text.startswith(head) and text.endswith(tail) and len(text) > len(head) + len(tail)


@dataclass(frozen=True)
class Clip:
    file: str
    expected: str | None
    answers: tuple[str, ...]
    group: str
    synth: str
    voice: str
    condition: str
    text: str
    split: str


@dataclass(frozen=True)
class Base:
    """One synthesized utterance, before any condition."""

    synth: str
    voice: str
    arg: str
    text: str

    @property
    def name(self) -> str:
        slug = self.voice.replace("+", "_")
        return f"{self.synth}_{slug}_{self.arg or 'd'}_{zlib.crc32(self.text.encode()):08x}.wav"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "devset")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--test-clips", type=Path, metavar="DIR",
                        help="write only the small fixed set of test clips (tests/data/clips) to DIR")
    args = parser.parse_args(argv)
    for tool in ("espeak-ng", "flite", "text2wave", "sox"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (Debian packages espeak-ng, flite, festival, sox)")
    if args.test_clips:
        _test_clips(args.test_clips)
        return 0
    content = load()
    plan = _plan(content)
    out: Path = args.out
    base_dir = out / "base"
    base_dir.mkdir(parents=True, exist_ok=True)
    bases = sorted(set(plan.values()), key=lambda b: b.name)
    # Babble is made of ordinary sentences only, so that it holds no command words.
    babble = [base_dir / b.name for b in bases if b.text in EVERYDAY]
    clips = list(plan)
    # pyttsx3's espeak-ng carries state from one text to the next (the same text
    # comes out some samples longer or shorter), so each of the assistant's texts
    # is made in a fresh process.
    own = [b for b in bases if b.synth == "assistant"]
    others = [b for b in bases if b.synth != "assistant"]
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        list(pool.map(_synthesize, own, [base_dir] * len(own)))
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(_synthesize, others, [base_dir] * len(others), chunksize=8))
        n = len(clips)
        list(pool.map(_render, clips, [base_dir / plan[c].name for c in clips], [out] * n, [babble] * n, chunksize=16))
    clips += _real_clips(content, out)
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for clip in clips:
            manifest.write(json.dumps(asdict(clip)) + "\n")
    print(f"{len(clips)} clips in {out}")
    return 0


def _plan(content: Content) -> dict[Clip, Base]:
    """Every synthesized clip: its manifest row -> the utterance it is made from."""
    rng = random.Random(SEED)
    held = random.Random(SEED + 1)  # the held-out additions, drawn apart so that the rest stays as it was
    matcher = content.matcher()
    voices = VOICES
    plan: dict[Clip, Base] = {}

    def add(group: str, text: str, expected: str | None, answers: tuple[str, ...], voice: tuple[str, str, str],
            condition: str = "clean") -> Clip:
        base = Base(*voice, text)
        label = f"assistant{' (slow)' if base.arg else ''}" if voice in (OWN_VOICE, OWN_VOICE_SLOW) else base.voice
        file = f"{condition}/{group}/{base.name}"
        clip = Clip(file, expected, answers, group, base.synth, label, condition, text, split(base.voice, text))
        plan[clip] = base
        return clip

    commands: list[tuple[str, str, tuple[str, ...]]] = []
    for spec in content.commands.values():
        answers = (spec.answer,) if spec.answer else ()
        for phrase in spec.phrases:
            commands.append(("command", phrase, answers))
        for phrase in rng.sample(spec.phrases, min(2, len(spec.phrases))):
            commands.append(("command_filler", rng.choice(FILLER_TEMPLATES).format(phrase), answers))
        commands.append(("command_filler", held.choice(HELD_FILLER_TEMPLATES).format(held.choice(spec.phrases)), answers))
    speech = (
        [("speech", t) for t in EVERYDAY + HELD_SPEECH]
        + [("speech_command_words", t) for t in WITH_COMMAND_WORDS + HELD_WITH_COMMAND_WORDS]
        + [("numbers", t) for t in NUMBERS + HELD_NUMBERS]
        + [("short_words", t) for t in SHORT_WORDS]
    )
    for _, text in speech:
        command = matcher.match(text)
        if command is not None and content.commands[command].answer is None:
            raise SystemExit(f"non-command sentence {text!r} is a command by the phrase rules")

    clean_commands = []
    for i, (group, text, answers) in enumerate(commands):
        expected = matcher.match(text)
        if expected is None:
            raise SystemExit(f"command text {text!r} does not match its command")
        # Every other voice, alternating halves: each text gets 3 espeak-ng and 4 flite/festival voices.
        for voice in voices[i % 2 :: 2]:
            clean_commands.append(add(group, text, str(expected), answers, voice))
            if answers:
                add("answer_unasked", text, None, (), voice)
    clean_speech = []
    for group, text in speech:
        for voice in rng.sample(voices, SPEECH_VOICES):
            clean_speech.append(add(group, text, None, (), voice))
    for condition in CONDITIONS:
        for clip in rng.sample(clean_commands, COMMANDS_PER_CONDITION):
            base = plan[clip]
            add(clip.group, clip.text, clip.expected, clip.answers, (base.synth, base.voice, base.arg), condition)
        for clip in rng.sample(clean_speech, SPEECH_PER_CONDITION):
            base = plan[clip]
            add(clip.group, clip.text, None, (), (base.synth, base.voice, base.arg), condition)

    for group, variants in (("variant", VARIANTS), ("variant_independent", _independent())):
        for text, expected in variants:
            for voice in held.sample(voices, VARIANT_VOICES):
                add(group, text, expected, (), voice)

    prompts, counts = _own_words(content)
    for condition in ("clean", *PROMPT_CONDITIONS):
        for text, slow, answers in prompts:
            add("prompt", text, None, answers, OWN_VOICE_SLOW if slow else OWN_VOICE, condition)
        for text in counts:
            add("count", text, None, (), OWN_VOICE, condition)
    return plan


def _own_words(content: Content) -> tuple[list[tuple[str, bool, tuple[str, ...]]], list[str]]:
    """What the assistant says in voice mode, as (text, said slowly, the questions
    open as it is heard), and its count words.

    A session is walked through every command so that each prompt is worded
    exactly as the assistant words it, live figures included, and a question
    ("which breast?", "do you want to finish?") is heard with its answers open,
    as it comes back through the microphone live.
    """
    session = Session(content, InputMode.VOICE, 0.0)
    said = [(text, False, ()) for text in session.texts()]
    asked = _said(session.start(0.0), session)
    walk = [
        CommandId.HELP, CommandId.WHERE, CommandId.RIGHT, CommandId.NEXT, CommandId.LEFT, CommandId.WHERE,
        *[CommandId.SLOWER] * 4, *[CommandId.FASTER] * 8, *[CommandId.NO_MILK] * 8, CommandId.OTHER_SIDE,
        CommandId.PAUSE, CommandId.WHERE, CommandId.RESUME, CommandId.BACK, CommandId.CONTACTS,
        *[CommandId.NEXT] * len(content.steps), CommandId.STOP, CommandId.NO, CommandId.STOP, CommandId.YES,
    ]
    for i, command in enumerate(walk, 1):
        asked += _said(session.handle(command, Source.VOICE, 37.0 * i), session)
    asked += _said(session.not_understood(Source.VOICE, 1e6), session)
    # The offer to carry on after a relaunch.
    relaunched = Session(content, InputMode.VOICE, 0.0, resume=Place(content.steps[-1].id, Breast.RIGHT, 2))
    asked += _said(relaunched.start(0.0), relaunched)
    # A text said both with a question open and without is heard with it open.
    questions = {text: answers for text, _, answers in asked}
    said = [(text, slow, questions.get(text, answers)) for text, slow, answers in said + asked]
    rhythm = content.rhythm
    counts = list(dict.fromkeys([rhythm.press_word, *rhythm.count_words, rhythm.release_word]))
    return [item for item in dict.fromkeys(said) if item[0] not in counts], counts


def _said(actions: list, session: Session) -> list[tuple[str, bool, tuple[str, ...]]]:
    return [(a.text, a.slow, tuple(sorted(session.answers()))) for a in actions if isinstance(a, Say)]


def _synthesize(base: Base, base_dir: Path) -> None:
    path = base_dir / base.name
    if path.exists():
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if base.synth == "assistant":
            sound = Pyttsx3Synthesizer(Path(tmp) / "cache").synthesize(base.text, slow=base.arg == "slow")
            with wave.open(str(raw), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(sound.rate)
                wav.writeframes(sound.pcm)
        elif base.synth == "espeak-ng":
            subprocess.run(["espeak-ng", "-v", base.voice, "-s", base.arg, "-w", str(raw), base.text], check=True)
        elif base.synth == "flite":
            subprocess.run(["flite", "-voice", base.voice, "-t", base.text, "-o", str(raw)], check=True)
        else:
            text = Path(tmp) / "text.txt"
            text.write_text(base.text, encoding="utf-8")
            subprocess.run(
                ["text2wave", "-eval", f"(voice_{base.voice})", str(text), "-o", str(raw)],
                check=True, capture_output=True,
            )
        # Leave a little silence on each side, as a microphone would hear it.
        subprocess.run(
            [*SOX, str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path) + ".tmp.wav",
             "pad", "0.2", "0.3"],
            check=True,
        )
        Path(str(path) + ".tmp.wav").rename(path)


def _render(clip: Clip, base: Path, out: Path, babble: list[Path]) -> None:
    path = out / clip.file
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    condition = clip.condition
    if condition == "clean":
        shutil.copyfile(base, path)
        return
    if condition in SOX_EFFECTS:
        subprocess.run([*SOX, str(base), str(path), *SOX_EFFECTS[condition]], check=True)
        return
    rng = np.random.default_rng(zlib.crc32(clip.file.encode()) ^ SEED)
    speech = np.frombuffer(read_wav(base), dtype="<i2").astype(np.float64) / 32768.0
    if condition == "quiet":
        mixed = speech * 10 ** (-20 / 20)
    else:
        kind, snr = condition.split("_")
        if kind == "white":
            noise = rng.standard_normal(len(speech))
        elif kind == "pink":
            noise = _pink(rng, len(speech))
        else:
            noise = _babble(rng, babble, len(speech))
        mixed = speech + noise * np.sqrt(_active_power(speech) / np.mean(noise**2) / 10 ** (int(snr[:-2]) / 10))
    _write(path, mixed)


def _active_power(x: np.ndarray) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest: the speech, not the pauses."""
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)
    power = np.mean(frames**2, axis=1)
    return float(np.mean(power[power > power.max() * 1e-3]))


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """1/f noise of unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.std(noise)


def _babble(rng: np.random.Generator, sources: list[Path], n: int) -> np.ndarray:
    """Four other voices talking at once, each looped from a random point."""
    total = np.zeros(n)
    for source in rng.choice(sources, 4, replace=False):
        voice = np.frombuffer(read_wav(source), dtype="<i2").astype(np.float64)
        voice /= np.sqrt(np.mean(voice**2))
        total += np.roll(np.resize(voice, n), int(rng.integers(n)))
    return total


def _write(path: Path, samples: np.ndarray) -> None:
    peak = np.max(np.abs(samples))
    if peak > 0.99:  # keep the mix unclipped: the SNR is what matters
        samples = samples * (0.99 / peak)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


def _real_clips(content: Content, out: Path) -> list[Clip]:
    """The human clips, each with no question asked: only "stop" is then a command. A word
    that answers a question ("left" for "side", "no" for "yes_no") also comes with it asked."""
    answering = {
        normalize(phrase): (str(command), spec.answer)
        for command, spec in content.commands.items()
        if spec.answer
        for phrase in spec.phrases
    }
    clips = []
    dest = out / "real"
    for line in (REAL_DIR / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        file, word, speaker = line.split("\t")[:3]
        target = dest / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REAL_DIR / file, target)
        rel = str(target.relative_to(out))
        clips.append(Clip(rel, "stop" if word == "stop" else None, (), "real", "human", speaker, "clean", word, "held"))
        if normalize(word) in answering:
            command, answer = answering[normalize(word)]
            clips.append(Clip(rel, command, (answer,), "real", "human", speaker, "clean", word, "held"))
    # Noise alone, and silence: nothing to hear.
    rng = np.random.default_rng(SEED)
    noise_dir = dest.parent / "clean" / "noise"
    noise_dir.mkdir(parents=True, exist_ok=True)
    n = 3 * SAMPLE_RATE
    sounds = {
        "silence": np.zeros(n),
        "room_tone": rng.standard_normal(n) * 10 ** (-60 / 20),
        "white": rng.standard_normal(n) * 0.05,
        "pink": _pink(rng, n) * 0.05,
        "hum": 0.1 * np.sin(2 * np.pi * 50 * np.arange(n) / SAMPLE_RATE),
        "clatter": _clatter(rng, n),
    }
    for name, samples in sounds.items():
        path = noise_dir / f"{name}.wav"
        _write(path, samples)
        clips.append(Clip(str(path.relative_to(out)), None, (), "noise", "numpy", name, "clean", "", "held"))
    return clips


# The committed test clips: (file, text, "synthesizer voice [argument]", expected
# command, answers). Voices are flite ones, which the recognizer is meant to
# handle, but for two sentences in espeak-ng's (see test_recognizer.py).
TEST_CLIPS = [
    ("next.wav", "next", "flite awb", "next", ""),
    ("back.wav", "back", "flite kal16", "back", ""),
    ("repeat.wav", "repeat", "flite slt", "repeat", ""),
    ("no_milk.wav", "no milk", "flite kal16", "no_milk", ""),
    ("pause.wav", "pause", "flite awb", "pause", ""),
    ("wait.wav", "wait", "flite kal", "pause", ""),
    # flite's kal speaks narrowband (8 kHz): understood once its upper band is filled in.
    ("which_step_8k.wav", "which step", "flite kal", "where", ""),
    ("switch_breasts_8k.wav", "switch breasts", "flite kal", "other_side", ""),
    ("too_slow_8k.wav", "too slow", "flite kal", "faster", ""),
    ("left_8k.wav", "left", "flite kal", "left", "side"),
    # Its reverberant tail heard as a long "um" after the command.
    ("no_milk_reverb.wav", "no milk", "flite awb", "no_milk", "", "reverb"),
    ("carry_on.wav", "carry on", "flite slt", "resume", ""),
    ("slower.wav", "slower", "flite kal16", "slower", ""),
    ("faster.wav", "faster", "flite awb", "faster", ""),
    ("help.wav", "help", "flite awb", "help", ""),
    ("where_am_i.wav", "where am I", "flite kal16", "where", ""),
    ("other_side.wav", "other side", "flite slt", "other_side", ""),
    ("contacts.wav", "contacts", "flite kal16", "contacts", ""),
    ("stop.wav", "stop", "flite awb", "stop", ""),
    ("left.wav", "left", "flite slt", "left", "side"),
    ("right.wav", "right", "flite kal16", "right", "side"),
    ("yes.wav", "yes", "flite kal16", "yes", "yes_no"),
    ("no.wav", "no", "flite slt", "no", "yes_no"),
    ("um_next_please.wav", "um, next please", "flite kal16", "next", ""),
    ("okay_stop.wav", "okay stop", "flite slt", "stop", ""),
    ("slow_down_please.wav", "slow down please", "flite awb", "slower", ""),
    ("move_along.wav", "move along", "flite kal16", "", ""),
    ("baby_asleep.wav", "The baby is finally asleep.", "flite slt", "", ""),
    ("go_back_to_the_shop.wav", "I need to go back to the shop.", "flite awb", "", ""),
    ("twenty_three.wav", "Twenty three.", "flite kal16", "", ""),
    ("next_feed.wav", "Is it time for the next feed?", "flite rms", "", ""),
    ("stop_it_you_two.wav", "Stop it, you two.", "flite kal16", "", ""),
    ("pass_the_bottle.wav", "Can you pass me the bottle?", "flite kal16", "", ""),
    # Sentences that start with a command phrase.
    ("go_back_to_sleep.wav", "Go back to sleep, little one.", "flite kal16", "", ""),
    ("keep_going_straight.wav", "Keep going straight for two miles.", "flite kal16", "", ""),
    ("hold_on_a_second.wav", "Hold on a second, I'm on the phone.", "flite kal16", "", ""),
    ("phone_numbers_on_the_fridge.wav", "The phone numbers are on the fridge.", "flite slt", "", ""),
    ("please_repeat_after_me.wav", "Please repeat after me.", "flite awb", "", ""),
    ("no_milk_in_the_fridge.wav", "There's no milk in the fridge.", "flite awb", "", ""),
    ("please_repeat_after_me_slt.wav", "Please repeat after me.", "flite slt", "", ""),
    # Heard as "please repeat please".
    ("please_repeat_after_me_rp.wav", "Please repeat after me.", "espeak-ng en-gb-x-rp+m3 180", "", ""),
    ("stop_it_you_two_espeak.wav", "Stop it, you two.", "espeak-ng en-us 170", "", ""),
    # Heard as "back, okay, previous" without single phones among the other sounds.
    ("tiny_fingers.wav", "He has got such tiny fingers.", "espeak-ng en-us+f3 160", "", ""),
    # Heard as "okay, again", and (quicker) as a silence and "continue".
    ("out_of_milk_again.wav", "We ran out of milk again.", "espeak-ng en-gb-scotland 165", "", ""),
    ("out_of_milk_again_fast.wav", "We ran out of milk again.", "espeak-ng en-029 160", "", "", "tempo_fast"),
    # Said in her own words: the content's sentence templates.
    ("can_you_say_that_again.wav", "can you say that again", "flite kal16", "repeat", ""),
    ("theres_nothing_coming_out.wav", "there's nothing coming out", "flite kal16", "no_milk", ""),
    ("go_on.wav", "go on", "flite awb", "resume", ""),
    ("switch_to_the_other_breast.wav", "switch to the other breast", "flite rms", "other_side", ""),
    # A mother counting aloud, and ordinary talk that starts with a command word.
    ("one_two_three.wav", "One, two, three.", "flite slt", "", ""),
    ("stop_the_car.wav", "Could you stop the car here?", "flite kal16", "", ""),
]


def _test_clips(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["file\ttext\tvoice\texpected\tanswers"]
    with tempfile.TemporaryDirectory() as tmp:
        for file, text, voice, expected, answers, *condition in TEST_CLIPS:
            synth, name, *arg = voice.split()
            base = Base(synth, name, "".join(arg), text)
            _synthesize(base, Path(tmp))
            if condition:
                effect = SOX_EFFECTS[condition[0]]
                subprocess.run([*SOX, str(Path(tmp) / base.name), str(out / file), *effect], check=True)
            else:
                shutil.copyfile(Path(tmp) / base.name, out / file)
            voiced = " ".join((synth, name, *(f"({c})" for c in condition)))
            lines.append("\t".join((file, text, voiced, expected, answers)))
    (out / "manifest.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(TEST_CLIPS)} clips in {out}")


def _clatter(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clicks and knocks: short decaying bursts at random times."""
    out = np.zeros(n)
    for start in rng.integers(0, n - 4000, 8):
        burst = rng.standard_normal(4000) * np.exp(-np.arange(4000) / 400)
        out[start : start + 4000] += 0.3 * burst
    return out


if __name__ == "__main__":
    sys.exit(main())
