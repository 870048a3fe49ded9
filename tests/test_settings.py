"""Settings kept between sessions: the file, and run.py settings [--reset]."""

import pytest
import yaml

from voice.settings import Settings, SettingsFile

from .shared import run_cli


def test_saved_settings_load_again(tmp_path):
    store = SettingsFile(tmp_path / "config" / "settings.yaml")
    store.save(Settings(rate=150, tempo=11.0, count="tones", verbosity="brief", reminders=False))
    assert store.load() == (Settings(rate=150, tempo=11.0, count="tones", verbosity="brief", reminders=False), None)
    assert yaml.safe_load(store.path.read_text()) == {
        "rate": 150, "tempo": 11.0, "count": "tones", "verbosity": "brief", "reminders": False
    }


def test_merged_puts_what_is_chosen_over_what_was_saved():
    saved = Settings(rate=150, voice="gmw/en", verbosity="brief")
    assert saved.merged(Settings(rate=200)) == Settings(rate=200, voice="gmw/en", verbosity="brief")


def test_no_file_is_the_defaults(tmp_path):
    assert SettingsFile(tmp_path / "settings.yaml").load() == (Settings(), None)


@pytest.mark.parametrize(
    "text",
    ["rate: [1, 2\n", "rate: fast\n", "rate: 5000\n", "colour: blue\n", "count: loud\n", "- a list\n"]
    + ["reminders: 3\n"],
)
def test_a_damaged_file_is_set_aside_with_one_notice(tmp_path, text):
    store = SettingsFile(tmp_path / "settings.yaml")
    store.path.write_text(text)
    settings, notice = store.load()
    assert settings == Settings()
    assert "damaged" in notice and "kept as" in notice
    aside = list(tmp_path.glob("settings.yaml.damaged-*"))
    assert len(aside) == 1 and aside[0].read_text() == text
    assert store.load() == (Settings(), None)  # once: the file is gone


def cli_env(tmp_path):
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_options_given_are_kept_and_run_py_settings_prints_them_and_reset_clears(tmp_path):
    env = cli_env(tmp_path)
    options = ["--rate", "150", "--tempo", "11", "--verbosity", "brief", "--reminders", "off"]
    done = run_cli("--text", *options, env=env, data_dir=tmp_path / "data", stdin=b"stop\n")
    assert done.returncode == 0, done.stderr.decode()
    shown = run_cli("settings", env=env)
    assert shown.returncode == 0
    for line in ("rate: 150", "tempo: 11.0", "verbosity: brief", "reminders: false", "voice: (default)"):
        assert line in shown.stdout.decode()
    # The next session starts from them: brief steps.
    again = run_cli("--text", env=env, data_dir=tmp_path / "data", stdin=b"next\nstop\n")
    assert "Babies who are premature" not in again.stdout.decode()
    reset = run_cli("settings", "--reset", env=env)
    assert reset.returncode == 0 and "cleared" in reset.stdout.decode()
    assert "rate: (default)" in run_cli("settings", env=env).stdout.decode()
    full = run_cli("--text", env=env, data_dir=tmp_path / "data", stdin=b"next\nstop\n")
    assert "Babies who are premature" in full.stdout.decode()


def test_what_she_changes_in_a_session_is_kept(tmp_path):
    env = cli_env(tmp_path)
    run_cli("--text", env=env, data_dir=tmp_path / "data", stdin=b"talk slower\nfaster\nbrief\nstop\n")
    shown = run_cli("settings", env=env).stdout.decode()
    assert "rate: 150" in shown and "tempo: 17.0" in shown and "verbosity: brief" in shown


def test_a_damaged_settings_file_is_one_notice_and_the_session_runs(tmp_path):
    env = cli_env(tmp_path)
    path = tmp_path / "config" / "hand-expressing-voice" / "settings.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("rate: [oops\n")
    done = run_cli("--text", env=env, data_dir=tmp_path / "data", stdin=b"stop\n")
    assert done.returncode == 0
    assert done.stderr.decode().count("the settings file was damaged (line 2: ") == 1
    assert "Session finished" in done.stdout.decode()


def test_a_tempo_out_of_bounds_is_an_option_error(tmp_path):
    done = run_cli("--text", "--tempo", "99", env=cli_env(tmp_path), stdin=b"stop\n")
    assert done.returncode == 2 and "--tempo 99" in done.stderr.decode()


def test_export_starts_from_the_saved_settings_and_leaves_out_a_voice_since_removed(tmp_path):
    env = cli_env(tmp_path)
    path = tmp_path / "config" / "hand-expressing-voice" / "settings.yaml"
    SettingsFile(path).save(Settings(voice="no-such-voice", tempo=21.0))
    out = tmp_path / "guide.wav"
    done = run_cli("export", str(out), "--squeezes", "1", "--positions", "1", env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert "the saved voice is not used: unknown voice 'no-such-voice'" in done.stderr.decode()
    assert "Squeeze and release" in (tmp_path / "guide.wav.chapters.txt").read_text()
    # The saved tempo is the count's: an option given is put over it, and not saved.
    slower = run_cli("export", str(out), "--squeezes", "1", "--positions", "1", "--tempo", "9", "--force", env=env)
    assert seconds(slower) > seconds(done)
    assert SettingsFile(path).load()[0].tempo == 21.0


def seconds(done) -> int:
    """The length an export reports: "FILE: 123 s, 14 chapters"."""
    return int(done.stdout.decode().rsplit(": ", 1)[1].split()[0])
