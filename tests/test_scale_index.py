"""Scale features: the dense index type switches above a threshold, precomputed vectors round-trip through a
save and load, and document frequencies match a direct count. Fast, and without timing assertions."""

import numpy as np
import pytest

import rag
from rag import dense
from rag.config import Config
from rag.lexical import analyze
from rag.lexical_build import build_in_memory


def unit_vectors(n: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("threshold, kind", [(10_000, "IndexFlatIP"), (500, "IndexIVFFlat")])
def test_index_type_switches_above_the_threshold_and_survives_a_mapped_load(tmp_path, threshold, kind):
    vectors = unit_vectors(2000)
    index = dense.build_index(vectors, approximate_above=threshold)
    assert type(index).__name__ == kind
    dense.save_index(index, tmp_path)
    loaded = dense.load_index(tmp_path)
    assert type(loaded).__name__ == kind
    ids, scores = dense.search(loaded, vectors[7], 5)
    assert ids[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert dense.similarity(loaded, vectors[7], [7, 8]) == pytest.approx(vectors[[7, 8]] @ vectors[7], abs=1e-5)


def test_precomputed_vectors_round_trip(tmp_path, seed_text):
    doc = rag.Document(doc_id="seed", source="seed.txt", text=seed_text)
    config = Config(index_path=tmp_path / "idx", model=None)
    lexical_only = rag.Index.from_documents([doc], config, show_progress=False)
    vectors = unit_vectors(len(lexical_only))
    built = rag.Index.from_documents([doc], config, show_progress=False, vectors=vectors, model_name="made-up")
    assert built.manifest.to_dict()["model"] == {"name": "made-up", "dimension": 16}
    assert built.manifest.dense_index == "IndexFlatIP"
    reloaded = rag.Index.load(tmp_path / "idx", config=config)
    ids, _ = reloaded.store.dense_search(vectors[3], 1)
    assert ids.tolist() == [3]
    with pytest.raises(rag.InputError, match="vectors"):
        rag.Index.from_documents([doc], config, show_progress=False, vectors=vectors[:-1], model_name="made-up")
    with pytest.raises(rag.InputError, match="model_name"):
        rag.Index.from_documents([doc], config, show_progress=False, vectors=vectors)


def test_document_frequencies_equal_a_direct_count(seed_text):
    texts = [line for line in seed_text.splitlines() if line.strip()]
    index = build_in_memory(texts)
    for term in {t for terms in analyze(texts[:10]) for t in terms}:
        expected = sum(term in set(terms) for terms in analyze(texts))
        assert index._df[index._retriever.vocab_dict[term]] == expected


def test_memoised_word_analysis_equals_the_analyser(seed_text):
    from rag.lexical import analyze_words

    words = seed_text.lower().split()[:400] + ["Governor", "governed", "the", "it’s", "", "1,000"]
    assert analyze_words(words) == analyze(words)
