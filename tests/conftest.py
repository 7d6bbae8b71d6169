"""Shared fixtures: isolation from the user's environment, the seed document, a tiny local model, indexes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_a2e84cf20c291977.txt"


@pytest.fixture(scope="session", autouse=True)
def isolated_rag_cache(tmp_path_factory):
    """Model checks and ONNX exports go to one temp cache for the session (session fixtures build indexes too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_CACHE", str(tmp_path_factory.mktemp("rag-cache")))
        yield


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No test reads the user's settings, caches or network: RAG_* and HF caches point at temp folders."""
    for name in ("RAG_INDEX", "RAG_MODEL", "RAG_MODE", "RAG_CHUNK_CHARS", "RAG_CHUNK_OVERLAP", "RAG_ALLOW_DOWNLOAD",
                 "RAG_READER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("RAG_INDEX", str(tmp_path / "default-index"))


@pytest.fixture(scope="session")
def seed_text() -> str:
    with open(SEED, encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="session")
def seed_docs(tmp_path_factory) -> Path:
    """A copy of seeds/ (the seed article only) that tests may index."""
    folder = tmp_path_factory.mktemp("seed-docs")
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, seed_text) -> Path:
    """A randomly initialised 2-layer BERT sentence-transformer saved to a folder, built without network."""
    from tiny_model import build_tiny_model

    sentences = [line for line in seed_text.splitlines() if line.strip()]
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), sentences)


@pytest.fixture(scope="session")
def lexical_index(tmp_path_factory, seed_docs):
    """The seed article indexed for BM25 only (the path users get when no model is installed)."""
    import rag

    return rag.Index.build([seed_docs], path=tmp_path_factory.mktemp("idx") / "lexical", model="none",
                           show_progress=False)


@pytest.fixture(scope="session")
def dense_index(tmp_path_factory, seed_docs, tiny_model):
    """The seed article indexed with the tiny model: BM25, FAISS and hybrid all run."""
    import rag

    return rag.Index.build([seed_docs], path=tmp_path_factory.mktemp("idx") / "dense", model=str(tiny_model),
                           show_progress=False)


@pytest.fixture
def counting_encoder(monkeypatch):
    """Counts the passages and sentences the encoder embeds (through the real encoder)."""
    counts = {"passages": 0, "sentences": 0}
    from rag.encoding import Encoder

    passages, sentences = Encoder.encode_passages, Encoder.encode_sentences

    def count_passages(self, texts, show_progress=False):
        counts["passages"] += len(texts)
        return passages(self, texts, show_progress=show_progress)

    def count_sentences(self, texts):
        counts["sentences"] += len(texts)
        return sentences(self, texts)

    monkeypatch.setattr(Encoder, "encode_passages", count_passages)
    monkeypatch.setattr(Encoder, "encode_sentences", count_sentences)
    return counts
