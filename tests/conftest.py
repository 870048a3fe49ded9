"""Shared pytest fixtures."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .program import Program
from .pulse import PulseHarness, pulseaudio_missing

# --- CI: a test skipped for want of a tool is a failure -----------------------------------
# .ci/run sets VOICE_TESTS_STRICT=1, so that a missing install step (PulseAudio, flite,
# root for network namespaces) cannot pass as a green run that tested nothing. Only a
# machine that has a real sound card may skip the no-sound-card checks.


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("VOICE_TESTS_STRICT") == "1":
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if "sound card" not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped in strict mode (VOICE_TESTS_STRICT=1): {reason}"


@pytest.fixture(autouse=True)
def own_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's program keeps its settings (run.py settings) in a folder of its own,
    never the user's, and never another test's: "faster" in one must not slow the next."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


# --- PulseAudio harness (tests/pulse.py) -------------------------------------------------
# A private PulseAudio server per test: a null-sink speaker and a pipe-source microphone,
# both defaults.  Run the program with `env=pulse.env()`, speak with `pulse.speak(wav)`,
# record the speaker with `with pulse.record() as rec:`.


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseHarness]:
    """A started harness; closed after the test (server stopped, recorders ended)."""
    missing = pulseaudio_missing()
    if missing:
        pytest.skip(f"PulseAudio harness: {missing}")
    with PulseHarness(tmp_path / "pulse") as harness:
        yield harness


@pytest.fixture
def here(pulse: PulseHarness, monkeypatch: pytest.MonkeyPatch) -> PulseHarness:
    """The harness's server as this process's: PortAudio (ALSA's pulse plugin) uses it."""
    for key in [key for key in os.environ if key.startswith("PULSE_")]:
        monkeypatch.delenv(key)
    for key, value in pulse.env().items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    return pulse


@pytest.fixture
def no_sound_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No PulseAudio to reach (and none started on demand): only a sound card would be left."""
    conf = tmp_path / "client.conf"
    conf.write_text("autospawn = no\n")
    for key in [key for key in os.environ if key.startswith("PULSE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-such-socket")
    monkeypatch.setenv("PULSE_CLIENTCONFIG", str(conf))


# --- the real program on the harness (tests/program.py) --------------------------------


@pytest.fixture
def program(pulse: PulseHarness, tmp_path: Path) -> Iterator:
    """Start the real program on the harness: program("--keyboard", ...)."""
    started: list[Program] = []

    def start(*args: str, **kwargs: object) -> Program:
        started.append(Program(pulse, tmp_path, *args, **kwargs))
        return started[-1]

    yield start
    for running in started:
        running.kill()
