"""What she chose, kept between sessions: a YAML file in the user's config folder.

Speech rate, voice, tempo, counting style, brevity and reminders. Options given
on the command line and changes made in a session ("talk slower", "faster",
"brief") are saved; a later session starts from them. A damaged file is set
aside, once, with a notice: settings are never worth a crash.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import OptionError
from .record import write_whole
from .rhythm import Style
from .session import Verbosity

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Each None: not chosen, the program's default applies."""

    rate: int | None = None
    """Speech rate, words a minute."""
    voice: str | None = None
    """Synthesizer voice id (run.py voices)."""
    tempo: float | None = None
    """Squeezes a minute."""
    count: str | None = None
    """Counting style (run.py --count)."""
    verbosity: str | None = None
    """"full" or "brief"."""
    reminders: bool | None = None
    """One reminder of what she can say after a long silence at a step."""

    def merged(self, chosen: Settings) -> Settings:
        """These settings with what chosen sets (not None) put over them."""
        return replace(self, **{key: value for key, value in asdict(chosen).items() if value is not None})


# What each setting may hold, checked on load.
_TYPES: dict[str, tuple[type, ...]] = {
    "rate": (int,),
    "voice": (str,),
    "tempo": (int, float),
    "count": (str,),
    "verbosity": (str,),
    "reminders": (bool,),
}

_CHOICES = {"count": [style.value for style in Style], "verbosity": [v.value for v in Verbosity]}


class SettingsFile:
    """The settings file: read, saved whole, reset."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[Settings, str | None]:
        """The saved settings, and a notice when the file was damaged and set aside
        (the defaults apply then)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings(), None
        except OSError as exc:
            return Settings(), f"cannot read the settings file {self.path}: {exc.strerror or exc}; using the defaults"
        try:
            return _parse(yaml.safe_load(text)), None
        except (yaml.YAMLError, ValueError, OptionError) as exc:
            mark = getattr(exc, "problem_mark", None)
            reason = f"line {mark.line + 1}: {getattr(exc, 'problem', exc)}" if mark else str(exc)
            aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            try:
                self.path.replace(aside)
            except OSError as error:
                return Settings(), f"the settings file {self.path} is damaged ({reason}) and cannot be moved: {error}"
            return Settings(), f"the settings file was damaged ({reason}); it is kept as {aside} and the defaults apply"

    def save(self, settings: Settings) -> None:
        """Write the chosen settings whole; OSError if it cannot be written."""
        chosen = {key: value for key, value in asdict(settings).items() if value is not None}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(self.path, f"# Kept between sessions: run.py settings shows them.\n{yaml.safe_dump(chosen)}")

    def reset(self) -> bool:
        """Remove the file; whether there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True


def _parse(data: Any) -> Settings:
    """Settings from the file's YAML; ValueError naming the first bad entry."""
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise ValueError("not a mapping of settings")
    names = {field.name for field in fields(Settings)}
    for key, value in data.items():
        if key not in names:
            raise ValueError(f"unknown setting {key!r}")
        if not isinstance(value, _TYPES[key]) or (isinstance(value, bool) and bool not in _TYPES[key]):
            raise ValueError(f"{key}: {value!r} is not a {_TYPES[key][0].__name__}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ValueError(f"{key}: {value!r} is not one of {', '.join(_CHOICES[key])}")
    settings = Settings(**data)
    if settings.rate is not None:
        from .speech import check_rate  # numpy and all: not on every start's path

        check_rate(settings.rate)
    return settings


def shown(settings: Settings) -> list[str]:
    """One "name: value" line per setting, "(default)" where none is chosen."""
    return [
        f"{key}: {'(default)' if value is None else str(value).lower() if isinstance(value, bool) else value}"
        for key, value in asdict(settings).items()
    ]
