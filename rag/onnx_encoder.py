"""Embed text with ONNX Runtime and `tokenizers`, so a query is embedded without importing torch.

A sentence-transformers folder whose pipeline is a BERT transformer, mean pooling and (optionally) normalisation,
like the bundled all-MiniLM-L6-v2, is exported once to ONNX with torch (`export`), and then run here with
`onnxruntime`: tokenise with the folder's own `tokenizer.json` (truncated to `max_seq_length` from
`sentence_bert_config.json`, as sentence-transformers does), run the transformer, mean-pool the token vectors
under the attention mask and L2-normalise, exactly the sentence-transformers pipeline (a test checks cosine >=
0.9999 against it). The export is checked against the torch model before it is kept, and is cached in
`<cache>/onnx/<weights sha256>-v<N>/`, written to a temporary folder and renamed into place.

This module decides nothing about when to export or what to fall back to: `encoding.Encoder` does. It does not
handle other poolings (CLS, max), prompts, dense layers or non-BERT models; `supports()` says no to them and the
encoder uses sentence-transformers instead. torch is imported only inside `export`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .model_files import read_json

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the exported graph changes, so old cached files are not reused
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxUnavailableError(RuntimeError):
    """The ONNX path cannot be used here (a package is missing, or the export failed its check)."""


def supports(folder: Path) -> str | None:
    """None when `folder` can run on the ONNX path, else the reason it cannot (for a log line)."""
    folder = Path(folder)
    modules = read_json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        return "it has no modules.json"
    # The class name only: sentence-transformers has moved these classes between modules across versions.
    kinds = [m.get("type", "").rsplit(".", 1)[-1] if m.get("type", "").startswith("sentence_transformers.")
             else m.get("type") for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]) or modules[0].get("path"):
        return f"its pipeline {kinds} is not transformer + pooling (+ normalize)"
    pooling = read_json(folder / modules[1].get("path", "") / "config.json")
    # Older folders flag each mode (`pooling_mode_mean_tokens: true`); sentence-transformers 6 writes one string.
    modes = {k.removeprefix("pooling_mode_") for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    if isinstance(pooling.get("pooling_mode"), str):
        modes.add(pooling["pooling_mode"])
    if modes not in ({"mean_tokens"}, {"mean"}):
        return f"its pooling {sorted(modes)} is not mean pooling"
    if read_json(folder / "config.json").get("model_type") != "bert":
        return "it is not a BERT model"
    if not (folder / "tokenizer.json").is_file():
        return "it has no tokenizer.json"
    if read_json(folder / "sentence_bert_config.json").get("do_lower_case"):
        return "it lower-cases outside its tokenizer"
    settings = read_json(folder / "config_sentence_transformers.json")
    if (settings.get("prompts") or {}).get("query") or settings.get("default_prompt_name"):
        return "it uses prompts"
    return None


def max_seq_length(folder: Path) -> int:
    """Tokens kept per text: sentence_bert_config's max_seq_length, else the tokenizer's, within the positions."""
    folder = Path(folder)
    positions = read_json(folder / "config.json").get("max_position_embeddings", 512)
    configured = (read_json(folder / "sentence_bert_config.json").get("max_seq_length")
                  or read_json(folder / "tokenizer_config.json").get("model_max_length") or positions)
    return int(min(configured, positions))


def dimension(folder: Path) -> int:
    return int(read_json(Path(folder) / "config.json")["hidden_size"])


def cached_path(cache_dir: Path, weights_sha256: str) -> Path:
    """The cached export of these weights: a folder holding `model.onnx` (graph) and `model.data` (weights)."""
    return Path(cache_dir) / "onnx" / f"{weights_sha256}-v{EXPORT_VERSION}"


def export(folder: Path, target: Path) -> Path:
    """Export the transformer of `folder` into the folder `target`, after checking it against torch. Needs torch."""
    try:
        import onnx  # noqa: F401 - torch's exporter needs it; fail with a clear reason before loading anything
        import onnxruntime  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailableError(f"{exc.name} is not installed") from None

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # A one-off step inside `rag index`: transformers' own "Loading weights" bar would only be noise there.
    model = load_transformer(folder)
    # eval() on the wrapper itself: torch.onnx.export restores the wrapper's mode afterwards, and a wrapper left
    # in training mode would switch the model's dropout back on.
    wrapper = LastHiddenState(model).eval()
    sample = (torch.tensor([[101, 7592, 2088, 102, 0], [101, 7592, 102, 0, 0]]) % model.config.vocab_size,
              torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]), torch.zeros(2, 5, dtype=torch.long))
    export_module(wrapper, sample, Path(target), ["last_hidden_state"])
    logger.info("exported %s to %s", folder, target)
    return target


def load_transformer(folder: Path):
    """The folder's transformer in torch, with eager attention (it traces to plain matmuls that hold for any
    sequence length; SDPA's tracing records Python-side shape decisions), without transformers' loading bar."""
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    bar_was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return AutoModel.from_pretrained(str(folder), attn_implementation="eager", local_files_only=True)
    finally:
        if bar_was_on:
            transformers_logging.enable_progress_bar()


def export_module(wrapper, sample: tuple, target: Path, outputs: list[str]) -> Path:
    """Export a torch module taking (input_ids, attention_mask, token_type_ids) into the folder `target`, after
    checking ONNX Runtime's outputs against torch's on `sample`. Needs torch.

    The graph is saved already optimised by ONNX Runtime (the portable "extended" level, no hardware-specific
    layouts), with its weights in a separate file, so a fresh process opens it in about 0.1 s instead of 0.4 s.
    Both files are written into a temporary sibling folder that is renamed into place.
    """
    import onnxruntime
    import torch

    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise OnnxUnavailableError(f"the cache folder {target.parent} is not writable ({exc.strerror}); "
                                   f"set RAG_CACHE to a writable folder") from None
    try:
        import warnings

        dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, *outputs)}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about Python booleans in the attention code
            expected = wrapper(*sample)
            expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
            torch.onnx.export(wrapper, sample, str(staging / "raw.onnx"), dynamo=False, input_names=list(INPUTS),
                              output_names=outputs, dynamic_axes=dynamic, opset_version=OPSET)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(staging / "model.onnx")
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name", "model.data")
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        onnxruntime.InferenceSession(str(staging / "raw.onnx"), options, providers=["CPUExecutionProvider"])
        (staging / "raw.onnx").unlink()
        got = _session(staging).run(None, {n: t.numpy() for n, t in zip(INPUTS, sample)})
        error = max(float(np.abs(g - e).max()) for g, e in zip(got, expected))
        if not error < 1e-3:
            raise OnnxUnavailableError(f"the exported model differs from torch by {error:.2g}")
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "model.onnx").is_file():  # else another process exported the same weights first
                raise
    except OnnxUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; the caller falls back and says why
        raise OnnxUnavailableError(f"export failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _session(folder: Path, spin: bool = True):
    """A session on an exported folder; its graph is optimised already, so opening it optimises nothing.

    `spin=False` lets its threads sleep as soon as a run ends instead of spinning for the next one. The query
    encoder runs once per question and the cross reader right after it: on 2 cores the encoder's spinning threads
    slowed the cross reader's runs by about 2 ms each (benchmarks/answer_latency.py, hybrid p50 with two reads
    31.4 ms with neither spinning, 27.0 ms with only the encoder not spinning)."""
    try:
        import onnxruntime
    except ImportError:
        raise OnnxUnavailableError("onnxruntime is not installed") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(Path(folder) / "model.onnx"), options,
                                        providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """Mean-pooled, unit-length embeddings from an exported transformer and the folder's tokenizer."""

    def __init__(self, exported: Path, folder: Path):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise OnnxUnavailableError("tokenizers is not installed") from None
        self.session = _session(exported, spin=False)
        self.tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self.tokenizer.no_padding()  # padded per batch below, to the longest in the batch as transformers does
        self.tokenizer.enable_truncation(max_length=max_seq_length(folder))
        self.dimension = dimension(folder)
        self._input_names = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([str(t) for t in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for rows in _batches([len(encodings[i].ids) for i in order], batch_size):
            rows = [order[r] for r in rows]
            width = len(encodings[rows[0]].ids)
            feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in INPUTS}
            for r, i in enumerate(rows):
                e = encodings[i]
                n = len(e.ids)
                feed["input_ids"][r, :n] = e.ids
                feed["attention_mask"][r, :n] = e.attention_mask
                feed["token_type_ids"][r, :n] = e.type_ids
            mask = feed["attention_mask"][:, :, None].astype(np.float32)
            # The exporter drops inputs a graph does not use (token_type_ids in some models).
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._input_names})[0]
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled / norms
        return out


def _batches(lengths: list[int], batch_size: int, max_tokens: int = 4096) -> list[list[int]]:
    """Consecutive positions of `lengths` (sorted longest first) grouped so that padding wastes little.

    A batch pads every text to its first (longest) one; a new batch starts when the batch is full, would exceed
    `max_tokens` padded tokens, or the next text is less than half as long. Sentence-transformers cuts fixed runs
    of `batch_size` instead: three 256-token texts among 47 short ones (the parity test's set) then cost 32 x 256
    padded tokens, 1.6 s here against 6.5 s. Where the cuts fall changes no vector.
    """
    batches: list[list[int]] = []
    for position, length in enumerate(lengths):
        if batches:
            batch = batches[-1]
            width = lengths[batch[0]]
            if len(batch) < batch_size and (len(batch) + 1) * width <= max_tokens and 2 * length >= width:
                batch.append(position)
                continue
        batches.append([position])
    return batches
