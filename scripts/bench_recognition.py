#!/usr/bin/env python3
"""Benchmark the command recognizer on the dev set (scripts/make_devset.py, run first if the set is missing).

    python scripts/bench_recognition.py [--quick] [--naive-every 8] [--jobs 2]
        [--tune SETTING=VALUE ...] [--profiles] [--devset build/devset]
        [--json build/bench.json] [--markdown build/bench.md]

Reports, per condition, per group and overall: commands understood, false
accepts on non-command speech, false accepts on the assistant's own prompts
and count words, the real human clips, espeak-ng apart from flite/festival,
and recognition time per clip. Beside it, on every Nth clip, the naive way:
SpeechRecognition's recognize_sphinx (full language model) and a substring
match of the phrases.

With --profiles, each synthetic voice is heard as someone who has run
`run.py enroll`: with a voice profile learnt from its reading of the
enrollment sentences (the dev set's enroll.jsonl, sentences that are no
clips of the set). The assistant's own prompts and count words are then
heard under every voice's profile, as they would be in each of their rooms;
the real human clips and the noise, with none.
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
QUICK_SHARE = 0.25

_WORKER: dict[str, object] = {}  # the naive recognizer, once per worker process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devset", type=Path, default=ROOT / "build" / "devset")
    parser.add_argument("--quick", action="store_true", help=f"a fixed {QUICK_SHARE * 100:.0f}%% of the clips")
    parser.add_argument("--naive-every", type=int, default=8, metavar="N",
                        help="run the naive recognizer on every Nth clip (0: not at all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tune", action="append", default=[], metavar="SETTING=VALUE",
                        help="another recognizer setting to measure (run.py recognize --tune)")
    parser.add_argument("--profiles", action="store_true",
                        help="hear each synthetic voice with a voice profile learnt from its enrollment sentences")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "build" / "bench.md")
    args = parser.parse_args(argv)
    try:
        Tuning.overrides(args.tune)
    except OptionError as exc:
        parser.error(str(exc))
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
    if args.profiles:
        if not (args.devset / "enroll.jsonl").exists():
            # A dev set built before the enrollment sentences: adding them leaves its clips as they are.
            parser.error(
                f"{args.devset / 'enroll.jsonl'} not found: run scripts/make_devset.py --out {args.devset} to add it"
            )
        rows = _with_profiles(rows, _learn_profiles(args.devset, args.json.parent / "profiles"))
        args.naive_every = 0  # the naive way has no profile

    begin = time.monotonic()
    ours = _run(functools.partial(_recognize, tune=tuple(args.tune)), rows, args.jobs)
    naive_rows = rows[:: args.naive_every] if args.naive_every else []
    naive = _run(_recognize_naive, naive_rows, args.jobs) if naive_rows else []
    wall = time.monotonic() - begin

    report = {
        "clips": len(rows),
        "tune": args.tune,
        "profiles": args.profiles,
        "wall_seconds": round(wall, 1),
        "ours": _summarize(rows, ours),
        "naive": _summarize(naive_rows, naive) if naive_rows else None,
        "naive_every": args.naive_every,
        # Each clip's result, to look into (which clips take longest, say).
        "results": [{"file": row["file"], **result} for row, result in zip(rows, ours)],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = _markdown(report)
    args.markdown.write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


# -- running the recognizers ------------------------------------------------------


def _recognize(
    paths: list[str], answers: frozenset[str], tune: tuple[str, ...], profile: str | None = None
) -> list[dict]:
    """Ours: `python run.py recognize --json --answers ... FILES`, the live loop's settings
    unless tuned."""
    options = [f"--tune={item}" for item in tune] + ([f"--profile={profile}"] if profile else [])
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


def _learn_profiles(devset: Path, folder: Path) -> dict[str, str]:
    """Each synthetic voice's profile, learnt as run.py enroll does: voice -> file."""
    from voice.adaptation import learn

    by_voice: dict[str, list[tuple[bytes, str]]] = defaultdict(list)
    for line in (devset / "enroll.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_voice[row["voice"]].append((read_wav(devset / row["file"]), row["text"]))
    profiles = {}
    for voice, recordings in by_voice.items():
        profile = folder / f"{voice.replace('+', '_')}.mllr"
        held = learn(recordings, profile)
        print(f"{voice}: profile learnt; with it, {held} of {len(recordings)} sentences heard as themselves",
              file=sys.stderr, flush=True)
        profiles[voice] = str(profile)
    return profiles


def _with_profiles(rows: list[dict], profiles: dict[str, str]) -> list[dict]:
    """Each voice's clips with its profile; the assistant's own words once under each."""
    out = []
    for row in rows:
        if row["voice"] in profiles:
            out.append({**row, "profile": profiles[row["voice"]]})
        elif row["group"] in OWN_GROUPS:
            out += [{**row, "profile": profile} for profile in profiles.values()]
        else:
            out.append(row)
    return out


def _run(recognize: Callable[..., list[dict]], rows: list[dict], jobs: int) -> list[dict]:
    """Results in the order of rows, in batches that share the same answers and profile."""
    batches: list[tuple[list[int], frozenset[str], str | None]] = []
    by_key: dict[tuple[frozenset[str], str | None], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_key[frozenset(row["answers"]), row.get("profile")].append(i)
    size = 100
    for (answers, profile), indices in by_key.items():
        batches += [(indices[i : i + size], answers, profile) for i in range(0, len(indices), size)]
    results: list[dict] = [{}] * len(rows)
    with ProcessPoolExecutor(jobs) as pool:
        futures = [
            (idx, pool.submit(recognize, [rows[i]["path"] for i in idx], answers, **({"profile": p} if p else {})))
            for idx, answers, p in batches
        ]
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
    commands = [(r, x) for r, x in pairs if r["expected"] and r["group"] != "real"]
    non_commands = [(r, x) for r, x in pairs if r["group"] in NON_COMMAND_GROUPS]
    espeak = lambda r: r["synth"] == "espeak-ng"  # noqa: E731
    summary: dict = {
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
            "commands": rate(((r, x) for r, x in here if r["expected"] and r["group"] != "real"), understood),
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
        by_voice[f"{voice[0]} {voice[1]}"] = rate(here, understood)
    summary["commands_by_voice"] = by_voice
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


def _markdown(report: dict) -> str:
    ours, naive = report["ours"], report["naive"]

    def cell(entry: dict | None) -> str:
        if not entry or not entry["n"]:
            return "-"
        return f"{100 * entry['rate']:.1f}% ({entry['hits']}/{entry['n']})"

    rows = [
        ("Commands understood, clean", "commands_clean", "≥ 98%"),
        ("Commands understood, all conditions", "commands_all", "≥ 93%"),
        ("... flite/festival voices, clean", "commands_clean_flite_festival", ""),
        ("... flite/festival voices, all conditions", "commands_all_flite_festival", ""),
        ("... espeak-ng voices, clean", "commands_clean_espeak", ""),
        ("... espeak-ng voices, all conditions", "commands_all_espeak", ""),
        ("Commands heard as another command, clean", "commands_clean_misheard", ""),
        ("... all conditions", "commands_all_misheard", ""),
        ("False accepts, non-command speech and noise", "false_accepts_non_command", "≤ 1%"),
        ("... flite/festival voices", "false_accepts_non_command_flite_festival", ""),
        ("... espeak-ng voices", "false_accepts_non_command_espeak", ""),
        ("False accepts, the assistant's own prompts", "false_accepts_prompts", "0"),
        ("False accepts, the count words", "false_accepts_count_words", "0"),
        ("... own prompts and count words, recognizer alone (no own-voice fingerprints)",
         "false_accepts_own_recognizer_alone", ""),
        ("Clips of flite, festival and real people whose command was taken for the assistant's own voice",
         "commands_taken_for_own_voice_others", "0"),
        ("... of other espeak-ng voices (the assistant's own engine)", "commands_taken_for_own_voice_espeak", ""),
        ("espeak-ng voices, clean, recognizer alone (before setting its own voice aside)",
         "commands_clean_espeak_recognizer_alone", ""),
    ]
    naive_note = f"naive (every {report['naive_every']}th clip)" if naive else "naive (not run)"
    lines = [
        f"Dev set: {report['clips']} clips; run took {report['wall_seconds']:.0f} s; "
        f"recognizer settings: {', '.join(report['tune']) or 'the defaults'}.",
        "",
        f"| measure | ours | {naive_note} | target |",
        "|---|---|---|---|",
    ]
    for label, key, target in rows:
        lines.append(f"| {label} | {cell(ours.get(key))} | {cell(naive.get(key)) if naive else '-'} | {target} |")
    for key, entry in ours["real"].items():
        what = "understood" if key.startswith("stop") or "asked" in key else "fired a command"
        count = "hits" if what == "understood" else "fired"
        naive_entry = naive["real"].get(key) if naive else None
        naive_cell = f"{naive_entry[count]}/{naive_entry['n']}" if naive_entry else "-"
        extra = f", no_milk {entry['no_milk']}" if key.startswith("no") else ""
        if what == "understood":
            extra += f", another command {entry['fired'] - entry['hits']}"
        lines.append(f"| Real \"{key}\": {what} | {entry[count]}/{entry['n']}{extra} | {naive_cell} | |")
    for label, key in (
        ("Recognition time per clip", "seconds_per_clip"),
        ("... per command clip", "seconds_per_command_clip"),
    ):
        naive_cell = f"{naive[key]['median'] * 1000:.0f} / {naive[key]['p95'] * 1000:.0f} ms" if naive else "-"
        target = "p95 ≤ 150 ms"
        lines.append(f"| {label}, median / p95 | {ours[key]['median'] * 1000:.0f} / {ours[key]['p95'] * 1000:.0f} ms "
                     f"| {naive_cell} | {target} |")
    if "endpoint_delay" in ours:
        delay = ours["endpoint_delay"]
        lines.append(f"| End of speech to result (audio time, clean commands understood), median / p95 "
                     f"| {delay['median'] * 1000:.0f} / {delay['p95'] * 1000:.0f} ms | - | |")
    lines += ["", "| condition | commands understood | false accepts | own-voice false accepts |", "|---|---|---|---|"]
    for condition, entry in ours["by_condition"].items():
        lines.append(f"| {condition} | {cell(entry['commands'])} | {cell(entry['false_accepts'])} "
                     f"| {cell(entry['own_voice_false_accepts'])} |")
    lines += ["", "| group | measure | ours |", "|---|---|---|"]
    for group, entry in ours["by_group"].items():
        lines.append(f"| {group} | {entry['kind']} | {cell(entry)} |")
    lines += ["", "| voice (commands, all conditions) | understood |", "|---|---|"]
    for voice, entry in ours["commands_by_voice"].items():
        lines.append(f"| {voice} | {cell(entry)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
