"""Sentences as vectors (voice/embedding.py), with the real model."""

from __future__ import annotations

import numpy as np
import pytest

from voice import embedding
from voice.embedding import Embedder
from voice.errors import EngineError

TEXTS = ["how far back from the nipple do I press", "where do my fingers go", "can I freeze my milk"]


@pytest.fixture(scope="module")
def model() -> Embedder:
    return Embedder(cache_dir=None)


def test_vectors_are_unit_length_and_like_texts_are_nearer(model: Embedder) -> None:
    vectors = model.embed(["how far from the nipple should my fingers be", *TEXTS])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    likeness = vectors[1:] @ vectors[0]
    assert likeness[0] > likeness[2] + 0.2 and likeness[1] > likeness[2]


def test_a_text_has_the_same_vector_alone_or_in_a_batch_of_any_lengths(model: Embedder) -> None:
    alone = model.embed([TEXTS[1]])[0]
    batched = model.embed(["a much longer sentence about washing hands before expressing milk by hand", TEXTS[1], "ok"])
    assert np.allclose(batched[1], alone, atol=1e-4)
    assert model.embed([]).shape == (0, 384)


def test_kept_vectors_are_read_not_made_again(model: Embedder, tmp_path) -> None:
    made = Embedder(cache_dir=tmp_path).embed_kept(TEXTS)
    assert np.allclose(made, model.embed(TEXTS), atol=1e-5)
    (kept,) = tmp_path.glob("vectors-*.npy")
    # A new embedder reads the file: what is in it is what it returns.
    marked = np.roll(made, 1, axis=0)
    np.save(kept, marked)
    assert np.array_equal(Embedder(cache_dir=tmp_path).embed_kept(TEXTS), marked)
    # Other texts are another file.
    Embedder(cache_dir=tmp_path).embed_kept(TEXTS[:2])
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 2


@pytest.mark.parametrize("damage", [b"", b"not numpy at all", "wrong shape"])
def test_damaged_kept_vectors_are_made_again(model: Embedder, tmp_path, damage) -> None:
    Embedder(cache_dir=tmp_path).embed_kept(TEXTS)
    (kept,) = tmp_path.glob("vectors-*.npy")
    if damage == "wrong shape":
        np.save(kept, np.zeros((2, 384), np.float32))
    else:
        kept.write_bytes(damage)
    again = Embedder(cache_dir=tmp_path).embed_kept(TEXTS)
    assert np.allclose(again, model.embed(TEXTS), atol=1e-5)
    assert np.allclose(np.load(kept), again)


def test_only_the_last_few_texts_vectors_are_kept(tmp_path) -> None:
    embedder = Embedder(cache_dir=tmp_path)
    for i in range(embedding._KEEP + 2):
        embedder.embed_kept([f"question {i}"])
    assert len(list(tmp_path.glob("vectors-*.npy"))) == embedding._KEEP


def test_a_folder_that_cannot_be_written_only_costs_embedding_again(model: Embedder, tmp_path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be", encoding="utf-8")
    vectors = Embedder(cache_dir=blocked / "cache").embed_kept(TEXTS)
    assert np.allclose(vectors, model.embed(TEXTS), atol=1e-5)


def test_a_missing_tokenizer_is_an_engine_error_that_says_which_file(monkeypatch, tmp_path) -> None:
    missing = tmp_path / "tokenizer.json"
    monkeypatch.setattr(embedding, "TOKENIZER", missing)
    with pytest.raises(EngineError, match=str(missing)):
        Embedder(cache_dir=None)
