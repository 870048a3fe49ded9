"""One error hierarchy for the project."""


class VoiceError(Exception):
    """Base of every error this project raises on purpose."""


class ContentError(VoiceError):
    """Content that cannot be used; the message names the file, line and field."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class NotUnderstood(VoiceError):
    """Recoverable: speech or text that is not a command."""


class EngineError(VoiceError):
    """Fatal for one engine: a speech, audio or recognition part is missing or broken."""


class OptionError(VoiceError):
    """A command-line option out of range or not among the choices."""


class AudioFileError(VoiceError):
    """An audio file that cannot be read: missing, not a WAV, truncated or empty."""


class WriteError(VoiceError):
    """A file that cannot be written: no such folder, no permission, a full disk."""


class NoSuchDevice(OptionError, EngineError):
    """A device number that names no audio device of its kind: an option error at the
    start, and later (the devices renumbered by a restarted sound server) an engine
    failure like any other, which the session survives and retries."""
