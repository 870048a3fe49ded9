#!/usr/bin/env python3
"""Benchmark the command recognizers on the dev set (scripts/make_devset.py, run first if the set is missing).

    python scripts/bench_recognition.py [--quick] [--naive-every 8] [--jobs 2]
        [--recognizers whisper,pocketsphinx,naive] [--tune SETTING=VALUE ...]
        [--devset build/devset] [--json build/bench.json] [--markdown build/bench.md]

Runs side by side, on the same clips: the assistant's recognizer (Whisper
tiny.en, through `run.py recognize`, the live loop's settings and its check
for its own voice), the PocketSphinx recognizer it replaced
(scripts/legacy, recognizer alone) and the naive way on every Nth clip
(SpeechRecognition's recognize_sphinx and a substring match of the phrases).

Every figure is given for the dev set's held-out part (voices, texts and real
people never tuned on) and its tuning part apart: commands understood per
condition, group and voice, the natural variants, false accepts on
non-command speech and on the assistant's own prompts and count words, the
real human clips, and recognition time per clip.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice.audio import SAMPLE_RATE, frame_power, read_wav  # noqa: E402
from voice.commands import CommandId, normalize  # noqa: E402
from voice.content import Content, load  # noqa: E402
from voice.errors import OptionError  # noqa: E402
from voice.recognizer import Tuning  # noqa: E402

NON_COMMAND_GROUPS = ("speech", "speech_command_words", "numbers", "short_words", "answer_unasked", "noise")
OWN_GROUPS = ("prompt", "count")
COMMAND_GROUPS = ("command", "command_filler")
VARIANT_GROUPS = ("variant", "variant_independent")
RECOGNIZERS = ("whisper", "pocketsphinx", "naive")
SPLITS = ("held", "tune")
QUICK_SHARE = 0.25

_WORKER: dict[str, object] = {}  # the naive and old recognizers, once per worker process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devset", type=Path, default=ROOT / "build" / "devset")
    parser.add_argument("--quick", action="store_true", help=f"a fixed {QUICK_SHARE * 100:.0f}%% of the clips")
    parser.add_argument("--naive-every", type=int, default=8, metavar="N",
                        help="run the naive recognizer on every Nth clip (0: not at all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tune", action="append", default=[], metavar="SETTING=VALUE",
                        help="another recognizer setting to measure (run.py recognize --tune)")
    parser.add_argument("--recognizers", default=",".join(RECOGNIZERS),
                        help=f"which to run, comma-separated (default: {','.join(RECOGNIZERS)})")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "build" / "bench.md")
    args = parser.parse_args(argv)
    try:
        Tuning.overrides(args.tune)
    except OptionError as exc:
        parser.error(str(exc))
    chosen = [name for name in args.recognizers.split(",") if name]
    if not chosen or set(chosen) - set(RECOGNIZERS):
        parser.error(f"--recognizers takes some of: {', '.join(RECOGNIZERS)}")
    manifest = args.devset / "manifest.jsonl"
    if not manifest.exists():
        # One command measures from scratch: the dev set is built first.
        print(f"{manifest} not found: building the dev set (scripts/make_devset.py)", file=sys.stderr, flush=True)
        built = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "make_devset.py"), "--out", str(args.devset),
             "--jobs", str(args.jobs)],
            check=False,
        )
        if built.returncode != 0:
            return built.returncode  # make_devset.py has said why
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    if args.quick:
        rng = random.Random(7)
        rows = [row for row in rows if rng.random() < QUICK_SHARE]
    for row in rows:
        row["path"] = str(args.devset / row["file"])
    if "split" not in rows[0]:
        parser.error(f"{manifest} has no tuning and held-out split: build it again with scripts/make_devset.py")

    begin = time.monotonic()
    results: dict[str, tuple[list[dict], list[dict]]] = {}
    if "whisper" in chosen:
        results["whisper"] = (rows, _run(functools.partial(_recognize, tune=tuple(args.tune)), rows, args.jobs))
    if "pocketsphinx" in chosen:
        results["pocketsphinx"] = (rows, _run(_recognize_old, rows, args.jobs))
    naive_rows = rows[:: args.naive_every] if args.naive_every else []
    if "naive" in chosen and naive_rows:
        results["naive"] = (naive_rows, _run(_recognize_naive, naive_rows, args.jobs))
    wall = time.monotonic() - begin

    report = {
        "clips": len(rows),
        "tune": args.tune,
        "wall_seconds": round(wall, 1),
        "naive_every": args.naive_every,
        "recognizers": {
            name: {split: _summarize(*_part(these, found, split)) for split in SPLITS}
            for name, (these, found) in results.items()
        },
        # Each clip's result, to look into (which clips take longest, say).
        "results": {
            name: [{"file": row["file"], **result} for row, result in zip(these, found)]
            for name, (these, found) in results.items()
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = _markdown(report)
    args.markdown.write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


# -- running the recognizers ------------------------------------------------------


def _part(rows: list[dict], results: list[dict], split: str) -> tuple[list[dict], list[dict]]:
    pairs = [(row, result) for row, result in zip(rows, results) if row["split"] == split]
    return [row for row, _ in pairs], [result for _, result in pairs]


def _recognize(paths: list[str], answers: frozenset[str], tune: tuple[str, ...]) -> list[dict]:
    """Ours: `python run.py recognize --json --answers ... FILES`, the live loop's settings
    unless tuned."""
    options = [f"--tune={item}" for item in tune]
    command = [
        sys.executable, str(ROOT / "run.py"), "recognize", "--json", "--answers", ",".join(answers), *options, *paths
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    by_file = {row["file"]: row for row in map(json.loads, done.stdout.splitlines())}
    results = []
    for path in paths:
        row = by_file.get(path) or {"error": done.stderr.strip()[-300:]}
        if "error" in row:
            raise SystemExit(f"run.py recognize failed on {path}: {row['error']}")
        results.append({
            "command": row["command"],
            # The recognizer's own answer, before the assistant's own voice was set aside.
            "heard": row["command"] or (row["own_voice"][0] if row["own_voice"] else None),
            "text": row["text"],
            "seconds": row["seconds"],
            "delay": row["ready"] - _speech_end(read_wav(path)) if row["command"] else None,
        })
    return results


def _speech_end(pcm: bytes) -> float:
    """Seconds to the end of the last 10 ms frame within 40 dB of the loudest one."""
    power = frame_power(pcm, SAMPLE_RATE // 100)
    loud = np.nonzero(power > power.max() * 1e-4)[0]
    return (loud[-1] + 1) / 100 if len(loud) else 0.0


def _recognize_old(paths: list[str], answers: frozenset[str]) -> list[dict]:
    """The PocketSphinx recognizer that Whisper replaced (scripts/legacy), alone: without
    the check for the assistant's own voice."""
    from scripts.legacy.sphinx_recognizer import Recognizer, hear_file, pick

    if "old" not in _WORKER:
        _WORKER["old"] = Recognizer(load())
    recognizer = _WORKER["old"]
    results = []
    for path in paths:
        heard = hear_file(recognizer, path, answers)
        best = pick(heard)
        command = best.command and best.command.value
        results.append({
            "command": command, "heard": command, "text": best.text, "seconds": sum(r.seconds for r in heard),
            "delay": best.ready - _speech_end(read_wav(path)) if command else None,
        })
    return results


def _recognize_naive(paths: list[str], answers: frozenset[str]) -> list[dict]:
    """SpeechRecognition's recognize_sphinx (a new decoder with the full language model
    each call) and the first phrase found anywhere in its transcript."""
    import speech_recognition as sr

    if "naive" not in _WORKER:
        _WORKER["naive"] = (sr.Recognizer(), _phrase_finder(load()))
    recognizer, find = _WORKER["naive"]
    results = []
    for path in paths:
        begin = time.perf_counter()
        with sr.AudioFile(path) as source:
            audio = recognizer.record(source)
        try:
            text = recognizer.recognize_sphinx(audio)
        except sr.UnknownValueError:
            text = ""
        seconds = time.perf_counter() - begin
        found = find(text, answers)
        results.append({"command": found, "heard": found, "text": text, "seconds": seconds, "delay": None})
    return results


def _phrase_finder(content: Content) -> Callable[[str, frozenset[str]], str | None]:
    phrases = [
        (normalize(phrase), command, spec.answer)
        for command, spec in content.commands.items()
        for phrase in spec.phrases
    ]

    def find(text: str, answers: frozenset[str]) -> str | None:
        words = normalize(text)
        found = []
        for phrase, command, answer in phrases:
            if answer is not None and answer not in answers:
                continue
            for start in range(len(words) - len(phrase) + 1):
                if words[start : start + len(phrase)] == phrase:
                    found.append((start, -len(phrase), str(command)))
                    break
        return min(found)[2] if found else None

    return find


def _run(recognize: Callable[..., list[dict]], rows: list[dict], jobs: int) -> list[dict]:
    """Results in the order of rows, in batches that share the same answers."""
    batches: list[tuple[list[int], frozenset[str]]] = []
    by_key: dict[frozenset[str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_key[frozenset(row["answers"])].append(i)
    size = 100
    for answers, indices in by_key.items():
        batches += [(indices[i : i + size], answers) for i in range(0, len(indices), size)]
    results: list[dict] = [{}] * len(rows)
    with ProcessPoolExecutor(jobs) as pool:
        futures = [(idx, pool.submit(recognize, [rows[i]["path"] for i in idx], answers)) for idx, answers in batches]
        for indices, future in futures:
            for i, result in zip(indices, future.result()):
                results[i] = result
    return results


# -- the numbers ------------------------------------------------------------------


def _summarize(rows: list[dict], results: list[dict]) -> dict:
    def rate(pairs: Iterable[tuple[dict, dict]], good: Callable[[dict, dict], bool]) -> dict:
        pairs = list(pairs)
        hits = sum(good(row, result) for row, result in pairs)
        return {"n": len(pairs), "hits": hits, "rate": round(hits / len(pairs), 4) if pairs else None}

    pairs = list(zip(rows, results))
    understood = lambda row, result: result["command"] == row["expected"]  # noqa: E731
    fired = lambda row, result: result["command"] is not None  # noqa: E731
    # Worse than not understood: she must first undo what it did.
    misheard = lambda row, result: result["command"] not in (None, row["expected"])  # noqa: E731
    taken_for_own = lambda row, result: result["heard"] is not None and result["command"] is None  # noqa: E731
    commands = [(r, x) for r, x in pairs if r["group"] in COMMAND_GROUPS]
    non_commands = [(r, x) for r, x in pairs if r["group"] in NON_COMMAND_GROUPS]
    espeak = lambda r: r["synth"] == "espeak-ng"  # noqa: E731
    summary: dict = {
        "variants": rate(((r, x) for r, x in pairs if r["group"] == "variant"), understood),
        "variants_independent": rate(((r, x) for r, x in pairs if r["group"] == "variant_independent"), understood),
        "commands_clean": rate(((r, x) for r, x in commands if r["condition"] == "clean"), understood),
        "commands_all": rate(commands, understood),
        "commands_clean_misheard": rate(((r, x) for r, x in commands if r["condition"] == "clean"), misheard),
        "commands_all_misheard": rate(commands, misheard),
        "commands_clean_flite_festival": rate(
            ((r, x) for r, x in commands if r["condition"] == "clean" and not espeak(r)), understood),
        "commands_all_flite_festival": rate(((r, x) for r, x in commands if not espeak(r)), understood),
        "commands_clean_espeak": rate(((r, x) for r, x in commands if r["condition"] == "clean" and espeak(r)),
                                      understood),
        "commands_all_espeak": rate(((r, x) for r, x in commands if espeak(r)), understood),
        "false_accepts_non_command": rate(non_commands, fired),
        "false_accepts_non_command_flite_festival": rate(((r, x) for r, x in non_commands if not espeak(r)), fired),
        "false_accepts_non_command_espeak": rate(((r, x) for r, x in non_commands if espeak(r)), fired),
        "false_accepts_prompts": rate(((r, x) for r, x in pairs if r["group"] == "prompt"), fired),
        "false_accepts_count_words": rate(((r, x) for r, x in pairs if r["group"] == "count"), fired),
        "false_accepts_own_recognizer_alone": rate(
            ((r, x) for r, x in pairs if r["group"] in OWN_GROUPS), lambda r, x: x["heard"] is not None),
        # espeak-ng makes every voice's consonants from the same recorded samples as the
        # assistant's own voice, so audio identification cannot tell them apart.
        "commands_taken_for_own_voice_espeak": rate(
            ((r, x) for r, x in pairs if r["group"] not in OWN_GROUPS and espeak(r)), taken_for_own),
        "commands_taken_for_own_voice_others": rate(
            ((r, x) for r, x in pairs if r["group"] not in OWN_GROUPS and not espeak(r)), taken_for_own),
        "commands_clean_espeak_recognizer_alone": rate(
            ((r, x) for r, x in commands if r["condition"] == "clean" and espeak(r)),
            lambda r, x: x["heard"] == r["expected"]),
    }
    real: dict = {}
    for word in sorted({r["text"] for r, _ in pairs if r["group"] == "real"}):
        for asked in (False, True):
            chosen = [(r, x) for r, x in pairs if r["group"] == "real" and r["text"] == word and bool(r["answers"]) == asked]
            if chosen:
                key = word + (" (its question asked)" if asked else "")
                real[key] = rate(chosen, understood)
                real[key]["no_milk"] = sum(x["command"] == CommandId.NO_MILK for _, x in chosen)
                real[key]["fired"] = sum(x["command"] is not None for _, x in chosen)
    summary["real"] = real
    by_condition: dict = {}
    for condition in sorted({r["condition"] for r in rows}):
        here = [(r, x) for r, x in pairs if r["condition"] == condition]
        by_condition[condition] = {
            "commands": rate(((r, x) for r, x in here if r["group"] in COMMAND_GROUPS), understood),
            "false_accepts": rate(((r, x) for r, x in here if r["group"] in NON_COMMAND_GROUPS), fired),
            "own_voice_false_accepts": rate(((r, x) for r, x in here if r["group"] in OWN_GROUPS), fired),
        }
    summary["by_condition"] = by_condition
    by_group: dict = {}
    for group in sorted({r["group"] for r in rows}):
        here = [(r, x) for r, x in pairs if r["group"] == group]
        expected = any(r["expected"] for r, _ in here) and group != "real"
        by_group[group] = {"kind": "understood" if expected else "fired",
                           **rate(here, understood if expected else fired)}
    summary["by_group"] = by_group
    by_voice: dict = {}
    for voice in sorted({(r["synth"], r["voice"]) for r, _ in commands}):
        here = [(r, x) for r, x in commands if (r["synth"], r["voice"]) == voice]
        by_voice[f"{voice[0]} {voice[1]}"] = {
            "clean": rate(((r, x) for r, x in here if r["condition"] == "clean"), understood),
            "all": rate(here, understood),
        }
    summary["commands_by_voice"] = by_voice
    if not results:
        return summary
    seconds = sorted(x["seconds"] for x in results)
    summary["seconds_per_clip"] = {"median": round(statistics.median(seconds), 4), "p95": round(_p95(seconds), 4)}
    command_seconds = sorted(x["seconds"] for _, x in commands)
    summary["seconds_per_command_clip"] = {
        "median": round(statistics.median(command_seconds), 4), "p95": round(_p95(command_seconds), 4)}
    # From the end of a command's speech (by its energy) to its result, in audio time.
    delays = sorted(
        x["delay"] for r, x in commands
        if r["condition"] == "clean" and x["command"] == r["expected"] and x["delay"] is not None
    )
    if delays:
        summary["endpoint_delay"] = {"median": round(statistics.median(delays), 3), "p95": round(_p95(delays), 3)}
    summary["mistakes"] = [
        {"file": r["file"], "expected": r["expected"], "got": x["command"], "heard": x["text"]}
        for r, x in pairs
        if (x["command"] != r["expected"]) and r["group"] != "noise"
    ]
    return summary


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def _cell(entry: dict | None) -> str:
    if not entry or not entry["n"]:
        return "-"
    return f"{100 * entry['rate']:.1f}% ({entry['hits']}/{entry['n']})"


def _real(summary: dict, word: str, count: str) -> str:
    entry = summary.get("real", {}).get(word)
    return f"{entry[count]}/{entry['n']}" if entry else "-"


def _others_fired(summary: dict) -> str:
    entries = [e for key, e in summary.get("real", {}).items() if not key.startswith("stop") and "asked" not in key]
    return f"{sum(e['fired'] for e in entries)}/{sum(e['n'] for e in entries)}" if entries else "-"


def _ms(summary: dict, key: str) -> str:
    entry = summary.get(key)
    return f"{entry['median'] * 1000:.0f} / {entry['p95'] * 1000:.0f} ms" if entry else "-"


MAIN_ROWS = [
    ("Required phrases, clean", "commands_clean", "≥ 98%"),
    ("Required phrases, all conditions", "commands_all", "≥ 93%"),
    ("Natural variants (our list)", "variants", "≥ 85%"),
    ("Natural variants (written apart from the grammar)", "variants_independent", "≥ 85%"),
    ("Heard as another command, all conditions", "commands_all_misheard", ""),
    ("False accepts, non-command speech and noise", "false_accepts_non_command", "≤ 0.5%"),
    ("False accepts, the assistant's own prompts", "false_accepts_prompts", "0"),
    ("False accepts, the count words", "false_accepts_count_words", "0"),
    ("... own prompts and count words, recognizer alone (no own-voice check)",
     "false_accepts_own_recognizer_alone", ""),
    ("Commands taken for its own voice: flite, festival, people", "commands_taken_for_own_voice_others", "0"),
    ("... other espeak-ng voices (the assistant's own engine)", "commands_taken_for_own_voice_espeak", ""),
]


def _markdown(report: dict) -> str:
    recognizers = report["recognizers"]
    names = list(recognizers)
    label = {"whisper": "Whisper (new)", "pocketsphinx": "PocketSphinx (old, alone)",
             "naive": f"naive (every {report['naive_every']}th clip)"}
    lines = [
        f"Dev set: {report['clips']} clips; run took {report['wall_seconds']:.0f} s; "
        f"recognizer settings: {', '.join(report['tune']) or 'the defaults'}.",
        "",
        "Held-out part (voices, texts and real people never tuned on):",
        "",
        f"| measure | target | {' | '.join(label[n] for n in names)} |",
        "|---|---|" + "---|" * len(names),
    ]
    held = {n: recognizers[n]["held"] for n in names}
    for text, key, target in MAIN_ROWS:
        lines.append(f"| {text} | {target} | {' | '.join(_cell(held[n].get(key)) for n in names)} |")
    lines.append(f"| Real \"stop\" understood | ≥ 66/67 | {' | '.join(_real(held[n], 'stop', 'hits') for n in names)} |")
    lines.append(f"| Real \"no\" heard as no milk | 0 | {' | '.join(_real(held[n], 'no', 'no_milk') for n in names)} |")
    lines.append(f"| Real other words, unasked: fired a command | 0 | {' | '.join(_others_fired(held[n]) for n in names)} |")
    lines.append(f"| Recognition time per clip, median / p95 | p95 ≤ 150 ms | "
                 f"{' | '.join(_ms(held[n], 'seconds_per_clip') for n in names)} |")
    lines.append(f"| End of speech to result (audio time), median / p95 | | "
                 f"{' | '.join(_ms(held[n], 'endpoint_delay') for n in names)} |")
    for name in names:
        parts = recognizers[name]
        lines += ["", f"{label[name]}: tuning part beside the held-out part", "",
                  "| measure | tuning | held-out |", "|---|---|---|"]
        for text, key, _ in MAIN_ROWS:
            lines.append(f"| {text} | {_cell(parts['tune'].get(key))} | {_cell(parts['held'].get(key))} |")
        if name != "whisper":
            continue
        ours = parts["held"]
        lines += ["", "Whisper, held-out part, by condition:", "",
                  "| condition | required phrases | false accepts | own-voice false accepts |", "|---|---|---|---|"]
        for condition, entry in ours["by_condition"].items():
            lines.append(f"| {condition} | {_cell(entry['commands'])} | {_cell(entry['false_accepts'])} "
                         f"| {_cell(entry['own_voice_false_accepts'])} |")
        lines += ["", "| group | measure | held-out |", "|---|---|---|"]
        for group, entry in ours["by_group"].items():
            lines.append(f"| {group} | {entry['kind']} | {_cell(entry)} |")
        lines += ["", "| real word | understood or fired | no milk |", "|---|---|---|"]
        for key, entry in ours["real"].items():
            count = "hits" if key.startswith("stop") or "asked" in key else "fired"
            lines.append(f"| {key} | {entry[count]}/{entry['n']} ({count}) | {entry['no_milk']} |")
        lines += ["", "| voice (required phrases) | clean | all conditions |", "|---|---|---|"]
        for voice, entry in ours["commands_by_voice"].items():
            lines.append(f"| {voice} | {_cell(entry['clean'])} | {_cell(entry['all'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
