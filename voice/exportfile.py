"""Writing an exported session: the audio format by the file's extension, chapters
embedded where the format carries them and listed beside it, and never half a file
under the final name (a temporary file in the same folder, renamed into place)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EngineError, OptionError, WriteError
from .playback import resample
from .progress import Progress

CHAPTERS_SUFFIX = ".chapters.txt"
"""The chapter list is written beside FILE as FILE + this."""
_BLOCK_SECONDS = 5
"""Audio written at a time, between updates of the progress bar."""


@dataclass(frozen=True)
class Format:
    """How one extension is written."""

    format: str
    """libsndfile's major format."""
    subtype: str
    """libsndfile's encoding."""
    rates: tuple[int, ...] = ()
    """The sample rates the encoding takes (the first is used if the audio's is not
    among them); empty: any."""
    chapters: str = ""
    """How chapters are embedded: "vorbis" (CHAPTERnnn comments), "id3" (CHAP
    frames), or "" (only the chapter list beside the file)."""


FORMATS = {
    ".wav": Format("WAV", "PCM_16"),
    ".ogg": Format("OGG", "VORBIS", chapters="vorbis"),
    # Opus encodes only at these rates; libopus is quickest at 48 kHz (measured).
    ".opus": Format("OGG", "OPUS", (48000, 24000, 16000, 12000, 8000), chapters="vorbis"),
    ".mp3": Format("MP3", "MPEG_LAYER_III", chapters="id3"),
}


def clock(seconds: float) -> str:
    """83.45 -> "00:01:23.450"."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def chapters_path(path: Path) -> Path:
    return path.with_name(path.name + CHAPTERS_SUFFIX)


def format_for(path: Path) -> Format:
    """The format for the file's extension; OptionError if unknown or if this
    libsndfile cannot write it."""
    chosen = FORMATS.get(path.suffix.lower())
    if chosen is None:
        raise OptionError(f"{path}: unknown audio format {path.suffix!r}: give a file ending in {', '.join(FORMATS)}")
    soundfile = _soundfile()
    if chosen.format not in soundfile.available_formats() or chosen.subtype not in soundfile.available_subtypes(
        chosen.format
    ):
        raise OptionError(
            f"{path}: this libsndfile ({soundfile.__libsndfile_version__}) cannot write {chosen.subtype} "
            f"in {chosen.format}: choose another of {', '.join(FORMATS)}"
        )
    return chosen


def check_target(path: Path, force: bool) -> None:
    """OptionError if FILE or its chapter list exists and force is not given."""
    for target in (path, chapters_path(path)):
        if target.exists() and not force:
            raise OptionError(f"{target} exists: give --force to overwrite it")
        if target.is_dir():
            raise OptionError(f"{target} is a directory")


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path``, renamed to it when the block ends well and
    removed when it does not. Made at once: a folder that cannot be written fails
    before any slow work."""
    # Not mkstemp: its files are private (0600), and the rename would keep that.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.open("xb").close()
    except OSError as error:
        raise WriteError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        yield temporary
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise WriteError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_audio(
    temporary: Path,
    name: Path,
    samples: np.ndarray,
    rate: int,
    chosen: Format,
    title: str,
    chapters: Sequence[tuple[float, str]],
    progress: Progress,
) -> None:
    """Encode 16-bit mono ``samples`` into ``temporary``, chapters embedded. WriteError
    naming ``name`` (the file it becomes) on failure."""
    soundfile = _soundfile()
    if chosen.rates and rate not in chosen.rates:
        samples = np.frombuffer(resample(samples.tobytes(), rate, chosen.rates[0]), "<i2")
        rate = chosen.rates[0]
    block = _BLOCK_SECONDS * rate
    total = max(1, -(-len(samples) // block))
    progress.stage(f"writing {chosen.format} {chosen.subtype}", total)
    try:
        with soundfile.SoundFile(temporary, "w", rate, 1, chosen.subtype, format=chosen.format) as out:
            out.title = title
            for index in range(total):
                out.write(samples[index * block : (index + 1) * block])
                progress.update(index + 1)
        if chosen.chapters:
            _embed(temporary, chosen.chapters, chapters)
    # libsndfile says only "System error." when the disk is full; soundfile asserts
    # that every frame was written.
    except (OSError, RuntimeError, AssertionError) as error:
        raise WriteError(f"cannot write {name}: {error or 'only part was written'} (is the disk full?)") from None


def _embed(path: Path, how: str, chapters: Sequence[tuple[float, str]]) -> None:
    """Chapters in the file's own tags: Vorbis comments CHAPTER001=HH:MM:SS.mmm and
    CHAPTER001NAME=title (read by VLC and podcast players), or ID3 CHAP frames under a
    CTOC (MP3 players and podcast apps)."""
    try:
        import mutagen
    except ImportError as error:
        raise EngineError(f"mutagen is missing ({error}): pip install mutagen") from error
    try:
        _tag(path, how, chapters)
    except mutagen.MutagenError as error:
        raise OSError(f"adding the chapters failed: {error}") from error


def _tag(path: Path, how: str, chapters: Sequence[tuple[float, str]]) -> None:
    import mutagen
    from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags, ID3NoHeaderError

    if how == "vorbis":
        audio = mutagen.File(path)
        if audio is None or audio.tags is None:
            raise OSError("the Ogg file written cannot be read back to add its chapters")
        for number, (start, title) in enumerate(chapters, 1):
            audio.tags[f"CHAPTER{number:03d}"] = clock(start)
            audio.tags[f"CHAPTER{number:03d}NAME"] = title
        audio.save()
        return
    try:
        tags = ID3(path)
    except ID3NoHeaderError:
        tags = ID3()
    length_ms = round(_soundfile().info(str(path)).duration * 1000)
    ids = [f"chp{number}" for number in range(1, len(chapters) + 1)]
    tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids))
    ends = [round(start * 1000) for start, _ in chapters[1:]] + [length_ms]
    for element_id, (start, title), end in zip(ids, chapters, ends, strict=True):
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=round(start * 1000),
                end_time=end,
                sub_frames=[TIT2(text=[title])],
            )
        )
    tags.save(path)


def _soundfile() -> Any:
    try:
        import soundfile
    except (ImportError, OSError) as error:  # OSError: the wheel's libsndfile will not load
        raise EngineError(f"soundfile is missing or broken ({error}): pip install soundfile") from error
    return soundfile
