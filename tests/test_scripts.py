"""The scripts under scripts/: each starts, and the recognition benchmark scores a small dev set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .shared import CLIPS, ROOT, clip_rows


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "scripts").glob("*.py")))
def test_every_script_explains_its_options(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def _devset(directory: Path, rows: list[dict[str, str]], split: str = "held") -> None:
    """A dev set of the committed clips, in make_devset.py's manifest format, all in one split."""
    with (directory / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for row in rows:
            (directory / row["file"]).symlink_to(CLIPS / row["file"])
            synth, voice = row["voice"].split(" ", 1)
            manifest.write(json.dumps({
                "file": row["file"], "expected": row["expected"] or None, "answers": row["answers"].split(),
                "group": "command" if row["expected"] else "speech", "synth": synth, "voice": voice,
                "condition": "clean", "text": row["text"], "split": row.get("split", split),
            }) + "\n")


def _bench(devset: Path, tmp_path: Path, *options: str) -> tuple[dict, str]:
    report, markdown = tmp_path / "bench.json", tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_recognition.py"), "--devset", str(devset), "--jobs", "1",
         "--json", str(report), "--markdown", str(markdown), *options],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text(encoding="utf-8")), markdown.read_text(encoding="utf-8")


def test_the_benchmark_scores_what_the_recognizer_hears(tmp_path: Path) -> None:
    rows = clip_rows()
    devset = tmp_path / "devset"
    devset.mkdir()
    _devset(devset, rows)
    report, markdown = _bench(devset, tmp_path, "--recognizers", "whisper")
    commands = [row for row in rows if row["expected"]]
    held = report["recognizers"]["whisper"]["held"]
    # tests/test_recognizer.py holds the recognizer to these clips: every command
    # understood, nothing else fired.
    assert report["clips"] == len(rows)
    assert held["commands_clean"] == {"n": len(commands), "hits": len(commands), "rate": 1.0}
    assert held["false_accepts_non_command"]["n"] == len(rows) - len(commands)
    assert held["false_accepts_non_command"]["hits"] == 0
    assert report["recognizers"]["whisper"]["tune"]["commands_clean"]["n"] == 0
    assert list(report["recognizers"]) == ["whisper"]
    assert f"| Required phrases, clean | ≥ 98% | 100.0% ({len(commands)}/{len(commands)}) |" in markdown


def test_the_benchmark_runs_the_old_recognizer_and_the_naive_way_beside_it(tmp_path: Path) -> None:
    rows = [row for row in clip_rows() if row["file"] in ("stop.wav", "baby_asleep.wav")]
    devset = tmp_path / "devset"
    devset.mkdir()
    _devset(devset, rows)
    report, markdown = _bench(devset, tmp_path, "--naive-every", "1")
    assert list(report["recognizers"]) == ["whisper", "pocketsphinx", "naive"]
    for name, summary in report["recognizers"].items():
        assert summary["held"]["commands_clean"]["n"] == 1, name
        assert summary["held"]["false_accepts_non_command"]["n"] == 1, name
        assert summary["held"]["seconds_per_clip"]["median"] > 0, name
    # The old recognizer understood "stop" too.
    assert report["recognizers"]["pocketsphinx"]["held"]["commands_clean"]["hits"] == 1
    assert "| measure | target | Whisper (new) | PocketSphinx (old, alone) | naive (every 1th clip) |" in markdown


def test_the_benchmark_reports_the_tuning_and_held_out_parts_apart(tmp_path: Path) -> None:
    rows = [row for row in clip_rows() if row["file"] in ("stop.wav", "next.wav", "baby_asleep.wav")]
    rows = [{**row, "split": "tune" if row["file"] == "next.wav" else "held"} for row in rows]
    devset = tmp_path / "devset"
    devset.mkdir()
    _devset(devset, rows)
    report, _ = _bench(devset, tmp_path, "--recognizers", "whisper")
    parts = report["recognizers"]["whisper"]
    assert parts["tune"]["commands_clean"] == {"n": 1, "hits": 1, "rate": 1.0}
    assert parts["held"]["commands_clean"] == {"n": 1, "hits": 1, "rate": 1.0}
    assert parts["tune"]["false_accepts_non_command"]["n"] == 0
    assert parts["held"]["false_accepts_non_command"]["n"] == 1


def test_the_benchmark_counts_a_command_heard_as_another_apart(tmp_path: Path) -> None:
    rows = [row for row in clip_rows() if row["file"] in ("stop.wav", "baby_asleep.wav")]
    # "stop" said where "next" was meant: not understood, and worse, misheard.
    rows = [{**row, "expected": "next"} if row["file"] == "stop.wav" else row for row in rows]
    devset = tmp_path / "devset"
    devset.mkdir()
    _devset(devset, rows)
    report, markdown = _bench(devset, tmp_path, "--recognizers", "whisper")
    held = report["recognizers"]["whisper"]["held"]
    assert held["commands_clean"]["hits"] == 0
    assert held["commands_all_misheard"] == {"n": 1, "hits": 1, "rate": 1.0}
    assert "| Heard as another command, all conditions |  | 100.0% (1/1) |" in markdown


def test_the_benchmark_builds_a_missing_dev_set_first(tmp_path: Path) -> None:
    # With no synthesizer on the PATH, make_devset.py's own refusal shows the hand-over.
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_recognition.py"), "--devset", str(tmp_path / "devset"),
         "--json", str(tmp_path / "bench.json"), "--markdown", str(tmp_path / "bench.md")],
        capture_output=True, text=True, timeout=120, env={"PATH": str(tmp_path)},
    )
    assert done.returncode == 2, done.stderr
    assert "building the dev set" in done.stderr
    assert "make_devset.py: error: espeak-ng is not installed" in done.stderr
    assert not (tmp_path / "bench.json").exists()
